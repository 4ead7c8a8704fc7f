package duotest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

func newClient(t *testing.T, s *duotest.Server, mod ...func(*duo.Options)) *duo.Client {
	t.Helper()
	o := s.ClientOptions()
	o.Timeout = 3 * time.Second
	o.LongPollTimeout = 5 * time.Second
	o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() } // no real waits on 429
	for _, m := range mod {
		m(&o)
	}
	c, err := duo.New(o)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// A whole push login: preauth, async auth, auth_status until allowed, with
// every parameter reaching the server over one TLS connection.
func TestFullPushLoginOneConnection(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice", Push: duotest.PushApproved()})
	c := newClient(t, s)

	pre, err := c.Preauth(ctx(t), duo.PreauthRequest{
		Username: "alice", IPAddr: "203.0.113.5", Hostname: "bastion-01",
		TrustedDeviceToken: "tdt", ClientSupportsVerifiedPush: true, TextPrompt: true, Failmode: "closed",
	})
	require.NoError(t, err)
	require.Equal(t, duo.ResultAuth, pre.Result)
	require.Len(t, pre.Devices, 1)
	require.NotNil(t, pre.Prompt)

	a, err := c.Auth(ctx(t), duo.AuthRequest{
		Username: "alice", Factor: duo.FactorPush, Device: "auto", Type: "Login request",
		DisplayUsername: "Alice", PushInfo: "command=sudo%20id&host=bastion-01", Async: true,
		IPAddr: "203.0.113.5", Hostname: "bastion-01",
	})
	require.NoError(t, err)
	require.NotEmpty(t, a.TxID)

	var msgs []string
	for i := 0; i < 10; i++ {
		st, err := c.AuthStatus(ctx(t), a.TxID)
		require.NoError(t, err)
		msgs = append(msgs, st.StatusMsg)
		if st.Result != duo.ResultWaiting {
			assert.Equal(t, duo.ResultAllow, st.Result)
			break
		}
	}
	assert.Equal(t, []string{"Pushed a login request to your device...", "Success. Logging you in..."}, msgs)

	reqs := s.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, url.Values{
		"username": {"alice"}, "ipaddr": {"203.0.113.5"}, "hostname": {"bastion-01"},
		"trusted_device_token": {"tdt"}, "client_supports_verified_push": {"1"},
		"text_prompt": {"1"}, "failmode": {"closed"},
	}, reqs[0].Params)
	assert.Equal(t, url.Values{
		"username": {"alice"}, "factor": {"push"}, "device": {"auto"}, "type": {"Login request"},
		"display_username": {"Alice"}, "pushinfo": {"command=sudo%20id&host=bastion-01"}, "async": {"1"},
		"ipaddr": {"203.0.113.5"}, "hostname": {"bastion-01"},
	}, reqs[1].Params)
	assert.Equal(t, url.Values{"txid": {a.TxID}}, reqs[2].Params)
	for _, r := range reqs {
		assert.Equal(t, reqs[0].ConnID, r.ConnID, "every request on the first connection")
		assert.Equal(t, r.Header.Get("Date"), r.Header.Get("X-Duo-Date"))
		assert.Contains(t, r.Header.Get("User-Agent"), "pam_duo_go/")
	}
	assert.Equal(t, 1, s.Handshakes(), "one TLS handshake per login")
	assert.Equal(t, 1, s.Connections())
}

// handRequest is a request signed by hand, to test the verifier.
type handRequest struct {
	ikey, skey string
	host       string    // Host header (with the port)
	signHost   string    // host in the canonical string; "" = host without its port
	date       time.Time // the request's date
	dateFormat string    // layout of the date; "" = duo.FormatDate (UTC, -0000)
	zone       *time.Location
	onlyDate   bool // send Date only (no X-Duo-Date)
	onlyXDate  bool // send X-Duo-Date only (as duo_unix does)
	sha1       bool // sign with HMAC-SHA1
	tamper     bool
}

// signedRequest sends a preauth signed by hand.
func signedRequest(t *testing.T, s *duotest.Server, h handRequest, params url.Values) (int, string) {
	t.Helper()
	d := duo.FormatDate(h.date)
	if h.dateFormat != "" {
		d = h.date.In(h.zone).Format(h.dateFormat)
	}
	body := duo.EncodeParams(params)
	req, err := http.NewRequest(http.MethodPost, s.URL+"/auth/v2/preauth", strings.NewReader(body))
	require.NoError(t, err)
	req.Host = h.host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !h.onlyXDate {
		req.Header.Set("Date", d)
	}
	if !h.onlyDate {
		req.Header.Set("X-Duo-Date", d)
	}
	signHost := h.signHost
	if signHost == "" {
		signHost = duotest.SigningHost(h.host)
	}
	canon := duo.Canonicalize("POST", signHost, "/auth/v2/preauth", params, d)
	sig := duo.Sign(h.skey, canon)
	if h.sha1 {
		m := hmac.New(sha1.New, []byte(h.skey))
		m.Write([]byte(canon))
		sig = hex.EncodeToString(m.Sum(nil))
	}
	req.Header.Set("Authorization", duo.BasicAuth(h.ikey, sig))
	if h.tamper {
		req.Body = io.NopCloser(strings.NewReader(body + "&ipaddr=1.2.3.4"))
		req.ContentLength = -1
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), ServerName: "127.0.0.1"}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSignatureVerification(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice"})
	params := url.Values{"username": {"alice"}}
	// Dates travel with one-second resolution and the requests take time:
	// the outside cases are 10 s beyond the window, not 1 s, or a date cut
	// to the second late in a second could land inside it.
	now := time.Now()
	upperHost := strings.ToUpper(strings.Replace(s.Host, "127.0.0.1", "LOCALHOST", 1))
	ahead := time.FixedZone("", 5*3600+30*60)
	behind := time.FixedZone("EST", -5*3600)
	const duoUnixLayout = "Mon, 02 Jan 2006 15:04:05 -0700" // strftime %a, %d %b %Y %T %z
	good := handRequest{ikey: s.IKey, skey: s.SKey, host: s.Host, date: now}
	with := func(f func(*handRequest)) handRequest { h := good; f(&h); return h }
	tests := []struct {
		name       string
		req        handRequest
		wantStatus int
		wantCode   string
	}{
		{"good", good, 200, `"stat":"OK"`},
		{"host case does not matter", with(func(h *handRequest) { h.host = upperHost }), 200, `"stat":"OK"`},
		{"signed over the host with its port, which Duo does not verify", with(func(h *handRequest) { h.signHost = s.Host }), 401, "40103"},
		{"HMAC-SHA1, as older clients sign", with(func(h *handRequest) { h.sha1 = true }), 200, `"stat":"OK"`},
		{"HMAC-SHA1 with a wrong key", with(func(h *handRequest) { h.sha1, h.skey = true, "wrong-secret" }), 401, "40103"},
		{"X-Duo-Date only, as duo_unix sends", with(func(h *handRequest) { h.onlyXDate = true }), 200, `"stat":"OK"`},
		{"Date only", with(func(h *handRequest) { h.onlyDate = true }), 200, `"stat":"OK"`},
		{"local time with a positive offset", with(func(h *handRequest) { h.onlyXDate, h.dateFormat, h.zone = true, duoUnixLayout, ahead }), 200, `"stat":"OK"`},
		{"local time with a negative offset", with(func(h *handRequest) { h.onlyXDate, h.dateFormat, h.zone = true, duoUnixLayout, behind }), 200, `"stat":"OK"`},
		{"local wall clock labelled UTC is 5 h off", with(func(h *handRequest) {
			h.date = now.In(behind)
			h.dateFormat, h.zone = "Mon, 02 Jan 2006 15:04:05 -0000", time.FixedZone("", -5*3600)
		}), 401, "40105"},
		{"wrong ikey", with(func(h *handRequest) { h.ikey = "DIWRONG" }), 401, "40102"},
		{"wrong skey", with(func(h *handRequest) { h.skey = "wrong-secret" }), 401, "40103"},
		{"tampered parameter", with(func(h *handRequest) { h.tamper = true }), 401, "40103"},
		{"date 310 s early", with(func(h *handRequest) { h.date = now.Add(-310 * time.Second) }), 401, "40105"},
		{"date 310 s late", with(func(h *handRequest) { h.date = now.Add(310 * time.Second) }), 401, "40105"},
		{"date 250 s off is fine", with(func(h *handRequest) { h.date = now.Add(-250 * time.Second) }), 200, `"stat":"OK"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := signedRequest(t, s, tt.req, params)
			assert.Equal(t, tt.wantStatus, status, body)
			assert.Contains(t, body, tt.wantCode)
		})
	}
}

func TestScriptedOutcomes(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	token := []duo.Device{{Device: "DTOKEN", Type: "token", Name: "0"}}
	s.AddUser(duotest.User{Name: "allow", Preauth: duo.ResultAllow})
	s.AddUser(duotest.User{Name: "deny", Preauth: duo.ResultDeny})
	s.AddUser(duotest.User{Name: "enroll", Preauth: duo.ResultEnroll})
	s.AddUser(duotest.User{Name: "approve", Push: duotest.PushApproved(), Passcodes: []string{"123456"}})
	s.AddUser(duotest.User{Name: "denied", Push: duotest.PushDenied()})
	s.AddUser(duotest.User{Name: "timeout", Push: duotest.PushTimeout()})
	s.AddUser(duotest.User{Name: "fraud", Push: duotest.PushFraud()})
	s.AddUser(duotest.User{Name: "locked", LockedOut: true})
	s.AddUser(duotest.User{Name: "token", Devices: token, Passcodes: []string{"654321"}})
	s.AddUser(duotest.User{Name: "vp", VerifiedPushCode: "417"})
	c := newClient(t, s)

	for _, tt := range []struct{ user, result string }{
		{"allow", duo.ResultAllow}, {"deny", duo.ResultDeny}, {"enroll", duo.ResultEnroll},
		{"nobody", duo.ResultEnroll}, {"approve", duo.ResultAuth},
	} {
		pre, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: tt.user})
		require.NoError(t, err, tt.user)
		assert.Equal(t, tt.result, pre.Result, tt.user)
		if tt.result == duo.ResultEnroll {
			assert.NotEmpty(t, pre.EnrollPortalURL)
		}
	}

	auth := func(req duo.AuthRequest) *duo.AuthResponse {
		t.Helper()
		a, err := c.Auth(ctx(t), req)
		require.NoError(t, err)
		return a
	}
	for _, tt := range []struct {
		name                string
		req                 duo.AuthRequest
		wantResult, wantSta string
	}{
		{"push approved (sync)", duo.AuthRequest{Username: "approve", Factor: "push", Device: "auto"}, "allow", "allow"},
		{"push denied", duo.AuthRequest{Username: "denied", Factor: "push", Device: "auto"}, "deny", "deny"},
		{"push timeout", duo.AuthRequest{Username: "timeout", Factor: "push", Device: "auto"}, "deny", "timeout"},
		{"push fraud", duo.AuthRequest{Username: "fraud", Factor: "push", Device: "auto"}, "deny", "fraud"},
		{"phone", duo.AuthRequest{Username: "approve", Factor: "phone", Device: "auto"}, "allow", "allow"},
		{"auto", duo.AuthRequest{Username: "approve", Factor: "auto", Device: "auto"}, "allow", "allow"},
		{"passcode right", duo.AuthRequest{Username: "token", Factor: "passcode", Passcode: "654321"}, "allow", "allow"},
		{"passcode wrong", duo.AuthRequest{Username: "token", Factor: "passcode", Passcode: "000000"}, "deny", "deny"},
		{"sms sent", duo.AuthRequest{Username: "approve", Factor: "sms", Device: "auto"}, "deny", "sent"},
		{"locked out", duo.AuthRequest{Username: "locked", Factor: "push", Device: "auto"}, "deny", "locked_out"},
		{"prompt key phone1", duo.AuthRequest{Username: "approve", Factor: "prompt", Prompt: "phone1"}, "allow", "allow"},
		{"verified push without txid", duo.AuthRequest{Username: "vp", Factor: "push", Device: "auto"}, "deny", "deny"},
	} {
		a := auth(tt.req)
		assert.Equal(t, tt.wantResult, a.Result, tt.name)
		assert.Equal(t, tt.wantSta, a.Status, tt.name)
	}

	// A device without the capability is a 400 from Duo.
	_, err := c.Auth(ctx(t), duo.AuthRequest{Username: "token", Factor: "push", Device: "auto"})
	var api *duo.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, 400, api.StatusCode)
	assert.False(t, duo.IsUnavailable(err))

	// Verified Push: the txid comes with preauth (no code: Duo sends none
	// there), the push goes through only with that txid, and the code is
	// in the push's first status message.
	pre, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: "vp", ClientSupportsVerifiedPush: true, TextPrompt: true})
	require.NoError(t, err)
	assert.Empty(t, pre.VerificationCode)
	require.NotEmpty(t, pre.TxID)
	assert.Equal(t, "verified_push1", pre.Prompt.Factors["default"])
	a := auth(duo.AuthRequest{Username: "vp", Factor: "prompt", Prompt: "verified_push1", TxID: pre.TxID, Async: true})
	st, err := c.AuthStatus(ctx(t), a.TxID)
	require.NoError(t, err)
	assert.Equal(t, "Please enter verification code 417 into Duo Mobile...", st.StatusMsg)
	for i := 0; i < 5 && st.Result == "waiting"; i++ { // then the push's own steps
		st, err = c.AuthStatus(ctx(t), a.TxID)
		require.NoError(t, err)
	}
	assert.Equal(t, "allow", st.Result)
}

// TestUnixClientRequests: what Duo's Unix clients (duo_unix) send is
// served: every typed answer as factor=prompt, async=1 for every factor
// and async absent meaning synchronous.
func TestUnixClientRequests(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "approve", Passcodes: []string{"123456"}})
	s.AddUser(duotest.User{Name: "locked", LockedOut: true})
	c := newClient(t, s)
	for _, tt := range []struct {
		name                  string
		req                   duo.AuthRequest
		wantResult, wantState string
	}{
		{"passcode as a prompt, sync", duo.AuthRequest{Username: "approve", Factor: "prompt", Prompt: "123456"}, "allow", "allow"},
		{"wrong passcode as a prompt, sync", duo.AuthRequest{Username: "approve", Factor: "prompt", Prompt: "999999"}, "deny", "deny"},
		{"passcode as a prompt, async", duo.AuthRequest{Username: "approve", Factor: "prompt", Prompt: "123456", Async: true}, "allow", "allow"},
		{"wrong passcode as a prompt, async", duo.AuthRequest{Username: "approve", Factor: "prompt", Prompt: "999999", Async: true}, "deny", "deny"},
		{"passcode factor, async", duo.AuthRequest{Username: "approve", Factor: "passcode", Passcode: "123456", Async: true}, "allow", "allow"},
		{"sms as a prompt, async", duo.AuthRequest{Username: "approve", Factor: "prompt", Prompt: "sms1", Async: true}, "deny", "sent"},
		{"locked out, sync", duo.AuthRequest{Username: "locked", Factor: "prompt", Prompt: "push1"}, "deny", "locked_out"},
		{"push, async absent", duo.AuthRequest{Username: "approve", Factor: "prompt", Prompt: "push1"}, "allow", "allow"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := c.Auth(ctx(t), tt.req)
			require.NoError(t, err)
			result, status := a.Result, a.Status
			if tt.req.Async {
				st, err := c.AuthStatus(ctx(t), a.TxID)
				require.NoError(t, err)
				result, status = st.Result, st.Status
			}
			assert.Equal(t, tt.wantResult, result)
			assert.Equal(t, tt.wantState, status)
		})
	}
}

func TestTextPrompt(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice", NoDevicesInPrompt: true})
	c := newClient(t, s)
	pre, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: "alice", TextPrompt: true})
	require.NoError(t, err)
	assert.Empty(t, pre.Devices)
	assert.Equal(t, "Duo two-factor login for alice\n\nEnter a passcode or select one of the following options:\n\n"+
		" 1. Duo Push to iOS (XXX-XXX-0100)\n 2. Phone call to iOS (XXX-XXX-0100)\n 3. SMS passcodes to iOS (XXX-XXX-0100)\n\n"+
		"Passcode or option (1-3): ", pre.Prompt.Text)
	assert.Equal(t, map[string]string{"default": "push1", "1": "push1", "2": "phone1", "3": "sms1"}, pre.Prompt.Factors)
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault duotest.Fault
		check func(t *testing.T, err error)
	}{
		{"503", duotest.Fault{Status: 503}, func(t *testing.T, err error) {
			var api *duo.APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, 503, api.StatusCode)
			assert.True(t, duo.IsUnavailable(err))
		}},
		{"500", duotest.Fault{Status: 500}, func(t *testing.T, err error) { assert.True(t, duo.IsUnavailable(err)) }},
		{"400", duotest.Fault{Status: 400, Code: 40002}, func(t *testing.T, err error) {
			var api *duo.APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, 40002, api.Code)
			assert.False(t, duo.IsUnavailable(err))
		}},
		{"403", duotest.Fault{Status: 403}, func(t *testing.T, err error) { assert.False(t, duo.IsUnavailable(err)) }},
		{"malformed", duotest.Fault{Malformed: true}, isResponseError},
		{"truncated", duotest.Fault{Truncate: true}, func(t *testing.T, err error) { assert.True(t, duo.IsUnavailable(err)) }},
		{"html", duotest.Fault{HTML: true}, isResponseError},
		{"raw body", duotest.Fault{Body: []byte(`[]`)}, isResponseError},
		{"closed connection", duotest.Fault{CloseConnection: true}, isTransportError},
		{"hang", duotest.Fault{Hang: true}, isTransportError},
		{"slower than timeout", duotest.Fault{Delay: 5 * time.Second}, isTransportError},
		{"429 storm", duotest.Fault{Status: 429, RetryAfter: "1", Times: -1}, func(t *testing.T, err error) {
			var api *duo.APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, 429, api.StatusCode)
			assert.False(t, duo.IsUnavailable(err), "a rate limit is a refusal, not Duo being down")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := duotest.NewServer()
			defer s.Close()
			s.AddUser(duotest.User{Name: "alice"})
			s.Inject("/auth/v2/preauth", tt.fault)
			c := newClient(t, s, func(o *duo.Options) { o.Timeout = time.Second })
			_, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: "alice"})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), s.SKey)
			tt.check(t, err)
		})
	}
}

func isResponseError(t *testing.T, err error) {
	var re *duo.ResponseError
	assert.ErrorAs(t, err, &re)
	assert.True(t, duo.IsUnavailable(err))
}

func isTransportError(t *testing.T, err error) {
	var te *duo.TransportError
	assert.ErrorAs(t, err, &te)
	assert.True(t, duo.IsUnavailable(err))
}

func Test429ThenSuccess(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice"})
	s.Inject("/auth/v2/preauth", duotest.Fault{Status: 429, Times: 2})
	var waits []time.Duration
	c := newClient(t, s, func(o *duo.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	})
	pre, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: "alice", IPAddr: "192.0.2.1"})
	require.NoError(t, err)
	assert.Equal(t, duo.ResultAuth, pre.Result)
	reqs := s.Requests()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, url.Values{"username": {"alice"}, "ipaddr": {"192.0.2.1"}}, r.Params, "the whole body is resent")
	}
	assert.Len(t, waits, 2)
}

func TestHugeResponseRejectedWithBoundedMemory(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.Inject("/auth/v2/preauth", duotest.Fault{HugeBytes: 100 << 20})
	c := newClient(t, s)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: "alice"})
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, duo.ErrResponseTooLarge)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "a 100 MiB answer must not be read into memory")
}

func TestClockSkewCorrected(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			s := duotest.NewServer(duotest.WithClockOffset(skew))
			defer s.Close()
			s.AddUser(duotest.User{Name: "alice", Passcodes: []string{"1"}})
			c := newClient(t, s)
			_, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: "alice"})
			require.NoError(t, err)
			_, err = c.Auth(ctx(t), duo.AuthRequest{Username: "alice", Factor: "passcode", Passcode: "1"})
			require.NoError(t, err)
			assert.Len(t, s.Requests(), 3, "one retry the first time, none after")
			assert.InDelta(t, skew.Seconds(), c.ClockOffset().Seconds(), 5)
		})
	}
}

func TestTLSRefusals(t *testing.T) {
	t.Run("wrong CA", func(t *testing.T) {
		s := duotest.NewServer()
		defer s.Close()
		other := duotest.NewServer()
		defer other.Close()
		c := newClient(t, s, func(o *duo.Options) { o.RootCAs = other.CertPool() })
		_, err := c.Check(ctx(t))
		isTransportError(t, err)
		assert.Zero(t, len(s.Requests()))
	})
	t.Run("wrong host name", func(t *testing.T) {
		s := duotest.NewServer(duotest.WithCertHosts("wrong.example"))
		defer s.Close()
		c := newClient(t, s)
		_, err := c.Check(ctx(t))
		isTransportError(t, err)
		assert.Contains(t, err.Error(), "certificate")
	})
	t.Run("cafile", func(t *testing.T) {
		s := duotest.NewServer()
		defer s.Close()
		path := t.TempDir() + "/ca.pem"
		require.NoError(t, s.WriteCAFile(path))
		c := newClient(t, s, func(o *duo.Options) { o.RootCAs, o.CAFile = nil, path })
		_, err := c.Check(ctx(t))
		require.NoError(t, err)
	})
	t.Run("embedded roots do not trust the test CA", func(t *testing.T) {
		s := duotest.NewServer()
		defer s.Close()
		c := newClient(t, s, func(o *duo.Options) { o.RootCAs = nil })
		_, err := c.Check(ctx(t))
		isTransportError(t, err)
	})
}

func TestCloseWithHangingRequest(t *testing.T) {
	s := duotest.NewServer()
	s.Inject("", duotest.Fault{Hang: true})
	c := newClient(t, s, func(o *duo.Options) { o.Timeout = time.Minute })
	errc := make(chan error, 1)
	go func() { _, err := c.Check(context.Background()); errc <- err }()
	require.Eventually(t, func() bool { return len(s.Requests()) == 1 }, 5*time.Second, 10*time.Millisecond)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "Close hung with a request in flight")
	}
	select {
	case err := <-errc:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		require.FailNow(t, "client still waiting after Close")
	}
}

func TestWriteConfigLoadsWithConf(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	path := t.TempDir() + "/pam_duo.conf"
	require.NoError(t, s.WriteConfig(path, map[string]string{"failmode": "secure"}))
	cfg, err := conf.Load(path)
	require.NoError(t, err)
	assert.Equal(t, s.Host, cfg.Host)
	assert.Equal(t, conf.FailSecure, cfg.Failmode)
	o := s.ClientOptions()
	o.RootCAs, o.CAFile = nil, cfg.CAFile
	c, err := duo.New(o)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Check(ctx(t))
	require.NoError(t, err)
}
