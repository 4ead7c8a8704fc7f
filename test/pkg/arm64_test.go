package pkgtest

import (
	"bytes"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// requireCrossArm64 skips the test, saying why, unless it runs as root on
// a machine with Debian's arm64 cross toolchain and libpam0g-dev:arm64
// (.ci/deps with PDG_CROSS_ARCHES=arm64); it returns the paths of tools
// and of the cross compiler.
func requireCrossArm64(t *testing.T, why string, tools ...string) map[string]string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipping: %s runs as root, as in CI (the package builds record root-owned files)", why)
	}
	paths := requireTools(t, why, append([]string{"go", "make", "aarch64-linux-gnu-gcc"}, tools...)...)
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Status}", "libpam0g-dev:arm64").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "installed") {
		t.Skipf("skipping: %s needs libpam0g-dev:arm64 (dpkg --add-architecture arm64; apt-get install crossbuild-essential-arm64 libpam0g-dev:arm64): %s", why, out)
	}
	return paths
}

// checkAArch64 asserts that every ELF file under dir is a 64-bit AArch64
// one (a cross build that quietly used the build machine's compiler or
// GOARCH fails here), and that there is at least one.
func checkAArch64(t *testing.T, dir, what string) {
	t.Helper()
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
		assert.Equal(t, elf.EM_AARCH64, f.Machine, "%s: /%s is for %v, not AArch64", what, rel, f.Machine)
		assert.Equal(t, elf.ELFCLASS64, f.Class, "%s: /%s", what, rel)
		return nil
	}))
	assert.Positive(t, elves, "%s has no ELF file", what)
}

// arm64RPMBuild is the one `make rpm ARCH=arm64` of a test run, shared by
// TestRPMCrossArm64 and TestQemuArm64Login; TestMain removes its dir.
var arm64RPMBuild struct {
	once          sync.Once
	dir           string
	main, selinux string // the two RPMs
	err           error
	out           string // make's output
}

// buildArm64RPMs runs `make rpm ARCH=arm64` once per test binary, from a
// copy of the tree, and returns the main and the SELinux RPM.
func buildArm64RPMs(t *testing.T, makeCmd string) (mainRPM, seRPM string) {
	t.Helper()
	b := &arm64RPMBuild
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "pam_duo_go-rpm-arm64-")
		if b.err != nil {
			return
		}
		src := filepath.Join(b.dir, "src")
		if b.err = copyTree(e2e.RepoRoot(t), src); b.err != nil {
			return
		}
		pkgDir := filepath.Join(b.dir, "pkg")
		r := run(t, command{dir: src, env: buildEnv(t), limit: buildTimeout}, makeCmd, "rpm", "ARCH=arm64", "PKGDIR="+pkgDir)
		b.out, b.err = r.out, r.err
		if b.err != nil {
			return
		}
		m, _ := filepath.Glob(filepath.Join(pkgDir, "rpm", "RPMS", "aarch64", "pam_duo_go-*.aarch64.rpm"))
		s, _ := filepath.Glob(filepath.Join(pkgDir, "rpm", "RPMS", "noarch", "pam_duo_go-selinux-*.noarch.rpm"))
		if len(m) == 1 && len(s) == 1 {
			b.main, b.selinux = m[0], s[0]
		}
	})
	require.NoError(t, b.err, "make rpm ARCH=arm64:\n%s", tail(b.out, 100))
	require.NotEmpty(t, b.main, "make rpm ARCH=arm64 did not write one aarch64 and one noarch RPM:\n%s", tail(b.out, 30))
	return b.main, b.selinux
}

// unpackRPM extracts rpm into a new directory and returns it.
func unpackRPM(t *testing.T, rpm string) string {
	t.Helper()
	tools := requireTools(t, "unpacking the RPM", "rpm2cpio", "cpio")
	dir := t.TempDir()
	mustRun(t, command{dir: dir}, "sh", "-c", `"$0" "$1" | "$2" -idm --quiet`, tools["rpm2cpio"], rpm, tools["cpio"])
	return dir
}

// TestRPMCrossArm64 cross-builds the RPMs for aarch64 the way the README
// says (make rpm ARCH=arm64: rpmbuild --target aarch64, cgo through
// Debian's cross compiler against libpam0g-dev:arm64) and checks that the
// main RPM says aarch64, that every ELF file in it is an AArch64 one, that
// it ships exactly the files of the native RPM (TestRPMPackage checks the
// native one against the same list) under aarch64's %{_libdir}, and
// rpmlint.
func TestRPMCrossArm64(t *testing.T) {
	tools := requireCrossArm64(t, "the arm64 RPM cross build", "rpmbuild", "rpm", "checkmodule", "semodule_package", "bzip2", "gzip", "aarch64-linux-gnu-strip")
	mainRPM, seRPM := buildArm64RPMs(t, tools["make"])
	t.Logf("make rpm ARCH=arm64:\n%s", tail(arm64RPMBuild.out, 5))

	assert.Equal(t, "aarch64", mustRun(t, command{}, tools["rpm"], "-qp", "--qf", "%{ARCH}", mainRPM))
	assert.Equal(t, "noarch", mustRun(t, command{}, tools["rpm"], "-qp", "--qf", "%{ARCH}", seRPM))
	files := unpackRPM(t, mainRPM)
	checkAArch64(t, files, filepath.Base(mainRPM))

	libdir := strings.TrimSpace(mustRun(t, command{}, tools["rpm"], "--target", "aarch64", "--eval", "%{_libdir}"))
	require.True(t, filepath.IsAbs(libdir), "rpm --target aarch64 --eval %%{_libdir}: %q", libdir)
	checkRPMFiles(t, tools["rpm"], mainRPM, mainRPMFiles(libdir))
	checkRPMFiles(t, tools["rpm"], seRPM, map[string]rpmEntry{
		"/usr/share/selinux/packages/targeted/pam_duo_go.pp.bz2": {"-rw-r--r--", "root", "root"},
	})
	// The module looks for its core and worker where the RPM puts them.
	module, err := os.ReadFile(filepath.Join(files, libdir, "security", "pam_duo_go.so"))
	require.NoError(t, err)
	assert.True(t, bytes.Contains(module, []byte(libdir+"/pam_duo_go/pam_duo_go_core.so\x00")), "the module does not name %s/pam_duo_go/pam_duo_go_core.so", libdir)
	assert.True(t, bytes.Contains(module, []byte("/usr/sbin/login_duo_go\x00")), "the module does not name /usr/sbin/login_duo_go")

	t.Run("rpmlint", func(t *testing.T) {
		rpmlint := requireTools(t, "the rpmlint check", "rpmlint")["rpmlint"]
		root := e2e.RepoRoot(t)
		r := run(t, command{limit: lintTimeout}, rpmlint,
			"-r", filepath.Join(root, "rpm", "pam_duo_go.rpmlintrc"),
			filepath.Join(root, "rpm", "pam_duo_go.spec"), mainRPM, seRPM)
		t.Logf("rpmlint:\n%s", r.out)
		assert.NoError(t, r.err, "rpmlint fails on the arm64 RPMs")
		assert.Contains(t, r.out, " 0 errors", "rpmlint reports errors on the arm64 RPMs")
	})
}
