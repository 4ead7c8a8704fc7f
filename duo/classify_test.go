package duo_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// TestClassify pins what each failure means for a login: only KindOutage
// may ever reach failmode.
func TestClassify(t *testing.T) {
	dial := func(errno error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", errno)}
	}
	tests := []struct {
		name string
		err  error
		want duo.Kind
	}{
		{"connection refused", &duo.TransportError{Op: "preauth", Err: dial(syscall.ECONNREFUSED)}, duo.KindOutage},
		{"network unreachable", &duo.TransportError{Op: "preauth", Err: dial(syscall.ENETUNREACH)}, duo.KindOutage},
		{"NXDOMAIN", &duo.TransportError{Op: "preauth", Err: &net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true}}, duo.KindOutage},
		{"timeout", &duo.TransportError{Op: "preauth", Err: fmt.Errorf("no answer within 2s: %w", context.DeadlineExceeded)}, duo.KindOutage},
		{"5xx", &duo.APIError{Op: "preauth", StatusCode: 503, Code: 50301}, duo.KindOutage},
		{"malformed 200", &duo.ResponseError{Op: "preauth", StatusCode: 200, Err: errors.New("malformed JSON")}, duo.KindOutage},
		{"HTML 502", &duo.ResponseError{Op: "preauth", StatusCode: 502, Err: errors.New("not JSON")}, duo.KindOutage},
		{"bare deadline", context.DeadlineExceeded, duo.KindOutage},

		{"400 JSON", &duo.APIError{Op: "preauth", StatusCode: 400, Code: 40002}, duo.KindRefused},
		{"401 empty body", &duo.ResponseError{Op: "preauth", StatusCode: 401, Err: errors.New("empty body")}, duo.KindRefused},
		{"403 HTML", &duo.ResponseError{Op: "preauth", StatusCode: 403, Err: errors.New("not JSON")}, duo.KindRefused},
		{"407 proxy", &duo.ResponseError{Op: "preauth", StatusCode: 407, Err: errors.New("not JSON")}, duo.KindRefused},
		{"429", &duo.APIError{Op: "preauth", StatusCode: 429, Code: 42901}, duo.KindRefused},
		{"302", &duo.ResponseError{Op: "preauth", StatusCode: 302, Err: errors.New("empty body")}, duo.KindRefused},
		{"1xx", &duo.ResponseError{Op: "preauth", StatusCode: 101, Err: errors.New("empty body")}, duo.KindRefused},

		{"invalid answer that says deny", &duo.ResponseError{Op: "preauth", StatusCode: 200, Err: errors.New("decoding"), Deny: true}, duo.KindDenied},
		{"deny wins over a 5xx status", &duo.ResponseError{Op: "auth", StatusCode: 500, Err: errors.New("decoding"), Deny: true}, duo.KindDenied},

		{"EMFILE dialing", &duo.TransportError{Op: "preauth", Err: dial(syscall.EMFILE)}, duo.KindLocal},
		{"ENFILE", &duo.TransportError{Op: "preauth", Err: dial(syscall.ENFILE)}, duo.KindLocal},
		{"ENOMEM", &duo.TransportError{Op: "preauth", Err: dial(syscall.ENOMEM)}, duo.KindLocal},
		{"ENOBUFS", &duo.TransportError{Op: "preauth", Err: dial(syscall.ENOBUFS)}, duo.KindLocal},
		{"EAGAIN", &duo.TransportError{Op: "preauth", Err: dial(syscall.EAGAIN)}, duo.KindLocal},
		{"EPERM (a firewall rule for this uid)", &duo.TransportError{Op: "preauth", Err: dial(syscall.EPERM)}, duo.KindLocal},
		{"EACCES", &duo.TransportError{Op: "preauth", Err: dial(syscall.EACCES)}, duo.KindLocal},
		{"no local port", &duo.TransportError{Op: "preauth", Err: dial(syscall.EADDRNOTAVAIL)}, duo.KindLocal},
		{"resolver out of descriptors", &duo.TransportError{Op: "preauth", Err: &net.DNSError{Err: "dial udp 127.0.0.53:53: socket: too many open files", Name: "api.example"}}, duo.KindLocal},
		{"marked local across a process boundary", &duo.TransportError{Op: "preauth", Err: fmt.Errorf("%w: duo child gone", duo.ErrLocalResource)}, duo.KindLocal},

		{"invalid request", fmt.Errorf("duo: auth: %w", duo.ErrInvalidRequest), duo.KindOther},
		{"untyped", errors.New("something else"), duo.KindOther},
		{"nil", nil, duo.KindOther},
		{"canceled", fmt.Errorf("duo: preauth: %w", context.Canceled), duo.KindCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, duo.Classify(tt.err), "%v", tt.err)
			assert.Equal(t, tt.want == duo.KindOutage, duo.IsUnavailable(tt.err))
		})
	}
}
