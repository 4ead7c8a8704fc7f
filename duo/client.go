package duo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the product version, sent in the User-Agent header.
var Version = "0.1.0"

// Defaults applied by New to zero Options fields.
const (
	defaultTimeout          = 15 * time.Second
	defaultLongPollTimeout  = 75 * time.Second
	defaultMaxRetryWait     = 32 * time.Second
	defaultMaxResponseBytes = 1 << 20
)

// skewRetryThreshold is how far the local clock (plus the learned offset)
// may be from the server's before a 401 is retried with a corrected date.
const skewRetryThreshold = 60 * time.Second

// maxAttempts bounds the attempts of one call whatever the server's
// Retry-After headers say.
const maxAttempts = 10

// Options configures a Client. IKey, SKey and Host are required; every
// other field has a default.
type Options struct {
	IKey, SKey string
	// Host is the API host name, optionally with ":port".
	Host string
	// RootCAs, when set, is trusted instead of the embedded Duo bundle.
	RootCAs *x509.CertPool
	// CAFile is a PEM file that replaces the embedded bundle (the cafile
	// key). RootCAs wins if both are set.
	CAFile string
	// SystemRoots (disable_ca_pinning) trusts the system's certificate
	// store instead of the embedded Duo bundle; RootCAs and CAFile win.
	SystemRoots bool
	// MinTLSVersion (min_tls) raises the lowest TLS version used; the
	// client never goes below TLS 1.2 whatever it says.
	MinTLSVersion uint16
	// Proxy is the http_proxy key: "http://[user:pass@]host:port" or
	// "host:port"; "" connects directly. The environment is never read.
	Proxy string
	// Timeout bounds each request (https_timeout); 0 means 15 s.
	Timeout time.Duration
	// LongPollTimeout bounds auth_status and synchronous auth with the
	// push, phone, auto and prompt factors; 0 means 75 s.
	LongPollTimeout time.Duration
	// MaxRetryWait is the most the client waits in total across HTTP 429
	// retries of one call; 0 means 32 s.
	MaxRetryWait time.Duration
	// MaxResponseBytes bounds a response body; 0 means 1 MiB.
	MaxResponseBytes int64
	// UserAgent replaces the default, "pam_duo_go/VERSION (Go)", when set.
	UserAgent string
	// Now is the local clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logf receives debug lines; nil discards them. It never sees the
	// secret key, a passcode or the Authorization header.
	Logf func(format string, args ...any)
}

// defaultUserAgent returns the User-Agent sent when Options.UserAgent is "".
func defaultUserAgent() string { return "pam_duo_go/" + Version + " (Go)" }

// ErrInvalidRequest is wrapped by the errors the client returns, before
// any network traffic, for requests it will not send.
var ErrInvalidRequest = errors.New("invalid request")

// Client is a Duo Auth API v2 client. It keeps one HTTP transport so the
// calls of a login share one TLS connection. It is safe for concurrent use.
type Client struct {
	ikey, skey   string
	host         string // as configured, possibly host:port
	signHost     string // host without the port: what the signature covers
	hc           *http.Client
	tr           *http.Transport
	timeout      time.Duration
	longPoll     time.Duration
	maxRetryWait time.Duration
	maxBytes     int64
	userAgent    string
	now          func() time.Time
	sleep        func(context.Context, time.Duration) error
	logf         func(string, ...any)

	mu     sync.Mutex
	offset time.Duration // server clock minus local clock
}

// New checks o and returns a Client. It does not contact Duo.
func New(o Options) (*Client, error) {
	if o.IKey == "" {
		return nil, errors.New("duo: missing integration key (ikey)")
	}
	if o.SKey == "" {
		return nil, errors.New("duo: missing secret key (skey)")
	}
	serverName, err := checkHost(o.Host)
	if err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Timeout", o.Timeout}, {"LongPollTimeout", o.LongPollTimeout}, {"MaxRetryWait", o.MaxRetryWait}} {
		if d.v < 0 {
			return nil, fmt.Errorf("duo: negative %s %v", d.name, d.v)
		}
	}
	if strings.ContainsFunc(o.UserAgent, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("duo: UserAgent contains control characters")
	}
	if o.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("duo: negative MaxResponseBytes %d", o.MaxResponseBytes)
	}
	c := &Client{
		ikey:         o.IKey,
		skey:         o.SKey,
		host:         o.Host,
		signHost:     serverName,
		timeout:      orDefault(o.Timeout, defaultTimeout),
		longPoll:     orDefault(o.LongPollTimeout, defaultLongPollTimeout),
		maxRetryWait: orDefault(o.MaxRetryWait, defaultMaxRetryWait),
		maxBytes:     o.MaxResponseBytes,
		userAgent:    o.UserAgent,
		now:          o.Now,
		sleep:        o.Sleep,
		logf:         o.Logf,
	}
	if c.maxBytes == 0 {
		c.maxBytes = defaultMaxResponseBytes
	}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}

	roots := o.RootCAs
	if roots == nil && o.CAFile != "" {
		if roots, err = loadCAFile(o.CAFile); err != nil {
			return nil, err
		}
	}
	if roots == nil && !o.SystemRoots {
		if roots, err = duoRoots(); err != nil {
			return nil, err
		}
	}
	proxy, err := parseProxy(o.Proxy)
	if err != nil {
		return nil, err
	}

	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	c.tr = &http.Transport{
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{
			RootCAs:    roots, // nil with SystemRoots: the system store
			ServerName: serverName,
			MinVersion: max(tls.VersionTLS12, o.MinTLSVersion),
		},
		TLSHandshakeTimeout: c.timeout,
		// auth_status long-polls: the headers may legitimately take
		// LongPollTimeout. Each attempt's context is the real bound; this
		// backstop comes a second later, so that the context's error
		// (which names the timeout) always wins the race.
		ResponseHeaderTimeout: max(c.timeout, c.longPoll) + time.Second,
		MaxIdleConns:          2,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
	}
	if proxy != nil {
		c.tr.Proxy = http.ProxyURL(proxy)
	}
	c.hc = &http.Client{
		Transport: c.tr,
		// A redirect would drop the signed request; report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// checkHost validates a host or host:port and returns the name the
// server's certificate must carry.
func checkHost(host string) (string, error) {
	if host == "" {
		return "", errors.New("duo: missing API host")
	}
	u, err := url.Parse("https://" + host)
	if err != nil || u.Host != host || u.User != nil || u.Path != "" || u.RawQuery != "" ||
		u.Fragment != "" || u.Hostname() == "" || strings.ContainsAny(host, " \t\r\n") {
		return "", fmt.Errorf("duo: invalid API host %q: want a host name or host:port", host)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("duo: invalid port in API host %q", host)
		}
	}
	return u.Hostname(), nil
}

// parseProxy turns the http_proxy value into a URL; "host:port" means
// http://host:port. Errors never show the proxy's password.
func parseProxy(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("duo: invalid http_proxy: not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("duo: invalid http_proxy %s: scheme must be http", u.Redacted())
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("duo: invalid http_proxy %s: want http://[user:pass@]host:port", u.Redacted())
	}
	return u, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ClockOffset returns the server's clock minus the local clock, as last
// learned from a response; requests are dated with local time plus it.
func (c *Client) ClockOffset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Close closes the client's idle connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

func (c *Client) debugf(format string, args ...any) {
	if c.logf != nil {
		c.logf(format, args...)
	}
}

// learnServerTime records the offset from a server time with one-second
// resolution. Estimates within a second of the stored offset are noise
// from that resolution and keep the stored value. It reports the offset
// now in use.
func (c *Client) learnServerTime(server, local time.Time) time.Duration {
	est := server.Sub(local)
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := est - c.offset; d > time.Second || d < -time.Second {
		c.offset = est
	}
	return c.offset
}

// FormatDate formats t the way Duo's clients date requests: RFC 2822 in
// UTC with the zone written "-0000".
func FormatDate(t time.Time) string {
	return t.UTC().Format("Mon, 02 Jan 2006 15:04:05") + " -0000"
}

// endpoint describes one API call.
type endpoint struct {
	op       string // short name used in errors, e.g. "preauth"
	method   string
	path     string
	unsigned bool
	longPoll bool
	fresh    bool // a new connection, never a pooled one (Probe)
}

// rawResponse is a fully read response.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// call runs ep with params and decodes the OK response into out.
func (c *Client) call(ctx context.Context, ep endpoint, params url.Values, out any) error {
	resp, err := c.roundTrip(ctx, ep, params)
	if err != nil {
		return err
	}
	return decodeEnvelope(ep.op, resp, out)
}

// roundTrip sends ep, retrying on HTTP 429 and once on a 401 caused by
// clock skew. Every attempt builds, dates and signs the request afresh.
func (c *Client) roundTrip(ctx context.Context, ep endpoint, params url.Values) (*rawResponse, error) {
	var waited time.Duration
	backoff := time.Second
	skewRetried := false
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, c.contextError(ep.op, err)
		}
		signedOffset := c.ClockOffset()
		resp, err := c.attempt(ctx, ep, params, signedOffset)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && !skewRetried {
			if server, ok := responseDate(resp.header); ok {
				skew := server.Sub(c.now().Add(signedOffset))
				if skew > skewRetryThreshold || skew < -skewRetryThreshold {
					skewRetried = true
					c.mu.Lock()
					c.offset = server.Sub(c.now())
					c.mu.Unlock()
					c.debugf("duo: %s: HTTP 401 with the local clock %v off the server's; retrying with a corrected date", ep.op, -skew.Round(time.Second))
					continue
				}
			}
		}
		if resp.status != http.StatusTooManyRequests {
			return resp, nil
		}
		wait, fromHeader := retryAfter(resp.header)
		remaining := c.maxRetryWait - waited
		if fromHeader {
			wait = min(wait, remaining)
		} else {
			wait = backoff + rand.N(time.Second)
			backoff *= 2
		}
		if remaining <= 0 || wait > remaining || attempt >= maxAttempts {
			c.debugf("duo: %s: HTTP 429 after %d attempts and %v of waiting; giving up", ep.op, attempt, waited.Round(time.Millisecond))
			return resp, nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			c.debugf("duo: %s: HTTP 429; the caller's deadline comes before the retry", ep.op)
			return resp, nil
		}
		c.debugf("duo: %s: HTTP 429; retrying in %v", ep.op, wait.Round(time.Millisecond))
		if notice, ok := ctx.Value(retryNoticeKey{}).(func(time.Duration)); ok && notice != nil {
			notice(wait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.contextError(ep.op, err)
		}
		waited += wait
	}
}

type retryNoticeKey struct{}

// WithRetryNotice returns a context under which the client calls notice
// with the wait before each retry of an HTTP 429, so that a waiting user
// can be told (as login_duo does).
func WithRetryNotice(ctx context.Context, notice func(wait time.Duration)) context.Context {
	return context.WithValue(ctx, retryNoticeKey{}, notice)
}

// RetryNoticeText is the line shown to a user while a rate-limited
// request waits, in duo_unix's words.
func RetryNoticeText(wait time.Duration) string {
	secs := int64((wait + time.Second - 1) / time.Second)
	return fmt.Sprintf("Rate-limiting response received from server. Waiting for %d seconds before retrying.", secs)
}

// contextError reports that the caller's context ended. A cancellation is
// the caller's doing and not a Duo failure; a deadline is Duo too slow.
func (c *Client) contextError(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("duo: %s: %w", op, err)
	}
	return &TransportError{Op: op, Err: err}
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), or
// X-Retry-After, which Duo also sends and duo_unix also reads.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		v = strings.TrimSpace(h.Get("X-Retry-After"))
	}
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		if t, err := http.ParseTime(v); err == nil {
			if server, ok := responseDate(h); ok {
				return max(t.Sub(server), 0), true
			}
			return max(time.Until(t), 0), true
		}
		return 0, false
	}
	if n > 3600 {
		n = 3600
	}
	return time.Duration(n) * time.Second, true
}

// responseDate parses a response's Date header.
func responseDate(h http.Header) (time.Time, bool) {
	v := h.Get("Date")
	if v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		if t, err = time.Parse(DateFormat, v); err != nil {
			return time.Time{}, false
		}
	}
	return t, true
}

// attempt sends one request and reads its whole (bounded) response.
func (c *Client) attempt(ctx context.Context, ep endpoint, params url.Values, offset time.Duration) (*rawResponse, error) {
	timeout := c.timeout
	if ep.longPoll {
		timeout = c.longPoll
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	date := FormatDate(c.now().Add(offset))
	encoded := EncodeParams(params)
	u := url.URL{Scheme: "https", Host: c.host, Path: ep.path}
	var body io.Reader
	if ep.method == http.MethodGet {
		u.RawQuery = encoded
	} else {
		body = strings.NewReader(encoded)
	}
	req, err := http.NewRequestWithContext(actx, ep.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("duo: %s: %w", ep.op, err)
	}
	req.Header.Set("Date", date)
	req.Header.Set("X-Duo-Date", date)
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if !ep.unsigned {
		// The signature covers the host without any port, as duo_unix
		// signs it and as Duo verifies it.
		req.Header.Set("Authorization", Authorization(c.ikey, c.skey, ep.method, c.signHost, ep.path, params, date))
	}

	hc := c.hc
	if ep.fresh {
		tr := c.tr.Clone()
		tr.DisableKeepAlives = true
		defer tr.CloseIdleConnections()
		hc = &http.Client{Transport: tr, CheckRedirect: c.hc.CheckRedirect}
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, actx, ep.op, timeout, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	c.debugf("duo: %s %s: HTTP %d, %d bytes, %v", ep.method, ep.path, resp.StatusCode, len(data), time.Since(start).Round(time.Millisecond))
	if server, ok := responseDate(resp.Header); ok {
		c.learnServerTime(server, c.now())
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &ResponseError{Op: ep.op, StatusCode: resp.StatusCode, Err: fmt.Errorf("truncated body: %w", err)}
		}
		return nil, c.transportError(ctx, actx, ep.op, timeout, fmt.Errorf("reading response: %w", err))
	}
	if int64(len(data)) > c.maxBytes {
		// Close without draining: the connection is dropped, not reused.
		return nil, &ResponseError{Op: ep.op, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("more than %d bytes: %w", c.maxBytes, ErrResponseTooLarge)}
	}
	return &rawResponse{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// transportError wraps a failure to get a response, naming a per-request
// timeout as such.
func (c *Client) transportError(ctx, actx context.Context, op string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("duo: %s: %w", op, context.Canceled)
		}
		return &TransportError{Op: op, Err: err}
	}
	if actx.Err() != nil {
		err = fmt.Errorf("no answer within %v: %w", timeout, err)
	}
	return &TransportError{Op: op, Err: err}
}

// envelope is Duo's response wrapper.
type envelope struct {
	Stat          string          `json:"stat"`
	Response      json.RawMessage `json:"response"`
	Code          int             `json:"code"`
	Message       string          `json:"message"`
	MessageDetail string          `json:"message_detail"`
}

// decodeEnvelope turns a response into out or a typed error.
func decodeEnvelope(op string, resp *rawResponse, out any) error {
	var env envelope
	if err := json.Unmarshal(resp.body, &env); err != nil {
		if resp.status == http.StatusTooManyRequests {
			return &APIError{Op: op, StatusCode: resp.status, Code: 42901, Message: "Too Many Requests"}
		}
		return &ResponseError{Op: op, StatusCode: resp.status, Err: notJSON(resp, err)}
	}
	switch env.Stat {
	case "OK":
		if resp.status != http.StatusOK {
			return &ResponseError{Op: op, StatusCode: resp.status, Err: errors.New(`"stat": "OK" with an HTTP error status`)}
		}
		if len(env.Response) == 0 || string(env.Response) == "null" {
			return &ResponseError{Op: op, StatusCode: resp.status, Err: errors.New(`"stat": "OK" without "response"`)}
		}
		if err := json.Unmarshal(env.Response, out); err != nil {
			return &ResponseError{Op: op, StatusCode: resp.status, Err: fmt.Errorf("decoding response: %w", err), Deny: saysDeny(env.Response)}
		}
		return nil
	case "FAIL":
		return &APIError{Op: op, StatusCode: resp.status, Code: env.Code, Message: env.Message, MessageDetail: env.MessageDetail}
	default:
		return &ResponseError{Op: op, StatusCode: resp.status, Err: fmt.Errorf("unexpected stat %q", truncate(env.Stat, 40))}
	}
}

// saysDeny reports whether an invalid response still carries
// "result": "deny".
func saysDeny(response json.RawMessage) bool {
	var r struct {
		Result any `json:"result"`
	}
	return json.Unmarshal(response, &r) == nil && r.Result == ResultDeny
}

// notJSON describes a body that is not a JSON envelope.
func notJSON(resp *rawResponse, err error) error {
	ct := resp.header.Get("Content-Type")
	if mt, _, perr := mime.ParseMediaType(ct); perr == nil && mt != "application/json" {
		return fmt.Errorf("not JSON (Content-Type %s): %w", truncate(mt, 60), err)
	}
	if len(resp.body) == 0 {
		return fmt.Errorf("empty body: %w", err)
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// setIf adds key=value when value is not empty.
func setIf(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// Ping calls GET /auth/v2/ping (unsigned): Duo is up. It learns the
// server's clock.
func (c *Client) Ping(ctx context.Context) (*TimeResponse, error) {
	return c.timeCall(ctx, endpoint{op: "ping", method: http.MethodGet, path: "/auth/v2/ping", unsigned: true})
}

// Check calls GET /auth/v2/check: the keys and host are valid. It learns
// the server's clock.
func (c *Client) Check(ctx context.Context) (*TimeResponse, error) {
	return c.timeCall(ctx, endpoint{op: "check", method: http.MethodGet, path: "/auth/v2/check"})
}

func (c *Client) timeCall(ctx context.Context, ep endpoint) (*TimeResponse, error) {
	var r TimeResponse
	if err := c.call(ctx, ep, nil, &r); err != nil {
		return nil, err
	}
	if r.Time <= 0 {
		return nil, &ResponseError{Op: ep.op, StatusCode: http.StatusOK, Err: errors.New(`missing "time"`)}
	}
	c.learnServerTime(time.Unix(r.Time, 0), c.now())
	return &r, nil
}

// Logo calls GET /auth/v2/logo and returns the PNG image.
func (c *Client) Logo(ctx context.Context) ([]byte, error) {
	ep := endpoint{op: "logo", method: http.MethodGet, path: "/auth/v2/logo"}
	resp, err := c.roundTrip(ctx, ep, nil)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type"))
	if resp.status == http.StatusOK && strings.HasPrefix(mt, "image/") {
		return resp.body, nil
	}
	var ignored json.RawMessage
	if err := decodeEnvelope(ep.op, resp, &ignored); err != nil {
		return nil, err
	}
	return nil, &ResponseError{Op: ep.op, StatusCode: resp.status, Err: fmt.Errorf("expected an image, got Content-Type %q", truncate(mt, 60))}
}

// Enroll calls POST /auth/v2/enroll.
func (c *Client) Enroll(ctx context.Context, r EnrollRequest) (*EnrollResponse, error) {
	if r.ValidSecs < 0 {
		return nil, fmt.Errorf("duo: enroll: negative valid_secs: %w", ErrInvalidRequest)
	}
	p := url.Values{}
	setIf(p, "username", r.Username)
	if r.ValidSecs > 0 {
		p.Set("valid_secs", strconv.Itoa(r.ValidSecs))
	}
	var out EnrollResponse
	if err := c.call(ctx, endpoint{op: "enroll", method: http.MethodPost, path: "/auth/v2/enroll"}, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnrollStatus calls POST /auth/v2/enroll_status and returns
// EnrollSuccess, EnrollWaiting or EnrollInvalid.
func (c *Client) EnrollStatus(ctx context.Context, userID, activationCode string) (string, error) {
	if userID == "" || activationCode == "" {
		return "", fmt.Errorf("duo: enroll_status: user_id and activation_code are required: %w", ErrInvalidRequest)
	}
	p := url.Values{"user_id": {userID}, "activation_code": {activationCode}}
	var out string
	if err := c.call(ctx, endpoint{op: "enroll_status", method: http.MethodPost, path: "/auth/v2/enroll_status"}, p, &out); err != nil {
		return "", err
	}
	return out, nil
}

// userParam sets user_id or username, requiring exactly one.
func userParam(op string, p url.Values, userID, username string) error {
	if (userID == "") == (username == "") {
		return fmt.Errorf("duo: %s: exactly one of user_id and username must be set: %w", op, ErrInvalidRequest)
	}
	setIf(p, "user_id", userID)
	setIf(p, "username", username)
	return nil
}

// Preauth calls POST /auth/v2/preauth.
func (c *Client) Preauth(ctx context.Context, r PreauthRequest) (*PreauthResponse, error) {
	p := url.Values{}
	if err := userParam("preauth", p, r.UserID, r.Username); err != nil {
		return nil, err
	}
	switch r.Failmode {
	case "", "open", "closed":
	default:
		return nil, fmt.Errorf("duo: preauth: failmode %q: want open or closed: %w", truncate(r.Failmode, 20), ErrInvalidRequest)
	}
	setIf(p, "ipaddr", r.IPAddr)
	setIf(p, "hostname", r.Hostname)
	setIf(p, "trusted_device_token", r.TrustedDeviceToken)
	if r.ClientSupportsVerifiedPush {
		p.Set("client_supports_verified_push", "1")
	}
	if r.TextPrompt {
		p.Set("text_prompt", "1")
	}
	setIf(p, "failmode", r.Failmode)
	// The outer status_msg shadows the embedded one, so a missing one
	// can be told from an empty one.
	var out struct {
		PreauthResponse
		StatusMsg *string `json:"status_msg"`
	}
	if err := c.call(ctx, endpoint{op: "preauth", method: http.MethodPost, path: "/auth/v2/preauth"}, p, &out); err != nil {
		return nil, err
	}
	if out.Result == "" {
		return nil, &ResponseError{Op: "preauth", StatusCode: http.StatusOK, Err: errors.New(`missing "result"`)}
	}
	if out.StatusMsg != nil {
		out.PreauthResponse.StatusMsg = *out.StatusMsg
	} else if out.Result == ResultAllow {
		// duo_unix takes an allow without status_msg for a malformed
		// answer (failmode applies), never for a bypass.
		return nil, &ResponseError{Op: "preauth", StatusCode: http.StatusOK, Err: errors.New(`"allow" without "status_msg"`)}
	}
	return &out.PreauthResponse, nil
}

// Auth calls POST /auth/v2/auth. With Async it returns the txid to poll
// with AuthStatus; otherwise Duo answers when the factor completes, so
// push, phone, auto and prompt get LongPollTimeout.
func (c *Client) Auth(ctx context.Context, r AuthRequest) (*AuthResponse, error) {
	p := url.Values{}
	if err := userParam("auth", p, r.UserID, r.Username); err != nil {
		return nil, err
	}
	if r.Factor == "" {
		return nil, fmt.Errorf("duo: auth: missing factor: %w", ErrInvalidRequest)
	}
	if len(r.PushInfo) > MaxPushInfoLen {
		return nil, fmt.Errorf("duo: auth: pushinfo is %d bytes, over the %d-byte limit: %w", len(r.PushInfo), MaxPushInfoLen, ErrInvalidRequest)
	}
	if r.Factor == FactorPasscode && r.Passcode == "" {
		return nil, fmt.Errorf("duo: auth: factor passcode without a passcode: %w", ErrInvalidRequest)
	}
	if r.Factor == FactorPrompt && r.Prompt == "" {
		return nil, fmt.Errorf("duo: auth: factor prompt without a prompt key: %w", ErrInvalidRequest)
	}
	p.Set("factor", r.Factor)
	setIf(p, "device", r.Device)
	setIf(p, "type", r.Type)
	setIf(p, "display_username", r.DisplayUsername)
	setIf(p, "pushinfo", r.PushInfo)
	setIf(p, "passcode", r.Passcode)
	setIf(p, "prompt", r.Prompt)
	if r.Async {
		p.Set("async", "1")
	}
	setIf(p, "txid", r.TxID)
	setIf(p, "ipaddr", r.IPAddr)
	setIf(p, "hostname", r.Hostname)

	ep := endpoint{op: "auth", method: http.MethodPost, path: "/auth/v2/auth"}
	if !r.Async {
		switch r.Factor {
		case FactorPush, FactorPhone, FactorAuto, FactorPrompt:
			ep.longPoll = true
		}
	}
	var out AuthResponse
	if err := c.call(ctx, ep, p, &out); err != nil {
		return nil, err
	}
	if r.Async && out.TxID == "" {
		if out.Result == ResultDeny {
			// Duo decided at once (a policy such as "Verified Duo Push
			// is required"): a deny, with nothing to poll.
			return &out, nil
		}
		return nil, &ResponseError{Op: "auth", StatusCode: http.StatusOK, Err: errors.New(`async auth without "txid"`)}
	}
	if !r.Async && out.Result == "" {
		return nil, &ResponseError{Op: "auth", StatusCode: http.StatusOK, Err: errors.New(`missing "result"`)}
	}
	return &out, nil
}

// AuthStatus calls GET /auth/v2/auth_status, which long-polls: Duo answers
// when the transaction's status changes.
func (c *Client) AuthStatus(ctx context.Context, txid string) (*AuthStatusResponse, error) {
	if txid == "" {
		return nil, fmt.Errorf("duo: auth_status: missing txid: %w", ErrInvalidRequest)
	}
	var out AuthStatusResponse
	ep := endpoint{op: "auth_status", method: http.MethodGet, path: "/auth/v2/auth_status", longPoll: true}
	if err := c.call(ctx, ep, url.Values{"txid": {txid}}, &out); err != nil {
		return nil, err
	}
	if out.Result == "" {
		return nil, &ResponseError{Op: "auth_status", StatusCode: http.StatusOK, Err: errors.New(`missing "result"`)}
	}
	return &out, nil
}
