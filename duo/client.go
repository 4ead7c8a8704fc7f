package duo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the product version, sent in the User-Agent header. The
// Makefile sets it from the file VERSION with -ldflags "-X ...duo.Version=";
// a plain go build says "dev".
var Version = "dev"

// Defaults applied by New to zero Options fields.
const (
	defaultTimeout          = 15 * time.Second
	defaultLongPollTimeout  = 75 * time.Second
	defaultMaxRetryWait     = 32 * time.Second
	defaultMaxResponseBytes = 1 << 20
)

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
	// Observe, when set, is called once per HTTP round trip (each retry
	// and each HTTP 429 included) with the endpoint's short name
	// (preauth, auth, auth_status, ping, probe...), the HTTP status (0
	// when no response came) and the time from sending the request to
	// having read the whole response. It runs on the calling goroutine
	// and must be quick; it adds no request. nil costs nothing.
	Observe func(endpoint string, status int, d time.Duration)
}

// defaultUserAgent returns the User-Agent sent when Options.UserAgent is "".
func defaultUserAgent() string { return "pam_duo_go/" + Version + " (Go)" }

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
	observe      func(string, int, time.Duration)

	mu     sync.Mutex
	offset time.Duration // server clock minus local clock
}

// New checks o and returns a Client. It does not contact Duo.
func New(o Options) (*Client, error) {
	serverName, err := checkOptions(o)
	if err != nil {
		return nil, err
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
		observe:      o.Observe,
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
	roots, err := trustedRoots(o)
	if err != nil {
		return nil, err
	}
	proxy, err := parseProxy(o.Proxy)
	if err != nil {
		return nil, err
	}
	c.tr = c.newTransport(&tls.Config{
		RootCAs:    roots,
		ServerName: serverName,
		MinVersion: max(tls.VersionTLS12, o.MinTLSVersion),
	}, proxy)
	c.hc = &http.Client{
		Transport: c.tr,
		// A redirect would drop the signed request; report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// checkOptions checks what New needs and cannot default, and returns the
// name the server's certificate must carry.
func checkOptions(o Options) (serverName string, err error) {
	if o.IKey == "" {
		return "", errors.New("duo: missing integration key (ikey)")
	}
	if o.SKey == "" {
		return "", errors.New("duo: missing secret key (skey)")
	}
	serverName, err = checkHost(o.Host)
	if err != nil {
		return "", err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Timeout", o.Timeout}, {"LongPollTimeout", o.LongPollTimeout}, {"MaxRetryWait", o.MaxRetryWait}} {
		if d.v < 0 {
			return "", fmt.Errorf("duo: negative %s %v", d.name, d.v)
		}
	}
	if strings.ContainsFunc(o.UserAgent, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", errors.New("duo: UserAgent contains control characters")
	}
	if o.MaxResponseBytes < 0 {
		return "", fmt.Errorf("duo: negative MaxResponseBytes %d", o.MaxResponseBytes)
	}
	return serverName, nil
}

// trustedRoots returns the roots the client verifies Duo's certificate
// with: RootCAs, else CAFile, else the system's store (SystemRoots), else
// the embedded Duo bundle. nil means the system's store, which crypto/x509
// then loads itself.
func trustedRoots(o Options) (*x509.CertPool, error) {
	switch {
	case o.RootCAs != nil:
		return o.RootCAs, nil
	case o.CAFile != "":
		return loadCAFile(o.CAFile)
	case !o.SystemRoots:
		return duoRoots()
	}
	// The store crypto/x509 would load at the first handshake, loaded in a
	// fraction of its time (sysroots.go); on an error, nil lets crypto/x509
	// load it and report it itself.
	if pool, err := systemRoots(); err == nil {
		return pool, nil
	}
	return nil, nil
}

// newTransport returns the client's one HTTP transport: TLS with tc, the
// proxy when not nil, every wait bounded by the client's timeouts.
func (c *Client) newTransport(tc *tls.Config, proxy *url.URL) *http.Transport {
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tc,
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
		tr.Proxy = http.ProxyURL(proxy)
	}
	return tr
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
