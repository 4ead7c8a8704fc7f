package pkgtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
	"github.com/stretchr/testify/require"
)

// Bounds of the commands the tests run.
const (
	quickTimeout   = 1 * time.Minute  // dpkg-query, rpm -q, pamtester, ...
	installTimeout = 3 * time.Minute  // dpkg -i, dpkg --purge
	buildTimeout   = 15 * time.Minute // one dpkg-buildpackage or rpmbuild
	lintTimeout    = 5 * time.Minute  // lintian, rpmlint
)

// result is what a finished command left behind.
type result struct {
	out  string // stdout and stderr, interleaved
	code int    // exit status; -1 when it did not exit normally
	err  error  // nil, *exec.ExitError, or why it could not run or was killed
}

// command describes one command run by run.
type command struct {
	dir   string
	env   []string // added to the test's environment
	stdin string
	limit time.Duration
}

// run runs name with args under c's bounds and returns what happened; it
// never fails the test itself.
func run(t testing.TB, c command, name string, args ...string) result {
	t.Helper()
	if c.limit == 0 {
		c.limit = quickTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = strings.NewReader(c.stdin)
	// A build starts many processes: kill the whole group on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := result{out: out.String(), code: -1, err: err}
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		r.code = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("%s timed out after %v: %w", name, c.limit, err)
	}
	return r
}

// mustRun runs the command and fails the test, with the command's output,
// unless it exits 0.
func mustRun(t testing.TB, c command, name string, args ...string) string {
	t.Helper()
	r := run(t, c, name, args...)
	require.NoError(t, r.err, "%s %s\n%s", name, strings.Join(args, " "), tail(r.out, 80))
	return r.out
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// requireTools skips the test, saying why, unless every tool is installed
// (looked up in PATH and the sbin directories); it returns their paths.
func requireTools(t testing.TB, why string, names ...string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	var missing []string
	for _, name := range names {
		p, err := lookTool(name)
		if err != nil {
			missing = append(missing, name)
			continue
		}
		paths[name] = p
	}
	if len(missing) > 0 {
		t.Skipf("skipping: %s needs %s, not installed (.ci/deps installs them)", why, strings.Join(missing, ", "))
	}
	return paths
}

// lookTool finds name in PATH or in the sbin directories a non-login PATH
// may lack.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/go/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// skipDirs are the top-level entries of the tree that are not part of the
// source: VCS data, build output, and the Go caches debian/rules may leave.
var skipDirs = map[string]bool{".git": true, "build": true, "debian/.go": true}

// copyTree copies the source tree at src into dst (created): regular files
// with their modes, directories and symbolic links; it leaves out skipDirs
// and anything else (sockets, devices).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if skipDirs[filepath.ToSlash(rel)] {
			// In a git worktree .git is a file: SkipDir there would skip
			// the rest of its directory.
			if !d.IsDir() {
				return nil
			}
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return e2e.CopyFile(path, target, info.Mode().Perm(), os.O_EXCL)
		}
		return nil
	})
}

// writeSourceTarball writes dir (already a clean copy of the tree) as a
// gzipped tar whose entries all sit under prefix/, as rpmbuild's %setup
// expects.
func writeSourceTarball(dir, prefix, file string) (err error) {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	walkErr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(prefix, rel))
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "root", "root", 0, 0
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	return errors.Join(walkErr, tw.Close(), gz.Close())
}

// goEnv returns the value of a go env variable: the environment's when set,
// else what the go command says, else "".
func goEnv(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	goCmd, err := lookTool("go")
	if err != nil {
		return ""
	}
	r := run(t, command{}, goCmd, "env", name)
	if r.err != nil {
		return ""
	}
	return strings.TrimSpace(r.out)
}

// buildEnv is the environment for a package build: the Go caches of the
// developer or CI (a package build then recompiles only what its flags
// change) and no interactive prompts.
func buildEnv(t testing.TB) []string {
	t.Helper()
	env := []string{"DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8"}
	for _, name := range []string{"GOCACHE", "GOMODCACHE"} {
		if v := goEnv(t, name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return env
}
