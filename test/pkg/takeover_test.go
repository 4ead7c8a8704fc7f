package pkgtest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The configuration an administrator of duo_unix has: real-looking keys
// that must survive every step of a move to pam_duo_go.
const (
	adminPamConf   = "[duo]\nikey = DIADMINPAMKEY0000001\nskey = admin-pam-secret-0000000000000000000000001\nhost = api-admin.example.invalid\n"
	adminLoginConf = "[duo]\nikey = DIADMINLOGINKEY00002\nskey = admin-login-secret-000000000000000000000002\nhost = api-admin.example.invalid\n"
)

// duoTemplate is the stand-in duo-unix's shipped config (both files).
const duoTemplate = "[duo]\n; Duo integration key\nikey = \n; Duo secret key\nskey = \n; Duo API host\nhost = \n"

// buildStandIn builds a package with the layout of Duo's own duo-unix
// package: both /etc/duo configs as conffiles (mode 0600) holding
// template, pam_duo.so in /lib64/security and /usr/sbin/login_duo. Only
// the layout matters; the module is not a real one.
func buildStandIn(t *testing.T, version, template string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "duo-unix")
	files := map[string]struct {
		mode os.FileMode
		data string
	}{
		"DEBIAN/control": {0o644, "Package: duo-unix\nVersion: " + version + "\nArchitecture: all\n" +
			"Maintainer: pam_duo_go tests <tests@example.invalid>\n" +
			"Description: stand-in with the layout of Duo's duo-unix package (pam_duo_go test)\n"},
		"DEBIAN/conffiles":          {0o644, "/etc/duo/login_duo.conf\n/etc/duo/pam_duo.conf\n"},
		"etc/duo/pam_duo.conf":      {0o600, template},
		"etc/duo/login_duo.conf":    {0o600, template},
		"lib64/security/pam_duo.so": {0o644, "stand-in, not a module\n"},
		"usr/sbin/login_duo":        {0o755, "#!/bin/sh\nexit 1\n"},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(f.data), f.mode))
		require.NoError(t, os.Chmod(p, f.mode))
	}
	deb := dir + ".deb"
	mustRun(t, command{}, "dpkg-deb", "--root-owner-group", "-b", dir, deb)
	return deb
}

// installed reports whether dpkg has pkg installed (not merely its
// configuration files).
func installed(t *testing.T, pkg string) bool {
	t.Helper()
	r := run(t, command{}, "dpkg-query", "-W", "-f=${Status}", pkg)
	return r.err == nil && strings.Contains(r.out, "install ok installed")
}

// known reports whether dpkg knows pkg in any state.
func known(t *testing.T, pkg string) bool {
	t.Helper()
	r := run(t, command{}, "dpkg-query", "-W", "-f=${Status}", pkg)
	return r.err == nil && !strings.Contains(r.out, "not-installed")
}

// requireConfig checks that path holds exactly want, root only.
func requireConfig(t *testing.T, path, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, string(data), "%s changed", path)
	info, err := os.Stat(path)
	require.NoError(t, err)
	st := info.Sys().(*syscall.Stat_t)
	assert.Equal(t, uint32(0o600), st.Mode&0o7777, "%s mode", path)
	assert.Equal(t, [2]uint32{0, 0}, [2]uint32{st.Uid, st.Gid}, "%s owner", path)
}

// inode returns path's inode number.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Sys().(*syscall.Stat_t).Ino
}

// requireLogin logs root in through the PAM service pamService (the
// installed module, reading /etc/duo/pam_duo.conf) with pamtester and
// checks that the mock Duo server srv decided it.
func requireLogin(t *testing.T, pamtester string, srv *duotest.Server) {
	t.Helper()
	srv.Reset()
	r := run(t, command{stdin: "123456\n"}, pamtester, "-v", pamService, "root", "authenticate")
	t.Logf("pamtester:\n%s", r.out)
	require.NoError(t, r.err, "login through /etc/duo/pam_duo.conf failed")
	assert.Contains(t, r.out, "successfully authenticated")
	assert.NotEmpty(t, srv.RequestsTo("/auth/v2/auth"), "the mock Duo server decided nothing")
}

// writeConfig replaces path's content, keeping mode 0600 root.
func writeConfig(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
	require.NoError(t, os.Chmod(path, 0o600))
}

// TestDebianTakeover moves a machine from duo_unix to pam_duo_go the ways
// administrators do, with a stand-in of Duo's duo-unix package built here
// and with Debian's real libpam-duo from the archive, and checks that the
// existing keys are taken over without a prompt and never overwritten or
// purged, that apt-get install -y never stops, and that removing the
// module while /etc/pam.d names it warns.
func TestDebianTakeover(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the takeover test installs and purges packages with dpkg and apt; run it as root")
	}
	tools := requireTools(t, "the takeover test",
		"dpkg-buildpackage", "dh", "dpkg", "dpkg-deb", "dpkg-query", "dpkg-architecture", "apt-get",
		"pam-auth-update", "pamtester", "dpkg-divert", "go", "make", "gcc")
	triplet := strings.TrimSpace(mustRun(t, command{}, tools["dpkg-architecture"], "-qDEB_HOST_MULTIARCH"))
	refuseToTouchExistingSetup(t, debFiles(triplet))
	for _, pkg := range []string{"duo-unix", "libpam-duo", "libduo3", "login-duo"} {
		if known(t, pkg) {
			t.Skipf("skipping: %s is on this machine; the test would purge it", pkg)
		}
	}
	if _, err := os.Lstat("/etc/security/pam_duo.conf"); err == nil {
		t.Skip("skipping: /etc/security/pam_duo.conf exists; the test would purge it")
	}

	debs := buildDebs(t)
	standIn := buildStandIn(t, "2.2.3-0standin", duoTemplate)
	standInUpgrade := buildStandIn(t, "2.2.4-0standin", duoTemplate+"; a new default in 2.2.4\n")
	ours := []string{debs["libpam-duo-go"], debs["login-duo-go"]}
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	dpkg := func(t *testing.T, args ...string) string {
		t.Helper()
		out := mustRun(t, command{limit: installTimeout, env: env}, tools["dpkg"], args...)
		t.Logf("dpkg %s:\n%s", strings.Join(args, " "), out)
		return out
	}
	apt := func(t *testing.T, args ...string) result {
		t.Helper()
		// No stdin and no terminal: a prompt could only fail, never wait.
		r := run(t, command{limit: installTimeout},
			tools["apt-get"], append([]string{"-o", "DPkg::Lock::Timeout=300", "-y"}, args...)...)
		t.Logf("apt-get -y %s:\n%s", strings.Join(args, " "), r.out)
		return r
	}
	t.Cleanup(func() {
		os.Remove(filepath.Join("/etc/pam.d", pamService))
		run(t, command{limit: installTimeout, env: env}, tools["dpkg"], "--purge",
			"libpam-duo-go", "login-duo-go", "duo-unix", "libpam-duo", "libduo3")
		for _, name := range []string{"pam_duo.conf", "login_duo.conf", "pam_duo.conf.duo-unix", "login_duo.conf.duo-unix"} {
			os.Remove(filepath.Join("/etc/duo", name))
		}
		os.Remove("/etc/duo")
	})

	// Duo's duo-unix, installed and configured by the administrator.
	dpkg(t, "-i", standIn)
	writeConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
	writeConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"dpkg-i-over-duo-unix", func(t *testing.T) {
			out := dpkg(t, "-i", ours[0], ours[1])
			assert.Contains(t, out, "using the existing /etc/duo/pam_duo.conf (a conffile of duo-unix")
			requireConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
			requireConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)
			assert.True(t, installed(t, "duo-unix"), "duo-unix was removed: both must coexist during a migration")
			assert.FileExists(t, "/lib64/security/pam_duo.so")
		}},
		{"purge-duo-unix-keeps-keys", func(t *testing.T) {
			// The administrator's keys, edited after the takeover: a
			// real login through the installed module uses them.
			srv := duotest.NewServer()
			t.Cleanup(srv.Close)
			srv.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}})
			mockConf := filepath.Join(t.TempDir(), "pam_duo.conf")
			require.NoError(t, srv.WriteConfig(mockConf, map[string]string{"failmode": "secure", "prompts": "1"}))
			data, err := os.ReadFile(mockConf)
			require.NoError(t, err)
			pamConf := string(data)
			writeConfig(t, "/etc/duo/pam_duo.conf", pamConf)
			service := filepath.Join("/etc/pam.d", pamService)
			require.NoError(t, os.WriteFile(service, []byte("auth required pam_duo_go.so\naccount required pam_permit.so\n"), 0o644))
			defer os.Remove(service)
			requireLogin(t, tools["pamtester"], srv)
			inodes := map[string]uint64{}
			for _, p := range []string{"/etc/duo/pam_duo.conf", "/etc/duo/login_duo.conf"} {
				inodes[p] = inode(t, p)
			}

			out := dpkg(t, "--purge", "duo-unix")
			assert.False(t, known(t, "duo-unix"), "duo-unix was not purged")
			requireConfig(t, "/etc/duo/pam_duo.conf", pamConf)
			requireConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)
			for p, ino := range inodes {
				assert.Equal(t, ino, inode(t, p), "%s was replaced, not left alone", p)
			}
			// The administrator is told, in the purge's own output.
			assert.Contains(t, out, "duo-unix no longer owns /etc/duo/pam_duo.conf (purged); the file was left in place")
			assert.Contains(t, out, "duo-unix no longer owns /etc/duo/login_duo.conf (purged); the file was left in place")
			requireLogin(t, tools["pamtester"], srv)

			// duo-unix again, then a newer duo-unix with a changed
			// template: no conffile prompt (dpkg has no stdin here, so
			// a prompt fails), its template beside the keys in use.
			for _, deb := range []string{standIn, standInUpgrade} {
				out := dpkg(t, "-i", deb)
				assert.NotContains(t, out, "(Y/I/N/O/D/Z)")
				assert.True(t, installed(t, "duo-unix"), "duo-unix is not installed and configured")
				requireConfig(t, "/etc/duo/pam_duo.conf", pamConf)
				requireConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)
				assert.FileExists(t, "/etc/duo/pam_duo.conf.duo-unix")
			}
			requireLogin(t, tools["pamtester"], srv)

			// And purged again, the way apt users do.
			r := apt(t, "purge", "duo-unix")
			require.NoError(t, r.err)
			assert.False(t, known(t, "duo-unix"), "duo-unix was not purged")
			assert.Contains(t, r.out, "duo-unix no longer owns /etc/duo/pam_duo.conf (purged)")
			requireConfig(t, "/etc/duo/pam_duo.conf", pamConf)
			requireConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)
			requireLogin(t, tools["pamtester"], srv)
			// Its templates go with it (dpkg skips diverted conffiles).
			assert.NoFileExists(t, "/etc/duo/pam_duo.conf.duo-unix")
			assert.NoFileExists(t, "/etc/duo/login_duo.conf.duo-unix")

			// For the steps that follow: duo-unix installed, its keys.
			dpkg(t, "-i", standIn)
			writeConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
		}},
		{"purge-keeps-duo-unix-keys", func(t *testing.T) {
			dpkg(t, "--purge", "libpam-duo-go", "login-duo-go")
			requireConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
			requireConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)
			// The diversions went with the packages: duo-unix owns its
			// conffiles again, and its template put aside is gone.
			assert.Empty(t, strings.TrimSpace(mustRun(t, command{}, tools["dpkg-divert"], "--list", "/etc/duo/*")))
			assert.NoFileExists(t, "/etc/duo/pam_duo.conf.duo-unix")
			assert.NoFileExists(t, "/etc/duo/login_duo.conf.duo-unix")
		}},
		{"apt-install-after-apt-remove-duo-unix", func(t *testing.T) {
			r := apt(t, "remove", "duo-unix")
			require.NoError(t, r.err)
			r = apt(t, "install", ours[0], ours[1])
			require.NoError(t, r.err, "apt-get install -y stopped or failed")
			assert.NotContains(t, r.out, "(Y/I/N/O/D/Z)")
			for _, pkg := range debPackages {
				assert.True(t, installed(t, pkg), "%s is not installed and configured", pkg)
			}
			requireConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
			requireConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)
		}},
		{"remove-while-pam-d-uses-it-warns", func(t *testing.T) {
			service := filepath.Join("/etc/pam.d", pamService)
			require.NoError(t, os.WriteFile(service, []byte("auth required pam_duo_go.so\n"), 0o644))
			defer os.Remove(service)
			out := dpkg(t, "-r", "libpam-duo-go")
			assert.Contains(t, out, "WARNING: pam_duo_go.so is being removed")
			assert.Contains(t, out, service)
		}},
		{"purge-keeps-keys-after-duo-unix-removed", func(t *testing.T) {
			dpkg(t, "--purge", "libpam-duo-go", "login-duo-go")
			requireConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
			requireConfig(t, "/etc/duo/login_duo.conf", adminLoginConf)
			dpkg(t, "--purge", "duo-unix") // its conffiles go with it
			assert.NoFileExists(t, "/etc/duo/pam_duo.conf")
		}},
		{"debian-libpam-duo", func(t *testing.T) {
			if r := apt(t, "install", "--no-install-recommends", "libpam-duo"); r.err != nil {
				if os.Getenv("CI") == "true" {
					require.NoError(t, r.err, "apt-get install libpam-duo")
				}
				t.Skipf("skipping: apt-get could not install Debian's libpam-duo: %v", r.err)
			}
			writeConfig(t, "/etc/security/pam_duo.conf", adminPamConf)
			out := dpkg(t, "-i", ours[0], ours[1])
			assert.Contains(t, out, "copied /etc/security/pam_duo.conf")
			requireConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
			requireConfig(t, "/etc/security/pam_duo.conf", adminPamConf)
			// Purging libpam-duo deletes its conffile, not the copy.
			dpkg(t, "--purge", "libpam-duo")
			assert.NoFileExists(t, "/etc/security/pam_duo.conf")
			requireConfig(t, "/etc/duo/pam_duo.conf", adminPamConf)
			// Not duo_unix's: login_duo.conf is this package's placeholder.
			data, err := os.ReadFile("/etc/duo/login_duo.conf")
			require.NoError(t, err)
			assert.Contains(t, string(data), "CHANGE-ME")
			dpkg(t, "--purge", "libpam-duo-go", "login-duo-go")
			requireConfig(t, "/etc/duo/pam_duo.conf", adminPamConf) // a copy of keys: kept
			assert.NoFileExists(t, "/etc/duo/login_duo.conf")       // created here: purged
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.do) {
			break
		}
	}
}
