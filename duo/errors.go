package duo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// APIError is a "stat": "FAIL" answer from Duo. It keeps Duo's code and
// messages and the HTTP status. An APIError with a 4xx status means Duo
// understood and refused the request (bad credentials, bad parameters, or
// a 429 rate limit that outlasted the retries); with a 5xx status, Duo
// failed.
type APIError struct {
	Op            string // the endpoint, e.g. "preauth"; "" if unknown
	StatusCode    int    // HTTP status
	Code          int    // Duo's code, e.g. 40002; its first three digits are StatusCode
	Message       string
	MessageDetail string
}

// maxMessageLen bounds each server message in an APIError's text: it
// ends up in syslog lines and on terminals.
const maxMessageLen = 256

// Error returns Duo's code and messages (control characters escaped, each
// cut to maxMessageLen bytes), the endpoint and the HTTP status.
func (e *APIError) Error() string {
	msg := "duo: "
	if e.Op != "" {
		msg += e.Op + ": "
	}
	msg += fmt.Sprintf("%d %s", e.Code, clipMessage(escapeControl(e.Message)))
	if e.MessageDetail != "" {
		msg += ": " + clipMessage(escapeControl(e.MessageDetail))
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.StatusCode)
}

// ServerError reports whether Duo failed (HTTP 5xx) rather than refused
// (4xx). A 429 that outlasted the retries is a refusal: Duo is up and
// rate-limiting, and anyone who can make it do so (a user who knows a
// password can start logins) must not turn that into failmode's "Duo is
// down". duo_unix also denied on 429.
func (e *APIError) ServerError() bool {
	return e.StatusCode >= 500
}

// TransportError means Duo could not be reached or did not answer in time:
// DNS, connect, TLS, proxy, timeout or a connection closed mid-response.
type TransportError struct {
	Op  string // the endpoint, e.g. "preauth"
	Err error
}

// Error returns the endpoint and the cause.
func (e *TransportError) Error() string { return "duo: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// ResponseError means Duo answered with something that is not a valid API
// response: malformed or truncated JSON, an oversized body, an unexpected
// content type or status.
type ResponseError struct {
	Op         string
	StatusCode int
	Err        error
}

// Error returns the endpoint, the HTTP status and what was wrong.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("duo: %s: bad response (HTTP %d): %v", e.Op, e.StatusCode, e.Err)
}

// Unwrap returns the cause.
func (e *ResponseError) Unwrap() error { return e.Err }

// ErrResponseTooLarge is wrapped by a ResponseError when a body exceeds the
// client's size bound.
var ErrResponseTooLarge = errors.New("response body too large")

// IsUnavailable reports whether err means Duo could not be reached or
// failed (the case failmode decides), as opposed to Duo refusing the
// request with a 4xx APIError.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var api *APIError
	if errors.As(err, &api) {
		return api.ServerError()
	}
	var te *TransportError
	var re *ResponseError
	return errors.As(err, &te) || errors.As(err, &re) || errors.Is(err, context.DeadlineExceeded)
}

// clipMessage cuts s to maxMessageLen bytes at a rune boundary.
func clipMessage(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	n := maxMessageLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// escapeControl replaces control characters and invalid UTF-8 in text
// from the server with \xNN escapes.
func escapeControl(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			if r < 0x80 {
				fmt.Fprintf(&b, "\\x%02x", r)
			} else {
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
