package duo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	esc "github.com/pam-duo-go/pam_duo_go/internal/escape"
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

// Error returns Duo's code and messages (escaped for one line, each cut
// to maxMessageLen bytes), the endpoint and the HTTP status.
func (e *APIError) Error() string {
	msg := "duo: "
	if e.Op != "" {
		msg += e.Op + ": "
	}
	msg += fmt.Sprintf("%d %s", e.Code, clipMessage(e.Message))
	if e.MessageDetail != "" {
		msg += ": " + clipMessage(e.MessageDetail)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.StatusCode)
}

// ServerError reports whether Duo failed (HTTP 5xx) rather than refused
// (4xx). A 429 that outlasted the retries is a refusal: Duo is up and
// rate-limiting, and anyone who can make it do so (a user who knows a
// password can start logins) must not turn that into failmode's "Duo is
// down". duo_unix also denied on 429.
func (e *APIError) ServerError() bool {
	return statusKind(e.StatusCode) == KindOutage
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
	// Deny is set when the answer, though invalid, says
	// "result": "deny": it is never read as Duo being down.
	Deny bool
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

// ErrInvalidRequest is wrapped by the errors the client returns, before
// any network traffic, for requests it will not send.
var ErrInvalidRequest = errors.New("invalid request")

// Kind is what a failed call means for a login. Classify is the one place
// that decides it; login turns a Kind into an outcome.
type Kind int

// Kinds of failure, from the one that may fail open to those that never do.
const (
	// KindOutage: Duo could not be reached or failed: DNS failure, connect
	// refused or unreachable, a timeout, a TLS failure, HTTP 5xx, or a
	// 2xx answer that is not a valid API response. Only this kind may
	// reach failmode, and only once the outage is confirmed.
	KindOutage Kind = iota
	// KindRefused: Duo, or a proxy, firewall or load balancer in front of
	// it, answered and refused: any status that is neither 2xx nor 5xx
	// (4xx whatever its body, a redirect), including a 429 that outlasted
	// the retries. Something answered, so nothing is down.
	KindRefused
	// KindDenied: an answer that says "result": "deny", however malformed
	// the rest of it is.
	KindDenied
	// KindLocal: this machine could not make the call: out of file
	// descriptors, memory, ports or buffers, or not permitted. A user can
	// cause these (rlimits), so they never mean Duo is down.
	KindLocal
	// KindOther: anything else: a request the client would not send
	// (ErrInvalidRequest), an error of no known type. Never an outage.
	KindOther
	// KindCanceled: the caller cancelled the call.
	KindCanceled
)

// String names the kind for log lines.
func (k Kind) String() string {
	switch k {
	case KindOutage:
		return "outage"
	case KindRefused:
		return "refused"
	case KindDenied:
		return "denied"
	case KindLocal:
		return "local"
	case KindOther:
		return "other"
	case KindCanceled:
		return "canceled"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ErrLocalResource is wrapped by a TransportError whose cause is on this
// machine (see KindLocal). Errors that cross a process boundary keep it.
var ErrLocalResource = errors.New("local resource failure")

// localErrnos are the errors that mean this machine, not Duo, failed.
var localErrnos = []error{
	syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.ENOBUFS, syscall.EAGAIN,
	syscall.EPERM, syscall.EACCES, syscall.EADDRNOTAVAIL, syscall.EADDRINUSE,
}

// isLocalCause reports whether err (a dial, DNS or read error) was caused
// by this machine's resources or permissions.
func isLocalCause(err error) bool {
	if errors.Is(err, ErrLocalResource) {
		return true
	}
	for _, e := range localErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	// The resolver reports some local failures only in its text (the
	// cgo resolver's EAI_SYSTEM, the Go resolver's dial errors).
	var dns *net.DNSError
	if errors.As(err, &dns) {
		msg := strings.ToLower(dns.Err)
		for _, m := range []string{"too many open files", "cannot allocate memory", "no buffer space", "resource temporarily unavailable", "permission denied", "operation not permitted"} {
			if strings.Contains(msg, m) {
				return true
			}
		}
	}
	return false
}

// Classify says what a failed call means (see Kind). An error it does not
// know, and nil (a caller's bug), are KindOther, which never fails open.
func Classify(err error) Kind {
	if err == nil {
		return KindOther
	}
	var api *APIError
	var re *ResponseError
	var te *TransportError
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, ErrInvalidRequest):
		return KindOther
	case errors.As(err, &re) && re.Deny:
		return KindDenied
	case errors.As(err, &api):
		return statusKind(api.StatusCode)
	case errors.As(err, &re):
		return statusKind(re.StatusCode)
	case errors.As(err, &te):
		if isLocalCause(te.Err) {
			return KindLocal
		}
		return KindOutage
	case isLocalCause(err):
		return KindLocal
	case errors.Is(err, context.DeadlineExceeded):
		return KindOutage
	}
	return KindOther
}

// statusKind classifies an answer by its HTTP status: 2xx (a malformed
// answer) and 5xx are Duo failing; anything else is a refusal.
func statusKind(status int) Kind {
	if (status >= 200 && status < 300) || status >= 500 {
		return KindOutage
	}
	return KindRefused
}

// IsUnavailable reports whether err means Duo could not be reached or
// failed (KindOutage), as opposed to a refusal, a deny or a local failure.
func IsUnavailable(err error) bool {
	return err != nil && Classify(err) == KindOutage
}

// clipMessage makes server text safe for one line (esc.Line) and cuts
// it to maxMessageLen bytes at a rune boundary.
func clipMessage(s string) string { return esc.Clip(esc.Line(s), maxMessageLen, "...") }
