package ansible

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

const (
	rootTimeout  = 15 * time.Minute // a cold root cache: apt downloads
	debTimeout   = 10 * time.Minute
	playTimeout  = 4 * time.Minute
	loginTimeout = time.Minute
	user         = "alice"
	password     = "alice-password-1"
	passcode     = "123456"
)

// TestRole runs the role three times on one root and logs in through the
// stack it configured.
func TestRole(t *testing.T) {
	e2e.RequireRoot(t)
	for _, tool := range []string{"ansible-playbook", "unshare", "chroot", "make", "dpkg-buildpackage"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, fmt.Sprintf("%s is not installed (bash .ci/deps installs it)", tool))
		}
	}
	repo := e2e.RepoRoot(t)
	script := filepath.Join(repo, "test", "ansible", "root.sh")
	work, err := os.MkdirTemp("/var/tmp", "pam_duo_go-ansible-")
	require.NoError(t, err)
	t.Cleanup(func() {
		// The root's mounts lived in private namespaces and are gone.
		_ = exec.Command("rm", "-rf", "--one-file-system", work).Run()
	})
	root := filepath.Join(work, "root")

	// The root and the packages, at the same time.
	debsDone := make(chan error, 1)
	var debDir string
	go func() {
		var err error
		debDir, err = buildDebs(t, repo)
		debsDone <- err
	}()
	start := time.Now()
	out, err := runCmd(rootTimeout, repo, nil, "", "bash", script, "make", root)
	if err != nil {
		<-debsDone
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			skipOrFail(t, strings.TrimSpace(out))
		}
		require.NoError(t, err, "root.sh make:\n%s", out)
	}
	t.Logf("root ready in %s", time.Since(start).Round(time.Second))
	require.NoError(t, <-debsDone)
	t.Logf("root and packages ready in %s", time.Since(start).Round(time.Second))

	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	mock.AddUser(duotest.User{Name: user, Passcodes: []string{passcode}})
	caDir := filepath.Join(root, "usr/local/share/pam_duo_go-test")
	require.NoError(t, os.MkdirAll(caDir, 0o755))
	require.NoError(t, mock.WriteCAFile(filepath.Join(caDir, "ca.pem")))
	inRoot(t, root, "", "sh", "-c", fmt.Sprintf("useradd -m -s /bin/sh %s && echo '%s:%s' | chpasswd", user, user, password))

	playbook := filepath.Join(work, "site.yml")
	require.NoError(t, os.WriteFile(playbook, []byte("- hosts: target\n  gather_subset: [min]\n  roles: [pam_duo_go]\n"), 0o644))
	inventory := filepath.Join(work, "inventory")
	require.NoError(t, os.WriteFile(inventory, []byte(fmt.Sprintf(
		"target ansible_host=%s ansible_connection=chroot ansible_python_interpreter=/usr/bin/python3\n", root)), 0o644))
	vars := func(skey string) string {
		v := map[string]any{
			"pam_duo_go_packages_dir": debDir,
			"pam_duo_go_ikey":         mock.IKey,
			"pam_duo_go_skey":         skey,
			"pam_duo_go_host":         mock.Host,
			"pam_duo_go_conf":         map[string]string{"cafile": "/usr/local/share/pam_duo_go-test/ca.pem", "failmode": "secure"},
			"pam_duo_go_login_conf":   map[string]string{"cafile": "/usr/local/share/pam_duo_go-test/ca.pem"},
		}
		b, err := json.Marshal(v)
		require.NoError(t, err)
		f := filepath.Join(work, "vars-"+strconv.Itoa(len(skey))+".json")
		require.NoError(t, os.WriteFile(f, b, 0o600))
		return f
	}
	env := ansibleEnv(t, repo, work)
	play := func(t *testing.T, skey string) (recap, string, error) {
		t.Helper()
		start := time.Now()
		out, err := runCmd(playTimeout, repo, env, "", "bash", script, "run", root,
			"ansible-playbook", "-i", inventory, "-e", "@"+vars(skey), playbook)
		r := parseRecap(t, out)
		t.Logf("ansible-playbook took %s: ok=%d changed=%d failed=%d", time.Since(start).Round(time.Second), r.ok, r.changed, r.failed)
		return r, out, err
	}
	secrets := []string{mock.SKey}

	t.Run("first run changes the root", func(t *testing.T) {
		r, out, err := play(t, mock.SKey)
		require.NoError(t, err, "the first run failed:\n%s", tail(out, 60))
		assert.Positive(t, r.changed, "the first run changed nothing:\n%s", out)
		assert.Zero(t, r.failed)
		assert.Contains(t, out, "RUNNING HANDLER [pam_duo_go : Reload sshd]", "the new drop-in reloads sshd")
		for _, f := range []string{"etc/duo/pam_duo.conf", "etc/duo/login_duo.conf"} {
			st, err := os.Stat(filepath.Join(root, f))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "%s", f)
		}
		commonAuth, err := os.ReadFile(filepath.Join(root, "etc/pam.d/common-auth"))
		require.NoError(t, err)
		assert.Regexp(t, `(?m)^auth\s+requisite\s+pam_duo_go\.so`, string(commonAuth), "pam-auth-update enabled duo-go")
		dropin, err := os.ReadFile(filepath.Join(root, "etc/ssh/sshd_config.d/50-pam_duo_go.conf"))
		require.NoError(t, err)
		assert.Contains(t, string(dropin), "AuthenticationMethods keyboard-interactive")
		assertNoSecret(t, out, secrets)
	})
	t.Run("second run changes nothing", func(t *testing.T) {
		r, out, err := play(t, mock.SKey)
		require.NoError(t, err, "the second run failed:\n%s", tail(out, 60))
		assert.Zero(t, r.changed, "the second run changed something:\n%s", out)
		assert.Positive(t, r.ok)
		assert.NotContains(t, out, "RUNNING HANDLER", "nothing changed, so nothing is reloaded")
		assertNoSecret(t, out, secrets)
	})
	t.Run("login through the sudo stack", func(t *testing.T) {
		tests := []struct {
			name, passcode string
			ok             bool
		}{
			{"right passcode", passcode, true},
			// As many times as the module may ask (prompts, default 3).
			{"wrong passcode", "000000\n000000\n000000", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := runCmd(loginTimeout, repo, nil, password+"\n"+tt.passcode+"\n",
					"bash", script, "run", root, "chroot", root, "pamtester", "-v", "sudo", user, "authenticate")
				assert.Contains(t, out, "Duo two-factor login for "+user, "Duo asks after the password")
				if tt.ok {
					require.NoError(t, err, "pamtester:\n%s", out)
					assert.Contains(t, out, "successfully authenticated")
				} else {
					require.Error(t, err, "a wrong passcode passed:\n%s", out)
					// Three wrong passcodes: PAM_MAXTRIES.
					assert.Contains(t, out, "Incorrect passcode")
					assert.Contains(t, out, "maximum number of retries")
				}
			})
		}
	})
	t.Run("wrong skey fails the play", func(t *testing.T) {
		wrong := "0f" + strings.Repeat("e1d2", 9) + "9a" // 40 hex digits, not the mock's
		require.NotEqual(t, mock.SKey, wrong)
		r, out, err := play(t, wrong)
		require.Error(t, err, "the play passed with a wrong skey:\n%s", out)
		assert.Equal(t, 1, r.failed, "one task fails:\n%s", out)
		assert.Contains(t, out, "login_duo_go check failed")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "login_duo_go check failed") {
				t.Logf("the play's message: %s", line)
			}
		}
		assert.Contains(t, out, "/etc/duo/pam_duo.conf: duo", "check's own message for the file")
		assertNoSecret(t, out, append(secrets, wrong))
	})
}

// debCache is where buildDebs keeps the packages of the last source tree
// it built, beside the cached root.
const debCache = "/var/cache/pam_duo_go/ansible-debs"

// buildDebs returns a directory holding the .debs make deb builds from
// the source tree as it is now: the cached ones when the tree (every file
// make deb packs: all but .git and build/) is unchanged since they were
// built, else new ones, which replace them in the cache. Tests, benchmarks
// and contrib/ are not in the packages and do not count.
func buildDebs(t *testing.T, repo string) (string, error) {
	sum, err := treeSum(repo)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(debCache, sum)
	if m, _ := filepath.Glob(filepath.Join(dir, "*.deb")); len(m) == 2 {
		t.Logf("using the .debs built from this tree before (%s)", dir)
		return dir, nil
	}
	pkgDir, err := os.MkdirTemp("/var/tmp", "pam_duo_go-ansible-debs-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(pkgDir)
	out, err := runCmd(debTimeout, repo, nil, "", "make", "deb", "PKGDIR="+pkgDir)
	if err != nil {
		return "", fmt.Errorf("make deb: %w\n%s", err, tail(out, 40))
	}
	var debs []string
	for _, pkg := range []string{"libpam-duo-go", "login-duo-go"} {
		m, err := filepath.Glob(filepath.Join(pkgDir, "deb", pkg+"_*.deb"))
		if err != nil || len(m) != 1 {
			return "", fmt.Errorf("make deb: want one %s_*.deb, found %v (%v)", pkg, m, err)
		}
		debs = append(debs, m[0])
	}
	if err := os.RemoveAll(debCache); err != nil {
		return "", err
	}
	tmp := dir + ".new"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	for _, d := range debs {
		if err := os.Rename(d, filepath.Join(tmp, filepath.Base(d))); err != nil {
			return "", err
		}
	}
	return dir, os.Rename(tmp, dir)
}

// treeSum is a digest of the source tree make deb packs: every path, mode
// and content outside .git, build/ and what the packages do not hold.
func treeSum(repo string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(repo, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && (rel == ".git" || rel == "build" || rel == "test" || rel == "contrib" || rel == "bench"):
			return filepath.SkipDir
		case strings.HasSuffix(rel, "_test.go"):
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%v\x00", rel, info.Mode())
		switch {
		case info.Mode().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprint(h, target)
		}
		fmt.Fprint(h, "\x00")
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hashing the source tree: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// recap is the PLAY RECAP line of one host.
type recap struct{ ok, changed, unreachable, failed int }

var recapRE = regexp.MustCompile(`(?m)^target\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

func parseRecap(t *testing.T, out string) recap {
	t.Helper()
	m := recapRE.FindStringSubmatch(out)
	require.NotNil(t, m, "no PLAY RECAP for target in:\n%s", tail(out, 60))
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return recap{n[0], n[1], n[2], n[3]}
}

// assertNoSecret fails if any secret key appears in Ansible's output.
func assertNoSecret(t *testing.T, out string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		assert.NotContains(t, out, s, "a secret key is in Ansible's output")
	}
}

// ansibleEnv is the environment ansible-playbook runs in: this test's
// connection plugin and the role, no configuration or state of the
// machine's own.
func ansibleEnv(t *testing.T, repo, work string) []string {
	t.Helper()
	cfg := filepath.Join(work, "ansible.cfg")
	require.NoError(t, os.WriteFile(cfg, []byte("[defaults]\n"), 0o644))
	home := filepath.Join(work, "ansible-home")
	require.NoError(t, os.MkdirAll(home, 0o700))
	return append(os.Environ(),
		"ANSIBLE_CONFIG="+cfg,
		"ANSIBLE_HOME="+home,
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_CONNECTION_PLUGINS="+filepath.Join(repo, "test", "ansible", "connection_plugins"),
		"ANSIBLE_ROLES_PATH="+filepath.Join(repo, "contrib", "ansible"),
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_STDOUT_CALLBACK=default",
		"ANSIBLE_PIPELINING=1",
	)
}

// inRoot runs a command in the root (with its own /proc, /dev and /run).
func inRoot(t *testing.T, root, stdin string, args ...string) string {
	t.Helper()
	script := filepath.Join(e2e.RepoRoot(t), "test", "ansible", "root.sh")
	out, err := runCmd(loginTimeout, "", nil, stdin, append([]string{"bash", script, "run", root, "chroot", root}, args...)...)
	require.NoError(t, err, "%v:\n%s", args, out)
	return out
}

// runCmd runs a command with a time limit and returns its combined output.
func runCmd(limit time.Duration, dir string, env []string, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%v: timed out after %s: %w", args, limit, err)
	}
	return b.String(), err
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// skipOrFail skips the test with why, or fails it in CI.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		require.FailNow(t, "CI=true, so this must not skip: "+why)
	}
	t.Skipf("skipping: %s", why)
}
