package sshd_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
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
			env := newDuoEnv(t, mode, nil)
			u := e2e.CreateUser(t, "status", "Pw-"+randomWord(t))
			env.mock.AddUser(pushUser(u.Name, []duotest.Step{
				{Status: "pushed", StatusMsg: pending, Result: "waiting"},
				{Status: "allow", StatusMsg: "Success. Logging you in...", Result: "allow", Delay: delay},
			}))
			srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack(env.authLine("required"))})

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
			if !res.LoggedIn() {
				t.Fatalf("login failed\nmock requests:\n%s", describeRequests(env.mock))
			}
			shown, ok := res.Transcript.Find(pending)
			if !ok {
				t.Fatalf("the pending status %q never reached the client", pending)
			}
			allowAt, err := allowServedAt(env.mock, delay)
			if err != nil {
				t.Fatalf("%v\nmock requests:\n%s", err, describeRequests(env.mock))
			}
			start := res.Transcript.Start()
			t.Logf("%s: status on the client at %+.3fs; the mock served the allow step at %+.3fs (held back %v); %d prompts",
				mode.Name, shown.At.Sub(start).Seconds(), allowAt.Sub(start).Seconds(), delay, len(res.Prompts))
			for i, p := range res.Prompts {
				t.Logf("  prompt %d at %+.3fs: %q", i+1, p.At.Sub(start).Seconds(), e2e.EscapeControls(p.Context))
			}
			if !shown.At.Before(allowAt) {
				t.Errorf("the status reached the client %v after the mock answered the push, not before",
					shown.At.Sub(allowAt).Round(time.Millisecond))
			}
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
// Go core there, in the lazy mode) with a conversation that answers every
// echo-off prompt with the password; keyboard-interactive then runs in a
// fork of that monitor, where the module's pid guard must run the login
// out of process. The login must not hang, must push at most once, and
// must never send the Unix password to Duo.
func TestPasswordThenKeyboardInteractive(t *testing.T) {
	if os.Getenv("PAM_DUO_GO_KNOWN_GAPS") != "1" {
		t.Skip("known gap, not yet built: in sshd's password step the module's echo-on menu prompt fails, so the " +
			"login is refused (PAM_ABORT) instead of taking one push across both steps; see ARCHITECTURE.md. " +
			"Set PAM_DUO_GO_KNOWN_GAPS=1 to run it.")
	}
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := newDuoEnv(t, mode, nil)
			u := e2e.CreateUser(t, "pwkbd", "Pw-"+randomWord(t))
			env.mock.AddUser(pushUser(u.Name, duotest.PushApproved()))
			srv := e2e.StartSshd(t, e2e.SshdOptions{
				PAMStack:              stack("auth required pam_unix.so", env.authLine("required")),
				AuthenticationMethods: "password,keyboard-interactive",
			})
			prompts := 0
			respond := func(p e2e.Prompt) (string, error) {
				prompts++
				if prompts > 10 {
					return "", fmt.Errorf("more than 10 prompts: %q", p.Text)
				}
				if strings.Contains(strings.ToLower(p.Text), "password") {
					return u.Password, nil
				}
				return "1", nil // Duo's menu: push
			}
			res := srv.Login(t, e2e.SSHOptions{
				User:                     u.Name,
				PreferredAuthentications: "password,keyboard-interactive",
				Respond:                  respond,
				Timeout:                  loginTimeout,
			})
			auths := requests(env.mock, "/auth/v2/auth", u.Name)
			t.Logf("%s: logged in %v, %d prompts, %d Duo auth requests, %d preauth requests\nmock requests:\n%s",
				mode.Name, res.LoggedIn(), len(res.Prompts), len(auths), len(requests(env.mock, "/auth/v2/preauth", u.Name)), describeRequests(env.mock))
			for _, r := range env.mock.Requests() {
				if r.Params.Get("passcode") == u.Password {
					t.Errorf("the Unix password was sent to Duo as a passcode (%s %s)", r.Method, r.Path)
				}
			}
			if !res.LoggedIn() {
				t.Errorf("login failed")
			}
			if len(auths) > 1 {
				t.Errorf("%d Duo auth requests (a double push), want 1", len(auths))
			}
		})
	}
}
