package duotest

import (
	"net/http"
	"net/url"
	"time"
)

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
