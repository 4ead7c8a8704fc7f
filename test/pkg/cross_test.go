package pkgtest

import (
	"os"
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
// not run the module: TestQemuArm64Login does, from the arm64 RPM.
func TestDebianCrossArm64(t *testing.T) {
	tools := requireCrossArm64(t, "the arm64 cross build", "dpkg-buildpackage", "dh", "dpkg-deb")
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
		checkAArch64(t, dir, pkg)
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
