package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/check"
	"github.com/pam-duo-go/pam_duo_go/internal/privsep"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openDir returns a new root-owned directory (mode 0755) under the
// system's temporary directory, removed after the test.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "login_duo_go-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

// processUIDs returns the real/effective/saved/fs uids ("Uid:" line of
// /proc/PID/status, tab-separated) of every process running exe.
func processUIDs(t *testing.T, exe string) []string {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []string
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		if target, err := os.Readlink("/proc/" + d.Name() + "/exe"); err != nil || target != exe {
			continue
		}
		status, err := os.ReadFile("/proc/" + d.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				out = append(out, strings.TrimSpace(rest))
			}
		}
	}
	return out
}

// itoaTabs is id four times, tab-separated, as in a Uid: line.
func itoaTabs(id int) string {
	n := strconv.Itoa(id)
	return n + "\t" + n + "\t" + n + "\t" + n
}

// suidDir returns a root-owned directory (mode 0755) on a mount without
// nosuid, where a setuid-root copy of login_duo_go takes effect; it skips
// the test when there is none.
func suidDir(t *testing.T) string {
	t.Helper()
	dir := openDir(t)
	out, err := exec.Command("findmnt", "-no", "OPTIONS", "--target", dir).Output()
	if err != nil {
		t.Skipf("findmnt cannot tell the mount options of %s: %v", dir, err)
	}
	for _, opt := range strings.Split(strings.TrimSpace(string(out)), ",") {
		if opt == "nosuid" {
			t.Skipf("%s is on a nosuid mount (%s): a setuid test binary would not take effect", dir, strings.TrimSpace(string(out)))
		}
	}
	return dir
}

// runAs runs argv as the account through runuser, with a clean
// environment plus env, stdin empty (no terminal).
func runAs(t *testing.T, u testAccount, env []string, argv ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return runAsWithInput(t, u, nil, env, argv...)
}

// runAsWithInput is runAs with stdin.
func runAsWithInput(t *testing.T, u testAccount, stdin []byte, env []string, argv ...string) (stdout, stderr string, exit int) {
	t.Helper()
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("runuser not installed")
	}
	args := append([]string{"-u", u.name, "--", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	cmd := exec.Command("runuser", append(args, argv...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	return runCaptured(t, cmd, argv)
}

// installSetuid builds login_duo_go with the given -X settings into dir,
// owned by root, mode 4755.
func installSetuid(t *testing.T, dir string, xs ...string) string {
	t.Helper()
	bin := filepath.Join(dir, "login_duo_go")
	require.NoError(t, buildHelper(bin, xs...))
	require.NoError(t, os.Chown(bin, 0, 0))
	require.NoError(t, os.Chmod(bin, 0o755|os.ModeSetuid))
	fi, err := os.Stat(bin)
	require.NoError(t, err, "%s is not setuid", bin)
	require.NotZero(t, fi.Mode()&os.ModeSetuid, "%s is not setuid: %v %v", bin, fi.Mode(), err)
	return bin
}

func TestSetuidLogin(t *testing.T) {
	needRoot(t)
	u := testUser(t)
	e2e.EnsureServiceAccount(t)
	acct, err := privsep.LookupAccount(privsepUser)
	require.NoError(t, err)
	dir := suidDir(t)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: u.name, Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
	// The setuid copy's default config is the mock's (root-only) file.
	bin := installSetuid(t, dir, "main.defaultConfig="+env.conf)

	t.Run("the user cannot read the config", func(t *testing.T) {
		_, _, exit := runAs(t, u, nil, "cat", env.conf)
		require.NotEqual(t, 0, exit, "%s could read %s; the test setup is wrong", u.name, env.conf)
	})

	t.Run("login as the user", func(t *testing.T) {
		out, errOut, exit := runAs(t, u, []string{"SSH_ORIGINAL_COMMAND=id; id -u"}, bin, "-d")
		require.Equal(t, 0, exit, "exit %d; stderr:\n%s", exit, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 2, "command output %q, want `id` then uid %d", out, u.uid)
		require.Equal(t, strconv.Itoa(u.uid), lines[1], "command output %q, want `id` then uid %d", out, u.uid)
		assert.NotContains(t, lines[0], "euid=", "the command kept setuid privileges: %s", lines[0])
		assert.NotContains(t, lines[0], "egid=", "the command kept setuid privileges: %s", lines[0])
		// -d by a caller who is not root: the debug lines (the config's
		// values among them) go to syslog, never to the caller.
		for _, secret := range []string{env.mock.IKey, env.mock.SKey, env.mock.Host, "debug", "duo child", "started as"} {
			assert.NotContains(t, errOut, secret, "stderr of -d by %s shows %q:\n%s", u.name, secret, errOut)
		}
		assert.Len(t, env.authFactors(), 1, "auth requests = %q, want one automatic push", env.authFactors())
	})

	t.Run("the environment cannot redirect Duo", func(t *testing.T) {
		// A proxy that would see the request if the helper honoured the
		// caller's proxy variables.
		proxy, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer proxy.Close()
		var accepted atomic.Int32
		go func() {
			for {
				c, err := proxy.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		p := "http://" + proxy.Addr().String()
		before := len(env.authFactors())
		hostile := []string{"SSH_ORIGINAL_COMMAND=echo RAN", "HTTPS_PROXY=" + p, "https_proxy=" + p, "ALL_PROXY=" + p,
			"HTTP_PROXY=" + p, "NO_PROXY=", "SSL_CERT_FILE=/dev/null", "SSL_CERT_DIR=/nonexistent",
			"GODEBUG=x509ignoreCN=0,tlsrsakex=1"}
		out, errOut, exit := runAs(t, u, hostile, bin)
		require.Equal(t, 0, exit, "exit %d stdout %q stderr %q; want the login to go to the configured Duo host", exit, out, errOut)
		require.Equal(t, "RAN", strings.TrimSpace(out), "exit %d stdout %q stderr %q; want the login to go to the configured Duo host", exit, out, errOut)
		n := accepted.Load()
		assert.Zero(t, n, "the caller's proxy got %d connections", n)
		got := len(env.authFactors()) - before
		assert.Equal(t, 1, got, "%d auth requests reached the configured Duo host, want 1", got)
	})

	t.Run("interactive login as the user on a terminal", func(t *testing.T) {
		// What ForceCommand does: the user's own process, on their terminal.
		// While the menu waits for an answer, the process on the terminal
		// is the user, for good, and the Duo child the service account.
		uidsAtMenu := func() {
			got := processUIDs(t, bin)
			want := []string{itoaTabs(u.uid), itoaTabs(acct.UID)}
			slices.Sort(got)
			slices.Sort(want)
			assert.True(t, slices.Equal(got, want), "at the menu, %s processes have Uid lines %q, want %q (the user, the service account)", bin, got, want)
		}
		screen, exit := runArgvOnPTY(t, env, nil,
			[]string{"runuser", "-u", u.name, "--", bin, "-d", "id", "-u"},
			[]step{{"Passcode or option", goodPasscode + "\n", uidsAtMenu}})
		require.Equal(t, 0, exit, "exit %d; want 0 and the user's uid last; screen:\n%s", exit, screen)
		require.True(t, strings.HasSuffix(screen, "\n"+strconv.Itoa(u.uid)+"\n"), "exit %d; want 0 and the user's uid last; screen:\n%s", exit, screen)
		for _, secret := range []string{env.mock.IKey, env.mock.SKey, env.mock.Host, "debug", "duo child"} {
			assert.NotContains(t, screen, secret, "the terminal of -d by %s shows %q; screen:\n%s", u.name, secret, screen)
		}
		t.Logf("screen:\n%s", screen)
	})

	refusals := []struct {
		name string
		bin  string
		args []string
	}{
		{"setuid -c", bin, []string{"-c", "/etc/shadow"}},
		{"setuid -f", bin, []string{"-f", "root"}},
		{"setuid -d -froot", bin, []string{"-d", "-froot", "id"}},
	}
	for _, r := range refusals {
		t.Run("refuses "+r.name, func(t *testing.T) {
			out, errOut, exit := runAs(t, u, []string{"SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, append([]string{r.bin}, r.args...)...)
			require.Equal(t, 1, exit, "exit %d stdout %q stderr %q; want exit 1 and the refusal", exit, out, errOut)
			require.Contains(t, errOut, "Only root may specify -c or -f", "exit %d stdout %q stderr %q; want exit 1 and the refusal", exit, out, errOut)
			require.Equal(t, "", out, "exit %d stdout %q stderr %q; want exit 1 and the refusal", exit, out, errOut)
		})
	}
	n := len(env.authFactors())
	assert.Equal(t, 3, n, "refused runs reached Duo: %d auth requests in all, want 3 (the three logins)", n)

	// Not setuid, -c and -f are the caller's business, as in duo_unix:
	// Duo's shared-account setup is a plain binary, a config the account
	// owns and command="login_duo -f alice" in authorized_keys. The
	// process has the caller's rights only, so root's config stays out of
	// reach.
	t.Run("plain binary: -c and -f work with the caller's own config", func(t *testing.T) {
		dir := openDir(t)
		own := filepath.Join(dir, "own.conf")
		require.NoError(t, env.mock.WriteConfig(own, nil))
		for _, f := range []string{own, own + ".ca.pem"} {
			require.NoError(t, os.Chown(f, u.uid, u.gid))
		}
		env.mock.AddUser(duotest.User{Name: "alice", Push: duotest.PushApproved()})
		before := env.mock.RequestsTo("/auth/v2/preauth")
		out, errOut, exit := runAs(t, u, []string{"SSH_ORIGINAL_COMMAND=id -u"}, helperBin, "-c", own, "-f", "alice")
		require.Equal(t, 0, exit, "exit %d stdout %q stderr %q; want a Duo login for alice, then the command as the caller", exit, out, errOut)
		require.Equal(t, strconv.Itoa(u.uid), strings.TrimSpace(out), "exit %d stdout %q stderr %q; want a Duo login for alice, then the command as the caller", exit, out, errOut)
		pre := env.mock.RequestsTo("/auth/v2/preauth")
		require.Len(t, pre, len(before)+1, "want one more preauth, for alice; got %d, then %d", len(before), len(pre))
		require.Equal(t, "alice", pre[len(pre)-1].Params.Get("username"), "want one more preauth, for alice; got %d, then %d", len(before), len(pre))
		// Root's config (0600 root) is still out of reach: refused, no Duo call.
		out, errOut, exit = runAs(t, u, []string{"SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}, helperBin, "-c", env.conf)
		require.Equal(t, 1, exit, "-c root's config: exit %d stdout %q stderr %q; want a refusal", exit, out, errOut)
		require.Equal(t, "", out, "-c root's config: exit %d stdout %q stderr %q; want a refusal", exit, out, errOut)
		require.Contains(t, errOut, "Access denied", "-c root's config: exit %d stdout %q stderr %q; want a refusal", exit, out, errOut)
		n := len(env.mock.RequestsTo("/auth/v2/preauth"))
		assert.Equal(t, len(pre), n, "the refused run reached Duo")
	})

	// duo_unix's documentation had login_duo.conf owned by sshd (0600):
	// such a file works unchanged; one owned by any other account does not.
	t.Run("a login_duo.conf owned by sshd works", func(t *testing.T) {
		sshd, err := user.Lookup(legacyConfigOwner)
		if err != nil {
			t.Skipf("no %s account: %v", legacyConfigOwner, err)
		}
		sshdUID, _ := strconv.Atoi(sshd.Uid)
		sshdGID, _ := strconv.Atoi(sshd.Gid)
		defer os.Chown(env.conf, 0, 0)
		require.NoError(t, os.Chown(env.conf, sshdUID, sshdGID))
		before := len(env.authFactors())
		out, errOut, exit := runAs(t, u, []string{"SSH_ORIGINAL_COMMAND=echo RAN"}, bin)
		require.Equal(t, 0, exit, "exit %d stdout %q stderr %q; want a Duo login, then the command", exit, out, errOut)
		require.Equal(t, "RAN", strings.TrimSpace(out), "exit %d stdout %q stderr %q; want a Duo login, then the command", exit, out, errOut)
		require.Len(t, env.authFactors(), before+1, "exit %d stdout %q stderr %q; want a Duo login, then the command", exit, out, errOut)
		require.NoError(t, os.Chown(env.conf, u.uid, u.gid))
		out, errOut, exit = runAs(t, u, []string{"SSH_ORIGINAL_COMMAND=echo RAN"}, bin)
		require.Equal(t, 1, exit, "config owned by the user: exit %d stdout %q stderr %q; want a refusal and no Duo call", exit, out, errOut)
		require.Equal(t, "", out, "config owned by the user: exit %d stdout %q stderr %q; want a refusal and no Duo call", exit, out, errOut)
		require.Len(t, env.authFactors(), before+1, "config owned by the user: exit %d stdout %q stderr %q; want a refusal and no Duo call", exit, out, errOut)
	})

	t.Run("setuid pam-worker refuses a non-root caller", func(t *testing.T) {
		start, err := (wire.StartInfo{User: u.name, Args: []string{"conf=" + env.conf}}).Encode()
		require.NoError(t, err)
		var in bytes.Buffer
		require.NoError(t, wire.WriteMessage(&in, wire.Message{Type: wire.Start, Payload: start}))
		out, errOut, exit := runAsWithInput(t, u, in.Bytes(), nil, bin, "pam-worker")
		require.Equal(t, 2, exit, "exit %d stdout %q stderr %q; want exit 2, no output, a refusal", exit, out, errOut)
		require.Equal(t, "", out, "exit %d stdout %q stderr %q; want exit 2, no output, a refusal", exit, out, errOut)
		require.Contains(t, errOut, "only root", "exit %d stdout %q stderr %q; want exit 2, no output, a refusal", exit, out, errOut)
	})

	for _, c := range []struct {
		name string
		args []string
	}{
		{"setuid check -c", []string{bin, "check", "-c", env.conf}},
		{"setuid check (default config)", []string{bin, "check"}},
		{"plain check -c", []string{helperBin, "check", "-c", env.conf}},
	} {
		t.Run(c.name+" cannot read the config", func(t *testing.T) {
			out, errOut, exit := runAs(t, u, nil, c.args...)
			require.Equal(t, check.ExitBadConfig, exit, "exit %d, stdout %q, stderr %q; want exit %d and permission denied", exit, out, errOut, check.ExitBadConfig)
			require.Contains(t, out, "permission denied", "exit %d, stdout %q, stderr %q; want exit %d and permission denied", exit, out, errOut, check.ExitBadConfig)
		})
	}
}

func TestServiceAccountMissingRefuses(t *testing.T) {
	needLoginRoot(t)
	// Without its own account the Duo child never runs as a shared one
	// (sshd, nobody: anything of that uid could stop it): the login is
	// refused, even with failmode=safe, before Duo is asked.
	bin := filepath.Join(openDir(t), "login_duo_go")
	require.NoError(t, buildHelper(bin, "main.privsepUser=no-such-account-xyz"))
	env := newMockEnv(t, map[string]string{"failmode": "safe"})
	env.mock.AddUser(duotest.User{Name: "root", Push: duotest.PushApproved()})
	cmd := exec.Command(bin, "-c", env.conf)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "SSH_ORIGINAL_COMMAND=echo SHOULD-NOT-RUN"}
	cmd.Stdin = strings.NewReader("")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := runBounded(cmd)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%v, stdout %q, stderr:\n%s\nwant exit 1 and nothing run", err, out.String(), errb.String())
	require.Equal(t, 1, ee.ExitCode(), "%v, stdout %q, stderr:\n%s\nwant exit 1 and nothing run", err, out.String(), errb.String())
	require.Equal(t, "", out.String(), "%v, stdout %q, stderr:\n%s\nwant exit 1 and nothing run", err, out.String(), errb.String())
	for _, want := range []string{`"no-such-account-xyz"`, "does not exist", "useradd --system"} {
		assert.Contains(t, errb.String(), want, "stderr lacks %q:\n%s", want, errb.String())
	}
	n := len(env.mock.Requests())
	assert.Equal(t, 0, n, "%d requests reached Duo", n)
}

// TestDuoChildRunsAsServiceAccount: the Duo child runs as _pam_duo_go
// (which the test creates as the packages do), not as sshd or nobody.
func TestDuoChildRunsAsServiceAccount(t *testing.T) {
	needLoginRoot(t)
	uid, gid := e2e.EnsureServiceAccount(t)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: "root", Push: duotest.PushApproved()})
	cmd := exec.Command(helperBin, "-d", "-c", env.conf)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "SSH_ORIGINAL_COMMAND=echo ok"}
	cmd.Stdin = strings.NewReader("")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := runBounded(cmd)
	require.NoError(t, err, "%v, stdout %q; stderr:\n%s", err, out.String(), errb.String())
	require.Equal(t, "ok\n", out.String(), "%v, stdout %q; stderr:\n%s", err, out.String(), errb.String())
	// GOMAXPROCS=1 from privsep.Env: one P, fewer threads (bench figures).
	want := "duo child: running as uid=" + itoa3(uid) + " gid=" + itoa3(gid) + " groups=[]; GOMAXPROCS=1\n"
	require.Contains(t, errb.String(), want, "stderr lacks %q:\n%s", want, errb.String())
}

// errHung is runBounded's error for a command it had to kill.
var errHung = errors.New("hung")

// runBounded runs cmd, killing it if it outlives loginLimit.
func runBounded(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(loginLimit):
		_ = cmd.Process.Kill()
		<-done
		return errHung
	}
}

func TestDuoChildRunsAsItsCaller(t *testing.T) {
	// Anyone may run the hidden duo-child mode of the setuid binary; it
	// must end up as its caller, with no way back to root.
	needRoot(t)
	u := testUser(t)
	bin := installSetuid(t, suidDir(t))
	// The init call as the parent sends it (privsep's wire format).
	hello, err := json.Marshal(map[string]any{"Method": "init", "Init": map[string]any{
		"IKey": "DIXXXXXXXXXXXXXXXXXX", "SKey": strings.Repeat("s", 40), "Host": "127.0.0.1:9", "Debug": true,
	}})
	require.NoError(t, err)
	var in bytes.Buffer
	require.NoError(t, wire.WriteMessage(&in, wire.Message{Type: wire.Call, Payload: hello}))
	out, errOut, exit := runAsWithInput(t, u, in.Bytes(), nil, bin, privsep.ChildCommand)
	require.Equal(t, 0, exit, "duo-child exit %d; stderr %q", exit, errOut)
	r := strings.NewReader(out)
	m, err := wire.ReadMessage(r)
	require.NoError(t, err, "first message %v %q, %v; want the debug line", m.Type, m.Payload, err)
	require.Equal(t, wire.Debug, m.Type, "first message %v %q, %v; want the debug line", m.Type, m.Payload, err)
	// Run directly, the child has the test's environment, so its
	// GOMAXPROCS is the machine's (TestDuoChildRunsAsServiceAccount
	// checks the one login_duo_go gives it).
	want := "duo child: running as uid=" + itoa3(u.uid) + " gid=" + itoa3(u.gid) + " groups=[]; GOMAXPROCS="
	require.True(t, strings.HasPrefix(string(m.Payload), want), "child says %q, want %q", m.Payload, want)
	m, err = wire.ReadMessage(r)
	require.NoError(t, err, "second message %v, %v; want the init reply", m.Type, err)
	require.Equal(t, wire.Reply, m.Type, "second message %v, %v; want the init reply", m.Type, err)
}
