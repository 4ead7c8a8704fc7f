package pkgtest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// The Debian binary packages, in removal order (the module depends on the
// helper).
var debPackages = []string{"libpam-duo-go", "login-duo-go"}

// pamService is the PAM service the test writes into /etc/pam.d (pamtester
// reads only there) and removes again.
const pamService = "pam_duo_go_pkgtest"

// installedFile is a file a package must install, with its mode and owner.
type installedFile struct {
	path string
	mode uint32 // permission and set-id bits
	pkg  string
	// byScript: created by the package's postinst, not shipped (so not
	// listed by dpkg -L).
	byScript bool
}

// debFiles lists what the two packages install, triplet being the
// multiarch directory (x86_64-linux-gnu).
func debFiles(triplet string) []installedFile {
	return []installedFile{
		{"/lib/" + triplet + "/security/pam_duo_go.so", 0o644, "libpam-duo-go", false},
		{"/usr/lib/" + triplet + "/pam_duo_go/pam_duo_go_core.so", 0o644, "libpam-duo-go", false},
		{"/etc/duo/pam_duo.conf", 0o600, "libpam-duo-go", true},
		{"/usr/share/libpam-duo-go/pam_duo.conf", 0o644, "libpam-duo-go", false},
		{"/usr/share/pam-configs/duo-go", 0o644, "libpam-duo-go", false},
		{"/usr/share/man/man8/pam_duo_go.8.gz", 0o644, "libpam-duo-go", false},
		{"/usr/share/man/man5/pam_duo_go.conf.5.gz", 0o644, "libpam-duo-go", false},
		{"/usr/sbin/login_duo_go", 0o4755, "login-duo-go", false},
		{"/etc/duo/login_duo.conf", 0o600, "login-duo-go", true},
		{"/usr/share/login-duo-go/login_duo.conf", 0o644, "login-duo-go", false},
		{"/usr/share/man/man8/login_duo_go.8.gz", 0o644, "login-duo-go", false},
	}
}

// TestDebianPackage builds the .debs once, installs them, checks the
// files, logs in through the installed module against the mock Duo
// server, purges them and checks that nothing is left.
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the Debian package test installs and purges packages with dpkg and writes /etc/pam.d; run it as root")
	}
	tools := requireTools(t, "the Debian package test",
		"dpkg-buildpackage", "dh", "dpkg", "dpkg-query", "dpkg-architecture",
		"dpkg-statoverride", "pam-auth-update", "pamtester", "go", "make", "gcc")
	triplet := strings.TrimSpace(mustRun(t, command{}, tools["dpkg-architecture"], "-qDEB_HOST_MULTIARCH"))
	files := debFiles(triplet)
	refuseToTouchExistingSetup(t, files)

	debs := buildDebs(t)

	t.Run("lintian", func(t *testing.T) {
		lintian := requireTools(t, "the lintian check", "lintian")["lintian"]
		changes, _ := filepath.Glob(filepath.Join(filepath.Dir(debs[debPackages[0]]), "*.changes"))
		require.Len(t, changes, 1, "want one .changes file beside the packages, found %v", changes)
		r := run(t, command{limit: lintTimeout}, lintian, "--fail-on", "error", "--info", changes[0])
		t.Logf("lintian:\n%s", r.out)
		assert.NoError(t, r.err, "lintian reports errors")
	})

	// From here on the system is changed: undo it whatever happens.
	t.Cleanup(func() {
		os.Remove(filepath.Join("/etc/pam.d", pamService))
		purge(t, tools["dpkg"])
	})
	out := mustRun(t, command{limit: installTimeout, env: []string{"DEBIAN_FRONTEND=noninteractive"}},
		tools["dpkg"], "-i", debs["libpam-duo-go"], debs["login-duo-go"])
	t.Logf("dpkg -i:\n%s", out)

	t.Run("files", func(t *testing.T) { checkInstalledFiles(t, tools["dpkg-query"], files) })
	t.Run("conffiles", func(t *testing.T) { checkConffiles(t, tools["dpkg-query"]) })
	t.Run("pam-auth-update", func(t *testing.T) { checkProfileRegistered(t) })
	t.Run("profile-enabled", func(t *testing.T) { checkProfileWhenEnabled(t) })
	t.Run("helper", func(t *testing.T) {
		out := mustRun(t, command{}, "/usr/sbin/login_duo_go", "-v")
		assert.True(t, strings.HasPrefix(out, "login_duo_go "), "login_duo_go -v printed %q, want its version", out)
	})
	t.Run("login", func(t *testing.T) { checkLoginsThroughInstalledModule(t, tools["pamtester"]) })
	t.Run("unedited-config", func(t *testing.T) { checkShippedConfigRefuses(t, tools["pamtester"]) })
	t.Run("account", func(t *testing.T) { checkAccount(t, hostAccount(t)) })
	t.Run("account-by-postinst", func(t *testing.T) {
		// The machine may have had the account before the install: run
		// the installed postinst twice in a private /etc without it.
		out := inPrivateEtc(t, "/", "userdel "+accountName+" 2>/dev/null || true\ngroupdel "+accountName+" 2>/dev/null || true\n"+
			showAccount("none")+
			"sh -e /var/lib/dpkg/info/login-duo-go.postinst configure\n"+showAccount("first")+
			"sh -e /var/lib/dpkg/info/login-duo-go.postinst configure\n"+showAccount("second"))
		t.Logf("login-duo-go.postinst configure, twice:\n%s", out)
		assert.Equal(t, account{}, parseAccount(t, out, "none"))
		first := parseAccount(t, out, "first")
		checkAccount(t, first)
		assert.Equal(t, first, parseAccount(t, out, "second"), "a second configure changed the account")
	})
	t.Run("second-install", func(t *testing.T) {
		before := snapshot(t, files)
		account := hostAccount(t)
		out := mustRun(t, command{limit: installTimeout, env: []string{"DEBIAN_FRONTEND=noninteractive"}},
			tools["dpkg"], "-i", debs["libpam-duo-go"], debs["login-duo-go"])
		t.Logf("dpkg -i, again:\n%s", out)
		assert.Equal(t, account, hostAccount(t), "the account changed on a second install")
		assert.Equal(t, before, snapshot(t, files), "installed files changed on a second install")
	})

	out = mustRun(t, command{limit: installTimeout, env: []string{"DEBIAN_FRONTEND=noninteractive"}},
		tools["dpkg"], append([]string{"--purge"}, debPackages...)...)
	t.Logf("dpkg --purge:\n%s", out)
	checkNothingLeft(t, tools, files)
	t.Run("no-diversion-left", func(t *testing.T) {
		// postinst diverts duo-unix's /etc/duo conffiles; postrm must
		// take the diversions away.
		divert := requireTools(t, "the diversion check", "dpkg-divert")["dpkg-divert"]
		assert.Empty(t, strings.TrimSpace(mustRun(t, command{}, divert, "--list", "/etc/duo/*")))
	})
	// Debian policy: a system account may outlive the package.
	t.Run("account-kept", func(t *testing.T) { checkAccount(t, hostAccount(t)) })
}

// snapshot returns each file's mode, owner, modification time and content
// digest, to compare before and after a step that must change nothing.
func snapshot(t *testing.T, files []installedFile) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range files {
		info, err := os.Lstat(f.path)
		if err != nil {
			m[f.path] = err.Error()
			continue
		}
		data, _ := os.ReadFile(f.path)
		st := info.Sys().(*syscall.Stat_t)
		m[f.path] = fmt.Sprintf("%04o %d:%d %d %x", st.Mode&0o7777, st.Uid, st.Gid, info.ModTime().UnixNano(), sha256.Sum256(data))
	}
	return m
}

// refuseToTouchExistingSetup skips the test when the machine already has
// pam_duo_go installed or configured: the test would purge it, or dpkg
// would delete an administrator's /etc/duo files.
func refuseToTouchExistingSetup(t *testing.T, files []installedFile) {
	t.Helper()
	for _, pkg := range debPackages {
		r := run(t, command{}, "dpkg-query", "-W", "-f=${Status}", pkg)
		if r.err == nil && strings.Contains(r.out, "installed") && !strings.Contains(r.out, "not-installed") {
			t.Skipf("skipping: %s is installed on this machine (%s); the test would purge it", pkg, strings.TrimSpace(r.out))
		}
	}
	for _, p := range []string{"/etc/duo/pam_duo.conf", "/etc/duo/login_duo.conf", filepath.Join("/etc/pam.d", pamService)} {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("skipping: %s exists; the test would overwrite or purge it", p)
		}
	}
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			t.Skipf("skipping: %s exists (a hand installation?); the test would remove it", f.path)
		}
	}
	for _, p := range commonPAMFiles(t) {
		data, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(data), "pam_duo_go") {
			t.Skipf("skipping: %s already uses pam_duo_go", p)
		}
	}
}

// debBuild holds the packages built by the first test that needs them:
// each run builds them once (TestMain removes the directory).
var debBuild struct {
	sync.Mutex
	dir  string            // where they were built; "" before the first build
	debs map[string]string // package name -> .deb
	err  string            // why the build failed
}

// buildDebs returns each package's .deb by name, building them on the
// first call: it copies the source tree into a temporary directory and
// runs dpkg-buildpackage there.
func buildDebs(t *testing.T) map[string]string {
	t.Helper()
	debBuild.Lock()
	defer debBuild.Unlock()
	require.Empty(t, debBuild.err, "an earlier build of the packages failed")
	if debBuild.debs == nil {
		work, err := os.MkdirTemp("", "pam_duo_go-debs-")
		require.NoError(t, err)
		debBuild.dir = work
		debs, why := buildDebsIn(t, work)
		debBuild.err = why
		require.Empty(t, why, "building the packages failed")
		debBuild.debs = debs
	}
	return debBuild.debs
}

// buildDebsIn builds the packages in work and returns them, or why not.
func buildDebsIn(t *testing.T, work string) (map[string]string, string) {
	t.Helper()
	src := filepath.Join(work, "src")
	if err := copyTree(e2e.RepoRoot(t), src); err != nil {
		return nil, fmt.Sprintf("copying the source tree: %v", err)
	}
	r := run(t, command{dir: src, env: buildEnv(t), limit: buildTimeout},
		"dpkg-buildpackage", "-us", "-uc", "-b")
	if r.err != nil {
		return nil, fmt.Sprintf("dpkg-buildpackage -us -uc -b: %v\n%s", r.err, tail(r.out, 100))
	}
	t.Logf("dpkg-buildpackage:\n%s", tail(r.out, 25))
	debs := map[string]string{}
	for _, pkg := range debPackages {
		m, _ := filepath.Glob(filepath.Join(work, pkg+"_*.deb"))
		if len(m) != 1 {
			return nil, fmt.Sprintf("want one %s_*.deb from the build, found %v", pkg, m)
		}
		debs[pkg] = m[0]
	}
	return debs, ""
}

// checkInstalledFiles checks each file's type, mode and owner, that dpkg
// knows which package it belongs to, and that the packages install nothing
// else outside the documentation.
func checkInstalledFiles(t *testing.T, dpkgQuery string, files []installedFile) {
	want := map[string]installedFile{}
	for _, f := range files {
		if !f.byScript {
			want[f.path] = f
		}
		info, err := os.Lstat(f.path)
		if !assert.NoError(t, err, f.path) {
			continue
		}
		st := info.Sys().(*syscall.Stat_t)
		assert.True(t, info.Mode().IsRegular(), "%s: not a regular file (%v)", f.path, info.Mode())
		got := st.Mode & 0o7777
		assert.Equal(t, f.mode, got, "%s: mode %04o, want %04o", f.path, got, f.mode)
		assert.Zero(t, st.Uid, "%s: owner %d:%d, want root:root (0:0)", f.path, st.Uid, st.Gid)
		assert.Zero(t, st.Gid, "%s: owner %d:%d, want root:root (0:0)", f.path, st.Uid, st.Gid)
	}
	for _, pkg := range debPackages {
		out := mustRun(t, command{}, dpkgQuery, "-L", pkg)
		for _, p := range strings.Split(strings.TrimSpace(out), "\n") {
			info, err := os.Stat(p) // follows /lib -> usr/lib on merged-/usr systems
			if !assert.NoError(t, err, "%s lists %s, which is missing", pkg, p) {
				continue
			}
			if info.IsDir() || strings.HasPrefix(p, "/usr/share/doc/") || strings.HasPrefix(p, "/usr/share/lintian/overrides/") {
				continue
			}
			f, ok := want[p]
			if assert.True(t, ok, "%s installs %s, which the test does not expect", pkg, p) {
				assert.Equal(t, f.pkg, pkg, "%s is in %s, want it in %s", p, pkg, f.pkg)
			}
			delete(want, p)
		}
	}
	for p, f := range want {
		assert.Fail(t, "a file dpkg does not list", "%s is not listed by dpkg -L %s", p, f.pkg)
	}
	// Both configuration files are root only, and so is /etc/duo's content.
	info, err := os.Stat("/etc/duo")
	require.NoError(t, err, "/etc/duo")
	st := info.Sys().(*syscall.Stat_t)
	assert.Equal(t, uint32(0o755), st.Mode&0o7777, "/etc/duo: mode %04o owner %d, want 0755 root", st.Mode&0o7777, st.Uid)
	assert.Zero(t, st.Uid, "/etc/duo: mode %04o owner %d, want 0755 root", st.Mode&0o7777, st.Uid)
}

// checkConffiles checks that neither package has conffiles: the
// /etc/duo configuration files are created by postinst, so dpkg never
// clashes with duo_unix's conffiles of the same name nor asks about them.
func checkConffiles(t *testing.T, dpkgQuery string) {
	for _, pkg := range debPackages {
		out := mustRun(t, command{}, dpkgQuery, "-W", "-f=${Conffiles}\n", pkg)
		assert.Empty(t, strings.TrimSpace(out), "%s: conffiles %q, want none", pkg, strings.TrimSpace(out))
	}
}

// commonPAMFiles returns the /etc/pam.d/common-* files.
func commonPAMFiles(t testing.TB) []string {
	m, err := filepath.Glob("/etc/pam.d/common-*")
	require.NoError(t, err)
	return m
}

// checkProfileRegistered checks what postinst did with the pam-auth-update
// profile: known to pam-auth-update, but not enabled (Default: no).
func checkProfileRegistered(t *testing.T) {
	seen, err := os.ReadFile("/var/lib/pam/seen")
	require.NoError(t, err, "pam-auth-update's state")
	assert.Contains(t, strings.Fields(string(seen)), "duo-go", "/var/lib/pam/seen does not list duo-go after install (postinst did not run pam-auth-update --package?):\n%s", seen)
	for _, p := range commonPAMFiles(t) {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.NotContains(t, string(data), "pam_duo_go", "%s uses pam_duo_go right after install; the profile must be off by default:\n%s", p, data)
	}
}

// checkProfileWhenEnabled enables the profile inside a private mount
// namespace over copies of /etc/pam.d, /var/lib/pam and debconf's database,
// and checks that common-auth then runs pam_duo_go after a successful
// password check. The real files are never touched.
func checkProfileWhenEnabled(t *testing.T) {
	unshare := requireTools(t, "enabling the profile in a private mount namespace", "unshare", "cp")["unshare"]
	dir := t.TempDir()
	binds := [][2]string{
		{"/etc/pam.d", filepath.Join(dir, "pam.d")},
		{"/var/lib/pam", filepath.Join(dir, "varlibpam")},
		{"/var/cache/debconf", filepath.Join(dir, "debconf")},
	}
	script := "set -e\n"
	for _, b := range binds {
		mustRun(t, command{}, "cp", "-a", b[0], b[1])
		script += fmt.Sprintf("mount --bind %q %q\n", b[1], b[0])
	}
	script += "pam-auth-update --enable duo-go\ncat /etc/pam.d/common-auth\n"
	out := mustRun(t, command{env: []string{"DEBIAN_FRONTEND=noninteractive"}},
		unshare, "--mount", "--propagation", "private", "sh", "-c", script)
	var stack []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "auth" {
			stack = append(stack, strings.Join(f[1:], " "))
		}
	}
	duo := slices.IndexFunc(stack, func(s string) bool { return strings.HasPrefix(s, "requisite pam_duo_go.so") })
	unix := slices.IndexFunc(stack, func(s string) bool { return strings.Contains(s, "pam_unix.so") })
	permit := slices.IndexFunc(stack, func(s string) bool { return s == "required pam_permit.so" })
	got := fmt.Sprintf("with the profile enabled, common-auth's auth stack is %q; want requisite pam_duo_go.so after pam_unix and the primary block's pam_permit\n%s", stack, out)
	assert.NotEqual(t, -1, duo, "no requisite pam_duo_go.so: %s", got)
	assert.NotEqual(t, -1, unix, "no pam_unix.so: %s", got)
	assert.NotEqual(t, -1, permit, "no required pam_permit.so: %s", got)
	assert.Greater(t, duo, unix, "pam_duo_go.so before pam_unix.so: %s", got)
	assert.Greater(t, duo, permit, "pam_duo_go.so before pam_permit.so: %s", got)
	for _, p := range commonPAMFiles(t) {
		data, _ := os.ReadFile(p)
		assert.NotContains(t, string(data), "pam_duo_go", "%s changed outside the private namespace", p)
	}
}

// checkLoginsThroughInstalledModule runs the installed module (found by
// its bare name in /etc/pam.d, so the one dpkg put in the security
// directory) through pamtester against the mock Duo server, in process
// and through the installed login_duo_go pam-worker. failmode = secure
// makes any failure to reach or use the mock a failure of the login.
func checkLoginsThroughInstalledModule(t *testing.T, pamtester string) {
	srv := duotest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}})
	conf := filepath.Join(t.TempDir(), "pam_duo.conf")
	require.NoError(t, srv.WriteConfig(conf, map[string]string{"failmode": "secure", "prompts": "1"}), "writing the mock's config")

	for _, tc := range []struct {
		name   string
		args   string
		answer string
		ok     bool
	}{
		{"in-process/passcode", "", "123456", true},
		{"exec/passcode", "mode=exec", "123456", true},
		{"in-process/wrong-passcode", "", "654321", false},
		{"exec/wrong-passcode", "mode=exec", "654321", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			service := fmt.Sprintf("auth required pam_duo_go.so conf=%s %s\naccount required pam_permit.so\n", conf, tc.args)
			require.NoError(t, os.WriteFile(filepath.Join("/etc/pam.d", pamService), []byte(service), 0o644))
			srv.Reset()
			r := run(t, command{stdin: tc.answer + "\n"}, pamtester, "-v", pamService, "root", "authenticate")
			t.Logf("pamtester (%s):\n%s", strings.TrimSpace(service), r.out)
			// The decision must be Duo's: the passcode reached the mock.
			sent := false
			for _, req := range srv.RequestsTo("/auth/v2/auth") {
				if req.Params.Get("passcode") == tc.answer {
					sent = true
				}
			}
			assert.True(t, sent, "the mock Duo server got no auth request with passcode %s; requests: %v", tc.answer, srv.Requests())
			if tc.ok {
				if assert.NoError(t, r.err, "login with the right passcode failed") {
					assert.Contains(t, r.out, "successfully authenticated", "pamtester exited 0 without reporting success")
				}
			} else {
				assert.Equal(t, 1, r.code, "login with a wrong passcode: exit %d (%v), want pamtester's failure status 1", r.code, r.err)
				assert.NotContains(t, r.out, "successfully authenticated", "login with a wrong passcode succeeded")
			}
		})
	}
}

// checkShippedConfigRefuses enables the installed module with the
// installed, unedited /etc/duo/pam_duo.conf (placeholder skey and host,
// failmode = safe): an administrator who switches Duo on before filling in
// the keys gets refused logins, not logins without a second factor.
func checkShippedConfigRefuses(t *testing.T, pamtester string) {
	for _, args := range []string{"", "mode=exec"} {
		t.Run("args="+args, func(t *testing.T) {
			service := fmt.Sprintf("auth required pam_duo_go.so %s\naccount required pam_permit.so\n", args)
			require.NoError(t, os.WriteFile(filepath.Join("/etc/pam.d", pamService), []byte(service), 0o644))
			r := run(t, command{stdin: "\n"}, pamtester, "-v", pamService, "root", "authenticate")
			t.Logf("pamtester (%s):\n%s", strings.TrimSpace(service), r.out)
			assert.Equal(t, 1, r.code, "the unedited shipped config: exit %d (%v), want pamtester's failure status 1", r.code, r.err)
			assert.NotContains(t, r.out, "successfully authenticated", "the unedited shipped config: a login without Duo")
			// "Error in service module" is pam_strerror(PAM_SERVICE_ERR).
			assert.Contains(t, r.out, "Error in service module", "want PAM_SERVICE_ERR (a configuration error), pamtester said %q", r.out)
		})
	}
}

// purge removes both packages with their configuration (cleanup; a
// failure is reported, not fatal).
func purge(t *testing.T, dpkg string) {
	r := run(t, command{limit: installTimeout, env: []string{"DEBIAN_FRONTEND=noninteractive"}},
		dpkg, append([]string{"--purge"}, debPackages...)...)
	assert.NoError(t, r.err, "cleanup: dpkg --purge\n%s", r.out)
}

// checkNothingLeft checks that the purge removed every file, directory,
// conffile, maintainer script, the profile's registration and any
// statoverride.
func checkNothingLeft(t *testing.T, tools map[string]string, files []installedFile) {
	for _, pkg := range debPackages {
		r := run(t, command{}, tools["dpkg-query"], "-W", "-f=${Status}", pkg)
		if r.err == nil { // dpkg-query fails for a package it no longer knows
			assert.Contains(t, r.out, "not-installed", "%s after purge: status %q", pkg, r.out)
		}
		m, _ := filepath.Glob("/var/lib/dpkg/info/" + pkg + ".*")
		assert.Empty(t, m, "dpkg still has files for %s: %v", pkg, m)
	}
	left := []string{"/etc/duo", filepath.Dir(files[1].path)}
	for _, f := range files {
		left = append(left, f.path)
	}
	for _, p := range left {
		_, err := os.Lstat(p)
		assert.Error(t, err, "%s is still there after purge", p)
	}
	if seen, err := os.ReadFile("/var/lib/pam/seen"); err == nil {
		assert.NotContains(t, strings.Fields(string(seen)), "duo-go", "/var/lib/pam/seen still lists duo-go after purge (prerm did not run pam-auth-update --remove?)")
	}
	for _, p := range commonPAMFiles(t) {
		data, _ := os.ReadFile(p)
		assert.NotContains(t, string(data), "pam_duo_go", "%s still uses pam_duo_go after purge", p)
	}
	// --list exits 1 when there is no override at all: only the output counts.
	r := run(t, command{}, tools["dpkg-statoverride"], "--list")
	assert.NotContains(t, r.out, "login_duo_go", "statoverrides left after purge:\n%s", r.out)
	assert.NotContains(t, r.out, "/etc/duo", "statoverrides left after purge:\n%s", r.out)
}
