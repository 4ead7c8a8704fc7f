package duo_test

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// connectProxy is a minimal loopback HTTP CONNECT proxy. When auth is
// set it requires that exact Proxy-Authorization value.
type connectProxy struct {
	t       *testing.T
	ln      net.Listener
	auth    string
	tunnels atomic.Int32
	refused atomic.Int32
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newConnectProxy(t *testing.T, user, pass string) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &connectProxy{t: t, ln: ln}
	if user != "" {
		p.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *connectProxy) addr() string { return p.ln.Addr().String() }

func (p *connectProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *connectProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *connectProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *connectProxy) handle(client net.Conn) {
	defer client.Close()
	br := bufio.NewReader(client)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if p.auth != "" && req.Header.Get("Proxy-Authorization") != p.auth {
		p.refused.Add(1)
		_, _ = io.WriteString(client, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
		return
	}
	host, _, err := net.SplitHostPort(req.Host)
	if err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		_, _ = io.WriteString(client, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	upstream, err := net.Dial("tcp", req.Host)
	if err != nil {
		_, _ = io.WriteString(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.track(upstream)
	defer upstream.Close()
	p.tunnels.Add(1)
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, upstream); done <- struct{}{} }()
	<-done
}

func TestProxy(t *testing.T) {
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		switch s.Path {
		case "/auth/v2/preauth":
			writeOK(w, map[string]any{"result": "auth"})
		case "/auth/v2/auth":
			writeOK(w, map[string]any{"txid": "tx1"})
		default:
			writeOK(w, map[string]any{"result": "allow", "status": "allow"})
		}
	})
	authProxy := newConnectProxy(t, "duo user", "p@ss:word")
	openProxy := newConnectProxy(t, "", "")

	tests := []struct {
		name  string
		proxy *connectProxy
		url   string
	}{
		{"URL with credentials", authProxy, "http://duo%20user:p%40ss%3Aword@" + authProxy.addr()},
		{"host:port", openProxy, openProxy.addr()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			o := f.options()
			o.Proxy = tt.url
			c := f.client(o)
			ctx := testCtx(t)
			_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
			require.NoError(t, err)
			a, err := c.Auth(ctx, duo.AuthRequest{Username: "alice", Factor: duo.FactorPush, Async: true})
			require.NoError(t, err)
			_, err = c.AuthStatus(ctx, a.TxID)
			require.NoError(t, err)
			assert.EqualValues(t, 1, tt.proxy.tunnels.Load(), "tunnels through the proxy")
			assert.Len(t, f.requests(), before+3, "server saw %d requests, want 3", len(f.requests())-before)
		})
	}

	t.Run("wrong credentials", func(t *testing.T) {
		o := f.options()
		o.Proxy = "http://duo%20user:wrong@" + authProxy.addr()
		_, err := f.client(o).Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
		var te *duo.TransportError
		require.False(t, !errors.As(err, &te) || !duo.IsUnavailable(err), "error %v: want a TransportError", err)
		assert.NotContains(t, err.Error(), "wrong", "error %q shows the proxy password", err)
		assert.NotZero(t, authProxy.refused.Load(), "the proxy never saw the request")
	})
}
