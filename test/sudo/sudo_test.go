// Package sudo_test drives the real pam_duo_go module through sudo: a test
// user runs sudo through a PAM service with the module, against the mock
// Duo server, in both module modes.
package sudo_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sudoTimeout bounds every sudo run.
const sudoTimeout = 60 * time.Second

// describeRequests lists the mock's requests for a log.
func describeRequests(mock *duotest.Server) string {
	var b strings.Builder
	for _, r := range mock.Requests() {
		fmt.Fprintf(&b, "  %s %s factor=%s pushinfo=%q\n", r.Method, r.Path, r.Params.Get("factor"), r.Params.Get("pushinfo"))
	}
	return b.String()
}

func TestSudo(t *testing.T) {
	tests := []struct {
		name      string
		push      []duotest.Step
		wantExit  int
		wantRoot  bool // id -u printed 0
		wantAuths int
		wantShown string // on sudo's output, although sudo passes PAM_SILENT
	}{
		{"push approved", duotest.PushApproved(), 0, true, 1, "Pushed a login request to your device..."},
		{"push denied", duotest.PushDenied(), 1, false, 1, "Login request denied."},
	}
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"pushinfo": "yes"})
			mock := env.Mock
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					u := e2e.CreateUser(t, "sudo", "Pw-unused-password")
					mock.AddUser(duotest.User{Name: u.Name, Push: tt.push})
					res := e2e.SudoRun(t, e2e.SudoOptions{
						User:     u.Name,
						PAMStack: e2e.Stack(env.AuthLine("required")),
						Answers:  []string{"1"}, // Duo's menu: push
						Command:  []string{"/usr/bin/id", "-u"},
						Timeout:  sudoTimeout,
					})
					assert.EqualValues(t, tt.wantExit, res.ExitCode, "sudo exit %d, want %d\nmock requests:\n%s", res.ExitCode, tt.wantExit, describeRequests(mock))
					assert.Contains(t, res.Stdout+res.Stderr, tt.wantShown, "sudo's output lacks %q", tt.wantShown)
					// Without a tty sudo writes the module's messages to its
					// own (buffered) stdout, so they may follow id's line.
					assert.Equal(t, tt.wantRoot, slices.Contains(strings.Split(res.Stdout, "\n"), "0"), "id -u ran as root")
					var auths []duotest.Request
					for _, r := range mock.Requests() {
						if r.Path == "/auth/v2/auth" && r.Params.Get("username") == u.Name {
							auths = append(auths, r)
						}
					}
					require.Len(t, auths, tt.wantAuths, "%d auth requests for %s, want %d\nmock requests:\n%s", len(auths), u.Name, tt.wantAuths, describeRequests(mock))
					// pushinfo=yes: the push carries the command being authorized.
					raw := auths[0].Params.Get("pushinfo")
					info, err := url.ParseQuery(raw)
					require.NoError(t, err, "pushinfo %q is not URL-encoded key=value pairs", raw)
					assert.Contains(t, info.Get("command"), "/usr/bin/id", "pushinfo command (pushinfo %q), want it to name /usr/bin/id", raw)
				})
			}
		})
	}
}

// TestSudoVerifiedPush: sudo passes PAM_SILENT on every call, and the
// Verified Push code must reach the user anyway, or the push cannot be
// approved.
func TestSudoVerifiedPush(t *testing.T) {
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"verified_push": "yes"})
			mock := env.Mock
			u := e2e.CreateUser(t, "sudo", "Pw-unused-password")
			mock.AddUser(duotest.User{Name: u.Name, VerifiedPushCode: "417", Push: duotest.PushApproved()})
			res := e2e.SudoRun(t, e2e.SudoOptions{
				User:     u.Name,
				PAMStack: e2e.Stack(env.AuthLine("required")),
				Answers:  []string{""}, // Enter: the default, a Verified Push
				Timeout:  sudoTimeout,
			})
			assert.EqualValues(t, 0, res.ExitCode, "sudo exit %d, want 0\n%s", res.ExitCode, describeRequests(mock))
			out := res.Stdout + res.Stderr
			for _, want := range []string{"Please enter verification code 417 into Duo Mobile...", "Pushed a login request to your device..."} {
				assert.Contains(t, out, want, "sudo's output lacks %q", want)
			}
			assert.Len(t, mock.RequestsTo("/auth/v2/auth"), 1, "auth requests\n%s", describeRequests(mock))
		})
	}
}

// TestSudoHostileCommand authorizes a command whose arguments are shell
// metacharacters and a terminal escape: they travel URL-encoded in
// pushinfo, nothing runs them, and nothing the user sees carries the raw
// escape.
func TestSudoHostileCommand(t *testing.T) {
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"pushinfo": "yes"})
			mock := env.Mock
			marker := filepath.Join(t.TempDir(), "pwned")
			hostile := []string{"$(touch " + marker + ")", "`touch " + marker + "`", "; touch " + marker, "\x1b]0;title\x07\x1b[2J"}
			u := e2e.CreateUser(t, "sudo", "Pw-unused-password")
			mock.AddUser(duotest.User{Name: u.Name, Push: duotest.PushApproved()})
			res := e2e.SudoRun(t, e2e.SudoOptions{
				User:     u.Name,
				PAMStack: e2e.Stack(env.AuthLine("required")),
				Answers:  []string{"1"},
				Command:  append([]string{"/usr/bin/id", "-u"}, hostile...),
				Timeout:  sudoTimeout,
			})
			require.NoFileExists(t, marker, "a shell ran the command's arguments")
			assert.NotContains(t, res.Stdout+res.Stderr, "\x1b", "a raw escape reached the terminal: stdout %q stderr %q", res.Stdout, res.Stderr)
			auths := mock.RequestsTo("/auth/v2/auth")
			require.Len(t, auths, 1, "%d auth requests, want 1\n%s", len(auths), describeRequests(mock))
			info, err := url.ParseQuery(auths[0].Params.Get("pushinfo"))
			require.NoError(t, err, "pushinfo %q", auths[0].Params.Get("pushinfo"))
			cmd := info.Get("command")
			assert.Contains(t, cmd, "$(touch "+marker+")", "pushinfo command does not carry the arguments as text")
			assert.Contains(t, cmd, "`touch", "pushinfo command does not carry the arguments as text")
		})
	}
}
