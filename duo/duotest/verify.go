package duotest

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// DateWindow is how far a request's date may be from the server's clock.
const DateWindow = 300 * time.Second

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
