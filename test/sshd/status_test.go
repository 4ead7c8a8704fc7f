package sshd_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPushStatusBeforeAnswer shows that a push's status message reaches
// the ssh client while the push is still pending. OpenSSH's sshd holds
// PAM_TEXT_INFO during keyboard-interactive until the next prompt
// (auth-pam.c, sshpam_query), so the module must carry pending status in
// a prompt; the mock holds the final "allow" step back for a while, and
// the transcript must show the status text before the mock served it.
func TestPushStatusBeforeAnswer(t *testing.T) {
	const (
		pending = "pdgt-status: push pending, check your phone"
		delay   = 4 * time.Second
	)
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, nil)
			u := e2e.CreateUser(t, "status", "Pw-"+randomWord(t))
			env.Mock.AddUser(pushUser(u.Name, []duotest.Step{
				{Status: "pushed", StatusMsg: pending, Result: "waiting"},
				{Status: "allow", StatusMsg: "Success. Logging you in...", Result: "allow", Delay: delay},
			}))
			srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack(env.AuthLine("required"))})

			// The first prompt is Duo's menu: choose the push. Any prompt
			// after that is the module showing status; press Enter.
			prompts := 0
			respond := func(p e2e.Prompt) (string, error) {
				prompts++
				if prompts == 1 {
					return "1", nil
				}
				if prompts > 30 {
					return "", fmt.Errorf("more than 30 prompts: %q", p.Text)
				}
				return "", nil
			}
			res := srv.Login(t, e2e.SSHOptions{User: u.Name, Respond: respond, Timeout: loginTimeout})
			require.True(t, res.LoggedIn(), "login failed\nmock requests:\n%s", describeRequests(env.Mock))
			shown, ok := res.Transcript.Find(pending)
			require.True(t, ok, "the pending status %q never reached the client", pending)
			allowAt, err := allowServedAt(env.Mock, delay)
			require.NoError(t, err, "mock requests:\n%s", describeRequests(env.Mock))
			start := res.Transcript.Start()
			t.Logf("%s: status on the client at %+.3fs; the mock served the allow step at %+.3fs (held back %v); %d prompts",
				mode.Name, shown.At.Sub(start).Seconds(), allowAt.Sub(start).Seconds(), delay, len(res.Prompts))
			for i, p := range res.Prompts {
				t.Logf("  prompt %d at %+.3fs: %q", i+1, p.At.Sub(start).Seconds(), e2e.EscapeControls(p.Context))
			}
			assert.True(t, shown.At.Before(allowAt), "the status reached the client %v after the mock answered the push, not before",
				shown.At.Sub(allowAt).Round(time.Millisecond))
		})
	}
}

// allowServedAt returns when the mock served the final step of the push:
// the last auth_status request, plus the delay it was held back.
func allowServedAt(mock *duotest.Server, delay time.Duration) (time.Time, error) {
	var last *duotest.Request
	for _, r := range mock.Requests() {
		if r.Path == "/auth/v2/auth_status" {
			r := r
			last = &r
		}
	}
	if last == nil {
		return time.Time{}, fmt.Errorf("the module never polled auth_status (synchronous push?)")
	}
	return last.Time.Add(delay), nil
}

// TestPasswordThenKeyboardInteractive runs sshd with AuthenticationMethods
// password,keyboard-interactive and the module after pam_unix. sshd's
// password step runs the whole auth stack in its monitor (which loads the
// Go core there, in the lazy mode) with a conversation that answers only
// echo-off prompts, with the password; keyboard-interactive then runs the
// stack again in a fork of that monitor. The module pushes once, in the
// password step (it cannot prompt there), and the keyboard-interactive
// step takes the mark it left instead of pushing again. A bypassed user
// leaves no mark: the keyboard-interactive step asks Duo again, which in
// the lazy mode is the pid guard's out-of-process path (entering the Go
// core there hangs). The Unix password never reaches Duo.
func TestPasswordThenKeyboardInteractive(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, nil)
			pushed := e2e.CreateUser(t, "pwkbd", "Pw-"+randomWord(t))
			bypassed := e2e.CreateUser(t, "pwkbdby", "Pw-"+randomWord(t))
			env.Mock.AddUser(pushUser(pushed.Name, duotest.PushApproved()))
			env.Mock.AddUser(duotest.User{Name: bypassed.Name, Preauth: duo.ResultAllow})
			srv := e2e.StartSshd(t, e2e.SshdOptions{
				PAMStack:              stack("auth required pam_unix.so", env.AuthLine("required")),
				AuthenticationMethods: "password,keyboard-interactive",
			})
			for _, tc := range []struct {
				user                  *e2e.User
				wantAuths, wantPreAus int
			}{
				{pushed, 1, 1},   // one push in the password step, the mark in keyboard-interactive
				{bypassed, 0, 2}, // no mark: Duo asked in both steps
			} {
				prompts := 0
				respond := func(p e2e.Prompt) (string, error) {
					prompts++
					if prompts > 10 {
						return "", fmt.Errorf("more than 10 prompts: %q", p.Text)
					}
					if strings.Contains(strings.ToLower(p.Text), "password") {
						return tc.user.Password, nil
					}
					return "", fmt.Errorf("unexpected prompt %q: the module must not prompt here", p.Text)
				}
				res := srv.Login(t, e2e.SSHOptions{
					User:                     tc.user.Name,
					PreferredAuthentications: "password,keyboard-interactive",
					Respond:                  respond,
					Timeout:                  loginTimeout,
				})
				auths := requests(env.Mock, "/auth/v2/auth", tc.user.Name)
				preauths := requests(env.Mock, "/auth/v2/preauth", tc.user.Name)
				t.Logf("%s %s: logged in %v, %d prompts, %d auth requests, %d preauth requests",
					mode.Name, tc.user.Name, res.LoggedIn(), len(res.Prompts), len(auths), len(preauths))
				for _, r := range env.Mock.Requests() {
					assert.NotEqual(t, tc.user.Password, r.Params.Get("passcode"), "the Unix password was sent to Duo as a passcode (%s %s)", r.Method, r.Path)
				}
				assert.True(t, res.LoggedIn(), "%s: login failed\n%s", tc.user.Name, describeRequests(env.Mock))
				assert.Len(t, auths, tc.wantAuths, "%s: auth requests\n%s", tc.user.Name, describeRequests(env.Mock))
				assert.Len(t, preauths, tc.wantPreAus, "%s: preauth requests\n%s", tc.user.Name, describeRequests(env.Mock))
			}
		})
	}
}
