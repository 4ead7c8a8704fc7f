package fresh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// rootTimeout bounds the whole fresh-root run: a cold cache means
// debootstrap, every .ci/deps package and a full Go build.
const rootTimeout = 35 * time.Minute

// inCI reports whether the test runs in CI, where it must not skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips the test with why, or fails it in CI.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	require.False(t, inCI(), "CI=true, so this must not skip: %s", why)
	t.Skipf("skipping: %s", why)
}

// runBounded runs argv in dir with a deadline, killing its whole process
// group when the deadline passes, and returns its combined output.
func runBounded(t *testing.T, limit time.Duration, dir string, env []string, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 30 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out.String(), err
}

// TestReadmeCommandOnFreshDebian runs `bash .ci/deps && make demo` in a
// fresh Debian root (see the package doc and fresh-root.sh) and checks
// that it succeeds and that the demo's logins came out as the demo says.
func TestReadmeCommandOnFreshDebian(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "the fresh-root test runs debootstrap, mounts and chroot; run it as root")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if _, err := os.Stat("/usr/sbin/debootstrap"); err != nil {
			skipOrFail(t, "debootstrap is not installed (bash .ci/deps installs it)")
		}
	}
	repo := e2e.RepoRoot(t)
	script := filepath.Join(repo, "test", "fresh", "fresh-root.sh")

	out, err := runBounded(t, time.Minute, repo, nil, "bash", script, "--print-mirror")
	require.NoError(t, err, "finding apt's mirror:\n%s", out)
	mirror := strings.TrimSpace(out)
	if err := reachable(mirror + "/dists/bookworm/Release"); err != nil {
		skipOrFail(t, "debootstrap cannot reach Debian's archive "+mirror+": "+err.Error())
	}

	start := time.Now()
	out, err = runBounded(t, rootTimeout, repo, nil, "bash", script, repo)
	t.Logf("fresh-root.sh took %s:\n%s", time.Since(start).Round(time.Second), out)
	require.NoError(t, err, "`bash .ci/deps && make demo` on a fresh Debian root failed (output above)")

	// The demo's three logins: a push and a passcode that Duo allows, and
	// three wrong passcodes that it refuses.
	assert.Equal(t, 2, strings.Count(out, "--> login allowed"), "allowed logins in the demo's output")
	assert.Equal(t, 1, strings.Count(out, "--> login refused"), "refused logins in the demo's output")
	// .ci/deps leaves `make deb`'s build dependencies satisfied.
	assert.Contains(t, out, "dpkg-checkbuilddeps: ok")
}

// reachable fetches url (the archive's Release file) within 20 s.
func reachable(url string) error {
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// TestLintNeedsGofmt checks that `make lint` fails, saying why, when
// gofmt cannot be run, instead of taking its empty output for "all
// formatted".
func TestLintNeedsGofmt(t *testing.T) {
	repo := e2e.RepoRoot(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("skipping: make is not installed")
	}
	for _, tc := range []struct {
		name, gofmt string
	}{
		{"missing", "/nonexistent/gofmt"},
		{"failing", "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// STATICCHECK=true and GO=true: only gofmt's part of lint matters.
			out, err := runBounded(t, 2*time.Minute, repo, nil,
				"make", "-s", "lint", "GOFMT="+tc.gofmt, "GO=true", "STATICCHECK=true")
			require.Error(t, err, "make lint passed with GOFMT=%s:\n%s", tc.gofmt, out)
			if tc.name == "missing" {
				assert.Regexp(t, regexp.MustCompile(`gofmt not found`), out)
			}
		})
	}
}

// TestFreshCacheStatus checks that fresh-root.sh uses a cached root only
// when it is whole, made for this machine and recent, and says why not.
func TestFreshCacheStatus(t *testing.T) {
	repo := e2e.RepoRoot(t)
	script := filepath.Join(repo, "test", "fresh", "fresh-root.sh")
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("skipping: fresh-root.sh needs dpkg (a Debian machine)")
	}
	keyOut, err := runBounded(t, time.Minute, repo, nil, "bash", script, "--print-key")
	require.NoError(t, err, keyOut)
	key := strings.TrimSpace(keyOut)
	arch := regexp.MustCompile(`arch=(\S+)`).FindStringSubmatch(key)
	require.NotNil(t, arch, "key %q", key)
	name := "root-bookworm-" + arch[1] + ".tar.gz"
	content := []byte("not really a root, but checksummed")

	for _, tc := range []struct {
		name  string
		setup func(dir string)
		want  string // "" means usable
	}{
		{"missing", func(string) {}, "no cached root"},
		{"usable", func(string) {}, ""},
		{"damaged", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("truncat"), 0o644))
		}, "damaged"},
		{"other-key", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name+".key"), []byte("layout=0 "+key+"\n"), 0o644))
		}, "another key"},
		{"old", func(dir string) {
			old := time.Now().Add(-40 * 24 * time.Hour)
			require.NoError(t, os.Chtimes(filepath.Join(dir, name), old, old))
		}, "older than 30 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.name != "missing" {
				sum := sha256.Sum256(content)
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), content, 0o644))
				require.NoError(t, os.WriteFile(filepath.Join(dir, name+".sha256"), []byte(hex.EncodeToString(sum[:])+"  "+name+"\n"), 0o644))
				require.NoError(t, os.WriteFile(filepath.Join(dir, name+".key"), []byte(key+"\n"), 0o644))
			}
			tc.setup(dir)
			out, err := runBounded(t, time.Minute, repo, []string{"FRESH_CACHE=" + dir}, "bash", script, "--cache-status")
			if tc.want == "" {
				assert.NoError(t, err, out)
				assert.Contains(t, out, "cached root ok")
				return
			}
			assert.Error(t, err, "a %s cache was taken as usable:\n%s", tc.name, out)
			assert.Contains(t, out, tc.want)
		})
	}
}
