package duo_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testIKey = "DIWJ8X6AEYOR5OMC6TQ1"
	testSKey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
)

// seenRequest is what the fake server recorded about one request.
type seenRequest struct {
	Method, Path string
	Params       url.Values
	RawParams    string // the body of a POST, the query of a GET
	Header       http.Header
	SignatureOK  bool
}

// fakeDuo is a loopback HTTPS server that checks each request's signature
// and hands it to a per-test handler.
type fakeDuo struct {
	t        *testing.T
	srv      *httptest.Server
	newConns atomic.Int32
	mu       sync.Mutex
	seen     []seenRequest
	logMu    sync.Mutex
	logs     []string
}

type fakeHandler func(w http.ResponseWriter, r *http.Request, seen seenRequest)

func newFakeDuo(t *testing.T, h fakeHandler) *fakeDuo {
	t.Helper()
	f := &fakeDuo{t: t}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := f.record(r)
		h(w, r, s)
	}))
	f.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			f.newConns.Add(1)
		}
	}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.checkLogs)
	return f
}

func (f *fakeDuo) record(r *http.Request) seenRequest {
	s := seenRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
	if r.Method == http.MethodGet {
		s.RawParams = r.URL.RawQuery
	} else {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		assert.NoError(f.t, err, "fake duo: reading body")
		s.RawParams = string(b)
	}
	params, err := url.ParseQuery(s.RawParams)
	assert.NoError(f.t, err, "fake duo: params %q", s.RawParams)
	s.Params = params
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Basic ") {
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic ")); err == nil {
			ikey, sig, _ := strings.Cut(string(raw), ":")
			// Duo verifies the signature over the host without the port.
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			canon := duo.Canonicalize(r.Method, host, r.URL.Path, params, r.Header.Get("X-Duo-Date"))
			s.SignatureOK = ikey == testIKey && duo.VerifySignature(testSKey, canon, sig)
		}
	}
	f.mu.Lock()
	f.seen = append(f.seen, s)
	f.mu.Unlock()
	return s
}

// requests returns what the server has seen so far.
func (f *fakeDuo) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeDuo) host() string { return f.srv.Listener.Addr().String() }

func (f *fakeDuo) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	return pool
}

// options returns client options for this server; tests adjust them.
func (f *fakeDuo) options() duo.Options {
	return duo.Options{
		IKey: testIKey, SKey: testSKey, Host: f.host(), RootCAs: f.roots(),
		Timeout: 10 * time.Second, LongPollTimeout: 10 * time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Logf:  f.logf,
	}
}

func (f *fakeDuo) logf(format string, args ...any) {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// checkLogs asserts the debug log never carried a secret.
func (f *fakeDuo) checkLogs() {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	for _, l := range f.logs {
		for _, secret := range []string{testSKey, "Basic ", "123456"} {
			assert.NotContains(f.t, l, secret, "debug log leaks a secret: %q", l)
		}
	}
}

func (f *fakeDuo) client(o duo.Options) *duo.Client {
	f.t.Helper()
	c, err := duo.New(o)
	require.NoError(f.t, err, "duo.New")
	f.t.Cleanup(c.Close)
	return c
}

func writeOK(w http.ResponseWriter, resp any) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"stat": "OK", "response": resp})
	_, _ = w.Write(b)
}

func writeFail(w http.ResponseWriter, status, code int, msg, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"stat": "FAIL", "code": code, "message": msg, "message_detail": detail})
	_, _ = w.Write(b)
}

// testCtx bounds a test's calls so a hang fails instead of blocking.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
