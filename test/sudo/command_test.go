package sudo_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// TestSudoCommand: a non-root user's sudo runs the login out of process
// (the worker) in every mode, and the push names what sudo authorizes:
// SUDO_COMMAND, which sudo sets before it authenticates, even for a
// command sudoers does not allow (sudo asks first and refuses after) and
// for sudo -v ("validate"). The in-process core reads the same variable
// and nothing else (pam_module/core TestCommandIsSudoCommand).
func TestSudoCommand(t *testing.T) {
	tests := []struct {
		name    string
		command []string // sudo's command; nil with prefix
		prefix  string   // shell run before sudo
		want    string   // pushinfo's command
	}{
		{"a command sudoers does not allow", []string{"/usr/bin/whoami", "--version"}, "", "/usr/bin/whoami --version"},
		// The shell replaces StartSudo's `sudo -S -k -- COMMAND` with
		// `sudo -S -k -v`: validate, no command.
		{"sudo -v", nil, "set -- sudo -S -k -v;", "validate"},
	}
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"pushinfo": "yes"})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					u := e2e.CreateUser(t, "sudo", "Pw-unused-password")
					env.Mock.AddUser(duotest.User{Name: u.Name, Push: duotest.PushApproved()})
					p := e2e.StartSudo(t, e2e.SudoOptions{
						User:     u.Name,
						PAMStack: e2e.Stack(env.AuthLine("required")),
						Answers:  []string{"1"},
						Command:  tt.command,
						Timeout:  sudoTimeout,
					}, tt.prefix)
					t.Logf("sudo: %v", p.Wait(t))
					var auths []duotest.Request
					for _, r := range env.Mock.RequestsTo("/auth/v2/auth") {
						if r.Params.Get("username") == u.Name {
							auths = append(auths, r)
						}
					}
					require.Len(t, auths, 1, "\n%s", describeRequests(env.Mock))
					raw := auths[0].Params.Get("pushinfo")
					info, err := url.ParseQuery(raw)
					require.NoError(t, err, "pushinfo %q", raw)
					assert.Equal(t, tt.want, info.Get("command"), "pushinfo %q", raw)
				})
			}
		})
	}
}
