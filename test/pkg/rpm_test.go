package pkgtest

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// rpmEntry is one file of an RPM as `rpm -qlvp` shows it.
type rpmEntry struct {
	perms, owner, group string
}

// seModuleMagic starts every SELinux policy module package (.pp).
const seModuleMagic = 0xf97cff8f

// TestRPMPackage builds the RPMs once with rpmbuild and checks their file
// lists, modes, owners, config flags and scriptlets, and the SELinux
// module inside.
func TestRPMPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		// rpmbuild itself would work, but the file owners it records are
		// only root:root when %attr says so; CI runs as root.
		t.Skip("skipping: the RPM package test runs in CI as root (with the Debian package test); run it as root")
	}
	tools := requireTools(t, "the RPM package test",
		"rpmbuild", "rpm", "checkmodule", "semodule_package", "bzip2", "gzip", "go", "make", "gcc")
	root := e2e.RepoRoot(t)
	spec, err := os.ReadFile(filepath.Join(root, "rpm", "pam_duo_go.spec"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^Version:\s*(\S+)`).FindSubmatch(spec)
	require.NotNil(t, m, "rpm/pam_duo_go.spec has no Version:")
	version := string(m[1])

	work := t.TempDir()
	src := filepath.Join(work, "src")
	require.NoError(t, copyTree(root, src), "copying the source tree")
	top := filepath.Join(work, "rpmbuild")
	require.NoError(t, os.MkdirAll(filepath.Join(top, "SOURCES"), 0o755))
	tarball := filepath.Join(top, "SOURCES", "pam_duo_go-"+version+".tar.gz")
	require.NoError(t, writeSourceTarball(src, "pam_duo_go-"+version, tarball), "writing %s", tarball)
	args := []string{"-bb", "--define", "_topdir " + top}
	if _, err := os.Stat("/etc/debian_version"); err == nil {
		// The rpm database is empty on Debian: BuildRequires cannot be met
		// from it (rpm/README.md).
		args = append(args, "--nodeps")
	}
	args = append(args, filepath.Join(src, "rpm", "pam_duo_go.spec"))
	r := run(t, command{dir: src, env: buildEnv(t), limit: buildTimeout}, tools["rpmbuild"], args...)
	require.NoError(t, r.err, "rpmbuild %s\n%s", strings.Join(args, " "), tail(r.out, 100))
	arch := strings.TrimSpace(mustRun(t, command{}, tools["rpm"], "--eval", "%{_arch}"))
	mainRPM := filepath.Join(top, "RPMS", arch, "pam_duo_go-"+version+"-1."+arch+".rpm")
	seRPM := filepath.Join(top, "RPMS", "noarch", "pam_duo_go-selinux-"+version+"-1.noarch.rpm")
	found, _ := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	for _, p := range []string{mainRPM, seRPM} {
		_, err := os.Stat(p)
		require.NoError(t, err, "rpmbuild did not write %s (it wrote %v)", p, found)
	}

	t.Run("files", func(t *testing.T) {
		checkRPMFiles(t, tools["rpm"], mainRPM, mainRPMFiles("/usr/lib64"))
		checkRPMFiles(t, tools["rpm"], seRPM, map[string]rpmEntry{
			"/usr/share/selinux/packages/targeted/pam_duo_go.pp.bz2": {"-rw-r--r--", "root", "root"},
		})
	})
	t.Run("config", func(t *testing.T) {
		out := mustRun(t, command{}, tools["rpm"], "-qp", "--qf", `[%{FILEFLAGS:fflags} %{FILENAMES}\n]`, mainRPM)
		flags := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				flags[f[1]] = f[0]
			}
		}
		for _, conf := range []string{"/etc/duo/pam_duo.conf", "/etc/duo/login_duo.conf"} {
			assert.Contains(t, flags[conf], "c", "%s: file flags %q, want %%config(noreplace) (c and n)", conf, flags[conf])
			assert.Contains(t, flags[conf], "n", "%s: file flags %q, want %%config(noreplace) (c and n)", conf, flags[conf])
		}
	})
	t.Run("account", func(t *testing.T) {
		// The %pre scriptlet, run twice in a private /etc: it creates the
		// account, then changes nothing.
		pre := mustRun(t, command{}, tools["rpm"], "-qp", "--qf", "%{PREIN}", mainRPM)
		require.Contains(t, pre, accountName, "pam_duo_go's %%pre does not create %s:\n%s", accountName, pre)
		dir := t.TempDir()
		script := filepath.Join(dir, "pre.sh")
		require.NoError(t, os.WriteFile(script, []byte(pre), 0o644))
		out := inPrivateEtc(t, dir, "userdel "+accountName+" 2>/dev/null || true\ngroupdel "+accountName+" 2>/dev/null || true\n"+
			"sh -e pre.sh\n"+showAccount("first")+"sh -e pre.sh\n"+showAccount("second"))
		t.Logf("%%pre, twice:\n%s", out)
		first := parseAccount(t, out, "first")
		checkAccount(t, first)
		assert.Equal(t, first, parseAccount(t, out, "second"), "a second %%pre changed the account")
	})
	t.Run("selinux-scriptlets", func(t *testing.T) {
		out := mustRun(t, command{}, tools["rpm"], "-qp", "--scripts", seRPM)
		for _, want := range []string{"postinstall scriptlet", "-i /usr/share/selinux/packages/targeted/pam_duo_go.pp.bz2", "postuninstall scriptlet", "-r pam_duo_go"} {
			assert.Contains(t, out, want, "pam_duo_go-selinux scriptlets lack %q:\n%s", want, out)
		}
	})
	t.Run("selinux-module", func(t *testing.T) {
		tools := requireTools(t, "unpacking the RPM", "rpm2cpio", "cpio")
		dir := t.TempDir()
		mustRun(t, command{dir: dir}, "sh", "-c", `"$0" "$1" | "$2" -idm --quiet`, tools["rpm2cpio"], seRPM, tools["cpio"])
		f, err := os.Open(filepath.Join(dir, "usr/share/selinux/packages/targeted/pam_duo_go.pp.bz2"))
		require.NoError(t, err)
		defer f.Close()
		pp, err := io.ReadAll(io.LimitReader(bzip2.NewReader(f), 16<<20))
		require.NoError(t, err, "pam_duo_go.pp.bz2 does not decompress")
		require.GreaterOrEqual(t, len(pp), 4, "pam_duo_go.pp.bz2 decompresses to fewer bytes than the policy module package magic")
		got := binary.LittleEndian.Uint32(pp[:4])
		assert.Equal(t, uint32(seModuleMagic), got, "pam_duo_go.pp starts with %#x, want the policy module package magic %#x", got, seModuleMagic)
		// Every domain the PAM stack runs in, RHEL 10's sshd-session
		// included (duo_unix #413), is named in the compiled module.
		for _, domain := range []string{"sshd_t", "sshd_session_t", "sudodomain", "local_login_t"} {
			assert.True(t, bytes.Contains(pp, []byte(domain)), "the compiled module does not name %s", domain)
		}
	})
	t.Run("rpmlint", func(t *testing.T) {
		rpmlint := requireTools(t, "the rpmlint check", "rpmlint")["rpmlint"]
		r := run(t, command{limit: lintTimeout}, rpmlint,
			"-r", filepath.Join(root, "rpm", "pam_duo_go.rpmlintrc"),
			filepath.Join(root, "rpm", "pam_duo_go.spec"), mainRPM, seRPM)
		t.Logf("rpmlint:\n%s", r.out)
		assert.NoError(t, r.err, "rpmlint reports errors")
		assert.Contains(t, r.out, " 0 errors", "rpmlint reports errors (%v)", r.err)
	})
}

// mainRPMFiles is every file of the main RPM with its mode and owner, its
// libraries under libdir (%{_libdir} of the RPM's architecture): the
// native and the cross-built RPMs ship the same files.
func mainRPMFiles(libdir string) map[string]rpmEntry {
	return map[string]rpmEntry{
		libdir + "/security/pam_duo_go.so":         {"-rw-r--r--", "root", "root"},
		libdir + "/pam_duo_go":                     {"drwxr-xr-x", "root", "root"},
		libdir + "/pam_duo_go/pam_duo_go_core.so":  {"-rw-r--r--", "root", "root"},
		"/usr/sbin/login_duo_go":                   {"-rwsr-xr-x", "root", "root"},
		"/etc/duo":                                 {"drwxr-xr-x", "root", "root"},
		"/etc/duo/pam_duo.conf":                    {"-rw-------", "root", "root"},
		"/etc/duo/login_duo.conf":                  {"-rw-------", "root", "root"},
		"/usr/share/man/man8/pam_duo_go.8.gz":      {"-rw-r--r--", "root", "root"},
		"/usr/share/man/man8/login_duo_go.8.gz":    {"-rw-r--r--", "root", "root"},
		"/usr/share/man/man5/pam_duo_go.conf.5.gz": {"-rw-r--r--", "root", "root"},
		// The authselect profile duo-go: sssd's, with Duo after the password.
		"/usr/share/authselect":                                {"drwxr-xr-x", "root", "root"},
		"/usr/share/authselect/vendor":                         {"drwxr-xr-x", "root", "root"},
		"/usr/share/authselect/vendor/duo-go":                  {"drwxr-xr-x", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/README":           {"-rw-r--r--", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/system-auth":      {"-rw-r--r--", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/password-auth":    {"-rw-r--r--", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/REQUIREMENTS":     {"lrwxrwxrwx", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/dconf-db":         {"lrwxrwxrwx", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/dconf-locks":      {"lrwxrwxrwx", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/fingerprint-auth": {"lrwxrwxrwx", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/nsswitch.conf":    {"lrwxrwxrwx", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/postlogin":        {"lrwxrwxrwx", "root", "root"},
		"/usr/share/authselect/vendor/duo-go/smartcard-auth":   {"lrwxrwxrwx", "root", "root"},
	}
}

// checkRPMFiles compares `rpm -qlvp` of rpm with want: every wanted path
// with its mode and owner, a LICENSE under /usr/share/licenses, and nothing
// else outside the documentation and rpm's build-id links.
func checkRPMFiles(t *testing.T, rpmCmd, rpm string, want map[string]rpmEntry) {
	t.Helper()
	out := mustRun(t, command{}, rpmCmd, "-qlvp", rpm)
	got := map[string]rpmEntry{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		// perms nlink owner group size month day time-or-year path [-> target]
		f := strings.Fields(line)
		if !assert.GreaterOrEqual(t, len(f), 9, "%s: cannot read rpm -qlvp line %q", filepath.Base(rpm), line) {
			continue
		}
		got[f[8]] = rpmEntry{f[0], f[2], f[3]}
	}
	for path, w := range want {
		g, ok := got[path]
		if assert.True(t, ok, "%s lacks %s", filepath.Base(rpm), path) {
			assert.Equal(t, w, g, "%s: %s is %s %s:%s, want %s %s:%s", filepath.Base(rpm), path, g.perms, g.owner, g.group, w.perms, w.owner, w.group)
		}
	}
	license := false
	for path := range got {
		// %license: /usr/share/licenses/NAME (Fedora) or NAME-VERSION.
		if strings.HasPrefix(path, "/usr/share/licenses/") {
			license = license || strings.HasSuffix(path, "/LICENSE")
			continue
		}
		if _, ok := want[path]; ok || strings.HasPrefix(path, "/usr/share/doc/") || strings.HasPrefix(path, "/usr/lib/.build-id") {
			continue
		}
		assert.Fail(t, "an unexpected file", "%s has %s, which the test does not expect", filepath.Base(rpm), path)
	}
	assert.True(t, license, "%s has no LICENSE under /usr/share/licenses (the spec's %%license)", filepath.Base(rpm))
}
