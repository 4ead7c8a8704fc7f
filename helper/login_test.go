package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/privsep"
	"github.com/pam-duo-go/pam_duo_go/internal/ptytest"
	"github.com/pam-duo-go/pam_duo_go/internal/testutil"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden screens in testdata/screens")

// goodPasscode is the passcode the mock accepts for test users.
const goodPasscode = "123456"

// loginLimit bounds one login_duo_go run in the tests (a hang bound).
const loginLimit = 60 * time.Second

// needLoginRoot skips login-mode tests that pass -c, which only root may.
func needLoginRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("login mode tests pass -c, which only root may (and the privilege split needs root); run as root")
	}
}

// mockEnv is a running mock Duo server and a login_duo.conf for it.
type mockEnv struct {
	mock *duotest.Server
	conf string
}

func newMockEnv(t *testing.T, extra map[string]string) *mockEnv {
	t.Helper()
	mock, conf := testutil.MockDuo(t, "login_duo.conf", extra)
	return &mockEnv{mock: mock, conf: conf}
}

// authFactors lists the factor of every /auth/v2/auth request (the prompt
// key for factor=prompt).
func (e *mockEnv) authFactors() []string {
	var out []string
	for _, r := range e.mock.Requests() {
		if r.Path == "/auth/v2/auth" {
			f := r.Params.Get("factor")
			if f == "prompt" {
				f += ":" + r.Params.Get("prompt")
			}
			out = append(out, f)
		}
	}
	return out
}

// normalizeScreen replaces what changes from run to run (the mock's port,
// temporary paths) so screens can be compared with golden files.
func normalizeScreen(s string, env *mockEnv) string {
	if env != nil {
		s = strings.ReplaceAll(s, env.mock.Host, "MOCKHOST")
		s = strings.ReplaceAll(s, filepath.Dir(env.conf), "TMPDIR")
	}
	return s
}

// golden compares got with testdata/screens/NAME.txt (rewritten with
// -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "screens", name+".txt")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden screen: %v (run with -update to create it); screen:\n%s", err, got)
	require.Equal(t, string(want), got, "screen differs from %s\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
}

// interactiveLogin runs login_duo_go on a pty as root (so the privilege
// split runs: the Duo child is the service account), answering prompts
// as they appear: each step waits for its text, then types.
type step struct {
	waitFor string
	typed   string
	check   func() // runs after waitFor was seen, before typing; may be nil
}

func runOnPTY(t *testing.T, env *mockEnv, extraEnv []string, args []string, steps []step) (screen string, exit int) {
	t.Helper()
	return runArgvOnPTY(t, env, extraEnv, append([]string{helperBin}, args...), steps)
}

// runArgvOnPTY is runOnPTY for any command line.
func runArgvOnPTY(t *testing.T, env *mockEnv, extraEnv []string, argv []string, steps []step) (screen string, exit int) {
	t.Helper()
	p := ptytest.Open(t)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb", "SSH_CONNECTION=192.0.2.10 51234 192.0.2.1 22"}, extraEnv...)
	p.Start(t, cmd)
	at := 0
	for _, s := range steps {
		at = p.WaitForAfter(t, at, s.waitFor, loginLimit)
		if s.check != nil {
			s.check()
		}
		if s.typed != "" {
			p.Type(t, s.typed)
		}
	}
	exit = p.Wait(t, cmd, loginLimit)
	return normalizeScreen(p.Screen(), env), exit
}

func TestLoginInteractive(t *testing.T) {
	needLoginRoot(t)
	tests := []struct {
		name      string
		extra     map[string]string // config keys
		push      []duotest.Step
		steps     []step
		down      bool // Duo unreachable
		wantExit  int
		wantRan   bool     // the command ran
		wantAuths []string // factors sent to /auth/v2/auth
	}{
		{
			name:    "menu then push with status",
			push:    []duotest.Step{{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: "waiting"}, {Status: "allow", StatusMsg: "Success. Logging you in...", Result: "allow"}},
			steps:   []step{{"Passcode or option", "1\n", nil}, {"COMMAND-RAN", "", nil}},
			wantRan: true, wantAuths: []string{"prompt:push1"},
		},
		{
			name:    "passcode",
			push:    duotest.PushApproved(),
			steps:   []step{{"Passcode or option", goodPasscode + "\n", nil}, {"COMMAND-RAN", "", nil}},
			wantRan: true, wantAuths: []string{"passcode"},
		},
		{
			name:     "push denied",
			push:     duotest.PushDenied(),
			extra:    map[string]string{"prompts": "1"},
			steps:    []step{{"Passcode or option", "1\n", nil}},
			wantExit: 1, wantAuths: []string{"prompt:push1"},
		},
		{
			name:    "push denied then passcode",
			push:    duotest.PushDenied(),
			steps:   []step{{"Passcode or option", "1\n", nil}, {"Passcode or option", goodPasscode + "\n", nil}, {"COMMAND-RAN", "", nil}},
			wantRan: true, wantAuths: []string{"prompt:push1", "passcode"},
		},
		{
			name:     "wrong passcodes",
			push:     duotest.PushApproved(),
			extra:    map[string]string{"prompts": "2"},
			steps:    []step{{"Passcode or option", "000000\n", nil}, {"Passcode or option (1-", "111111\n", nil}},
			wantExit: 1, wantAuths: []string{"passcode", "passcode"},
		},
		{
			name:    "duo down failmode safe",
			extra:   map[string]string{"failmode": "safe"},
			down:    true,
			steps:   []step{{"COMMAND-RAN", "", nil}},
			wantRan: true,
		},
		{
			name:     "duo down failmode secure",
			extra:    map[string]string{"failmode": "secure"},
			down:     true,
			wantExit: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newMockEnv(t, tt.extra)
			env.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: tt.push})
			if tt.down {
				env.mock.Close()
			}
			screen, exit := runOnPTY(t, env, nil, []string{"-c", env.conf, "echo", "COMMAND-RAN"}, tt.steps)
			assert.Equal(t, tt.wantExit, exit, "exit = %d, want %d; screen:\n%s", exit, tt.wantExit, screen)
			ran := strings.Contains(screen, "COMMAND-RAN\n")
			assert.Equal(t, tt.wantRan, ran, "command ran = %v, want %v; screen:\n%s", ran, tt.wantRan, screen)
			if !tt.down {
				got := strings.Join(env.authFactors(), ",")
				assert.Equal(t, strings.Join(tt.wantAuths, ","), got, "auth factors = %q, want %q", got, strings.Join(tt.wantAuths, ","))
			}
			golden(t, "interactive-"+strings.ReplaceAll(tt.name, " ", "-"), screen)
		})
	}
}

func TestLoginDebugShowsUnprivilegedChild(t *testing.T) {
	needLoginRoot(t)
	e2e.EnsureServiceAccount(t)
	acct, err := privsep.LookupAccount(privsepUser)
	require.NoError(t, err)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
	screen, exit := runOnPTY(t, env, nil, []string{"-d", "-c", env.conf, "id", "-u"},
		[]step{{"Passcode or option", goodPasscode + "\n", nil}})
	require.Equal(t, 0, exit, "exit %d; screen:\n%s", exit, screen)
	want := "duo child: running as uid=" + itoa3(acct.UID) + " gid=" + itoa3(acct.GID) + " groups=[]"
	assert.Contains(t, screen, want, "debug output lacks %q; screen:\n%s", want, screen)
	assert.True(t, strings.HasSuffix(screen, "\n0\n"), "the command (id -u, as root) did not print 0 last; screen:\n%s", screen)
	t.Logf("screen:\n%s", screen)
}

// itoa3 formats id three times, as ids.String shows real/effective/saved.
func itoa3(id int) string {
	n := strconv.Itoa(id)
	return n + "/" + n + "/" + n
}

// runHeadless runs login_duo_go without a terminal (stdin a pipe).
func runHeadless(t *testing.T, env []string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(helperBin, args...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	cmd.Stdin = strings.NewReader("")
	return runCaptured(t, cmd, args)
}

// runCaptured runs cmd within loginLimit and returns its output and exit
// status; a hang or a failure to run fails the test (what names the run).
func runCaptured(t *testing.T, cmd *exec.Cmd, what []string) (stdout, stderr string, exit int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := runBounded(cmd)
	if errors.Is(err, errHung) {
		require.FailNowf(t, "login_duo_go hung", "%v; stderr: %s", what, errb.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		exit = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), exit
}

func TestLoginHeadless(t *testing.T) {
	needLoginRoot(t)
	// stderr is exact: like duo_unix's login_duo, a headless login
	// (scp, rsync, a remote command) prints no progress lines, only what
	// the user must see: the Verified Push code and a refusal.
	tests := []struct {
		name       string
		push       []duotest.Step
		vpCode     string
		wantOut    string
		wantStderr string
		wantExit   int
	}{
		{"push approved", duotest.PushApproved(), "", "headless-ran\n", "", 0},
		{"push denied", duotest.PushDenied(), "", "", "Login request denied.\nAccess denied: no attempts left.\n", 1},
		{"verified push shows only the code", duotest.PushApproved(), "417", "headless-ran\n",
			"Please enter verification code 417 into Duo Mobile...\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newMockEnv(t, map[string]string{"verified_push": map[bool]string{true: "yes", false: "no"}[tt.vpCode != ""]})
			env.mock.AddUser(duotest.User{Name: "root", Push: tt.push, VerifiedPushCode: tt.vpCode})
			out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo headless-ran", "SSH_CONNECTION=192.0.2.10 1 192.0.2.1 22"}, "-c", env.conf)
			require.Equal(t, tt.wantOut, out, "stdout %q exit %d stderr %q, want %q exit %d stderr %q", out, exit, errOut, tt.wantOut, tt.wantExit, tt.wantStderr)
			require.Equal(t, tt.wantExit, exit, "stdout %q exit %d stderr %q, want %q exit %d stderr %q", out, exit, errOut, tt.wantOut, tt.wantExit, tt.wantStderr)
			require.Equal(t, tt.wantStderr, errOut, "stdout %q exit %d stderr %q, want %q exit %d stderr %q", out, exit, errOut, tt.wantOut, tt.wantExit, tt.wantStderr)
			// Headless: one automatic attempt, no menu, no prompt.
			got := env.authFactors()
			if assert.Len(t, got, 1, "auth factors = %q, want one automatic push", got) {
				assert.NotEqual(t, "passcode", got[0], "auth factors = %q, want one automatic push", got)
			}
			assert.NotContains(t, errOut, "Passcode or option", "headless login showed the menu:\n%s", errOut)
			for _, r := range env.mock.Requests() {
				if r.Path == "/auth/v2/preauth" {
					assert.Equal(t, "192.0.2.10", r.Params.Get("ipaddr"), "preauth ipaddr = %q, want SSH_CONNECTION's client 192.0.2.10", r.Params.Get("ipaddr"))
				}
			}
		})
	}
}

// TestLoginConfigErrorMessage: a config that cannot be used refuses the
// login and says why (root here), not "failmode is secure".
func TestLoginConfigErrorMessage(t *testing.T) {
	needLoginRoot(t)
	env := newMockEnv(t, map[string]string{"failmode": "safe"})
	missing := filepath.Join(t.TempDir(), "missing.conf")
	for _, c := range []struct {
		name, conf, want string
	}{
		{"missing file", missing, missing},
		{"world-readable", env.conf, "run chmod 600"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.conf == env.conf {
				require.NoError(t, os.Chmod(env.conf, 0o644))
				defer os.Chmod(env.conf, 0o600)
			}
			out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, "-c", c.conf)
			require.Equal(t, 1, exit, "exit %d stdout %q stderr %q; want exit 1 and the cause (%q)", exit, out, errOut, c.want)
			require.Equal(t, "", out, "exit %d stdout %q stderr %q; want exit 1 and the cause (%q)", exit, out, errOut, c.want)
			require.Contains(t, errOut, "Access denied: the Duo configuration cannot be used: ", "exit %d stdout %q stderr %q; want exit 1 and the cause (%q)", exit, out, errOut, c.want)
			require.Contains(t, errOut, c.want, "exit %d stdout %q stderr %q; want exit 1 and the cause (%q)", exit, out, errOut, c.want)
			require.NotContains(t, errOut, "failmode", "exit %d stdout %q stderr %q; want exit 1 and the cause (%q)", exit, out, errOut, c.want)
		})
	}
}

func TestLoginEnvPasscode(t *testing.T) {
	needLoginRoot(t)
	tests := []struct {
		name       string
		accept     string
		wantFactor string
	}{
		{"accepted", "yes", "passcode"},
		{"not accepted", "no", ""}, // an automatic push instead
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newMockEnv(t, map[string]string{"accept_env_factor": tt.accept})
			env.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
			out, errOut, exit := runHeadless(t, []string{"DUO_PASSCODE=" + goodPasscode, "SSH_ORIGINAL_COMMAND=env"}, "-c", env.conf)
			require.Equal(t, 0, exit, "exit %d; stderr:\n%s", exit, errOut)
			assert.NotContains(t, out, "DUO_PASSCODE", "DUO_PASSCODE reached the command's environment:\n%s", out)
			assert.NotContains(t, out, goodPasscode, "DUO_PASSCODE reached the command's environment:\n%s", out)
			assert.Contains(t, out, "PATH=", "the command did not run (no env output):\n%s", out)
			factors := env.authFactors()
			require.Len(t, factors, 1, "auth factors = %q, want one", factors)
			if tt.wantFactor != "" {
				assert.Equal(t, tt.wantFactor, factors[0], "factor = %q, want %q", factors[0], tt.wantFactor)
			} else {
				assert.NotEqual(t, "passcode", factors[0], "DUO_PASSCODE was used although accept_env_factor=%s", tt.accept)
			}
		})
	}
}

func TestLoginVersionAndUsage(t *testing.T) {
	out, _, exit := runHeadless(t, nil, "-v")
	assert.Equal(t, "login_duo_go test\n", out, "-v: stdout %q exit %d", out, exit)
	assert.Equal(t, 0, exit, "-v: stdout %q exit %d", out, exit)
	out, _, exit = runHeadless(t, nil, "--help")
	assert.Contains(t, out, "pam-worker", "--help: stdout %q exit %d", out, exit)
	assert.Equal(t, 0, exit, "--help: stdout %q exit %d", out, exit)
	for _, args := range [][]string{{"-x"}, {"-c"}, {"-?"}} {
		out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, args...)
		assert.Equal(t, 1, exit, "%q: exit %d stdout %q stderr %q; want 1 and the usage", args, exit, out, errOut)
		assert.Equal(t, "", out, "%q: exit %d stdout %q stderr %q; want 1 and the usage", args, exit, out, errOut)
		assert.Contains(t, errOut, "Usage: login_duo_go", "%q: exit %d stdout %q stderr %q; want 1 and the usage", args, exit, out, errOut)
	}
}

func TestLoginMotd(t *testing.T) {
	needLoginRoot(t)
	motd, err := os.ReadFile(motdFile)
	if err != nil || len(bytes.TrimSpace(motd)) == 0 {
		t.Skipf("%s is missing or empty here, nothing to see: %v", motdFile, err)
	}
	want := strings.ReplaceAll(string(motd), "\r\n", "\n")
	for _, motdKey := range []string{"yes", "no"} {
		t.Run("motd="+motdKey, func(t *testing.T) {
			env := newMockEnv(t, map[string]string{"motd": motdKey})
			env.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
			screen, exit := runOnPTY(t, env, nil, []string{"-c", env.conf, "echo", "COMMAND-RAN"},
				[]step{{"Passcode or option", goodPasscode + "\n", nil}, {"COMMAND-RAN", "", nil}})
			require.Equal(t, 0, exit, "exit %d; screen:\n%s", exit, screen)
			shown := strings.Contains(screen, "Success. Logging you in...\n"+want+"COMMAND-RAN\n")
			require.Equal(t, (motdKey == "yes"), shown, "motd shown = %v with motd=%s; screen:\n%s", shown, motdKey, screen)
		})
	}
	t.Run("headless never shows it", func(t *testing.T) {
		env := newMockEnv(t, map[string]string{"motd": "yes"})
		env.mock.AddUser(duotest.User{Name: "root", Push: duotest.PushApproved()})
		out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo ok"}, "-c", env.conf)
		require.Equal(t, 0, exit, "exit %d stdout %q stderr %q", exit, out, errOut)
		require.Equal(t, "ok\n", out, "exit %d stdout %q stderr %q", exit, out, errOut)
	})
}

func TestLoginAsOtherDuoUser(t *testing.T) {
	// root's authorized_keys: command="login_duo_go -f alice". alice is
	// the Duo user; she need not exist locally; the command runs as root.
	needLoginRoot(t)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: "duo-only-alice", Push: duotest.PushApproved()})
	out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=id -u"}, "-c", env.conf, "-f", "duo-only-alice")
	require.Equal(t, 0, exit, "exit %d stdout %q; stderr:\n%s", exit, out, errOut)
	require.Equal(t, "0\n", out, "exit %d stdout %q; stderr:\n%s", exit, out, errOut)
	var users []string
	for _, r := range env.mock.Requests() {
		if r.Path == "/auth/v2/preauth" || r.Path == "/auth/v2/auth" {
			users = append(users, r.Params.Get("username"))
		}
	}
	require.Equal(t, "duo-only-alice,duo-only-alice", strings.Join(users, ","), "Duo usernames sent to preauth and auth = %q, want duo-only-alice twice", users)
}

func TestLoginWrongEnvPasscodeHeadless(t *testing.T) {
	needLoginRoot(t)
	env := newMockEnv(t, map[string]string{"accept_env_factor": "yes"})
	env.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
	out, errOut, exit := runHeadless(t, []string{"DUO_PASSCODE=000000", "SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, "-c", env.conf)
	require.Equal(t, 1, exit, "exit %d stdout %q stderr %q; want exit 1, nothing run, a denial", exit, out, errOut)
	require.Equal(t, "", out, "exit %d stdout %q stderr %q; want exit 1, nothing run, a denial", exit, out, errOut)
	require.Contains(t, errOut, "Access denied", "exit %d stdout %q stderr %q; want exit 1, nothing run, a denial", exit, out, errOut)
	f := env.authFactors()
	require.Len(t, f, 1, "auth factors %q, want one passcode (headless: one attempt)", f)
	require.Equal(t, "passcode", f[0], "auth factors %q, want one passcode (headless: one attempt)", f)
}

func TestLoginInterrupted(t *testing.T) {
	// Ctrl-C at the menu and while a push is pending: the login is
	// aborted, even with failmode=safe, and the command never runs.
	needLoginRoot(t)
	slowPush := []duotest.Step{
		{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: "waiting"},
		{Status: "allow", StatusMsg: "Success. Logging you in...", Result: "allow", Delay: 30 * time.Second},
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"at the menu", []step{{"Passcode or option", "\x03", nil}}},
		{"while the push is pending", []step{{"Passcode or option", "1\n", nil}, {"Pushed a login request", "\x03", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newMockEnv(t, map[string]string{"failmode": "safe"})
			env.mock.AddUser(duotest.User{Name: "root", Push: slowPush})
			screen, exit := runOnPTY(t, env, nil, []string{"-c", env.conf, "echo", "COMMAND-RAN"}, tt.steps)
			require.Equal(t, 1, exit, "exit %d; want 1, no command, and the abort; screen:\n%s", exit, screen)
			require.NotContains(t, screen, "COMMAND-RAN\n", "exit %d; want 1, no command, and the abort; screen:\n%s", exit, screen)
			require.True(t, strings.HasSuffix(screen, "Login aborted.\n"), "exit %d; want 1, no command, and the abort; screen:\n%s", exit, screen)
		})
	}
}

func TestStdFDsReopened(t *testing.T) {
	// Started with stdin and stderr closed, login_duo_go puts /dev/null
	// there before opening anything, and the command inherits it.
	needLoginRoot(t)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: "root", Push: duotest.PushApproved()})
	script := `exec 0<&- 2>&-; SSH_ORIGINAL_COMMAND='readlink /proc/self/fd/0 /proc/self/fd/2' exec "$0" -c "$1"`
	cmd := exec.Command("sh", "-c", script, helperBin, env.conf)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout = &out
	err := runBounded(cmd)
	require.NoError(t, err, "%v; stdout %q", err, out.String())
	require.Equal(t, "/dev/null\n/dev/null\n", out.String(), "the command's stdin and stderr are %q, want /dev/null twice", out.String())
}

// TestLoginHostFlagNeverResolved: -h's value is sent as ipaddr only when
// it is an IP address; a name (here one /etc/hosts resolves) is never
// looked up, least of all by the setuid helper while it is root.
func TestLoginHostFlagNeverResolved(t *testing.T) {
	needLoginRoot(t)
	e2e.EnsureServiceAccount(t)
	for _, tt := range []struct{ host, want string }{
		{"192.0.2.9", "192.0.2.9"},
		{"localhost", ""},
		{"attacker.example", ""},
	} {
		t.Run(tt.host, func(t *testing.T) {
			env := newMockEnv(t, nil)
			env.mock.AddUser(duotest.User{Name: "root", Push: duotest.PushApproved()})
			out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo ran"}, "-c", env.conf, "-h", tt.host)
			require.Equal(t, "ran\n", out, "stdout %q exit %d stderr %q", out, exit, errOut)
			require.Equal(t, 0, exit, "stdout %q exit %d stderr %q", out, exit, errOut)
			for _, r := range env.mock.Requests() {
				if r.Path != "/auth/v2/preauth" && r.Path != "/auth/v2/auth" {
					continue
				}
				got, sent := r.Params["ipaddr"]
				if tt.want == "" {
					assert.False(t, sent, "%s ipaddr = %q, want %q", r.Path, got, tt.want)
				} else {
					assert.Equal(t, tt.want, r.Params.Get("ipaddr"), "%s ipaddr = %q, want %q", r.Path, got, tt.want)
				}
			}
		})
	}
}
