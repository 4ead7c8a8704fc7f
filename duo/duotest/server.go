package duotest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// DateWindow is how far a request's date may be from the server's clock.
const DateWindow = 300 * time.Second

// Request is one request the server received.
type Request struct {
	Method     string
	Path       string
	Params     url.Values  // query for GET, form body for POST
	Header     http.Header // without Authorization
	RemoteAddr string
	Time       time.Time // when it arrived (server's real clock)
	ConnID     int       // which TCP connection carried it, from 1
}

// Option configures a Server.
type Option func(*Server)

// WithKeys sets the integration and secret keys (random by default).
func WithKeys(ikey, skey string) Option { return func(s *Server) { s.IKey, s.SKey = ikey, skey } }

// WithCertHosts issues the server certificate for these names instead of
// 127.0.0.1, ::1 and localhost (to test host name verification).
func WithCertHosts(hosts ...string) Option { return func(s *Server) { s.certHosts = hosts } }

// WithClockOffset shifts the server's clock by d, as if the client's clock
// were off by -d.
func WithClockOffset(d time.Duration) Option { return func(s *Server) { s.clockOffset = d } }

// WithDelay adds d to every answer and to every TLS handshake, as a WAN
// round trip of d would (the TCP connect itself is not delayed).
func WithDelay(d time.Duration) Option { return func(s *Server) { s.delay = d } }

// WithListener serves on l instead of a new listener on 127.0.0.1:0.
func WithListener(l net.Listener) Option { return func(s *Server) { s.listener = l } }

// Server is a running mock Duo server.
type Server struct {
	URL  string // https://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT, the value of a client's host key
	IKey string
	SKey string

	certHosts   []string
	clockOffset time.Duration
	delay       time.Duration
	listener    net.Listener

	ts      *httptest.Server
	ca      *testCA
	closing chan struct{}
	once    sync.Once

	handshakes  atomic.Int64
	connections atomic.Int64

	mu       sync.Mutex
	users    map[string]*User
	faults   map[string][]Fault
	requests []Request
	txs      map[string]*transaction
	vpTxids  map[string]string // Verified Push txid -> username
}

type transaction struct {
	steps []Step
	next  int
	token string // trusted_device_token of a final allow
}

type connIDKey struct{}

// NewServer starts a mock Duo server on loopback. It panics if it cannot,
// like httptest.NewServer.
func NewServer(opts ...Option) *Server {
	s := &Server{
		IKey:      "DI" + randomHex(9),
		SKey:      randomHex(20),
		certHosts: []string{"127.0.0.1", "::1", "localhost"},
		closing:   make(chan struct{}),
		users:     map[string]*User{},
		faults:    map[string][]Fault{},
		txs:       map[string]*transaction{},
		vpTxids:   map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	ca, err := newTestCA(s.certHosts)
	if err != nil {
		panic(err)
	}
	s.ca = ca
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if s.listener != nil {
		s.ts.Listener.Close()
		s.ts.Listener = s.listener
	}
	s.ts.TLS = &tls.Config{
		Certificates: []tls.Certificate{ca.leaf},
		MinVersion:   tls.VersionTLS12,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			// The ServerHello leaves one round trip after the ClientHello.
			if s.delay > 0 {
				s.sleep(hello.Context(), s.delay)
			}
			return nil, nil
		},
		VerifyConnection: func(tls.ConnectionState) error {
			s.handshakes.Add(1)
			return nil
		},
	}
	var connIDs atomic.Int64
	s.ts.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		s.connections.Add(1)
		return context.WithValue(ctx, connIDKey{}, int(connIDs.Add(1)))
	}
	s.ts.Config.ErrorLog = nil
	s.ts.StartTLS()
	s.URL = s.ts.URL
	s.Host = strings.TrimPrefix(s.ts.URL, "https://")
	return s
}

// Close stops the server, cutting off requests still in flight.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// CAPEM returns the test CA certificate in PEM form.
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.ca.certPEM...) }

// CertPool returns a pool holding the test CA.
func (s *Server) CertPool() *x509.CertPool { return s.ca.pool.Clone() }

// WriteCAFile writes the test CA certificate to path.
func (s *Server) WriteCAFile(path string) error {
	if err := os.WriteFile(path, s.ca.certPEM, 0o644); err != nil {
		return fmt.Errorf("duotest: write CA: %w", err)
	}
	return nil
}

// ClientOptions returns duo.Options that talk to this server.
func (s *Server) ClientOptions() duo.Options {
	return duo.Options{IKey: s.IKey, SKey: s.SKey, Host: s.Host, RootCAs: s.CertPool()}
}

// WriteConfig writes a duo_unix-format configuration for this server to
// path (mode 0600), with the CA beside it as path + ".ca.pem", plus the
// extra keys in key order.
func (s *Server) WriteConfig(path string, extra map[string]string) error {
	caPath := path + ".ca.pem"
	if err := s.WriteCAFile(caPath); err != nil {
		return err
	}
	abs, err := filepath.Abs(caPath)
	if err != nil {
		return fmt.Errorf("duotest: %w", err)
	}
	if err := os.WriteFile(path, []byte(ConfigText(s.IKey, s.SKey, s.Host, abs, extra)), 0o600); err != nil {
		return fmt.Errorf("duotest: write config: %w", err)
	}
	return os.Chmod(path, 0o600)
}

// ConfigText is a duo_unix-format configuration with these keys, host and
// cafile, plus the extra keys in key order.
func ConfigText(ikey, skey, host, cafile string, extra map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[duo]\nikey = %s\nskey = %s\nhost = %s\ncafile = %s\n", ikey, skey, host, cafile)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, extra[k])
	}
	return b.String()
}

// AddUser adds or replaces a scripted user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Name] = &u
}

// Inject queues a fault for the endpoint path (e.g. "/auth/v2/preauth";
// "" for any endpoint). Faults are consumed in the order queued.
func (s *Server) Inject(path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults[path] = append(s.faults[path], f)
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsTo returns the logged requests for one path.
func (s *Server) RequestsTo(path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Reset clears the request log and the connection counters.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.handshakes.Store(0)
	s.connections.Store(0)
}

// Handshakes returns the number of completed TLS handshakes.
func (s *Server) Handshakes() int { return int(s.handshakes.Load()) }

// Connections returns the number of accepted TCP connections.
func (s *Server) Connections() int { return int(s.connections.Load()) }

// now is the server's (possibly shifted) clock.
func (s *Server) now() time.Time { return time.Now().Add(s.clockOffset) }

func (s *Server) takeFault(path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{path, ""} {
		q := s.faults[key]
		if len(q) == 0 {
			continue
		}
		f := q[0]
		if q[0].Times > 0 {
			q[0].Times--
			if q[0].Times == 0 {
				q = q[1:]
			}
		}
		s.faults[key] = q
		return f, true
	}
	return Fault{}, false
}

// sleep waits d, or until the request or the server ends; false if cut off.
// pause waits d while serving r. When the client goes away or the server
// closes first, it aborts the response (nothing is sent and the connection
// is dropped), so an interrupted wait never becomes an empty HTTP 200.
func (s *Server) pause(r *http.Request, d time.Duration) {
	if !s.sleep(r.Context(), d) {
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	params, err := requestParams(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, 40002, "Invalid request parameters", err.Error())
		return
	}
	s.log(r, params)
	s.pause(r, s.delay)
	if f, ok := s.takeFault(r.URL.Path); ok && s.applyFault(w, r, f) {
		return
	}
	if r.URL.Path != "/auth/v2/ping" {
		if code, msg := s.verify(r, params); code != 0 {
			s.fail(w, http.StatusUnauthorized, code, msg, "")
			return
		}
	}
	route := map[string]struct {
		method string
		fn     func(http.ResponseWriter, *http.Request, url.Values)
	}{
		"/auth/v2/ping":          {http.MethodGet, s.ping},
		"/auth/v2/check":         {http.MethodGet, s.ping},
		"/auth/v2/logo":          {http.MethodGet, s.logo},
		"/auth/v2/enroll":        {http.MethodPost, s.enroll},
		"/auth/v2/enroll_status": {http.MethodPost, s.enrollStatus},
		"/auth/v2/preauth":       {http.MethodPost, s.preauth},
		"/auth/v2/auth":          {http.MethodPost, s.auth},
		"/auth/v2/auth_status":   {http.MethodGet, s.authStatus},
	}
	h, ok := route[r.URL.Path]
	switch {
	case !ok:
		s.fail(w, http.StatusNotFound, 40401, "Resource not found", "")
	case r.Method != h.method:
		s.fail(w, http.StatusMethodNotAllowed, 40501, "Method not allowed", "")
	default:
		h.fn(w, r, params)
	}
}

func requestParams(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(body))
}

func (s *Server) log(r *http.Request, params url.Values) {
	h := r.Header.Clone()
	h.Del("Authorization")
	id, _ := r.Context().Value(connIDKey{}).(int)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Params: params, Header: h,
		RemoteAddr: r.RemoteAddr, Time: time.Now(), ConnID: id,
	})
}

// verify checks the signature and date like Duo; it returns a Duo error
// code and message, or 0.
func (s *Server) verify(r *http.Request, params url.Values) (int, string) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Basic ") {
		return 40101, "Missing request credentials"
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
	if err != nil {
		return 40101, "Missing request credentials"
	}
	ikey, sig, ok := strings.Cut(string(raw), ":")
	if !ok {
		return 40101, "Missing request credentials"
	}
	if ikey != s.IKey {
		return 40102, "Invalid integration key in request credentials"
	}
	// Duo reads X-Duo-Date and falls back to Date: Duo's Unix clients
	// send only X-Duo-Date, in local time with a numeric offset.
	date := r.Header.Get("X-Duo-Date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	t, ok := parseRequestDate(date)
	if !ok {
		return 40105, "Invalid request date: unparseable"
	}
	if d := t.Sub(s.now()); d > DateWindow || d < -DateWindow {
		return 40105, "Invalid request date: too far from the server's clock"
	}
	// The host is signed without the port, as Duo verifies it and as
	// duo_unix signs it.
	canon := duo.Canonicalize(r.Method, SigningHost(r.Host), r.URL.Path, params, date)
	if !duo.VerifySignature(s.SKey, canon, sig) && !duo.VerifySignatureSHA1(s.SKey, canon, sig) {
		return 40103, "Invalid signature in request credentials"
	}
	return 0, ""
}

// SigningHost is the host part of a Host header, without any port: the
// host a request's signature covers.
func SigningHost(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// requestDateLayouts are the RFC 2822 forms clients date requests with:
// a numeric offset (Duo's clients, local time or UTC) or a zone name.
var requestDateLayouts = []string{
	duo.DateFormat,
	"Mon, _2 Jan 2006 15:04:05 -0700",
	time.RFC1123,
	time.RFC1123Z,
}

// parseRequestDate reads a request's X-Duo-Date or Date header.
func parseRequestDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range requestDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// applyFault serves f; it reports whether the answer is complete.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	s.pause(r, f.Delay)
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.XRetryAfter != "" {
		w.Header().Set("X-Retry-After", f.XRetryAfter)
	}
	switch {
	case f.Hang:
		s.pause(r, 24*time.Hour)
		return true
	case f.CloseConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return true
	case f.Truncate:
		body := `{"stat":"OK","response":{"result":"auth","status_msg":"Account is act`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+100))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
		return true // net/http closes the connection: fewer bytes than promised
	case f.HugeBytes > 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		prefix := `{"stat":"OK","response":{"status_msg":"`
		io.WriteString(w, prefix)
		chunk := []byte(strings.Repeat("a", 64<<10))
		for left := f.HugeBytes - int64(len(prefix)); left > 0; left -= int64(len(chunk)) {
			n := min(int64(len(chunk)), left)
			if _, err := w.Write(chunk[:n]); err != nil {
				return true
			}
			select {
			case <-s.closing:
				return true
			default:
			}
		}
		return true
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(orDefault(f.Status, http.StatusOK))
		io.WriteString(w, `{"stat":"OK","response":{"result":`)
		return true
	case f.HTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(orDefault(f.Status, http.StatusBadGateway))
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
		return true
	case f.Body != nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(orDefault(f.Status, http.StatusOK))
		w.Write(f.Body)
		return true
	case f.Status != 0:
		msg := f.Message
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		s.fail(w, f.Status, orDefault(f.Code, f.Status*100), msg, "")
		return true
	}
	return false // only a delay: answer normally
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) ok(w http.ResponseWriter, response any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"stat": "OK", "response": response})
}

func (s *Server) fail(w http.ResponseWriter, status, code int, msg, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"stat": "FAIL", "code": code, "message": msg}
	if detail != "" {
		body["message_detail"] = detail
	}
	json.NewEncoder(w).Encode(body)
}

func (s *Server) badParam(w http.ResponseWriter, name string) {
	s.fail(w, http.StatusBadRequest, 40002, "Invalid request parameters", name)
}

func (s *Server) ping(w http.ResponseWriter, _ *http.Request, _ url.Values) {
	s.ok(w, duo.TimeResponse{Time: s.now().Unix()})
}

// onePixelPNG is a valid 1x1 PNG.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

func (s *Server) logo(w http.ResponseWriter, _ *http.Request, _ url.Values) {
	w.Header().Set("Content-Type", "image/png")
	w.Write(onePixelPNG)
}

func (s *Server) enroll(w http.ResponseWriter, _ *http.Request, p url.Values) {
	name := p.Get("username")
	if name == "" {
		name = "user-" + randomHex(4)
	}
	code := randomHex(10)
	s.ok(w, duo.EnrollResponse{
		ActivationBarcode: "https://" + s.Host + "/frame/qr?value=" + code,
		ActivationCode:    "duo://" + code,
		ActivationURL:     "https://" + s.Host + "/activate/" + code,
		Expiration:        s.now().Add(24 * time.Hour).Unix(),
		UserID:            "DU" + strings.ToUpper(randomHex(9)),
		Username:          name,
	})
}

func (s *Server) enrollStatus(w http.ResponseWriter, _ *http.Request, p url.Values) {
	if p.Get("user_id") == "" || p.Get("activation_code") == "" {
		s.badParam(w, "user_id and activation_code are required")
		return
	}
	s.ok(w, duo.EnrollWaiting)
}

// user finds the request's user; nil and an answer sent when it is bad.
func (s *Server) user(w http.ResponseWriter, p url.Values) (*User, string, bool) {
	name, id := p.Get("username"), p.Get("user_id")
	if (name == "") == (id == "") {
		s.badParam(w, "exactly one of username and user_id is required")
		return nil, "", false
	}
	if name == "" {
		name = id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[name], name, true
}

func (s *Server) preauth(w http.ResponseWriter, _ *http.Request, p url.Values) {
	u, name, ok := s.user(w, p)
	if !ok {
		return
	}
	if u == nil {
		s.ok(w, duo.PreauthResponse{
			Result:          duo.ResultEnroll,
			StatusMsg:       "Enroll an authentication device to proceed",
			EnrollPortalURL: "https://" + s.Host + "/portal?code=" + randomHex(8),
		})
		return
	}
	if tdt := p.Get("trusted_device_token"); tdt != "" && tdt == u.TrustedDeviceToken && u.Preauth != duo.ResultDeny && !u.LockedOut {
		// Remembered Devices: allow for the token's lifetime.
		s.ok(w, duo.PreauthResponse{Result: duo.ResultAllow, StatusMsg: "Remembered device"})
		return
	}
	switch u.Preauth {
	case duo.ResultAllow, duo.ResultDeny, duo.ResultEnroll:
		resp := duo.PreauthResponse{Result: u.Preauth, StatusMsg: u.StatusMsg}
		if u.Preauth == duo.ResultEnroll {
			resp.EnrollPortalURL = "https://" + s.Host + "/portal?code=" + randomHex(8)
		}
		if resp.StatusMsg == "" && !u.OmitStatusMsg {
			resp.StatusMsg = map[string]string{
				duo.ResultAllow: "Allowing unknown user", duo.ResultDeny: "Login denied by policy",
				duo.ResultEnroll: "Enroll an authentication device to proceed",
			}[u.Preauth]
		}
		if u.OmitStatusMsg {
			bare := map[string]any{"result": resp.Result}
			if resp.EnrollPortalURL != "" {
				bare["enroll_portal_url"] = resp.EnrollPortalURL
			}
			s.ok(w, bare)
			return
		}
		s.ok(w, resp)
		return
	}
	resp := duo.PreauthResponse{Result: duo.ResultAuth, StatusMsg: "Account is active", Devices: u.devices()}
	verified := u.VerifiedPushCode != "" && p.Get("client_supports_verified_push") == "1"
	if verified {
		txid := "vp-" + randomHex(8)
		s.mu.Lock()
		s.vpTxids[txid] = name
		s.mu.Unlock()
		resp.TxID = txid
		if u.SendVerificationCode {
			resp.VerificationCode = u.VerifiedPushCode
		}
		resp.Expiration = s.now().Add(60 * time.Second).Unix()
	}
	if p.Get("text_prompt") == "1" {
		resp.Prompt = textPrompt(name, u.devices(), verified)
		if u.NoDevicesInPrompt {
			resp.Devices = nil
		}
	}
	s.ok(w, resp)
}

// textPrompt builds the Unix-integration menu the way Duo's service does.
func textPrompt(name string, devices []duo.Device, verified bool) *duo.Prompt {
	var lines []string
	factors := map[string]string{}
	push := "push"
	if verified {
		push = "verified_push"
	}
	for i, d := range devices {
		label := d.DisplayName
		if label == "" {
			label = d.Number
		}
		n := strconv.Itoa(i + 1)
		add := func(key, text string) {
			opt := strconv.Itoa(len(lines) + 1)
			lines = append(lines, fmt.Sprintf(" %s. %s", opt, text))
			factors[opt] = key
			if _, ok := factors["default"]; !ok {
				factors["default"] = key
			}
		}
		if d.Can(duo.CapPush) {
			add(push+n, "Duo Push to "+label)
		}
		if d.Can(duo.CapPhone) {
			add("phone"+n, "Phone call to "+label)
		}
		if d.Can(duo.CapSMS) {
			add("sms"+n, "SMS passcodes to "+label)
		}
	}
	text := fmt.Sprintf("Duo two-factor login for %s\n\nEnter a passcode or select one of the following options:\n\n%s\n\nPasscode or option (1-%d): ",
		name, strings.Join(lines, "\n"), len(lines))
	return &duo.Prompt{Text: text, Factors: factors}
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request, p url.Values) {
	u, name, ok := s.user(w, p)
	if !ok {
		return
	}
	if u == nil {
		s.fail(w, http.StatusBadRequest, 40002, "Invalid request parameters", "username: no such user")
		return
	}
	// async is 1 or absent (0); Duo's Unix clients send async=1 for every
	// factor, passcodes too, and then poll auth_status.
	async := p.Get("async") == "1"
	if a := p.Get("async"); a != "" && a != "0" && a != "1" {
		s.badParam(w, "async")
		return
	}
	factor, device, passcode := p.Get("factor"), p.Get("device"), p.Get("passcode")
	if factor == duo.FactorPrompt {
		key := p.Get("prompt")
		if key == "" {
			s.badParam(w, "prompt")
			return
		}
		var ok bool
		factor, device, ok = promptFactor(key, u.devices())
		if !ok {
			// Not a factor key of the menu: a typed passcode, which is
			// how duo_unix sends every answer it cannot map.
			factor, passcode = duo.FactorPasscode, key
		}
	}
	// final answers a factor that ends at once, synchronously or, with
	// async=1, as a transaction of one step.
	final := func(resp duo.AuthResponse) {
		if async {
			s.ok(w, duo.AuthResponse{TxID: s.newTransaction([]Step{{Status: resp.Status, StatusMsg: resp.StatusMsg, Result: resp.Result}}, resp.TrustedDeviceToken)})
			return
		}
		s.ok(w, resp)
	}
	if u.LockedOut {
		final(duo.AuthResponse{Result: duo.ResultDeny, Status: "locked_out", StatusMsg: "Your account is locked out."})
		return
	}
	switch factor {
	case duo.FactorPasscode:
		if passcode == "" {
			s.badParam(w, "passcode")
			return
		}
		for _, c := range u.Passcodes {
			if c == passcode {
				final(duo.AuthResponse{Result: duo.ResultAllow, Status: "allow", StatusMsg: "Success. Logging you in...", TrustedDeviceToken: u.TrustedDeviceToken})
				return
			}
		}
		final(duo.AuthResponse{Result: duo.ResultDeny, Status: "deny", StatusMsg: "Incorrect passcode. Please try again."})
		return
	case duo.FactorSMS:
		if _, ok := pickDevice(u.devices(), device, duo.CapSMS); !ok {
			s.badParam(w, "device")
			return
		}
		final(duo.AuthResponse{Result: duo.ResultDeny, Status: "sent", StatusMsg: "New SMS passcodes sent."})
		return
	case duo.FactorAuto:
		factor = duo.FactorPush
		if _, ok := pickDevice(u.devices(), device, duo.CapPush); !ok {
			factor = duo.FactorPhone
		}
	case duo.FactorPush, duo.FactorPhone:
	default:
		s.badParam(w, "factor")
		return
	}
	steps, capability := u.Push, duo.CapPush
	if len(steps) == 0 {
		steps = PushApproved()
	}
	if factor == duo.FactorPhone {
		steps, capability = u.Phone, duo.CapPhone
		if len(steps) == 0 {
			steps = phoneAnswered()
		}
	}
	if _, ok := pickDevice(u.devices(), device, capability); !ok {
		s.badParam(w, "device")
		return
	}
	if factor == duo.FactorPush && u.VerifiedPushCode != "" {
		s.mu.Lock()
		owner := s.vpTxids[p.Get("txid")]
		delete(s.vpTxids, p.Get("txid")) // good for one push, as at Duo
		s.mu.Unlock()
		if owner != name {
			final(duo.AuthResponse{Result: duo.ResultDeny, Status: "deny", StatusMsg: "Verified Duo Push is required."})
			return
		}
		// Duo sends the code in the push's first status message, not in
		// preauth: that is the only place Duo's Unix clients read it.
		steps = append([]Step{{Status: "pushed", Result: duo.ResultWaiting,
			StatusMsg: "Please enter verification code " + u.VerifiedPushCode + " into Duo Mobile..."}}, steps...)
	}
	if async {
		s.ok(w, duo.AuthResponse{TxID: s.newTransaction(steps, u.TrustedDeviceToken)})
		return
	}
	var last Step
	for _, st := range steps {
		s.pause(r, st.Delay)
		last = st
	}
	resp := duo.AuthResponse{Result: last.Result, Status: last.Status, StatusMsg: last.StatusMsg}
	if resp.Result == duo.ResultAllow {
		resp.TrustedDeviceToken = u.TrustedDeviceToken
	}
	s.ok(w, resp)
}

// newTransaction records a pending async auth and returns its txid; a
// final allow carries token (Remembered Devices), when set.
func (s *Server) newTransaction(steps []Step, token string) string {
	txid := randomHex(16)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txs[txid] = &transaction{steps: steps, token: token}
	return txid
}

// promptFactor maps a Unix-integration factor key ("push1", "phone2",
// "sms1", "verified_push1") to a factor and device id.
func promptFactor(key string, devices []duo.Device) (factor, device string, ok bool) {
	for _, f := range []struct{ prefix, factor string }{
		{"verified_push", duo.FactorPush}, {"push", duo.FactorPush},
		{"phone", duo.FactorPhone}, {"sms", duo.FactorSMS},
	} {
		rest, found := strings.CutPrefix(key, f.prefix)
		if !found {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > len(devices) {
			return "", "", false
		}
		return f.factor, devices[n-1].Device, true
	}
	return "", "", false
}

func pickDevice(devices []duo.Device, id, capability string) (duo.Device, bool) {
	for _, d := range devices {
		if (id == "" || id == "auto" || id == d.Device) && d.Can(capability) {
			return d, true
		}
	}
	return duo.Device{}, false
}

func (s *Server) authStatus(w http.ResponseWriter, r *http.Request, p url.Values) {
	txid := p.Get("txid")
	s.mu.Lock()
	tx := s.txs[txid]
	var st Step
	token := ""
	if tx != nil {
		st = tx.steps[min(tx.next, len(tx.steps)-1)]
		tx.next++
		token = tx.token
	}
	s.mu.Unlock()
	if tx == nil {
		s.badParam(w, "txid")
		return
	}
	s.pause(r, st.Delay)
	resp := duo.AuthStatusResponse{Result: st.Result, Status: st.Status, StatusMsg: st.StatusMsg}
	if st.Result == duo.ResultAllow {
		resp.TrustedDeviceToken = token
	}
	s.ok(w, resp)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
