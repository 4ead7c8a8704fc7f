// Package sshd_test drives the real pam_duo_go module through OpenSSH's
// sshd and ssh client: keyboard-interactive logins against the mock Duo
// server, in both module modes.
package sshd_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// loginTimeout bounds every login: a hang fails the test with the
// transcript and the stacks of sshd's PAM child.
const loginTimeout = 60 * time.Second

// goodPasscode is the passcode the mock accepts for the test users.
const goodPasscode = "123456"

func pushUser(name string, push []duotest.Step) duotest.User {
	return duotest.User{Name: name, Passcodes: []string{goodPasscode}, Push: push}
}

func approvedPush() []duotest.Step { return duotest.PushApproved() }

// requests returns the mock's requests to path for user.
func requests(mock *duotest.Server, path, user string) []duotest.Request {
	var out []duotest.Request
	for _, r := range mock.Requests() {
		if r.Path == path && r.Params.Get("username") == user {
			out = append(out, r)
		}
	}
	return out
}

// describeRequests lists the mock's requests for a log.
func describeRequests(mock *duotest.Server) string {
	var b strings.Builder
	for _, r := range mock.Requests() {
		fmt.Fprintf(&b, "  %s %s %s factor=%s\n", r.Time.Format("15:04:05.000"), r.Method, r.Path, r.Params.Get("factor"))
	}
	return b.String()
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name       string
		push       []duotest.Step
		answers    []string
		wantLogin  bool
		wantFactor string // the factor of the (last) auth request
		wantAuths  int
	}{
		{"push approved", duotest.PushApproved(), []string{"1"}, true, "push", 1},
		{"passcode", duotest.PushApproved(), []string{goodPasscode}, true, "passcode", 1},
		{"wrong passcode then right", duotest.PushApproved(), []string{"000000", goodPasscode}, true, "passcode", 2},
		{"push denied on every attempt", duotest.PushDenied(), []string{"1", "1", "1"}, false, "push", 3},
	}
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, nil)
			srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack(env.AuthLine("required")), Syslog: true})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					u := e2e.CreateUser(t, "login", "Pw-"+randomWord(t))
					env.Mock.AddUser(pushUser(u.Name, tt.push))
					mark := markLogin(u.Name, env.Mock, srv)
					res := srv.Login(t, e2e.SSHOptions{User: u.Name, Respond: e2e.DuoAnswers(tt.answers...), Timeout: loginTimeout})
					assert.Equal(t, tt.wantLogin, res.LoggedIn(), "logged in\nmock requests:\n%s", describeRequests(env.Mock))
					auths := requests(env.Mock, "/auth/v2/auth", u.Name)
					assert.Len(t, auths, tt.wantAuths, "auth requests\nmock requests:\n%s", describeRequests(env.Mock))
					if len(auths) > 0 {
						f := auths[len(auths)-1].Params.Get("factor")
						assert.Contains(t, []string{tt.wantFactor, "prompt"}, f, "last auth factor = %q, want %q", f, tt.wantFactor)
					}
					mark.compare(t, res, 1)
				})
			}
		})
	}
}

func TestDuoUnreachable(t *testing.T) {
	tests := []struct {
		failmode  string
		wantLogin bool
	}{
		{"safe", true},
		{"secure", false},
	}
	for _, mode := range modes {
		for _, tt := range tests {
			t.Run(mode.Name+"/failmode="+tt.failmode, func(t *testing.T) {
				env := e2e.NewDuoEnv(t, mode, map[string]string{"failmode": tt.failmode})
				u := e2e.CreateUser(t, "down", "Pw-"+randomWord(t))
				env.Mock.AddUser(pushUser(u.Name, duotest.PushApproved()))
				srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack(env.AuthLine("required")), Syslog: true})
				mark := markLogin(u.Name, env.Mock, srv)
				env.Mock.Close() // Duo is down: connections are refused
				res := srv.Login(t, e2e.SSHOptions{User: u.Name, Respond: e2e.DuoAnswers(), Timeout: loginTimeout})
				assert.Equal(t, tt.wantLogin, res.LoggedIn(), "failmode=%s: logged in", tt.failmode)
				mark.compare(t, res, 1)
			})
		}
	}
}

// TestGroupBypass shows the module returns PAM_IGNORE (not PAM_SUCCESS)
// for a user outside `groups`: with `[success=done ignore=ignore
// default=die]`, PAM_IGNORE moves on to the next module (a stand-in that
// asks its own question) while PAM_SUCCESS ends the stack; and a stack of
// the module alone refuses a bypassed user, since libpam fails a stack in
// which every module ignored. Duo is never asked about a bypassed user.
func TestGroupBypass(t *testing.T) {
	standIn := e2e.BuildStandInModule(t)
	const next = "auth required %s want=after-duo [prompt=Next module: ]"
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			tests := []struct {
				name       string
				inGroup    bool
				stack      func(env *e2e.DuoEnv) string
				answers    []string
				wantLogin  bool
				wantDuo    bool // Duo was asked (preauth)
				wantPrompt string
			}{
				{"outside groups, next module decides", false,
					func(env *e2e.DuoEnv) string {
						return stack(env.AuthLine("[success=done ignore=ignore default=die]"), fmt.Sprintf(next, standIn))
					}, []string{"after-duo"}, true, false, "Next module: "},
				{"outside groups, module alone", false,
					func(env *e2e.DuoEnv) string { return stack(env.AuthLine("required")) },
					nil, false, false, ""},
				{"outside groups, sufficient then pam_permit", false,
					func(env *e2e.DuoEnv) string { return stack(env.AuthLine("sufficient"), "auth required pam_permit.so") },
					nil, true, false, ""},
				{"in groups, Duo decides and ends the stack", true,
					func(env *e2e.DuoEnv) string {
						return stack(env.AuthLine("[success=done ignore=ignore default=die]"), fmt.Sprintf(next, standIn))
					}, []string{"1"}, true, true, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e2e.RequireRoot(t)
					u := e2e.CreateUser(t, "groups", "Pw-"+randomWord(t))
					group := "pdgt-someothergroup"
					if tt.inGroup {
						group = u.Name // useradd made the user's own group
					}
					env := e2e.NewDuoEnv(t, mode, map[string]string{"groups": group})
					env.Mock.AddUser(pushUser(u.Name, duotest.PushApproved()))
					srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: tt.stack(env), Syslog: true})
					mark := markLogin(u.Name, env.Mock, srv)
					res := srv.Login(t, e2e.SSHOptions{User: u.Name, Respond: e2e.DuoAnswers(tt.answers...), Timeout: loginTimeout})
					assert.Equal(t, tt.wantLogin, res.LoggedIn(), "logged in")
					asked := len(requests(env.Mock, "/auth/v2/preauth", u.Name)) > 0
					assert.Equal(t, tt.wantDuo, asked, "Duo asked\nmock requests:\n%s", describeRequests(env.Mock))
					if tt.wantPrompt != "" {
						assert.True(t, res.Transcript.Contains(tt.wantPrompt), "the next module's prompt %q never showed", tt.wantPrompt)
					}
					if tt.inGroup {
						assert.False(t, res.Transcript.Contains("Next module: "), "the next module ran after Duo allowed: the module did not return PAM_SUCCESS")
					}
					mark.compare(t, res, 1)
				})
			}
		})
	}
}

func TestManyLoginsInARow(t *testing.T) {
	const n = 20
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, nil)
			u := e2e.CreateUser(t, "many", "Pw-"+randomWord(t))
			env.Mock.AddUser(pushUser(u.Name, duotest.PushApproved()))
			srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack(env.AuthLine("required"))})
			ok := 0
			start := time.Now()
			for i := 0; i < n; i++ {
				res, err := e2e.RunSSH(t.Context(), e2e.SSHOptions{Port: srv.Port, User: u.Name, Respond: e2e.DuoAnswers("1"), Timeout: loginTimeout})
				if err != nil { // only then: the stacks are costly (gdb)
					require.NoError(t, err, "login %d of %d (after %d good logins)\n%s\nserver processes:\n%s\nstacks:\n%s",
						i+1, n, ok, res.Summary(), srv.Processes(), srv.Stacks("[pam]"))
				}
				require.True(t, res.LoggedIn(), "login %d of %d refused (after %d good logins)\n%s", i+1, n, ok, res.Summary())
				ok++
			}
			t.Logf("%s: %d of %d logins in a row succeeded, none hung (%v in all)", mode.Name, ok, n, time.Since(start).Round(time.Millisecond))
		})
	}
}
