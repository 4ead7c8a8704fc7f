// Package pamtest drives the built pam_duo_go.so through real libpam
// (msteinert/pam's StartConfDir, which reads a service file from a test
// directory) against the mock Duo server: one case per row of the PAM
// result table, asserting the result, every message the user saw and the
// requests Duo received.
//
// The module's Go core is a second Go runtime in the test process; the
// module design only guarantees it against forks, and this works (it is
// what sudo and pamtester do with it). The fork case runs in a C client.
package pamtest

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// transcript records what a login showed and answers from a script.
// loginBound is the most one login of these tests may take: past it the
// login is taken to hang.
const loginBound = 60 * time.Second

// authenticate runs tx.Authenticate(flags) and fails the test, with what
// seen returns (what the user saw), if it has not returned within
// loginBound.
func authenticate(t *testing.T, tx *pam.Transaction, flags pam.Flags, seen func() string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tx.Authenticate(flags) }()
	select {
	case err := <-done:
		return err
	case <-time.After(loginBound):
		require.FailNow(t, "login hung", "saw:\n%s", seen())
		return nil
	}
}

type transcript struct {
	answers []string
	seen    []string
	fail    bool // every prompt fails: a broken conversation
}

func (c *transcript) RespondPAM(style pam.Style, msg string) (string, error) {
	switch style {
	case pam.TextInfo:
		c.seen = append(c.seen, "INFO: "+msg)
		return "", nil
	case pam.ErrorMsg:
		c.seen = append(c.seen, "ERROR: "+msg)
		return "", nil
	}
	c.seen = append(c.seen, "PROMPT: "+firstLine(msg))
	if c.fail || len(c.answers) == 0 {
		return "", errors.New("no answer")
	}
	a := c.answers[0]
	c.answers = c.answers[1:]
	return a, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

type loginCase struct {
	name    string
	user    string
	users   []duotest.User
	conf    map[string]string
	args    string // extra module arguments
	service string // PAM service name (default duo-test); sshd* turns on sshd's behaviours
	control string // the module line's control field (default required)
	after   string // more lines after the module
	answers []string
	failing bool
	down    bool
	fault   *duotest.Fault
	flags   pam.Flags // pam_authenticate's flags (pam.Silent is sudo's PAM_SILENT)
	rhost   string    // PAM_RHOST, when set
	want    error     // nil for PAM_SUCCESS
	seen    []string  // shown, in this order
	unseen  []string  // never shown
	check   func(t *testing.T, s *duotest.Server)
}

// writeConfig writes a pam_duo.conf for the mock at path: an https_timeout
// of 2 s, then the keys of conf (which may override it).
func writeConfig(t *testing.T, s *duotest.Server, path string, conf map[string]string) {
	t.Helper()
	keys := map[string]string{"https_timeout": "2"}
	maps.Copy(keys, conf)
	require.NoError(t, s.WriteConfig(path, keys))
}

func runLogin(t *testing.T, tc loginCase) {
	art := e2e.BuildArtifacts(t)
	s := duotest.NewServer()
	defer s.Close()
	for _, u := range tc.users {
		s.AddUser(u)
	}
	dir := t.TempDir()
	writeConfig(t, s, filepath.Join(dir, "pam_duo.conf"), tc.conf)
	if tc.fault != nil {
		s.Inject("", *tc.fault)
	}
	if tc.down {
		s.Close()
	}
	control := tc.control
	if control == "" {
		control = "required"
	}
	stack := art.AuthLine(control, filepath.Join(dir, "pam_duo.conf"), e2e.Mode{}, tc.args) + "\n" + tc.after
	service := tc.service
	if service == "" {
		service = "duo-test"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, service), []byte(stack), 0o644))

	conv := &transcript{answers: tc.answers, fail: tc.failing}
	tx, err := pam.StartConfDir(service, tc.user, conv, dir)
	require.NoError(t, err)
	if tc.rhost != "" {
		require.NoError(t, tx.SetItem(pam.Rhost, tc.rhost))
	}
	err = authenticate(t, tx, tc.flags, func() string { return strings.Join(conv.seen, "\n") })
	require.NoError(t, tx.End())
	seen := strings.Join(conv.seen, "\n")
	if tc.want == nil {
		assert.NoError(t, err, seen)
	} else {
		assert.ErrorIs(t, err, tc.want, seen)
	}
	pos := 0
	for _, want := range tc.seen {
		i := strings.Index(seen[pos:], want)
		if !assert.True(t, i >= 0, "missing %q (in order) in:\n%s", want, seen) {
			break
		}
		pos += i + len(want)
	}
	for _, not := range tc.unseen {
		assert.NotContains(t, seen, not)
	}
	if tc.check != nil {
		tc.check(t, s)
	}
}

// unusableConfig is what a user is told when the config cannot be used.
const unusableConfig = `Access denied: the Duo configuration on this host cannot be used (an administrator can run "login_duo_go check"; details in the system log).`

// oneAutomaticPush checks a login that could not prompt: one push, and
// no passcode sent to Duo.
func oneAutomaticPush(t *testing.T, s *duotest.Server) {
	auths := s.RequestsTo("/auth/v2/auth")
	require.Len(t, auths, 1)
	assert.Empty(t, auths[0].Params.Get("passcode"))
	assert.Contains(t, []string{"push", "prompt"}, auths[0].Params.Get("factor"))
}

func TestPAMResults(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the module looks up local users and the configs are root-owned")
	}
	root := duotest.User{Name: "root", Passcodes: []string{"123456"}, Push: duotest.PushApproved()}
	// With this stack PAM_IGNORE falls through to pam_debug's
	// PAM_PERM_DENIED, while PAM_SUCCESS ends the stack.
	const ignoreStack = "auth required pam_debug.so auth=perm_denied\n"
	cases := []loginCase{
		{name: "allow: passcode", user: "root", users: []duotest.User{root}, answers: []string{"123456"}, want: nil,
			seen: []string{"PROMPT: Duo two-factor login for root", "INFO: Success. Logging you in..."},
			check: func(t *testing.T, s *duotest.Server) {
				auth := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auth, 1)
				assert.Equal(t, "passcode", auth[0].Params.Get("factor"))
				assert.Equal(t, "123456", auth[0].Params.Get("passcode"))
				assert.Equal(t, 1, s.Handshakes())
			}},
		{name: "allow: push with live status", user: "root", users: []duotest.User{root}, answers: []string{""}, want: nil,
			seen: []string{"PROMPT: Duo two-factor", "INFO: Pushed a login request to your device...", "INFO: Success. Logging you in..."}},
		{name: "deny: preauth deny", user: "root", users: []duotest.User{{Name: "root", Preauth: duo.ResultDeny}}, want: pam.ErrAuth,
			seen: []string{"ERROR: Login denied by policy"}},
		{name: "deny: enroll", user: "root", users: []duotest.User{{Name: "root", Preauth: duo.ResultEnroll}}, want: pam.ErrAuth,
			seen: []string{"ERROR: Your account is not enrolled in Duo. Enroll at: https://"}},
		{name: "bypass: preauth allow gives PAM_IGNORE", user: "root", users: []duotest.User{{Name: "root", Preauth: duo.ResultAllow}},
			control: "[ignore=ignore default=done]", after: ignoreStack, want: pam.ErrPermDenied},
		{name: "bypass: outside groups gives PAM_IGNORE", user: "root", users: []duotest.User{root}, conf: map[string]string{"groups": "no-such-group-xyz"},
			control: "[ignore=ignore default=done]", after: ignoreStack, want: pam.ErrPermDenied,
			check: func(t *testing.T, s *duotest.Server) {
				assert.Empty(t, s.Requests(), "no Duo call for a user Duo does not apply to")
			}},
		{name: "bypass=success gives PAM_SUCCESS", user: "root", users: []duotest.User{{Name: "root", Preauth: duo.ResultAllow}},
			args: "bypass=success", control: "[ignore=ignore default=done]", after: ignoreStack, want: nil},
		{name: "user unknown", user: "no-such-user-pdg", want: pam.ErrUserUnknown},
		{name: "max tries: pushes denied", user: "root", users: []duotest.User{{Name: "root", Push: duotest.PushDenied()}},
			answers: []string{"1", "", "1"}, want: pam.ErrMaxtries, seen: []string{"INFO: Login request denied."}, check: func(t *testing.T, s *duotest.Server) { assert.Len(t, s.RequestsTo("/auth/v2/auth"), 3) }},
		{name: "max tries: wrong passcodes", user: "root", users: []duotest.User{root}, answers: []string{"111111", "222222"},
			conf: map[string]string{"prompts": "2"}, want: pam.ErrMaxtries, seen: []string{"ERROR: Incorrect passcode", "ERROR: Incorrect passcode"}},
		{name: "failopen: Duo down, failmode safe", user: "root", down: true, conf: map[string]string{"failmode": "safe"}, want: nil},
		{name: "failclosed: a misspelt module argument (duo_unix refused it too)", user: "root", users: []duotest.User{root},
			args: "config=/etc/duo/other.conf", conf: map[string]string{"failmode": "safe"}, want: pam.ErrService,
			check: func(t *testing.T, s *duotest.Server) {
				assert.Empty(t, s.Requests(), "no Duo call with a bad module argument")
			}},
		{name: "failclosed: a relative conf= path", user: "root", users: []duotest.User{root},
			args: "conf=pam_duo.conf", conf: map[string]string{"failmode": "safe"}, want: pam.ErrService,
			check: func(t *testing.T, s *duotest.Server) {
				assert.Empty(t, s.Requests(), "no Duo call with a bad module argument")
			}},
		{name: "exec mode: failclosed: a misspelt module argument (duo_unix refused it too)", user: "root", users: []duotest.User{root},
			args: "mode=exec config=/etc/duo/other.conf", conf: map[string]string{"failmode": "safe"}, want: pam.ErrService,
			check: func(t *testing.T, s *duotest.Server) {
				assert.Empty(t, s.Requests(), "no Duo call with a bad module argument")
			}},
		{name: "exec mode: failclosed: a relative conf= path", user: "root", users: []duotest.User{root},
			args: "mode=exec conf=pam_duo.conf", conf: map[string]string{"failmode": "safe"}, want: pam.ErrService,
			check: func(t *testing.T, s *duotest.Server) {
				assert.Empty(t, s.Requests(), "no Duo call with a bad module argument")
			}},
		{name: "failclosed: invalid config, even with failmode safe", user: "root", users: []duotest.User{root},
			conf: map[string]string{"failmode": "safe", "no_such_key": "1"}, want: pam.ErrService,
			seen:   []string{"ERROR: " + unusableConfig},
			unseen: []string{"no_such_key"}, // the details are for the system log
			check: func(t *testing.T, s *duotest.Server) {
				assert.Empty(t, s.Requests(), "no Duo call with an invalid config")
			}},
		// The user learns why in one line, as from login_duo_go, rather
		// than sudo's bare "PAM authentication error".
		{name: "failclosed: unusable config explained, PAM_SILENT (sudo)", user: "root", users: []duotest.User{root}, flags: pam.Silent,
			conf: map[string]string{"failmode": "maybe"}, want: pam.ErrService, seen: []string{"ERROR: " + unusableConfig}},
		{name: "exec mode: failclosed: unusable config explained, PAM_SILENT (sudo)", user: "root", users: []duotest.User{root}, flags: pam.Silent,
			args: "mode=exec", conf: map[string]string{"failmode": "maybe"}, want: pam.ErrService, seen: []string{"ERROR: " + unusableConfig}},
		{name: "sshd: failclosed: unusable config explained, no prompt", service: "sshd-pamtest", user: "root", users: []duotest.User{root},
			conf: map[string]string{"failmode": "maybe"}, want: pam.ErrService, seen: []string{"ERROR: " + unusableConfig}, unseen: []string{"PROMPT: "}},
		{name: "exec mode: failclosed: a bad module argument explained", user: "root", users: []duotest.User{root},
			args: "mode=exec config=/etc/duo/other.conf", want: pam.ErrService, seen: []string{"ERROR: " + unusableConfig}},
		{name: "failclosed: Duo down, failmode secure", user: "root", down: true, conf: map[string]string{"failmode": "secure"}, want: pam.ErrService},
		{name: "failclosed: 503, failmode secure", user: "root", users: []duotest.User{root}, fault: &duotest.Fault{Status: 503, Times: -1},
			conf: map[string]string{"failmode": "secure"}, want: pam.ErrService},
		{name: "aborted: prompt refused (a cancel) outside sshd, no push", user: "root", users: []duotest.User{root}, failing: true,
			want: pam.ErrAbort, check: func(t *testing.T, s *duotest.Server) { assert.Empty(t, s.RequestsTo("/auth/v2/auth")) }},
		{name: "sshd, no prompt possible: one automatic push", service: "sshd-pamtest", user: "root", users: []duotest.User{root}, failing: true, want: nil,
			seen: []string{"PROMPT: Duo two-factor", "INFO: Autopushing", "INFO: Success"}, check: oneAutomaticPush},
		{name: "aborted: conversation breaks after an answer", user: "root", users: []duotest.User{root}, answers: []string{"999999"},
			want: pam.ErrAbort, seen: []string{"PROMPT: Duo two-factor", "ERROR: Incorrect passcode", "PROMPT: Duo two-factor"}},
		{name: "exec mode: passcode", user: "root", users: []duotest.User{root}, args: "mode=exec", answers: []string{"123456"}, want: nil,
			seen: []string{"PROMPT: Duo two-factor", "INFO: Success"}},
		{name: "exec mode: push with status", user: "root", users: []duotest.User{root}, args: "mode=exec", answers: []string{""}, want: nil,
			seen: []string{"INFO: Pushed a login request", "INFO: Success"}},
		{name: "exec mode: deny", user: "root", users: []duotest.User{{Name: "root", Push: duotest.PushDenied()}}, args: "mode=exec",
			answers: []string{"1"}, conf: map[string]string{"prompts": "1"}, want: pam.ErrMaxtries},
		{name: "exec mode: sshd, no prompt possible", service: "sshd-pamtest", user: "root", users: []duotest.User{root}, args: "mode=exec", failing: true, want: nil,
			seen: []string{"PROMPT: Duo two-factor", "INFO: Autopushing", "INFO: Success"}, check: oneAutomaticPush},
		{name: "exec mode: broken conversation after an answer", user: "root", users: []duotest.User{root}, args: "mode=exec",
			answers: []string{"999999"}, want: pam.ErrAbort},
		// sudo passes PAM_SILENT on every call: it works as quiet, and what
		// the user needs (a Verified Push code, a push's progress, a
		// refusal) is still shown, in process and through the worker.
		{name: "silent: Verified Push code and push status still shown", user: "root", flags: pam.Silent,
			users: []duotest.User{{Name: "root", VerifiedPushCode: "417", Push: duotest.PushApproved()}}, conf: map[string]string{"verified_push": "yes"},
			answers: []string{""}, want: nil, seen: []string{"INFO: Please enter verification code 417 into Duo Mobile...", "INFO: Pushed a login request"}},
		{name: "silent: refusal still shown", user: "root", flags: pam.Silent, users: []duotest.User{root}, answers: []string{"111111"},
			conf: map[string]string{"prompts": "1"}, want: pam.ErrMaxtries, seen: []string{"ERROR: Incorrect passcode"}},
		{name: "silent: courtesy messages dropped, as quiet", user: "root", flags: pam.Silent, users: []duotest.User{root}, answers: []string{"123456"},
			want: nil, unseen: []string{"INFO: Success"}},
		{name: "exec mode: silent: Verified Push code and push status still shown", user: "root", flags: pam.Silent, args: "mode=exec",
			users: []duotest.User{{Name: "root", VerifiedPushCode: "417", Push: duotest.PushApproved()}}, conf: map[string]string{"verified_push": "yes"},
			answers: []string{""}, want: nil, seen: []string{"INFO: Please enter verification code 417 into Duo Mobile...", "INFO: Pushed a login request"}},
		{name: "exec mode: silent: courtesy messages dropped, as quiet", user: "root", flags: pam.Silent, args: "mode=exec", users: []duotest.User{root},
			answers: []string{"123456"}, want: nil, seen: []string{"PROMPT: Duo two-factor"}, unseen: []string{"INFO: Success"}},
		{name: "exec mode: untrusted helper refused", user: "root", users: []duotest.User{root}, args: "mode=exec helper=/nonexistent/login_duo_go",
			want: pam.ErrService},
	}
	// ipaddr is sent only when PAM_RHOST is an IP address literal. A
	// name (sshd with UseDNS yes) is never resolved: its owner's reverse
	// DNS would choose the address Duo sees. "localhost" resolves from
	// /etc/hosts, so an ipaddr for it would prove a lookup.
	for _, mode := range []string{"", "mode=exec"} {
		for _, rh := range []struct{ rhost, want string }{
			{"192.0.2.7", "192.0.2.7"},
			{"2001:db8::7", "2001:db8::7"},
			{"attacker.example", ""},
			{"localhost", ""},
			{"[2001:db8::7]", ""},
		} {
			cases = append(cases, loginCase{name: fmt.Sprintf("%s ipaddr for PAM_RHOST %s", mode, rh.rhost), user: "root",
				users: []duotest.User{root}, args: mode, rhost: rh.rhost, answers: []string{"123456"}, want: nil,
				check: func(t *testing.T, s *duotest.Server) {
					for _, path := range []string{"/auth/v2/preauth", "/auth/v2/auth"} {
						reqs := s.RequestsTo(path)
						require.Len(t, reqs, 1, path)
						_, sent := reqs[0].Params["ipaddr"]
						if rh.want == "" {
							assert.False(t, sent, "%s: ipaddr %q sent for PAM_RHOST %q", path, reqs[0].Params.Get("ipaddr"), rh.rhost)
						} else {
							assert.Equal(t, rh.want, reqs[0].Params.Get("ipaddr"), path)
						}
					}
				}})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runLogin(t, tc) })
	}
}

// TestForkedChildNeverEntersGo runs a login, forks, and logs in again in
// the child on the same handle: the child must take the worker path.
func TestForkedChildNeverEntersGo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the module looks up local users and the configs are root-owned")
	}
	art := e2e.BuildArtifacts(t)
	dir := t.TempDir()
	client := filepath.Join(dir, "forkclient")
	out, err := exec.Command("gcc", "-Wall", "-Werror", "-o", client, "testdata/forkclient.c", "-lpam").CombinedOutput()
	require.NoError(t, err, "gcc\n%s", out)
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}})
	require.NoError(t, s.WriteConfig(filepath.Join(dir, "pam_duo.conf"), nil))
	for _, tt := range []struct {
		name, helper, wantChild string
	}{
		// The real worker logs the child in.
		{"worker", art.Helper, "child 0"},
		// A missing helper proves the child did not enter the Go core,
		// which would have logged in (or hung).
		{"no worker", "/nonexistent/login_duo_go", "child 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			withHelper := art
			withHelper.Helper = tt.helper
			stack := withHelper.AuthLine("required", filepath.Join(dir, "pam_duo.conf"), e2e.Mode{}) + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "duo-fork"), []byte(stack), 0o644))
			cmd := exec.Command(client, dir, "duo-fork", "root", "123456")
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				require.FailNow(t, "forked login hung")
			}
			require.NoError(t, err, string(out))
			assert.Contains(t, string(out), "parent 0")
			assert.Contains(t, string(out), tt.wantChild)
		})
	}
}

// TestPasswordStepMark is sshd's password,keyboard-interactive on one PAM
// handle, through libpam: a first run that cannot prompt is allowed with
// one automatic push and leaves a mark; the next run for the same user
// succeeds without Duo, once; a run for another user is not covered by it.
func TestPasswordStepMark(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the module looks up local users and the configs are root-owned")
	}
	art := e2e.BuildArtifacts(t)
	for _, args := range []string{"", "mode=exec"} {
		t.Run("args="+args, func(t *testing.T) {
			s := duotest.NewServer()
			defer s.Close()
			s.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}, Push: duotest.PushApproved()})
			s.AddUser(duotest.User{Name: "daemon", Passcodes: []string{"654321"}, Push: duotest.PushApproved()})
			dir := t.TempDir()
			writeConfig(t, s, filepath.Join(dir, "pam_duo.conf"), nil)
			stack := art.AuthLine("required", filepath.Join(dir, "pam_duo.conf"), e2e.Mode{}, args) + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sshd-pamtest"), []byte(stack), 0o644))

			conv := &transcript{fail: true}
			tx, err := pam.StartConfDir("sshd-pamtest", "root", conv, dir)
			require.NoError(t, err)
			defer tx.End()
			auths := func() int { return len(s.RequestsTo("/auth/v2/auth")) }

			require.NoError(t, tx.Authenticate(0), "password step (cannot prompt): %q", conv.seen)
			require.Equal(t, 1, auths(), "one automatic push")

			conv.fail, conv.seen = false, nil
			require.NoError(t, tx.Authenticate(0), "keyboard-interactive step: %q", conv.seen)
			assert.Equal(t, 1, auths(), "no second push")
			assert.Empty(t, conv.seen, "nothing shown or asked in the second step")

			// The mark is good once: the next run asks Duo again.
			conv.answers = []string{"123456"}
			require.NoError(t, tx.Authenticate(0), "%q", conv.seen)
			assert.Equal(t, 2, auths())

			// A mark for root does not cover another user on the handle.
			conv.fail, conv.seen = true, nil
			require.NoError(t, tx.Authenticate(0))
			require.Equal(t, 3, auths())
			require.NoError(t, tx.SetItem(pam.User, "daemon"))
			conv.fail, conv.seen, conv.answers = false, nil, []string{"654321"}
			require.NoError(t, tx.Authenticate(0), "%q", conv.seen)
			assert.Equal(t, 4, auths(), "daemon asked Duo")
			assert.Contains(t, strings.Join(conv.seen, "\n"), "PROMPT: Duo two-factor login for daemon")
		})
	}
}
