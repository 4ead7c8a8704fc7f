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

var (
	buildOnce      sync.Once
	buildArtifacts Artifacts
	buildErr       error
)

// BuildArtifacts runs `make -C <repo root> build` once per test binary
// (serialized across test binaries with a file lock, since `go test` runs
// packages in parallel) and returns the paths of the built files. A failed
// build fails the test with make's output.
func BuildArtifacts(t testing.TB) Artifacts {
	t.Helper()
	RequireBinary(t, "make")
	buildOnce.Do(func() {
		buildArtifacts, buildErr = build()
	})
	if buildErr != nil {
		t.Fatalf("make build: %v", buildErr)
	}
	return buildArtifacts
}

func build() (Artifacts, error) {
	root, err := repoRoot()
	if err != nil {
		return Artifacts{}, err
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), "pam_duo_go-e2e-build.lock"), 2*buildTimeout)
	if err != nil {
		return Artifacts{}, err
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
		return Artifacts{}, fmt.Errorf("%w\n%s", err, tail(out.String(), 60))
	}
	a := Artifacts{
		Root:    root,
		Module:  filepath.Join(root, "build", "pam_duo_go.so"),
		Core:    filepath.Join(root, "build", "pam_duo_go_core.so"),
		Helper:  filepath.Join(root, "build", "login_duo_go"),
		Duotest: filepath.Join(root, "build", "duotest"),
	}
	for _, p := range []string{a.Module, a.Core, a.Helper, a.Duotest} {
		if _, err := os.Stat(p); err != nil {
			return Artifacts{}, fmt.Errorf("make build succeeded but did not produce %s: %w", p, err)
		}
	}
	return a, nil
}

// HasWorkerMode reports whether the built login_duo_go documents the
// `pam-worker` mode that the module's exec path runs.
func (a Artifacts) HasWorkerMode() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.Helper, "--help")
	cmd.WaitDelay = 2 * time.Second
	out, _ := cmd.CombinedOutput()
	return strings.Contains(string(out), "pam-worker")
}

// RequireWorkerMode skips the test, saying why, unless the built
// login_duo_go has the pam-worker mode (module argument mode=exec).
func RequireWorkerMode(t testing.TB, a Artifacts) {
	t.Helper()
	if !a.HasWorkerMode() {
		t.Skipf("skipping: %s has no pam-worker mode yet (its --help does not mention it), so mode=exec cannot run", a.Helper)
	}
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
