// Package su_test drives the real pam_duo_go module through util-linux su,
// in both module modes: su to root asks Duo for the user who ran su, su
// to another account asks for that account, as duo_unix does.
package su_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSu(t *testing.T) {
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"prompts": "1"})
			mock := env.Mock
			// Only the module: the password step is not what is tested.
			stack := e2e.Stack(env.AuthLine("required"))
			caller := e2e.CreateUser(t, "su", "Pw-unused-password")
			target := e2e.CreateUser(t, "sutarget", "Pw-unused-password")
			mock.AddUser(duotest.User{Name: caller.Name, Passcodes: []string{"111111"}, Push: duotest.PushApproved()})
			mock.AddUser(duotest.User{Name: target.Name, Passcodes: []string{"222222"}})

			tests := []struct {
				name     string
				target   string
				answer   string
				wantUser string // the Duo user asked; "" = no auth
				wantUID  string // id -u printed on success; "" = refused
			}{
				{"to root: the caller's passcode", "root", "111111", caller.Name, "0"},
				{"to root: the caller's push with status", "root", "1", caller.Name, "0"},
				{"to root: the target's passcode is refused", "root", "222222", caller.Name, ""},
				{"to another user: that user's passcode", target.Name, "222222", target.Name, target.UID},
				{"to another user: the caller's passcode is refused", target.Name, "111111", target.Name, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					mock.Reset()
					res := e2e.SuRun(t, e2e.SuOptions{User: caller.Name, Target: tt.target, PAMStack: stack,
						Answers: []string{tt.answer}, Timeout: 30 * time.Second})
					ran := slices.Contains(strings.Split(res.Stdout, "\n"), tt.wantUID)
					assert.False(t, tt.wantUID != "" && (res.ExitCode != 0 || !ran), "su %s: %v, want id -u = %s", tt.target, res, tt.wantUID)
					lines := strings.Split(res.Stdout, "\n")
					assert.False(t, tt.wantUID == "" && (res.ExitCode == 0 || slices.Contains(lines, "0") || slices.Contains(lines, target.UID)), "su %s: %v, want a refusal and nothing run", tt.target, res)
					auths := mock.RequestsTo("/auth/v2/auth")
					var got []string
					for _, a := range auths {
						got = append(got, a.Params.Get("username"))
					}
					assert.Equal(t, []string{tt.wantUser}, got, "auth requests for these users, want one for %s", tt.wantUser)
				})
			}
		})
	}
}

// TestSuIgnoresSudoCommand: SUDO_COMMAND in su's environment is whatever
// the caller exported; the push must not show it as the command being
// authorized (only sudo* services send a command).
func TestSuIgnoresSudoCommand(t *testing.T) {
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"prompts": "1", "pushinfo": "yes"})
			caller := e2e.CreateUser(t, "sucmd", "Pw-unused-password")
			env.Mock.AddUser(duotest.User{Name: caller.Name, Push: duotest.PushApproved()})
			res := e2e.SuRun(t, e2e.SuOptions{User: caller.Name, PAMStack: e2e.Stack(env.AuthLine("required")),
				Answers: []string{"1"}, Env: []string{"SUDO_COMMAND=/usr/bin/apt-get update"}, Timeout: 30 * time.Second})
			require.False(t, res.ExitCode != 0 || !slices.Contains(strings.Split(res.Stdout, "\n"), "0"), "su: %v, want a push login and id -u = 0", res)
			auths := env.Mock.RequestsTo("/auth/v2/auth")
			require.Len(t, auths, 1, "%d auth requests, want 1", len(auths))
			raw := auths[0].Params.Get("pushinfo")
			info, err := url.ParseQuery(raw)
			require.NoError(t, err, "pushinfo %q", raw)
			assert.NotContains(t, info, "command", "pushinfo %q carries the caller's SUDO_COMMAND", raw)
			assert.NotContains(t, raw, "apt-get", "pushinfo carries the caller's SUDO_COMMAND")
			assert.NotEqual(t, "", info.Get("hostname"), "pushinfo %q has no hostname: was pushinfo sent at all?", raw)
		})
	}
}
