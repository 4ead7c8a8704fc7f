package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/pamhandler"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
)

// workerProc is `login_duo_go pam-worker` driven over pipes, the way the
// PAM module drives it, without PAM.
type workerProc struct {
	cmd    *exec.Cmd
	toW    io.WriteCloser
	fromW  io.ReadCloser
	stderr bytes.Buffer
	msgs   chan wire.Message
	rerr   chan error
}

func startWorker(t *testing.T, env ...string) *workerProc {
	t.Helper()
	w := &workerProc{msgs: make(chan wire.Message, 16), rerr: make(chan error, 1)}
	w.cmd = exec.Command(helperBin, "pam-worker")
	w.cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	w.cmd.Stderr = &w.stderr
	var err error
	w.toW, err = w.cmd.StdinPipe()
	require.NoError(t, err)
	w.fromW, err = w.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, w.cmd.Start())
	go func() {
		for {
			m, err := wire.ReadMessage(w.fromW)
			if err != nil {
				w.rerr <- err
				close(w.msgs)
				return
			}
			w.msgs <- m
		}
	}()
	t.Cleanup(func() {
		w.toW.Close()
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
	})
	return w
}

func (w *workerProc) send(t *testing.T, typ wire.Type, payload []byte) {
	t.Helper()
	require.NoError(t, wire.WriteMessage(w.toW, wire.Message{Type: typ, Payload: payload}), "send %v", typ)
}

func (w *workerProc) start(t *testing.T, si wire.StartInfo) {
	t.Helper()
	p, err := si.Encode()
	require.NoError(t, err)
	w.send(t, wire.Start, p)
}

// next returns the worker's next message; it fails the test if none comes
// within limit.
func (w *workerProc) next(t *testing.T, limit time.Duration) wire.Message {
	t.Helper()
	select {
	case m, ok := <-w.msgs:
		if !ok {
			require.FailNow(t, "worker closed its output", "%v; stderr: %s", <-w.rerr, w.stderr.String())
		}
		return m
	case <-time.After(limit):
		require.FailNow(t, "no message from the worker", "within %v", limit)
	}
	return wire.Message{}
}

// result reads messages up to the Result, collecting the text of the
// others, and then waits for the worker to exit.
func (w *workerProc) result(t *testing.T) (code int32, reason string, shown []string, exit int) {
	t.Helper()
	for range 100 {
		m := w.next(t, 60*time.Second)
		if m.Type != wire.Result {
			shown = append(shown, string(m.Type)+":"+string(m.Payload))
			continue
		}
		code, reason, err := wire.ParseResult(m.Payload)
		require.NoError(t, err)
		return code, reason, shown, w.wait(t)
	}
	require.FailNow(t, "no result message")
	return
}

func (w *workerProc) wait(t *testing.T) int {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- w.cmd.Wait() }()
	select {
	case err := <-errc:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(30 * time.Second):
		require.FailNow(t, "worker did not exit after its result")
	}
	return -1
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("pam-worker runs only for root (the PAM module); run the tests as root")
	}
}

func TestWorkerMalformed(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name   string
		raw    []byte // written as is
		reason string // part of the result's reason
	}{
		{"not a start", mustEncode(t, wire.Answer, "123456"), "expected a start message"},
		{"bad start", mustEncode(t, wire.Start, "rhost=1.2.3.4"), "no user"},
		{"unknown type", []byte("Z\x00\x00\x00\x00"), "unknown message type"},
		{"oversized", []byte("S\x00\x10\x00\x00"), "larger than"},
		{"truncated then EOF", []byte("S\x00\x00\x01\x00user=a"), "truncated"},
		{"nothing", nil, "end of input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorker(t)
			if len(tt.raw) > 0 {
				_, err := w.toW.Write(tt.raw)
				require.NoError(t, err)
			}
			w.toW.Close()
			code, reason, shown, exit := w.result(t)
			assert.EqualValues(t, pamhandler.ServiceErr, code)
			assert.Contains(t, reason, tt.reason)
			assert.Equal(t, 2, exit)
			assert.Empty(t, shown)
		})
	}
}

func TestWorkerRefusesNonRoot(t *testing.T) {
	needRoot(t)
	u := testUser(t)
	cmd := exec.Command("runuser", "-u", u.name, "--", helperBin, "pam-worker")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "pam-worker as %s: output %q", u.name, out)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "only root")
}

func mustEncode(t *testing.T, typ wire.Type, payload string) []byte {
	t.Helper()
	b, err := wire.Encode(wire.Message{Type: typ, Payload: []byte(payload)})
	require.NoError(t, err)
	return b
}

func TestWorkerLogin(t *testing.T) {
	needRoot(t)
	u := testUser(t)
	tests := []struct {
		name     string
		extra    map[string]string // config keys
		user     duotest.User      // Name, Passcodes filled in
		answers  []string          // typed at each menu prompt, in order; "X" = conversation fails
		wantCode int32
		service  string // PAM service; "" = sshd
		wantShow string // one of the messages shown, as "type:text"
	}{
		// Under sshd, a pending push's status comes in a prompt (sshd holds
		// PAM_TEXT_INFO back until the next prompt); elsewhere as info.
		{"push approved", nil, duotest.User{Push: duotest.PushApproved()}, []string{"1"}, pamhandler.Success, "",
			"p:Pushed a login request to your device...\nPress Enter after you answer on your device: "},
		{"push approved under sudo", nil, duotest.User{Push: duotest.PushApproved()}, []string{"1"}, pamhandler.Success, "sudo",
			"I:Pushed a login request to your device..."},
		{"enter picks the default push", nil, duotest.User{Push: duotest.PushApproved()}, []string{""}, pamhandler.Success, "", ""},
		{"passcode", nil, duotest.User{Push: duotest.PushApproved()}, []string{goodPasscode}, pamhandler.Success, "", ""},
		{"push denied, one attempt", map[string]string{"prompts": "1"}, duotest.User{Push: duotest.PushDenied()}, []string{"1"}, pamhandler.MaxTries, "", ""},
		{"push denied three times", nil, duotest.User{Push: duotest.PushDenied()}, []string{"1", "1", "1"}, pamhandler.MaxTries, "", ""},
		{"denied by Duo", nil, duotest.User{Preauth: "deny", StatusMsg: "Access \x1b[31mdenied"}, nil, pamhandler.AuthErr, "",
			`E:Access \x1b[31mdenied`},
		// sshd's password step: the first prompt fails; one automatic
		// push, and the M message so the module remembers it.
		{"conversation cannot prompt", nil, duotest.User{Push: duotest.PushApproved()}, []string{"X"}, pamhandler.Success, "", "M:"},
		{"conversation fails under sudo: a cancel, no push", nil, duotest.User{Push: duotest.PushApproved()}, []string{"X"}, pamhandler.Abort, "sudo", ""},
		{"conversation fails after an answer", nil, duotest.User{Push: duotest.PushApproved()}, []string{"999999", "X"}, pamhandler.Abort, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newMockEnv(t, tt.extra)
			du := tt.user
			du.Name, du.Passcodes = u.name, []string{goodPasscode}
			env.mock.AddUser(du)
			w := startWorker(t)
			service := tt.service
			if service == "" {
				service = "sshd"
			}
			w.start(t, wire.StartInfo{User: u.name, RHost: "192.0.2.10", Service: service, TTY: "ssh",
				UID: 0, Args: []string{"conf=" + env.conf}})
			answers := tt.answers
			var shown []string
			for range 100 {
				m := w.next(t, loginLimit)
				switch m.Type {
				case wire.PromptEchoOff, wire.PromptEchoOn:
					if strings.Contains(string(m.Payload), "Press Enter") {
						w.send(t, wire.Answer, nil)
						shown = append(shown, string(m.Type)+":"+string(m.Payload))
						continue
					}
					require.NotEmpty(t, answers, "unexpected prompt %q; shown so far %q", m.Payload, shown)
					if answers[0] == "X" {
						w.send(t, wire.ConvFailed, nil)
					} else {
						w.send(t, wire.Answer, []byte(answers[0]))
					}
					answers = answers[1:]
					shown = append(shown, string(m.Type)+":"+string(m.Payload))
				case wire.Info, wire.Error:
					shown = append(shown, string(m.Type)+":"+string(m.Payload))
				case wire.Unprompted:
					shown = append(shown, "M:")
				case wire.Result:
					code, reason, err := wire.ParseResult(m.Payload)
					require.NoError(t, err)
					require.Equal(t, tt.wantCode, code, "result %q; shown %q; auths %q", reason, shown, env.authFactors())
					assert.Equal(t, pamhandler.ExitStatus(int(code)), w.wait(t), "exit status")
					assert.Empty(t, answers, "prompts not shown for these answers")
					if m := slices.Index(shown, "M:"); m >= 0 {
						assert.EqualValues(t, pamhandler.Success, code, "the unprompted message comes only before a success; shown %q", shown)
						assert.Equal(t, len(shown)-1, m, "the unprompted message comes last; shown %q", shown)
					}
					if tt.wantShow != "" {
						assert.Contains(t, shown, tt.wantShow)
					}
					assert.False(t, strings.ContainsAny(reason, "\x1b\x07\r\n"), "unsanitized reason sent to the module: %q", reason)
					for _, s := range shown {
						assert.False(t, strings.ContainsAny(s[2:], "\x1b\x07\r"), "unsanitized text sent to the module: %q", s)
					}
					t.Logf("shown: %q; reason %q", shown, reason)
					return
				default:
					require.FailNow(t, "unexpected message from the worker", "%v", m.Type)
				}
			}
			require.FailNow(t, "no result after 100 messages")
		})
	}
}

func TestWorkerBypassSuccess(t *testing.T) {
	needRoot(t)
	u := testUser(t)
	for _, tt := range []struct {
		arg  string
		want int32
	}{{"", pamhandler.Ignore}, {"bypass=success", pamhandler.Success}} {
		t.Run("arg="+tt.arg, func(t *testing.T) {
			// groups matches nobody's group: the user is outside groups.
			env := newMockEnv(t, map[string]string{"groups": "no-such-group-xyz"})
			args := []string{"conf=" + env.conf}
			if tt.arg != "" {
				args = append(args, tt.arg)
			}
			w := startWorker(t)
			w.start(t, wire.StartInfo{User: u.name, Service: "sudo", UID: 0, Args: args})
			code, reason, shown, _ := w.result(t)
			require.Equal(t, tt.want, code, "reason %q", reason)
			assert.Empty(t, shown)
			assert.Empty(t, env.mock.Requests(), "a user outside groups reached Duo")
		})
	}
}

// TestStartTx: the worker hands the handler the PAM items, environment and
// process facts of the module's start message, and nothing else.
func TestStartTx(t *testing.T) {
	si := wire.StartInfo{User: "alice", RHost: "192.0.2.1", Service: "sudo", TTY: "/dev/pts/3", Command: "/usr/bin/id",
		UID: 1000, AuthInfo: "publickey ssh-ed25519 AAAA"}
	tx := startTx{si: si}
	user, err := tx.User()
	require.NoError(t, err)
	assert.Equal(t, "alice", user)
	assert.Equal(t, "sudo", tx.Item(pamhandler.Service))
	assert.Equal(t, "192.0.2.1", tx.Item(pamhandler.RemoteHost))
	assert.Equal(t, "/dev/pts/3", tx.Item(pamhandler.TTY))
	assert.Empty(t, tx.Item(pamhandler.Item(2)), "PAM_USER is not an item the handler reads through Item")
	assert.Equal(t, "publickey ssh-ed25519 AAAA", tx.Env("SSH_AUTH_INFO_0"))
	assert.Empty(t, tx.Env("PATH"), "the module sends no other variable")
	assert.Equal(t, 1000, tx.UID())
	assert.Equal(t, "/usr/bin/id", tx.Command())
}
