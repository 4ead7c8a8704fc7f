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

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
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
	if w.toW, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if w.fromW, err = w.cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
	if err := wire.WriteMessage(w.toW, wire.Message{Type: typ, Payload: payload}); err != nil {
		t.Fatalf("send %v: %v", typ, err)
	}
}

func (w *workerProc) start(t *testing.T, si wire.StartInfo) {
	t.Helper()
	p, err := si.Encode()
	if err != nil {
		t.Fatal(err)
	}
	w.send(t, wire.Start, p)
}

// next returns the worker's next message; it fails the test if none comes
// within limit.
func (w *workerProc) next(t *testing.T, limit time.Duration) wire.Message {
	t.Helper()
	select {
	case m, ok := <-w.msgs:
		if !ok {
			t.Fatalf("worker closed its output: %v; stderr: %s", <-w.rerr, w.stderr.String())
		}
		return m
	case <-time.After(limit):
		t.Fatalf("no message from the worker within %v", limit)
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
		if err != nil {
			t.Fatal(err)
		}
		return code, reason, shown, w.wait(t)
	}
	t.Fatal("no result message")
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
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not exit after its result")
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
				if _, err := w.toW.Write(tt.raw); err != nil {
					t.Fatal(err)
				}
			}
			w.toW.Close()
			code, reason, shown, exit := w.result(t)
			if code != pamServiceErr || !strings.Contains(reason, tt.reason) || exit != 2 || len(shown) != 0 {
				t.Fatalf("result = %d %q (shown %q), exit %d; want %d with %q, exit 2", code, reason, shown, exit, pamServiceErr, tt.reason)
			}
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
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "only root") {
		t.Fatalf("pam-worker as %s: %v, output %q; want exit 2 and a refusal", u.name, err, out)
	}
}

func mustEncode(t *testing.T, typ wire.Type, payload string) []byte {
	t.Helper()
	b, err := wire.Encode(wire.Message{Type: typ, Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
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
		{"push approved", nil, duotest.User{Push: duotest.PushApproved()}, []string{"1"}, pamSuccess, "",
			"p:Pushed a login request to your device...\nPress Enter after you answer on your device: "},
		{"push approved under sudo", nil, duotest.User{Push: duotest.PushApproved()}, []string{"1"}, pamSuccess, "sudo",
			"I:Pushed a login request to your device..."},
		{"enter picks the default push", nil, duotest.User{Push: duotest.PushApproved()}, []string{""}, pamSuccess, "", ""},
		{"passcode", nil, duotest.User{Push: duotest.PushApproved()}, []string{goodPasscode}, pamSuccess, "", ""},
		{"push denied, one attempt", map[string]string{"prompts": "1"}, duotest.User{Push: duotest.PushDenied()}, []string{"1"}, pamMaxTries, "", ""},
		{"push denied three times", nil, duotest.User{Push: duotest.PushDenied()}, []string{"1", "1", "1"}, pamMaxTries, "", ""},
		{"denied by Duo", nil, duotest.User{Preauth: "deny", StatusMsg: "Access \x1b[31mdenied"}, nil, pamAuthErr, "",
			`E:Access \x1b[31mdenied`},
		// sshd's password step: the first prompt fails; one automatic
		// push, and the M message so the module remembers it.
		{"conversation cannot prompt", nil, duotest.User{Push: duotest.PushApproved()}, []string{"X"}, pamSuccess, "", "M:"},
		{"conversation fails under sudo: a cancel, no push", nil, duotest.User{Push: duotest.PushApproved()}, []string{"X"}, pamAbort, "sudo", ""},
		{"conversation fails after an answer", nil, duotest.User{Push: duotest.PushApproved()}, []string{"999999", "X"}, pamAbort, "", ""},
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
				PID: os.Getpid(), UID: 0, Args: []string{"conf=" + env.conf}})
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
					if len(answers) == 0 {
						t.Fatalf("unexpected prompt %q; shown so far %q", m.Payload, shown)
					}
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
					if err != nil {
						t.Fatal(err)
					}
					if code != tt.wantCode {
						t.Fatalf("result %d %q, want %d; shown %q; auths %q", code, reason, tt.wantCode, shown, env.authFactors())
					}
					if exit := w.wait(t); exit != workerExit(code) {
						t.Errorf("exit %d, want %d", exit, workerExit(code))
					}
					if len(answers) != 0 {
						t.Errorf("prompts not shown for answers %q", answers)
					}
					if m := slices.Index(shown, "M:"); m >= 0 && (code != pamSuccess || m != len(shown)-1) {
						t.Errorf("the unprompted message must come last and only before a success; shown %q, result %d", shown, code)
					}
					if tt.wantShow != "" && !slices.Contains(shown, tt.wantShow) {
						t.Errorf("%q never shown; shown %q", tt.wantShow, shown)
					}
					if strings.ContainsAny(reason, "\x1b\x07\r\n") {
						t.Errorf("unsanitized reason sent to the module: %q", reason)
					}
					for _, s := range shown {
						if strings.ContainsAny(s[2:], "\x1b\x07\r") {
							t.Errorf("unsanitized text sent to the module: %q", s)
						}
					}
					t.Logf("shown: %q; reason %q", shown, reason)
					return
				default:
					t.Fatalf("unexpected %v message from the worker", m.Type)
				}
			}
			t.Fatal("no result after 100 messages")
		})
	}
}

func TestWorkerBypassSuccess(t *testing.T) {
	needRoot(t)
	u := testUser(t)
	for _, tt := range []struct {
		arg  string
		want int32
	}{{"", pamIgnore}, {"bypass=success", pamSuccess}} {
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
			if code != tt.want || len(shown) != 0 {
				t.Fatalf("result %d %q (shown %q), want %d", code, reason, shown, tt.want)
			}
			if len(env.mock.Requests()) != 0 {
				t.Errorf("a user outside groups reached Duo: %d requests", len(env.mock.Requests()))
			}
		})
	}
}
