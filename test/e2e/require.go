package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// RequireRoot skips the test, saying why, unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: this end-to-end test needs root (it starts sshd, creates users and runs sudo); run the tests as root")
	}
}

// RequireBinary skips the test, saying why, unless name (a command name
// looked up in PATH, or an absolute path) is installed. It returns the
// path found.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := findBinary(name)
	if err != nil {
		t.Skipf("skipping: %v (install it, e.g. with .ci/deps)", err)
	}
	return path
}

// findBinary looks name up like RequireBinary, also searching the sbin
// directories that a non-login PATH may lack.
func findBinary(name string) (string, error) {
	if filepath.IsAbs(name) {
		st, err := os.Stat(name)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s is not installed", name)
		}
		return name, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (not in PATH or the sbin directories)", name)
}

// moduleLine is the first line of the project's go.mod.
const moduleLine = "module github.com/pam-duo-go/pam_duo_go"

// RepoRoot returns the root of the pam_duo_go source tree: the nearest
// directory at or above the working directory whose go.mod declares the
// project's module.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for i := 0; i < 64; i++ {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), moduleLine) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("finding the repository root: no go.mod with %q above the working directory", moduleLine)
}
