package pkgtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopyTree checks what copyTree leaves out, with .git as a directory
// (a clone) and as a file (a git worktree).
func TestCopyTree(t *testing.T) {
	for _, tc := range []struct {
		name   string
		gitDir bool
	}{
		{"clone", true},
		{"worktree", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			write := func(rel string) {
				p := filepath.Join(src, rel)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(rel), 0o644))
			}
			if tc.gitDir {
				write(".git/config")
			} else {
				write(".git") // "gitdir: ..."
			}
			for _, rel := range []string{".ci/run", "Makefile", "build/x.so", "debian/.go/mod/x", "debian/rules", "rpm/pam_duo_go.spec"} {
				write(rel)
			}
			dst := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, copyTree(src, dst))
			for _, rel := range []string{".ci/run", "Makefile", "debian/rules", "rpm/pam_duo_go.spec"} {
				assert.FileExists(t, filepath.Join(dst, rel))
			}
			for _, rel := range []string{".git", "build", "debian/.go"} {
				assert.NoFileExists(t, filepath.Join(dst, rel))
				assert.NoDirExists(t, filepath.Join(dst, rel))
			}
		})
	}
}
