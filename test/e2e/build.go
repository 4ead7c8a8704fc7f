package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Artifacts are the absolute paths of what `make build` produces.
type Artifacts struct {
	Root    string // the repository root
	Module  string // build/pam_duo_go.so, the C PAM module
	Core    string // build/pam_duo_go_core.so, the Go core it dlopens
	Helper  string // build/login_duo_go
	Duotest string // build/duotest, the mock Duo server as a program
}

// buildTimeout bounds one `make build`.
const buildTimeout = 10 * time.Minute

// pamHeader is the libpam header `make build` needs (libpam0g-dev).
const pamHeader = "/usr/include/security/pam_modules.h"

// BuildArtifacts runs `make -C <repo root> build` once per test binary
// (serialized across test binaries with a file lock, since `go test` runs
// packages in parallel) and returns the paths of the built files. A failed
// build fails the test with make's output, or skips it when libpam's
// headers are missing.
func BuildArtifacts(t testing.TB) Artifacts {
	t.Helper()
	RequireBinary(t, "make")
	root := BuildOnce(t, "make build", func() (string, error) {
		if _, err := os.Stat(pamHeader); err != nil {
			return "", fmt.Errorf("%w: libpam0g-dev is not installed (run bash .ci/deps)", errSkipBuild)
		}
		return build()
	})
	return Artifacts{
		Root:    root,
		Module:  filepath.Join(root, "build", "pam_duo_go.so"),
		Core:    filepath.Join(root, "build", "pam_duo_go_core.so"),
		Helper:  filepath.Join(root, "build", "login_duo_go"),
		Duotest: filepath.Join(root, "build", "duotest"),
	}
}

// errSkipBuild, wrapped in the error of a BuildOnce build, skips the
// test instead of failing it: something the build needs is missing.
var errSkipBuild = errors.New("cannot build here")

// built holds the result of each BuildOnce key.
var built sync.Map // key -> *buildResult

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// BuildOnce runs build the first time it is called with key in this test
// binary and returns the path build returned, on that call and every
// later one. A build error fails the test, on every call (BuildArtifacts
// skips instead when libpam's headers are missing).
func BuildOnce(t testing.TB, key string, build func() (string, error)) string {
	t.Helper()
	v, _ := built.LoadOrStore(key, new(buildResult))
	r := v.(*buildResult)
	r.once.Do(func() { r.path, r.err = build() })
	if errors.Is(r.err, errSkipBuild) {
		t.Skipf("skipping: %s: %v", key, r.err)
	}
	require.NoError(t, r.err, "%s", key)
	return r.path
}

// build runs make and returns the repository root.
func build() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), "pam_duo_go-e2e-build.lock"), 2*buildTimeout)
	if err != nil {
		return "", err
	}
	defer unlock()

	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-C", root, "build")
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v: %w", buildTimeout, err)
		}
		return "", fmt.Errorf("%w\n%s", err, tail(out.String(), 60))
	}
	for _, p := range []string{"pam_duo_go.so", "pam_duo_go_core.so", "login_duo_go", "duotest"} {
		if _, err := os.Stat(filepath.Join(root, "build", p)); err != nil {
			return "", fmt.Errorf("make build succeeded but did not produce %s: %w", p, err)
		}
	}
	return root, nil
}

// lockFile takes an exclusive flock on path, waiting at most wait.
func lockFile(path string, wait time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines cut)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
