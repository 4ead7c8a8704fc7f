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
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
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
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	conf := filepath.Join(t.TempDir(), "login_duo.conf")
	if err := mock.WriteConfig(conf, extra); err != nil {
		t.Fatalf("write config: %v", err)
	}
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
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden screen: %v (run with -update to create it); screen:\n%s", err, got)
	}
	if got != string(want) {
		t.Fatalf("screen differs from %s\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
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
			if exit != tt.wantExit {
				t.Errorf("exit = %d, want %d; screen:\n%s", exit, tt.wantExit, screen)
			}
			if ran := strings.Contains(screen, "COMMAND-RAN\n"); ran != tt.wantRan {
				t.Errorf("command ran = %v, want %v; screen:\n%s", ran, tt.wantRan, screen)
			}
			if !tt.down {
				if got := strings.Join(env.authFactors(), ","); got != strings.Join(tt.wantAuths, ",") {
					t.Errorf("auth factors = %q, want %q", got, strings.Join(tt.wantAuths, ","))
				}
			}
			golden(t, "interactive-"+strings.ReplaceAll(tt.name, " ", "-"), screen)
		})
	}
}

func TestLoginDebugShowsUnprivilegedChild(t *testing.T) {
	needLoginRoot(t)
	e2e.EnsureServiceAccount(t)
	acct, err := privsep.LookupAccount(privsepUser)
	if err != nil {
		t.Fatal(err)
	}
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
	screen, exit := runOnPTY(t, env, nil, []string{"-d", "-c", env.conf, "id", "-u"},
		[]step{{"Passcode or option", goodPasscode + "\n", nil}})
	if exit != 0 {
		t.Fatalf("exit %d; screen:\n%s", exit, screen)
	}
	want := "duo child: running as uid=" + itoa3(acct.UID) + " gid=" + itoa3(acct.GID) + " groups=[]"
	if !strings.Contains(screen, want) {
		t.Errorf("debug output lacks %q; screen:\n%s", want, screen)
	}
	if !strings.HasSuffix(screen, "\n0\n") {
		t.Errorf("the command (id -u, as root) did not print 0 last; screen:\n%s", screen)
	}
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
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(loginLimit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v hung; stderr: %s", args, errb.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
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
			if out != tt.wantOut || exit != tt.wantExit || errOut != tt.wantStderr {
				t.Fatalf("stdout %q exit %d stderr %q, want %q exit %d stderr %q", out, exit, errOut, tt.wantOut, tt.wantExit, tt.wantStderr)
			}
			// Headless: one automatic attempt, no menu, no prompt.
			if got := env.authFactors(); len(got) != 1 || got[0] == "passcode" {
				t.Errorf("auth factors = %q, want one automatic push", got)
			}
			if strings.Contains(errOut, "Passcode or option") {
				t.Errorf("headless login showed the menu:\n%s", errOut)
			}
			for _, r := range env.mock.Requests() {
				if r.Path == "/auth/v2/preauth" && r.Params.Get("ipaddr") != "192.0.2.10" {
					t.Errorf("preauth ipaddr = %q, want SSH_CONNECTION's client 192.0.2.10", r.Params.Get("ipaddr"))
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
				if err := os.Chmod(env.conf, 0o644); err != nil {
					t.Fatal(err)
				}
				defer os.Chmod(env.conf, 0o600)
			}
			out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, "-c", c.conf)
			if exit != 1 || out != "" || !strings.Contains(errOut, "Access denied: the Duo configuration cannot be used: ") ||
				!strings.Contains(errOut, c.want) || strings.Contains(errOut, "failmode") {
				t.Fatalf("exit %d stdout %q stderr %q; want exit 1 and the cause (%q)", exit, out, errOut, c.want)
			}
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
			if exit != 0 {
				t.Fatalf("exit %d; stderr:\n%s", exit, errOut)
			}
			if strings.Contains(out, "DUO_PASSCODE") || strings.Contains(out, goodPasscode) {
				t.Errorf("DUO_PASSCODE reached the command's environment:\n%s", out)
			}
			if !strings.Contains(out, "PATH=") {
				t.Errorf("the command did not run (no env output):\n%s", out)
			}
			factors := env.authFactors()
			if len(factors) != 1 {
				t.Fatalf("auth factors = %q, want one", factors)
			}
			if tt.wantFactor != "" && factors[0] != tt.wantFactor {
				t.Errorf("factor = %q, want %q", factors[0], tt.wantFactor)
			}
			if tt.wantFactor == "" && factors[0] == "passcode" {
				t.Errorf("DUO_PASSCODE was used although accept_env_factor=%s", tt.accept)
			}
		})
	}
}

func TestLoginVersionAndUsage(t *testing.T) {
	out, _, exit := runHeadless(t, nil, "-v")
	if out != "login_duo_go test\n" || exit != 0 {
		t.Errorf("-v: stdout %q exit %d", out, exit)
	}
	out, _, exit = runHeadless(t, nil, "--help")
	if !strings.Contains(out, "pam-worker") || exit != 0 {
		t.Errorf("--help: stdout %q exit %d", out, exit)
	}
	for _, args := range [][]string{{"-x"}, {"-c"}, {"-?"}} {
		out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, args...)
		if exit != 1 || out != "" || !strings.Contains(errOut, "Usage: login_duo_go") {
			t.Errorf("%q: exit %d stdout %q stderr %q; want 1 and the usage", args, exit, out, errOut)
		}
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
			if exit != 0 {
				t.Fatalf("exit %d; screen:\n%s", exit, screen)
			}
			shown := strings.Contains(screen, "Success. Logging you in...\n"+want+"COMMAND-RAN\n")
			if shown != (motdKey == "yes") {
				t.Fatalf("motd shown = %v with motd=%s; screen:\n%s", shown, motdKey, screen)
			}
		})
	}
	t.Run("headless never shows it", func(t *testing.T) {
		env := newMockEnv(t, map[string]string{"motd": "yes"})
		env.mock.AddUser(duotest.User{Name: "root", Push: duotest.PushApproved()})
		out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=echo ok"}, "-c", env.conf)
		if exit != 0 || out != "ok\n" {
			t.Fatalf("exit %d stdout %q stderr %q", exit, out, errOut)
		}
	})
}

func TestLoginAsOtherDuoUser(t *testing.T) {
	// root's authorized_keys: command="login_duo_go -f alice". alice is
	// the Duo user; she need not exist locally; the command runs as root.
	needLoginRoot(t)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: "duo-only-alice", Push: duotest.PushApproved()})
	out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=id -u"}, "-c", env.conf, "-f", "duo-only-alice")
	if exit != 0 || out != "0\n" {
		t.Fatalf("exit %d stdout %q; stderr:\n%s", exit, out, errOut)
	}
	var users []string
	for _, r := range env.mock.Requests() {
		if r.Path == "/auth/v2/preauth" || r.Path == "/auth/v2/auth" {
			users = append(users, r.Params.Get("username"))
		}
	}
	if strings.Join(users, ",") != "duo-only-alice,duo-only-alice" {
		t.Fatalf("Duo usernames sent to preauth and auth = %q, want duo-only-alice twice", users)
	}
}

func TestLoginWrongEnvPasscodeHeadless(t *testing.T) {
	needLoginRoot(t)
	env := newMockEnv(t, map[string]string{"accept_env_factor": "yes"})
	env.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
	out, errOut, exit := runHeadless(t, []string{"DUO_PASSCODE=000000", "SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, "-c", env.conf)
	if exit != 1 || out != "" || !strings.Contains(errOut, "Access denied") {
		t.Fatalf("exit %d stdout %q stderr %q; want exit 1, nothing run, a denial", exit, out, errOut)
	}
	if f := env.authFactors(); len(f) != 1 || f[0] != "passcode" {
		t.Fatalf("auth factors %q, want one passcode (headless: one attempt)", f)
	}
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
			if exit != 1 || strings.Contains(screen, "COMMAND-RAN\n") || !strings.HasSuffix(screen, "Login aborted.\n") {
				t.Fatalf("exit %d; want 1, no command, and the abort; screen:\n%s", exit, screen)
			}
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
	if err := runBounded(cmd); err != nil {
		t.Fatalf("%v; stdout %q", err, out.String())
	}
	if out.String() != "/dev/null\n/dev/null\n" {
		t.Fatalf("the command's stdin and stderr are %q, want /dev/null twice", out.String())
	}
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
			if out != "ran\n" || exit != 0 {
				t.Fatalf("stdout %q exit %d stderr %q", out, exit, errOut)
			}
			for _, r := range env.mock.Requests() {
				if r.Path != "/auth/v2/preauth" && r.Path != "/auth/v2/auth" {
					continue
				}
				if got, sent := r.Params["ipaddr"]; tt.want == "" && sent || tt.want != "" && r.Params.Get("ipaddr") != tt.want {
					t.Errorf("%s ipaddr = %q, want %q", r.Path, got, tt.want)
				}
			}
		})
	}
}
