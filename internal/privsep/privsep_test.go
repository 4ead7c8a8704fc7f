package privsep

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"os"
	"path/filepath"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWireErrorKeepsTypes(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unavailable bool
		check       func(error) bool
	}{
		{"api 401", &duo.APIError{StatusCode: 401, Code: 40101, Message: "Missing request credentials"}, false,
			func(e error) bool { var a *duo.APIError; return errors.As(e, &a) && a.Code == 40101 }},
		{"api 503", &duo.APIError{StatusCode: 503, Code: 50301, Message: "down"}, true, nil},
		{"transport", &duo.TransportError{Op: "preauth", Err: errors.New("connection refused")}, true,
			func(e error) bool { var x *duo.TransportError; return errors.As(e, &x) && x.Op == "preauth" }},
		{"response", &duo.ResponseError{Op: "auth", StatusCode: 200, Err: errors.New("bad json")}, true, nil},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), true,
			func(e error) bool { return errors.Is(e, context.DeadlineExceeded) }},
		{"canceled", context.Canceled, false, func(e error) bool { return errors.Is(e, context.Canceled) }},
		{"other", errors.New("odd"), false, nil},
	}
	for _, tt := range tests {
		got := toWireError(tt.err).toError()
		assert.Equal(t, tt.unavailable, duo.IsUnavailable(got), "%s: IsUnavailable after the pipe (%v)", tt.name, got)
		if tt.check != nil {
			assert.True(t, tt.check(got), "%s: error after the pipe lost its identity: %#v", tt.name, got)
		}
	}
	assert.Nil(t, toWireError(nil))
}

// pipeChild runs serve in this process, joined to a Client by two pipes:
// the protocol end to end without the setuid binary (the binary-level
// tests in helper/ prove the exec, the credentials and the drop).
func pipeChild(t *testing.T, debug func(string)) (*Client, chan int) {
	t.Helper()
	childIn, toC, err := os.Pipe()
	require.NoError(t, err)
	fromC, childOut, err := os.Pipe()
	require.NoError(t, err)
	c := &Client{toC: toC, fromC: fromC, debug: debug, exited: make(chan struct{})}
	status := make(chan int, 1)
	go func() {
		defer close(c.exited)
		status <- serve(t.Context(), childIn, childOut, "privsep-test")
		childOut.Close()
		childIn.Close()
	}()
	t.Cleanup(c.Shutdown)
	return c, status
}

func TestClientAndServeOverPipes(t *testing.T) {
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	mock.AddUser(duotest.User{Name: "alice"})
	mock.AddUser(duotest.User{Name: "bob", Preauth: "deny", StatusMsg: "no"})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, mock.WriteCAFile(caFile))
	cfg := &conf.Config{IKey: mock.IKey, SKey: mock.SKey, Host: mock.Host, CAFile: caFile, HTTPSTimeout: 10 * time.Second}

	var debugLines []string
	c, status := pipeChild(t, func(s string) { debugLines = append(debugLines, s) })
	hello, err := newInit(cfg, true)
	require.NoError(t, err)
	require.NotEmpty(t, hello.CAPEM, "cafile travels as PEM")
	require.NoError(t, c.init(t.Context(), hello))

	pre, err := c.Preauth(t.Context(), duo.PreauthRequest{Username: "alice"})
	require.NoError(t, err)
	assert.Equal(t, duo.ResultAuth, pre.Result)
	pre, err = c.Preauth(t.Context(), duo.PreauthRequest{Username: "bob"})
	require.NoError(t, err)
	assert.Equal(t, duo.ResultDeny, pre.Result)
	auth, err := c.Auth(t.Context(), duo.AuthRequest{Username: "alice", Factor: duo.FactorPush, Device: "auto", Async: true})
	require.NoError(t, err)
	require.NotEmpty(t, auth.TxID)
	st, err := c.AuthStatus(t.Context(), auth.TxID)
	require.NoError(t, err)
	assert.NotEmpty(t, st.Result)
	require.NoError(t, c.Probe(t.Context(), 5*time.Second))
	assert.NotEmpty(t, debugLines, "with debug the child's client lines reach the parent")

	c.Shutdown()
	select {
	case code := <-status:
		assert.Equal(t, 0, code, "the child exits 0 once its stdin closes")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the child did not end after Shutdown")
	}
	for _, r := range mock.Requests() {
		assert.Equal(t, "privsep-test", r.Header.Get("User-Agent"), "the child sends its parent's user agent")
	}
}

func TestServeErrorsKeepTheirKind(t *testing.T) {
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	mock.Inject("/auth/v2/preauth", duotest.Fault{Status: 401})
	mock.Inject("/auth/v2/preauth", duotest.Fault{Status: 503})
	c, _ := pipeChild(t, nil)
	hello := &childInit{IKey: mock.IKey, SKey: mock.SKey, Host: mock.Host, CAPEM: mock.CAPEM(), Timeout: 10 * time.Second}
	require.NoError(t, c.init(t.Context(), hello))

	_, err := c.Preauth(t.Context(), duo.PreauthRequest{Username: "alice"})
	var api *duo.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, duo.KindRefused, duo.Classify(err))
	_, err = c.Preauth(t.Context(), duo.PreauthRequest{Username: "alice"})
	assert.Equal(t, duo.KindOutage, duo.Classify(err), "a 5xx stays an outage across the pipe: %v", err)
}

func TestServeRefusesBadCalls(t *testing.T) {
	tests := []struct {
		name  string
		calls []childCall
		want  string
	}{
		{"call before init", []childCall{{Method: "preauth", Preauth: &duo.PreauthRequest{Username: "a"}}}, "call before init"},
		{"init without keys", []childCall{{Method: "init"}}, "bad init"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, status := pipeChild(t, nil)
			var err error
			for i := range tt.calls {
				_, err = c.roundTrip(t.Context(), &tt.calls[i])
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, 1, <-status, "the child ends after a bad call")
		})
	}
}

func TestParentContextEndBreaksClient(t *testing.T) {
	mock := duotest.NewServer(duotest.WithDelay(5 * time.Second))
	t.Cleanup(mock.Close)
	c, _ := pipeChild(t, nil)
	hello := &childInit{IKey: mock.IKey, SKey: mock.SKey, Host: mock.Host, CAPEM: mock.CAPEM(), Timeout: 10 * time.Second}
	require.NoError(t, c.init(t.Context(), hello))
	// The parent gives up (Ctrl-C) while the child waits for Duo.
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.Preauth(t.Context(), duo.PreauthRequest{Username: "alice"})
	assert.ErrorIs(t, err, context.Canceled, "a client whose call was abandoned stays broken")
}
