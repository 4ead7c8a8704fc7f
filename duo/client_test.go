package duo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPreauthParams(t *testing.T) {
	tests := []struct {
		name string
		req  duo.PreauthRequest
		want url.Values
	}{
		{"username only", duo.PreauthRequest{Username: "alice"}, url.Values{"username": {"alice"}}},
		{"user_id only", duo.PreauthRequest{UserID: "DUXXXXXXXXXXXXXXXXXX"}, url.Values{"user_id": {"DUXXXXXXXXXXXXXXXXXX"}}},
		{"everything", duo.PreauthRequest{
			Username: "alice@example.com", IPAddr: "203.0.113.5", Hostname: "bastion-01",
			TrustedDeviceToken: "tdt/+ =&x", ClientSupportsVerifiedPush: true, TextPrompt: true, Failmode: "closed",
		}, url.Values{
			"username": {"alice@example.com"}, "ipaddr": {"203.0.113.5"}, "hostname": {"bastion-01"},
			"trusted_device_token": {"tdt/+ =&x"}, "client_supports_verified_push": {"1"},
			"text_prompt": {"1"}, "failmode": {"closed"},
		}},
	}
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		writeOK(w, map[string]any{"result": "auth", "status_msg": "Account is active",
			"devices": []map[string]any{{"device": "DPFZRS9FB0D46QFTM891", "type": "phone", "capabilities": []string{"push", "sms"}}},
			"prompt":  map[string]any{"text": "Duo two-factor login\n 1. Push\n", "factors": map[string]string{"default": "push1", "1": "push1"}}})
	})
	c := f.client(f.options())
	for i, tt := range tests {
		resp, err := c.Preauth(testCtx(t), tt.req)
		require.NoError(t, err, "%s", tt.name)
		decoded := resp.Result == duo.ResultAuth && len(resp.Devices) == 1 && resp.Devices[0].Can(duo.CapPush) &&
			resp.Prompt != nil && resp.Prompt.Factors["default"] == "push1"
		assert.True(t, decoded, "%s: response not decoded: %+v", tt.name, resp)
		s := f.requests()[i]
		checkRequest(t, tt.name, s, http.MethodPost, "/auth/v2/preauth", tt.want)
	}
}

func TestAuthParams(t *testing.T) {
	tests := []struct {
		name string
		req  duo.AuthRequest
		want url.Values
	}{
		{"push with everything", duo.AuthRequest{
			Username: "alice", Factor: duo.FactorPush, Device: "auto", Type: "Login request",
			DisplayUsername: "Alice A.", PushInfo: "Server+IP=10.0.0.1&Command=sudo%20ls%20%7E",
			Async: true, TxID: "txid-vp", IPAddr: "203.0.113.5", Hostname: "bastion-01",
		}, url.Values{
			"username": {"alice"}, "factor": {"push"}, "device": {"auto"}, "type": {"Login request"},
			"display_username": {"Alice A."}, "pushinfo": {"Server+IP=10.0.0.1&Command=sudo%20ls%20%7E"},
			"async": {"1"}, "txid": {"txid-vp"}, "ipaddr": {"203.0.113.5"}, "hostname": {"bastion-01"},
		}},
		{"passcode", duo.AuthRequest{UserID: "DUXX", Factor: duo.FactorPasscode, Passcode: "123456"},
			url.Values{"user_id": {"DUXX"}, "factor": {"passcode"}, "passcode": {"123456"}}},
		{"prompt", duo.AuthRequest{Username: "bob", Factor: duo.FactorPrompt, Prompt: "verified_push1", Async: true, TxID: "t1"},
			url.Values{"username": {"bob"}, "factor": {"prompt"}, "prompt": {"verified_push1"}, "async": {"1"}, "txid": {"t1"}}},
		{"sms", duo.AuthRequest{Username: "bob", Factor: duo.FactorSMS, Device: "D1"},
			url.Values{"username": {"bob"}, "factor": {"sms"}, "device": {"D1"}}},
		{"phone", duo.AuthRequest{Username: "bob", Factor: duo.FactorPhone, Device: "D1"},
			url.Values{"username": {"bob"}, "factor": {"phone"}, "device": {"D1"}}},
		{"auto", duo.AuthRequest{Username: "bob", Factor: duo.FactorAuto, Device: "auto"},
			url.Values{"username": {"bob"}, "factor": {"auto"}, "device": {"auto"}}},
	}
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		if s.Params.Get("async") == "1" {
			writeOK(w, map[string]any{"txid": "45f7c92b-f45f-4862-8545-e0f58e78075a"})
			return
		}
		writeOK(w, map[string]any{"result": "allow", "status": "allow", "status_msg": "Success. Logging you in...",
			"trusted_device_token": "tdt"})
	})
	c := f.client(f.options())
	for i, tt := range tests {
		resp, err := c.Auth(testCtx(t), tt.req)
		require.NoError(t, err, "%s", tt.name)
		assert.False(t, tt.req.Async && resp.TxID != "45f7c92b-f45f-4862-8545-e0f58e78075a", "%s: txid %q", tt.name, resp.TxID)
		assert.False(t, !tt.req.Async && (resp.Result != "allow" || resp.TrustedDeviceToken != "tdt"), "%s: response %+v", tt.name, resp)
		checkRequest(t, tt.name, f.requests()[i], http.MethodPost, "/auth/v2/auth", tt.want)
	}
}

// checkRequest asserts a request's method, path, exact parameters, their
// encoding, signature and headers.
func checkRequest(t *testing.T, name string, s seenRequest, method, path string, want url.Values) {
	t.Helper()
	assert.False(t, s.Method != method || s.Path != path, "%s: request %s %s, want %s %s", name, s.Method, s.Path, method, path)
	assert.True(t, reflect.DeepEqual(s.Params, want), "%s: params\n%v\nwant\n%v", name, s.Params, want)
	assert.EqualValues(t, duo.EncodeParams(want), s.RawParams, "%s: raw params %q, want the canonical encoding %q", name, s.RawParams, duo.EncodeParams(want))
	assert.True(t, s.SignatureOK, "%s: bad signature", name)
	assert.False(t, method == http.MethodPost && s.Header.Get("Content-Type") != "application/x-www-form-urlencoded", "%s: Content-Type %q", name, s.Header.Get("Content-Type"))
	date := s.Header.Get("X-Duo-Date")
	assert.False(t, date == "" || s.Header.Get("Date") != date || !strings.HasSuffix(date, " -0000"), "%s: Date %q, X-Duo-Date %q: want the same date in -0000", name, s.Header.Get("Date"), date)
	assert.EqualValues(t, "pam_duo_go/"+duo.Version+" (Go)", s.Header.Get("User-Agent"), "%s: User-Agent %q", name, s.Header.Get("User-Agent"))
}

func TestOtherEndpoints(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nfake image")
	now := time.Now().Unix()
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		switch s.Path {
		case "/auth/v2/ping", "/auth/v2/check":
			writeOK(w, map[string]any{"time": now})
		case "/auth/v2/logo":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
		case "/auth/v2/enroll":
			writeOK(w, map[string]any{"activation_code": "duo://abc", "user_id": "DU1", "username": s.Params.Get("username"), "expiration": now + 3600})
		case "/auth/v2/enroll_status":
			writeOK(w, "waiting")
		case "/auth/v2/auth_status":
			writeOK(w, map[string]any{"result": "waiting", "status": "pushed", "status_msg": "Pushed a login request to your phone..."})
		default:
			writeFail(w, 404, 40401, "Resource not found", "")
		}
	})
	c := f.client(f.options())
	ctx := testCtx(t)

	if r, err := c.Ping(ctx); assert.NoError(t, err, "Ping") {
		assert.Equal(t, now, r.Time, "Ping = %+v", r)
	}
	if r, err := c.Check(ctx); assert.NoError(t, err, "Check") {
		assert.Equal(t, now, r.Time, "Check = %+v", r)
	}
	if b, err := c.Logo(ctx); assert.NoError(t, err, "Logo") {
		assert.Equal(t, png, b, "Logo")
	}
	if r, err := c.Enroll(ctx, duo.EnrollRequest{Username: "carol", ValidSecs: 600}); assert.NoError(t, err, "Enroll") {
		assert.Equal(t, "duo://abc", r.ActivationCode, "Enroll = %+v", r)
		assert.Equal(t, "carol", r.Username, "Enroll = %+v", r)
	}
	if r, err := c.EnrollStatus(ctx, "DU1", "duo://abc"); assert.NoError(t, err, "EnrollStatus") {
		assert.Equal(t, duo.EnrollWaiting, r, "EnrollStatus")
	}
	if r, err := c.AuthStatus(ctx, "45f7c92b-f45f-4862-8545-e0f58e78075a"); assert.NoError(t, err, "AuthStatus") {
		assert.Equal(t, duo.ResultWaiting, r.Result, "AuthStatus = %+v", r)
		assert.Equal(t, "pushed", r.Status, "AuthStatus = %+v", r)
	}

	seen := f.requests()
	require.Len(t, seen, 6, "server saw %d requests, want 6", len(seen))
	assert.EqualValues(t, "", seen[0].Header.Get("Authorization"), "ping was signed; it must not be")
	checkRequest(t, "check", seen[1], http.MethodGet, "/auth/v2/check", url.Values{})
	checkRequest(t, "logo", seen[2], http.MethodGet, "/auth/v2/logo", url.Values{})
	checkRequest(t, "enroll", seen[3], http.MethodPost, "/auth/v2/enroll", url.Values{"username": {"carol"}, "valid_secs": {"600"}})
	checkRequest(t, "enroll_status", seen[4], http.MethodPost, "/auth/v2/enroll_status", url.Values{"user_id": {"DU1"}, "activation_code": {"duo://abc"}})
	checkRequest(t, "auth_status", seen[5], http.MethodGet, "/auth/v2/auth_status", url.Values{"txid": {"45f7c92b-f45f-4862-8545-e0f58e78075a"}})
}

func TestLogoFail(t *testing.T) {
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		writeFail(w, 404, 40401, "Resource not found", "no logo")
	})
	_, err := f.client(f.options()).Logo(testCtx(t))
	var api *duo.APIError
	assert.False(t, !errors.As(err, &api) || api.Code != 40401 || api.StatusCode != 404 || api.Op != "logo", "Logo error = %v, want APIError 40401", err)
}

// errKind classifies an error for table tests.
func errKind(err error) string {
	var api *duo.APIError
	var te *duo.TransportError
	var re *duo.ResponseError
	switch {
	case err == nil:
		return "nil"
	case errors.As(err, &api):
		return "api"
	case errors.As(err, &te):
		return "transport"
	case errors.As(err, &re):
		return "response"
	default:
		return "other"
	}
}

func TestResponseErrors(t *testing.T) {
	tests := []struct {
		name        string
		handler     func(w http.ResponseWriter)
		kind        string
		unavailable bool
		status      int // APIError or ResponseError status
		contains    string
	}{
		{"503 FAIL", func(w http.ResponseWriter) { writeFail(w, 503, 50301, "Service unavailable", "maintenance") },
			"api", true, 503, "preauth: 50301 Service unavailable: maintenance (HTTP 503)"},
		{"400 FAIL", func(w http.ResponseWriter) { writeFail(w, 400, 40002, "Invalid request parameters", "username") },
			"api", false, 400, "preauth: 40002 Invalid request parameters: username (HTTP 400)"},
		{"401 FAIL", func(w http.ResponseWriter) { writeFail(w, 401, 40103, "Invalid signature in request credentials", "") },
			"api", false, 401, "40103"},
		{"FAIL with control characters", func(w http.ResponseWriter) { writeFail(w, 400, 40002, "bad\x1b[2Jthing\n", "") },
			"api", false, 400, `bad\x1b[2Jthing\x0a`},
		{"malformed JSON", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"stat": OK}`))
		}, "response", true, 200, "malformed JSON"},
		{"truncated JSON", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"stat": "OK", "response": {"result": "al`))
		}, "response", true, 200, "malformed JSON"},
		{"truncated body", func(w http.ResponseWriter) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"stat\": \"OK\", \"resp")
			_ = buf.Flush()
			_ = conn.Close()
		}, "response", true, 200, "truncated"},
		{"HTML 200", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>Welcome to nginx</body></html>"))
		}, "response", true, 200, "not JSON (Content-Type text/html)"},
		{"HTML 502", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>Bad Gateway</html>"))
		}, "response", true, 502, "HTTP 502"},
		{"empty 200", func(w http.ResponseWriter) {}, "response", true, 200, "empty body"},
		{"OK without response", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"stat":"OK"}`)) },
			"response", true, 200, `without "response"`},
		{"OK without result", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"stat":"OK","response":{}}`)) },
			"response", true, 200, `missing "result"`},
		{"OK of the wrong shape", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"stat":"OK","response":[1,2]}`)) },
			"response", true, 200, "decoding response"},
		{"unknown stat", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"stat":"MAYBE"}`)) },
			"response", true, 200, `unexpected stat "MAYBE"`},
		{"redirect", func(w http.ResponseWriter) {
			w.Header().Set("Location", "https://example.com/")
			w.WriteHeader(302)
		}, "response", false, 302, "HTTP 302"}, // a redirect is something answering: never an outage
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) { tt.handler(w) })
			_, err := f.client(f.options()).Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
			require.EqualValues(t, tt.kind, errKind(err), "error %v: kind %s, want %s", err, errKind(err), tt.kind)
			assert.EqualValues(t, tt.unavailable, duo.IsUnavailable(err), "IsUnavailable(%v) = %v, want %v", err, !tt.unavailable, tt.unavailable)
			var api *duo.APIError
			var re *duo.ResponseError
			assert.False(t, errors.As(err, &api) && (api.StatusCode != tt.status || api.Op != "preauth"), "APIError %+v: want status %d, op preauth", api, tt.status)
			assert.False(t, errors.As(err, &re) && (re.StatusCode != tt.status || re.Op != "preauth"), "ResponseError %+v: want status %d, op preauth", re, tt.status)
			checkErrorText(t, err, tt.contains)
		})
	}
}

// checkErrorText asserts err names the endpoint and what went wrong, and
// never carries a secret.
func checkErrorText(t *testing.T, err error, contains string) {
	t.Helper()
	msg := err.Error()
	assert.Contains(t, msg, contains, "error %q does not contain %q", msg, contains)
	assert.False(t, strings.Contains(msg, testSKey) || strings.Contains(msg, "Basic "), "error %q leaks a secret", msg)
	assert.False(t, strings.ContainsAny(msg, "\x1b\r\n"), "error %q contains raw control characters", msg)
}

func TestTransportErrors(t *testing.T) {
	// A port with nothing listening: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := ln.Addr().String()
	_ = ln.Close()

	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		writeOK(w, map[string]any{"result": "allow"})
	})
	_, port, _ := net.SplitHostPort(f.host())
	duoRoots, err := duo.DuoRoots()
	require.NoError(t, err)
	tests := []struct {
		name     string
		adjust   func(o *duo.Options)
		contains string
	}{
		{"connection refused", func(o *duo.Options) { o.Host = closedAddr }, "refused"},
		{"certificate from another CA", func(o *duo.Options) { o.RootCAs = duoRoots }, "certificate"},
		{"embedded roots by default", func(o *duo.Options) { o.RootCAs = nil }, "certificate"},
		{"wrong host name", func(o *duo.Options) { o.Host = "localhost:" + port }, "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.options()
			tt.adjust(&o)
			_, err := f.client(o).Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
			var te *duo.TransportError
			require.False(t, !errors.As(err, &te) || te.Op != "preauth", "error %v (%T): want a TransportError for preauth", err, err)
			assert.True(t, duo.IsUnavailable(err), "IsUnavailable(%v) = false", err)
			checkErrorText(t, err, tt.contains)
		})
	}
	assert.EqualValues(t, 0, len(f.requests()), "server answered %d requests over unverified TLS", len(f.requests()))
}

// fakeClock is a local clock that only moves when the client sleeps.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// TestSignsHostWithoutPort: with host = name:port the signature covers
// the name alone, as duo_unix signs and Duo verifies.
func TestSignsHostWithoutPort(t *testing.T) {
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		writeOK(w, map[string]any{"result": "allow", "status_msg": "ok"})
	})
	o := f.options()
	require.Contains(t, o.Host, ":")
	_, err := f.client(o).Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
	require.NoError(t, err)
	seen := f.requests()
	require.Len(t, seen, 1)
	date := seen[0].Header.Get("X-Duo-Date")
	name, _, err := net.SplitHostPort(o.Host)
	require.NoError(t, err)
	want := duo.Authorization(testIKey, testSKey, "POST", name, "/auth/v2/preauth", seen[0].Params, date)
	assert.Equal(t, want, seen[0].Header.Get("Authorization"), "signed over %s, not %s", name, o.Host)
}

func TestRetryOn429(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string // "" = no header
		header     string // the header's name; "" = Retry-After
		check      func(i int, d time.Duration) bool
	}{
		{"Retry-After", "3", "", func(i int, d time.Duration) bool { return d == 3*time.Second }},
		{"X-Retry-After, as duo_unix reads too", "3", "X-Retry-After", func(i int, d time.Duration) bool { return d == 3*time.Second }},
		{"backoff", "", "", func(i int, d time.Duration) bool {
			base := time.Second << i
			return d >= base && d < base+time.Second
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
				w.Header()["Date"] = nil // no server clock: dates come from the local clock only
				if n.Add(1) <= 2 {
					if tt.retryAfter != "" {
						w.Header().Set(cmpOr(tt.header, "Retry-After"), tt.retryAfter)
					}
					writeFail(w, 429, 42901, "Too Many Requests", "")
					return
				}
				writeOK(w, map[string]any{"txid": "tx"})
			})
			clock := &fakeClock{now: time.Now()}
			o := f.options()
			o.Now, o.Sleep = clock.Now, clock.Sleep
			req := duo.AuthRequest{Username: "alice", Factor: duo.FactorPush, Device: "auto", Async: true, PushInfo: "a=b"}
			var notices []time.Duration
			ctx := duo.WithRetryNotice(testCtx(t), func(d time.Duration) { notices = append(notices, d) })
			_, err := f.client(o).Auth(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, clock.Waits(), notices, "the user was told of these waits, not the ones the client waited")
			seen := f.requests()
			require.Len(t, seen, 3, "server saw %d requests, want 3", len(seen))
			dates := map[string]bool{}
			for i, s := range seen {
				assert.False(t, !s.SignatureOK || s.RawParams != seen[0].RawParams || s.RawParams == "", "request %d: signature ok %v, body %q (first %q)", i, s.SignatureOK, s.RawParams, seen[0].RawParams)
				dates[s.Header.Get("X-Duo-Date")] = true
			}
			assert.Len(t, dates, 3, "the retries were not re-dated: %d distinct dates", len(dates))
			waits := clock.Waits()
			require.Len(t, waits, 2, "waits %v, want 2", waits)
			for i, d := range waits {
				assert.True(t, tt.check(i, d), "wait %d = %v", i, d)
			}
		})
	}
}

func TestRetryOn429GivesUp(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		wantWaits  []time.Duration // nil = backoff, checked by bounds
	}{
		{"Retry-After capped at the budget", "10", []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second, 2 * time.Second}},
		{"Retry-After zero is bounded", "0", []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"backoff", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				writeFail(w, 429, 42901, "Too Many Requests", "")
			})
			clock := &fakeClock{now: time.Now()}
			o := f.options()
			o.Sleep = clock.Sleep
			_, err := f.client(o).Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
			var api *duo.APIError
			require.False(t, !errors.As(err, &api) || api.StatusCode != 429 || duo.IsUnavailable(err), "error %v: want an APIError 429 that is a refusal, not unavailability", err)
			waits := clock.Waits()
			var total time.Duration
			for _, d := range waits {
				total += d
			}
			assert.False(t, total > duo.DefaultMaxRetryWait, "waited %v in total, over %v", total, duo.DefaultMaxRetryWait)
			assert.Len(t, f.requests(), len(waits)+1, "%d requests for %d waits", len(f.requests()), len(waits))
			if tt.wantWaits != nil {
				assert.True(t, reflect.DeepEqual(waits, tt.wantWaits), "waits %v, want %v", waits, tt.wantWaits)
				return
			}
			// 1+2+4+8 s plus jitter always fits; a sixth wait (32 s and up) never does.
			assert.False(t, len(waits) < 4 || len(waits) > 5, "waits %v: want 4 or 5 backoff steps", waits)
			for i, d := range waits {
				base := time.Second << i
				assert.True(t, d >= base && d < base+time.Second, "wait %d = %v, want [%v, %v)", i, d, base, base+time.Second)
			}
		})
	}
}

func TestOversizedResponse(t *testing.T) {
	const size = 100 << 20
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(size))
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for written := 0; written < size; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up, as it should
			}
		}
	})
	c := f.client(f.options())
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
	runtime.ReadMemStats(&after)
	var re *duo.ResponseError
	require.False(t, !errors.As(err, &re) || !errors.Is(err, duo.ErrResponseTooLarge) || !duo.IsUnavailable(err), "error %v: want a ResponseError wrapping ErrResponseTooLarge", err)
	alloc := after.TotalAlloc - before.TotalAlloc
	assert.LessOrEqual(t, alloc, uint64(16<<20), "rejecting a %d MiB body allocated %d MiB", size>>20, alloc>>20)
}

func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
				d, err := time.Parse(duo.DateFormat, s.Header.Get("X-Duo-Date"))
				if err != nil || time.Until(d).Abs() > 300*time.Second || !s.SignatureOK {
					writeFail(w, 401, 40105, "Request has expired", "") // Go's server adds its Date header
					return
				}
				writeOK(w, map[string]any{"result": "allow", "status_msg": "ok"})
			})
			o := f.options()
			o.Now = func() time.Time { return time.Now().Add(skew) } // the local clock is off by skew
			c := f.client(o)
			for i, wantRequests := range []int{2, 3, 4} {
				_, err := c.Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
				require.NoError(t, err, "preauth %d", i)
				require.EqualValues(t, wantRequests, len(f.requests()), "after preauth %d the server saw %d requests, want %d", i, len(f.requests()), wantRequests)
			}
			off := c.ClockOffset()
			assert.LessOrEqual(t, (off + skew).Abs(), 5*time.Second, "ClockOffset = %v, want about %v", off, -skew)
		})
	}
}

func TestUnauthorizedWithoutSkewIsNotRetried(t *testing.T) {
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		writeFail(w, 401, 40103, "Invalid signature in request credentials", "")
	})
	_, err := f.client(f.options()).Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
	var api *duo.APIError
	require.False(t, !errors.As(err, &api) || api.StatusCode != 401 || duo.IsUnavailable(err), "error %v: want a refusing APIError 401", err)
	assert.EqualValues(t, 1, len(f.requests()), "server saw %d requests, want 1", len(f.requests()))
}

func TestClockOffsetFromCheck(t *testing.T) {
	const skew = -7 * time.Minute
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		w.Header()["Date"] = nil // only the body's time tells the server clock
		writeOK(w, map[string]any{"time": time.Now().Unix()})
	})
	o := f.options()
	o.Now = func() time.Time { return time.Now().Add(skew) }
	c := f.client(o)
	_, err := c.Check(testCtx(t))
	require.NoError(t, err)
	off := c.ClockOffset()
	assert.LessOrEqual(t, (off + skew).Abs(), 5*time.Second, "ClockOffset = %v, want about %v", off, -skew)
}

func TestOneConnectionPerLogin(t *testing.T) {
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		switch s.Path {
		case "/auth/v2/preauth":
			writeOK(w, map[string]any{"result": "auth", "devices": []any{}})
		case "/auth/v2/auth":
			writeOK(w, map[string]any{"txid": "tx1"})
		default:
			writeOK(w, map[string]any{"result": "allow", "status": "allow"})
		}
	})
	c := f.client(f.options())
	ctx := testCtx(t)
	_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
	require.NoError(t, err)
	a, err := c.Auth(ctx, duo.AuthRequest{Username: "alice", Factor: duo.FactorPush, Device: "auto", Async: true})
	require.NoError(t, err)
	for range 2 {
		_, err := c.AuthStatus(ctx, a.TxID)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.newConns.Load(), "%d connections for one login, want 1", f.newConns.Load())
}

func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		<-release // never answer; the test's end releases the handler
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	o := f.options()
	o.Timeout = 100 * time.Millisecond
	o.LongPollTimeout = 300 * time.Millisecond
	c := f.client(o)

	tests := []struct {
		name     string
		call     func(ctx context.Context) error
		ctx      func() (context.Context, context.CancelFunc)
		kind     string
		unavail  bool
		contains string
	}{
		{"preauth uses Timeout", func(ctx context.Context) error {
			_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
			return err
		}, nil, "transport", true, "preauth: no answer within 100ms"},
		{"async auth uses Timeout", func(ctx context.Context) error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "alice", Factor: duo.FactorPush, Async: true})
			return err
		}, nil, "transport", true, "auth: no answer within 100ms"},
		{"passcode auth uses Timeout", func(ctx context.Context) error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "alice", Factor: duo.FactorPasscode, Passcode: "123456"})
			return err
		}, nil, "transport", true, "auth: no answer within 100ms"},
		{"sync push uses LongPollTimeout", func(ctx context.Context) error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "alice", Factor: duo.FactorPush, Device: "auto"})
			return err
		}, nil, "transport", true, "auth: no answer within 300ms"},
		{"auth_status uses LongPollTimeout", func(ctx context.Context) error {
			_, err := c.AuthStatus(ctx, "tx")
			return err
		}, nil, "transport", true, "auth_status: no answer within 300ms"},
		{"caller deadline", func(ctx context.Context) error {
			_, err := c.AuthStatus(ctx, "tx")
			return err
		}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, "transport", true, "deadline exceeded"},
		{"caller cancels", func(ctx context.Context) error {
			_, err := c.AuthStatus(ctx, "tx")
			return err
		}, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, "other", false, "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tt.call(ctx) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				require.FailNow(t, "the call hung past every timeout")
			}
			require.EqualValues(t, tt.kind, errKind(err), "error %v: kind %s, want %s", err, errKind(err), tt.kind)
			assert.EqualValues(t, tt.unavail, duo.IsUnavailable(err), "IsUnavailable(%v) = %v", err, !tt.unavail)
			checkErrorText(t, err, tt.contains)
		})
	}
}

func TestInvalidRequests(t *testing.T) {
	f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) {
		writeOK(w, map[string]any{"result": "allow"})
	})
	c := f.client(f.options())
	ctx := testCtx(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"preauth without user", func() error { _, err := c.Preauth(ctx, duo.PreauthRequest{}); return err }},
		{"preauth with both users", func() error {
			_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "a", UserID: "DU1"})
			return err
		}},
		{"preauth bad failmode", func() error {
			_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "a", Failmode: "safe"})
			return err
		}},
		{"auth without user", func() error { _, err := c.Auth(ctx, duo.AuthRequest{Factor: duo.FactorPush}); return err }},
		{"auth with both users", func() error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "a", UserID: "DU1", Factor: duo.FactorPush})
			return err
		}},
		{"auth without factor", func() error { _, err := c.Auth(ctx, duo.AuthRequest{Username: "a"}); return err }},
		{"pushinfo too long", func() error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "a", Factor: duo.FactorPush, PushInfo: strings.Repeat("x", duo.MaxPushInfoLen+1)})
			return err
		}},
		{"passcode factor without passcode", func() error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "a", Factor: duo.FactorPasscode})
			return err
		}},
		{"prompt factor without key", func() error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "a", Factor: duo.FactorPrompt})
			return err
		}},
		{"auth_status without txid", func() error { _, err := c.AuthStatus(ctx, ""); return err }},
		{"enroll_status without code", func() error { _, err := c.EnrollStatus(ctx, "DU1", ""); return err }},
	}
	for _, tt := range tests {
		err := tt.call()
		assert.False(t, !errors.Is(err, duo.ErrInvalidRequest) || duo.IsUnavailable(err), "%s: error %v, want ErrInvalidRequest", tt.name, err)
	}
	assert.EqualValues(t, 0, len(f.requests()), "invalid requests reached the server %d times", len(f.requests()))
	// The largest pushinfo allowed is sent.
	_, err := c.Auth(ctx, duo.AuthRequest{Username: "a", Factor: duo.FactorPush, Async: true, PushInfo: strings.Repeat("x", duo.MaxPushInfoLen)})
	assert.NotErrorIs(t, err, duo.ErrInvalidRequest, "pushinfo of exactly %d bytes rejected", duo.MaxPushInfoLen)
}

func TestNewRejectsBadOptions(t *testing.T) {
	good := duo.Options{IKey: testIKey, SKey: testSKey, Host: "api-xxxxxxxx.duosecurity.com"}
	tests := []struct {
		name   string
		adjust func(o *duo.Options)
		ok     bool
	}{
		{"good", func(o *duo.Options) {}, true},
		{"host with port", func(o *duo.Options) { o.Host = "api-x.duosecurity.com:8443" }, true},
		{"IPv6 host", func(o *duo.Options) { o.Host = "[::1]:8443" }, true},
		{"proxy host:port", func(o *duo.Options) { o.Proxy = "proxy.example.com:3128" }, true},
		{"proxy URL with credentials", func(o *duo.Options) { o.Proxy = "http://u:p@proxy.example.com:3128" }, true},
		{"no ikey", func(o *duo.Options) { o.IKey = "" }, false},
		{"no skey", func(o *duo.Options) { o.SKey = "" }, false},
		{"no host", func(o *duo.Options) { o.Host = "" }, false},
		{"host with scheme", func(o *duo.Options) { o.Host = "https://api-x.duosecurity.com" }, false},
		{"host with path", func(o *duo.Options) { o.Host = "api-x.duosecurity.com/auth" }, false},
		{"host with user", func(o *duo.Options) { o.Host = "u@api-x.duosecurity.com" }, false},
		{"host with bad port", func(o *duo.Options) { o.Host = "api-x.duosecurity.com:99999" }, false},
		{"host with space", func(o *duo.Options) { o.Host = "api x.duosecurity.com" }, false},
		{"socks proxy", func(o *duo.Options) { o.Proxy = "socks5://u:hunter2@proxy:1080" }, false},
		{"proxy with path", func(o *duo.Options) { o.Proxy = "http://u:hunter2@proxy:3128/x" }, false},
		{"negative timeout", func(o *duo.Options) { o.Timeout = -time.Second }, false},
		{"user agent with newline", func(o *duo.Options) { o.UserAgent = "x\r\nX-Evil: 1" }, false},
		{"custom user agent", func(o *duo.Options) { o.UserAgent = "login_duo_go/1.0" }, true},
	}
	for _, tt := range tests {
		o := good
		tt.adjust(&o)
		c, err := duo.New(o)
		assert.False(t, (err == nil) != tt.ok, "%s: New error %v, want ok=%v", tt.name, err, tt.ok)
		assert.False(t, err != nil && (strings.Contains(err.Error(), testSKey) || strings.Contains(err.Error(), "hunter2")), "%s: error %q leaks a secret", tt.name, err)
		if c != nil {
			c.Close()
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestPreauthAllowWithoutStatusMsg: an allow without status_msg is a
// malformed answer, as duo_unix takes it (failmode applies there), never
// a bypass; with status_msg, even an empty one, it is an allow.
func TestPreauthAllowWithoutStatusMsg(t *testing.T) {
	for _, tt := range []struct {
		name      string
		response  map[string]any
		malformed bool
	}{
		{"allow without status_msg", map[string]any{"result": "allow"}, true},
		{"allow with a null status_msg", map[string]any{"result": "allow", "status_msg": nil}, true},
		{"allow with status_msg", map[string]any{"result": "allow", "status_msg": "Allowing unknown user"}, false},
		{"allow with an empty status_msg", map[string]any{"result": "allow", "status_msg": ""}, false},
		{"auth without status_msg", map[string]any{"result": "auth"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDuo(t, func(w http.ResponseWriter, r *http.Request, s seenRequest) { writeOK(w, tt.response) })
			pre, err := f.client(f.options()).Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
			if !tt.malformed {
				require.NoError(t, err)
				assert.Equal(t, tt.response["result"], pre.Result)
				if msg, ok := tt.response["status_msg"].(string); ok {
					assert.Equal(t, msg, pre.StatusMsg)
				}
				return
			}
			var re *duo.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Contains(t, err.Error(), `"allow" without "status_msg"`)
			assert.Nil(t, pre)
		})
	}
}
