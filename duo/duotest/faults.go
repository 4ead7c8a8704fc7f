package duotest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is a misbehaviour injected into the answer of an endpoint.
type Fault struct {
	Times int // how many requests it applies to: 0 means 1, -1 forever

	Status     int    // answer with this HTTP status and a FAIL envelope
	Code       int    // Duo code for the envelope (default Status*100)
	Message    string // envelope message
	RetryAfter string // Retry-After header value, sent with any fault that answers
	// XRetryAfter is an X-Retry-After header value (Duo's other name for
	// it, which duo_unix also reads), sent with any fault that answers.
	XRetryAfter string

	Body            []byte        // raw body instead of an envelope (with Status, default 200)
	Malformed       bool          // invalid JSON
	Truncate        bool          // promise a longer body than is sent, then close
	HugeBytes       int64         // stream this many bytes of a never-ending JSON string
	HTML            bool          // an HTML error page (502)
	Delay           time.Duration // wait before answering (then answer normally unless other fields say otherwise)
	Hang            bool          // never answer (until the client gives up or the server closes)
	CloseConnection bool          // close the connection without an answer
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
		s.writeHuge(w, f.HugeBytes)
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

// writeHuge sends n bytes of a JSON answer whose string never ends, or
// fewer if the client goes away or the server closes.
func (s *Server) writeHuge(w http.ResponseWriter, n int64) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	prefix := `{"stat":"OK","response":{"status_msg":"`
	io.WriteString(w, prefix)
	chunk := []byte(strings.Repeat("a", 64<<10))
	for left := n - int64(len(prefix)); left > 0; left -= int64(len(chunk)) {
		if _, err := w.Write(chunk[:min(int64(len(chunk)), left)]); err != nil {
			return
		}
		select {
		case <-s.closing:
			return
		default:
		}
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
