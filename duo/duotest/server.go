package duotest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

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

// WithTLS lets f change the server's TLS configuration before it starts
// (its certificate and hooks are already set): a server limited to TLS
// versions, cipher suites or key exchanges that a client in FIPS 140-3
// mode must refuse, say.
func WithTLS(f func(*tls.Config)) Option { return func(s *Server) { s.tlsTweak = f } }

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
	tlsTweak    func(*tls.Config)

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
	s.ts.TLS = s.tlsConfig()
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

// tlsConfig is the server's TLS configuration: the test CA's leaf, the
// handshake delayed by WithDelay and counted, then WithTLS's changes.
func (s *Server) tlsConfig() *tls.Config {
	tc := &tls.Config{
		Certificates: []tls.Certificate{s.ca.leaf},
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
	if s.tlsTweak != nil {
		s.tlsTweak(tc)
	}
	return tc
}

// Close stops the server, cutting off requests still in flight.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// now is the server's (possibly shifted) clock.
func (s *Server) now() time.Time { return time.Now().Add(s.clockOffset) }

// pause waits d while serving r. When the client goes away or the server
// closes first, it aborts the response (nothing is sent and the connection
// is dropped), so an interrupted wait never becomes an empty HTTP 200.
func (s *Server) pause(r *http.Request, d time.Duration) {
	if !s.sleep(r.Context(), d) {
		panic(http.ErrAbortHandler)
	}
}

// sleep waits d, or until ctx or the server ends; false if cut off.
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

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
