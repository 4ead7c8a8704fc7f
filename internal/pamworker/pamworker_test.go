package pamworker

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"github.com/pam-duo-go/pam_duo_go/internal/pamhandler"
	"github.com/pam-duo-go/pam_duo_go/internal/testutil"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
)

// goodPasscode is the passcode the mock accepts.
const goodPasscode = "123456"

// limit bounds every wait for the worker (a hang bound).
const limit = 60 * time.Second

// session is one Serve driven over pipes, the way the PAM module drives
// login_duo_go pam-worker.
type session struct {
	toW   *io.PipeWriter // the module's side of the worker's input
	msgs  chan wire.Message
	rerr  chan error
	exit  chan int
	log   *testutil.LogRecorder
	close sync.Once
}

func serve(t *testing.T) *session {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{toW: inW, msgs: make(chan wire.Message, 16), rerr: make(chan error, 1), exit: make(chan int, 1), log: &testutil.LogRecorder{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*limit)
	go func() {
		s.exit <- Serve(ctx, inR, outW, s.log)
		outW.Close()
	}()
	go func() {
		for {
			m, err := wire.ReadMessage(outR)
			if err != nil {
				s.rerr <- err
				close(s.msgs)
				return
			}
			s.msgs <- m
		}
	}()
	t.Cleanup(func() {
		cancel()
		s.closeInput()
		outR.Close()
	})
	return s
}

func (s *session) closeInput() { s.close.Do(func() { s.toW.Close() }) }

// write sends raw bytes without blocking the test on the worker's reads.
func (s *session) write(t *testing.T, raw []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := s.toW.Write(raw)
		errc <- err
	}()
	select {
	case err := <-errc:
		require.NoError(t, err)
	case <-time.After(limit):
		require.FailNow(t, "the worker does not read its input")
	}
}

func (s *session) send(t *testing.T, typ wire.Type, payload []byte) {
	t.Helper()
	b, err := wire.Encode(wire.Message{Type: typ, Payload: payload})
	require.NoError(t, err)
	s.write(t, b)
}

func (s *session) start(t *testing.T, si wire.StartInfo) {
	t.Helper()
	p, err := si.Encode()
	require.NoError(t, err)
	s.send(t, wire.Start, p)
}

// next returns the worker's next message.
func (s *session) next(t *testing.T) wire.Message {
	t.Helper()
	select {
	case m, ok := <-s.msgs:
		if !ok {
			require.FailNow(t, "the worker closed its output", "%v", <-s.rerr)
		}
		return m
	case <-time.After(limit):
		require.FailNow(t, "no message from the worker", "within %v", limit)
	}
	return wire.Message{}
}

// wait returns Serve's exit status.
func (s *session) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-s.exit:
		return code
	case <-time.After(limit):
		require.FailNow(t, "Serve did not return after its result")
	}
	return -1
}

// result reads messages up to the Result, collecting the others as
// "type:text", and Serve's exit status.
func (s *session) result(t *testing.T) (code int32, reason string, shown []string, exit int) {
	t.Helper()
	for range 100 {
		m := s.next(t)
		if m.Type != wire.Result {
			shown = append(shown, string(m.Type)+":"+string(m.Payload))
			continue
		}
		code, reason, err := wire.ParseResult(m.Payload)
		require.NoError(t, err)
		return code, reason, shown, s.wait(t)
	}
	require.FailNow(t, "no result message")
	return
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("a login reads a root-owned config and looks up accounts; run the tests as root")
	}
}

// mockEnv is a running mock Duo server and a pam_duo.conf for it.
type mockEnv struct {
	mock *duotest.Server
	conf string
}

func newMockEnv(t *testing.T, extra map[string]string) *mockEnv {
	t.Helper()
	mock, conf := testutil.MockDuo(t, "pam_duo.conf", extra)
	return &mockEnv{mock: mock, conf: conf}
}

func mustEncode(t *testing.T, typ wire.Type, payload string) []byte {
	t.Helper()
	b, err := wire.Encode(wire.Message{Type: typ, Payload: []byte(payload)})
	require.NoError(t, err)
	return b
}

func TestServeMalformed(t *testing.T) {
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
		{"escapes in the start message", mustEncode(t, wire.Start, "user=a\x00b\x1b[2J=1"), `unknown key "b\x1b[2J"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serve(t)
			if len(tt.raw) > 0 {
				s.write(t, tt.raw)
			}
			s.closeInput()
			code, reason, shown, exit := s.result(t)
			assert.EqualValues(t, pamhandler.ServiceErr, code)
			assert.Contains(t, reason, tt.reason)
			assert.NotContains(t, reason, "\x1b", "the reason is escaped for the module's log")
			assert.Equal(t, pamhandler.ExitFailed, exit)
			assert.Empty(t, shown)
		})
	}
}

// hostile is Duo text that must reach the user escaped exactly once:
// terminal escapes, a carriage return, a bidi override, a backslash and
// invalid UTF-8.
const hostile = "a\x1b[31mred\r\u202eevil\\n\xff"

func TestServeLogin(t *testing.T) {
	needRoot(t)
	hostileDevice := duotest.DefaultPhone
	hostileDevice.DisplayName = "phone " + hostile
	hostilePush := []duotest.Step{
		{Status: "pushed", StatusMsg: "Pushed " + hostile, Result: duo.ResultWaiting},
		{Status: "allow", StatusMsg: "Success.", Result: duo.ResultAllow, Delay: 50 * time.Millisecond},
	}
	tests := []struct {
		name     string
		extra    map[string]string // config keys
		user     duotest.User      // Name, Passcodes filled in
		answers  []string          // typed at each menu prompt, in order; "X" = conversation fails
		wantCode int32
		service  string   // PAM service; "" = sshd
		wantShow []string // messages shown, as "type:text"
	}{
		// Under sshd, a pending push's status comes in a prompt (sshd holds
		// PAM_TEXT_INFO back until the next prompt); elsewhere as info.
		{"push approved", nil, duotest.User{Push: duotest.PushApproved()}, []string{"1"}, pamhandler.Success, "",
			[]string{"p:Pushed a login request to your device...\nPress Enter after you answer on your device: "}},
		{"push approved under sudo", nil, duotest.User{Push: duotest.PushApproved()}, []string{"1"}, pamhandler.Success, "sudo",
			[]string{"I:Pushed a login request to your device..."}},
		{"enter picks the default push", nil, duotest.User{Push: duotest.PushApproved()}, []string{""}, pamhandler.Success, "", nil},
		{"passcode", nil, duotest.User{Push: duotest.PushApproved()}, []string{goodPasscode}, pamhandler.Success, "", nil},
		{"push denied, one attempt", map[string]string{"prompts": "1"}, duotest.User{Push: duotest.PushDenied()}, []string{"1"}, pamhandler.MaxTries, "", nil},
		{"push denied three times", nil, duotest.User{Push: duotest.PushDenied()}, []string{"1", "1", "1"}, pamhandler.MaxTries, "", nil},
		{"denied by Duo", nil, duotest.User{Preauth: "deny", StatusMsg: "Access \x1b[31mdenied"}, nil, pamhandler.AuthErr, "",
			[]string{`E:Access \x1b[31mdenied`}},
		// Duo's text reaches the module escaped once, by this transport.
		{"hostile status, device name and denial", nil,
			duotest.User{Devices: []duo.Device{hostileDevice}, Push: hostilePush}, []string{"1"}, pamhandler.Success, "sudo",
			[]string{"I:Pushed " + escape.Terminal(fromJSON(hostile))}},
		{"hostile enrollment message", nil, duotest.User{Preauth: "enroll", StatusMsg: "Enroll " + hostile}, nil, pamhandler.AuthErr, "sudo",
			nil},
		// sshd's password step: the first prompt fails; one automatic
		// push, and the M message so the module remembers it.
		{"conversation cannot prompt", nil, duotest.User{Push: duotest.PushApproved()}, []string{"X"}, pamhandler.Success, "", []string{"M:"}},
		{"conversation fails under sudo: a cancel, no push", nil, duotest.User{Push: duotest.PushApproved()}, []string{"X"}, pamhandler.Abort, "sudo", nil},
		{"conversation fails after an answer", nil, duotest.User{Push: duotest.PushApproved()}, []string{"999999", "X"}, pamhandler.Abort, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newMockEnv(t, tt.extra)
			du := tt.user
			du.Name, du.Passcodes = "root", []string{goodPasscode}
			env.mock.AddUser(du)
			s := serve(t)
			service := tt.service
			if service == "" {
				service = "sshd"
			}
			s.start(t, wire.StartInfo{User: "root", RHost: "192.0.2.10", Service: service, TTY: "ssh",
				UID: 0, Args: []string{"conf=" + env.conf}})
			answers := tt.answers
			var shown []string
			for range 100 {
				m := s.next(t)
				switch m.Type {
				case wire.PromptEchoOff, wire.PromptEchoOn:
					shown = append(shown, string(m.Type)+":"+string(m.Payload))
					if strings.Contains(string(m.Payload), "Press Enter") {
						s.send(t, wire.Answer, nil)
						continue
					}
					require.NotEmpty(t, answers, "unexpected prompt %q; shown so far %q", m.Payload, shown)
					if answers[0] == "X" {
						s.send(t, wire.ConvFailed, nil)
					} else {
						s.send(t, wire.Answer, []byte(answers[0]))
					}
					answers = answers[1:]
				case wire.Info, wire.Error:
					shown = append(shown, string(m.Type)+":"+string(m.Payload))
				case wire.Unprompted:
					shown = append(shown, "M:")
				case wire.Result:
					code, reason, err := wire.ParseResult(m.Payload)
					require.NoError(t, err)
					require.Equal(t, tt.wantCode, code, "result %q; shown %q; log %s", reason, shown, s.log.Text())
					assert.Equal(t, pamhandler.ExitStatus(int(code)), s.wait(t), "exit status")
					assert.Empty(t, answers, "prompts not shown for these answers")
					if m := slices.Index(shown, "M:"); m >= 0 {
						assert.EqualValues(t, pamhandler.Success, code, "the unprompted message comes only before a success; shown %q", shown)
						assert.Equal(t, len(shown)-1, m, "the unprompted message comes last; shown %q", shown)
					}
					for _, want := range tt.wantShow {
						assert.Contains(t, shown, want)
					}
					assert.False(t, strings.ContainsAny(reason, "\x1b\x07\r\n"), "unsanitized reason sent to the module: %q", reason)
					for _, sh := range shown {
						assertEscapedOnce(t, sh[2:])
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

// assertEscapedOnce checks text the worker sent: no raw control, bidi
// override or invalid byte, and the hostile text's escapes, if there,
// exactly as one escape.Terminal writes them (`\x1b`, not `\x5cx1b`; the
// input's backslash once).
func assertEscapedOnce(t *testing.T, text string) {
	t.Helper()
	assert.False(t, strings.ContainsAny(text, "\x1b\x07\r\u202e\u009b"), "unescaped text sent to the module: %q", text)
	assert.Equal(t, escape.Terminal(text), text, "text sent to the module is not escaped: %q", text)
	if strings.Contains(text, "evil") {
		assert.Contains(t, text, `a\x1b[31mred\x0d\xe2\x80\xaeevil\n`+"\uFFFD", "hostile text not escaped exactly once: %q", text)
	}
}

// fromJSON is s as it comes out of Duo's JSON: invalid UTF-8 arrives as
// U+FFFD.
func fromJSON(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func TestServeBypassSuccess(t *testing.T) {
	needRoot(t)
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
			s := serve(t)
			s.start(t, wire.StartInfo{User: "root", Service: "sudo", UID: 0, Args: args})
			code, reason, shown, _ := s.result(t)
			require.Equal(t, tt.want, code, "reason %q", reason)
			assert.Empty(t, shown)
			assert.Empty(t, env.mock.Requests(), "a user outside groups reached Duo")
		})
	}
}

// TestConvEscapesOnce: every text the worker sends to the module is
// escaped once, here (the login hands it Duo's text raw), and cut to fit a
// message at a rune boundary.
func TestConvEscapesOnce(t *testing.T) {
	long := strings.Repeat("é", wire.MaxPayload) // 2 bytes a rune
	tests := []struct {
		name string
		send func(c *conv) error
		typ  wire.Type
		in   string
	}{
		{"info", func(c *conv) error { return c.Info(context.Background(), hostile) }, wire.Info, hostile},
		{"error", func(c *conv) error { return c.Error(context.Background(), hostile) }, wire.Error, hostile},
		{"prompt", func(c *conv) error { _, err := c.Prompt(context.Background(), hostile, true); return err }, wire.PromptEchoOn, hostile},
		{"hidden prompt", func(c *conv) error { _, err := c.Prompt(context.Background(), hostile, false); return err }, wire.PromptEchoOff, hostile},
		{"already escaped text is not escaped again", func(c *conv) error { return c.Info(context.Background(), `\x1b`) }, wire.Info, `\x1b`},
		{"too long for a message", func(c *conv) error { return c.Info(context.Background(), long+"\x1b") }, wire.Info, long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			in := io.MultiReader(strings.NewReader(string(mustEncode(t, wire.Answer, "ok"))))
			c := newConv(context.Background(), in, &writerFunc{&out})
			require.NoError(t, tt.send(c))
			m, _, err := wire.Decode([]byte(out.String()))
			require.NoError(t, err)
			assert.Equal(t, tt.typ, m.Type)
			want := escape.Clip(escape.Terminal(tt.in), wire.MaxPayload, "")
			assert.Equal(t, want, string(m.Payload))
			assert.NotContains(t, string(m.Payload), "\x1b")
		})
	}
	t.Run("exact text", func(t *testing.T) {
		var out strings.Builder
		c := newConv(context.Background(), strings.NewReader(""), &writerFunc{&out})
		require.NoError(t, c.Error(context.Background(), "device "+hostile))
		m, _, err := wire.Decode([]byte(out.String()))
		require.NoError(t, err)
		assert.Equal(t, `device a\x1b[31mred\x0d\xe2\x80\xaeevil\n\xff`, string(m.Payload))
	})
}

// writerFunc is a strings.Builder as an io.Writer that a test can read.
type writerFunc struct{ b *strings.Builder }

func (w *writerFunc) Write(p []byte) (int, error) { return w.b.Write(p) }

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
