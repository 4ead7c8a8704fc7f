package pkgtest

import (
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// TestDebianCrossArm64 cross-builds the .debs for arm64 the way the
// README says (make deb ARCH=arm64: Debian's cross toolchain, cgo against
// libpam0g-dev:arm64), and checks that both packages say arm64, that
// every ELF file in them is an AArch64 one (a build that quietly used the
// build machine's compiler or GOARCH fails here), and lintian. It does
// not run the module: no qemu-user in CI yet.
func TestDebianCrossArm64(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: dpkg-buildpackage's cross build checks need the cross toolchain installed system-wide; run as root")
	}
	tools := requireTools(t, "the arm64 cross build", "dpkg-buildpackage", "dh", "dpkg-deb", "go", "make", "aarch64-linux-gnu-gcc")
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Status}", "libpam0g-dev:arm64").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "installed") {
		t.Skipf("skipping: libpam0g-dev:arm64 is not installed (dpkg --add-architecture arm64; apt-get install crossbuild-essential-arm64 libpam0g-dev:arm64): %s", out)
	}
	work := t.TempDir()
	src := filepath.Join(work, "src")
	require.NoError(t, copyTree(e2e.RepoRoot(t), src))
	pkgDir := filepath.Join(work, "pkg")
	r := run(t, command{dir: src, env: buildEnv(t), limit: buildTimeout}, tools["make"], "deb", "ARCH=arm64", "PKGDIR="+pkgDir)
	require.NoError(t, r.err, "make deb ARCH=arm64:\n%s", tail(r.out, 100))
	t.Logf("make deb ARCH=arm64:\n%s", tail(r.out, 15))

	for _, pkg := range debPackages {
		m, _ := filepath.Glob(filepath.Join(pkgDir, "deb", pkg+"_*_arm64.deb"))
		require.Len(t, m, 1, "want one %s_*_arm64.deb", pkg)
		arch := strings.TrimSpace(mustRun(t, command{}, tools["dpkg-deb"], "--field", m[0], "Architecture"))
		assert.Equal(t, "arm64", arch, "%s", m[0])
		dir := filepath.Join(work, "x", pkg)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		mustRun(t, command{}, tools["dpkg-deb"], "-x", m[0], dir)
		elves := 0
		require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			f, err := elf.Open(p)
			if err != nil {
				return nil // not an ELF file
			}
			defer f.Close()
			elves++
			rel, _ := filepath.Rel(dir, p)
			assert.Equal(t, elf.EM_AARCH64, f.Machine, "/%s is for %v, not AArch64", rel, f.Machine)
			assert.Equal(t, elf.ELFCLASS64, f.Class, "/%s", rel)
			return nil
		}))
		assert.Positive(t, elves, "%s has no ELF file", pkg)
	}
	// The module and its core are where an arm64 system looks for them.
	for _, p := range []string{"x/libpam-duo-go/lib/aarch64-linux-gnu/security/pam_duo_go.so",
		"x/libpam-duo-go/usr/lib/aarch64-linux-gnu/pam_duo_go/pam_duo_go_core.so", "x/login-duo-go/usr/sbin/login_duo_go"} {
		assert.FileExists(t, filepath.Join(work, p))
	}

	t.Run("lintian", func(t *testing.T) {
		lintian := requireTools(t, "the lintian check", "lintian")["lintian"]
		changes, _ := filepath.Glob(filepath.Join(pkgDir, "deb", "*_arm64.changes"))
		require.Len(t, changes, 1)
		r := run(t, command{limit: lintTimeout}, lintian, "--fail-on", "error", "--info", changes[0])
		t.Logf("lintian:\n%s", r.out)
		assert.NoError(t, r.err, "lintian reports errors on the arm64 packages")
	})
}
