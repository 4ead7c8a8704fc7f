package duo

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryAfter(t *testing.T) {
	date := "Tue, 21 Aug 2012 17:29:18 GMT"
	tests := []struct {
		name       string
		value      string
		serverDate string
		want       time.Duration
		ok         bool
	}{
		{"absent", "", "", 0, false},
		{"seconds", "5", "", 5 * time.Second, true},
		{"zero", "0", "", 0, true},
		{"spaces", " 7 ", "", 7 * time.Second, true},
		{"capped", "999999", "", time.Hour, true},
		{"negative", "-1", "", 0, false},
		{"junk", "soon", "", 0, false},
		{"HTTP date after the server's Date", "Tue, 21 Aug 2012 17:29:25 GMT", date, 7 * time.Second, true},
		{"HTTP date in the past", "Tue, 21 Aug 2012 17:29:00 GMT", date, 0, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		if tt.serverDate != "" {
			h.Set("Date", tt.serverDate)
		}
		got, ok := retryAfter(h)
		assert.Equal(t, tt.want, got, "%s: retryAfter(%q) = %v, %v; want %v, %v", tt.name, tt.value, got, ok, tt.want, tt.ok)
		assert.Equal(t, tt.ok, ok, "%s: retryAfter(%q) = %v, %v; want %v, %v", tt.name, tt.value, got, ok, tt.want, tt.ok)
	}
}

func TestClipMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\there", `tab\x09here`},
		{"esc\x1b[2J", `esc\x1b[2J`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b", `c1\xc2\x9b`},
		{"bidi\u202e", `bidi\xe2\x80\xae`},
		{"bad utf8 \xff", `bad utf8 \xff`},
		{"ünïcödé \uFFFD", "ünïcödé \uFFFD"},
		{strings.Repeat("é", maxMessageLen), strings.Repeat("é", maxMessageLen/2) + "..."},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, clipMessage(tt.in), "clipMessage(%q)", tt.in)
	}
}
