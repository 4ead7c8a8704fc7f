package pkgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// accountName is the system account login_duo_go's network child runs as.
const accountName = "_pam_duo_go"

// account is the account's passwd and group entries, as getent prints them
// ("" when missing).
type account struct {
	passwd, group string
}

// hostAccount reads the account from this machine's user database.
func hostAccount(t *testing.T) account {
	t.Helper()
	return account{
		passwd: strings.TrimSpace(run(t, command{}, "getent", "passwd", accountName).out),
		group:  strings.TrimSpace(run(t, command{}, "getent", "group", accountName).out),
	}
}

// checkAccount checks that a is a system account with its own group, no
// usable login shell and no home.
func checkAccount(t *testing.T, a account) {
	t.Helper()
	pw := strings.Split(a.passwd, ":")
	gr := strings.Split(a.group, ":")
	require.Len(t, pw, 7, "getent passwd %s: %q", accountName, a.passwd)
	require.Len(t, gr, 4, "getent group %s: %q", accountName, a.group)
	assert.Equal(t, accountName, pw[0])
	uid, err := strconv.Atoi(pw[2])
	require.NoError(t, err)
	assert.True(t, uid > 0 && uid < 1000, "uid %d is not a system uid", uid)
	assert.Equal(t, gr[2], pw[3], "the account's primary group is not %s", accountName)
	assert.Empty(t, gr[3], "group %s has other members", accountName)
	assert.Contains(t, []string{"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}, pw[6], "login shell")
	assert.Equal(t, "/nonexistent", pw[5], "home directory")
	_, err = os.Stat(pw[5])
	assert.True(t, os.IsNotExist(err), "the home directory %s exists", pw[5])
}

// inPrivateEtc runs script with sh in a private mount namespace where /etc
// is a copy of the real one, so that it may add users and groups without
// touching the machine. It returns the script's output.
func inPrivateEtc(t *testing.T, dir, script string) string {
	t.Helper()
	unshare := requireTools(t, "a private /etc", "unshare", "cp")["unshare"]
	etc := filepath.Join(t.TempDir(), "etc")
	full := fmt.Sprintf("set -e\ncp -a /etc %q\nmount --bind %q /etc\n%s", etc, etc, script)
	return mustRun(t, command{dir: dir}, unshare, "--mount", "--propagation", "private", "sh", "-c", full)
}

// parseAccount reads the two getent lines a private-/etc script printed
// after the marker line "== name".
func parseAccount(t *testing.T, out, name string) account {
	t.Helper()
	_, after, ok := strings.Cut(out, "== "+name+"\n")
	require.True(t, ok, "no %q in:\n%s", name, out)
	lines := strings.SplitN(after, "\n", 3)
	require.GreaterOrEqual(t, len(lines), 2, "output after %q: %q", name, after)
	return account{passwd: lines[0], group: lines[1]}
}

// showAccount prints the marker and the account's getent lines.
func showAccount(name string) string {
	return fmt.Sprintf("echo '== %s'; getent passwd %s || echo; getent group %s || echo\n", name, accountName, accountName)
}

// TestMakeInstallAccount runs the Makefile's account step twice in a
// private /etc: the first run creates _pam_duo_go, the second changes
// nothing; and make install runs it only when DESTDIR is empty.
func TestMakeInstallAccount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating a system account (in a private /etc) needs root")
	}
	requireTools(t, "the account step", "make", "useradd", "groupadd", "getent")
	root := e2e.RepoRoot(t)
	before := hostAccount(t)
	out := inPrivateEtc(t, root, "userdel "+accountName+" 2>/dev/null || true\ngroupdel "+accountName+" 2>/dev/null || true\n"+
		showAccount("none")+
		"make -s install-account\n"+showAccount("first")+
		"make -s install-account\n"+showAccount("second"))
	t.Logf("make install-account, twice:\n%s", out)
	assert.Equal(t, account{}, parseAccount(t, out, "none"), "the account was still there before the first run")
	first := parseAccount(t, out, "first")
	checkAccount(t, first)
	assert.Equal(t, first, parseAccount(t, out, "second"), "the second run changed the account")
	assert.Contains(t, out, "install: system account "+accountName+" exists")
	assert.Equal(t, before, hostAccount(t), "the machine's own user database changed")

	// make -n prints install's commands; the recursive $(MAKE) line runs
	// with -n too, so nothing is installed.
	withDestdir := mustRun(t, command{dir: root}, "make", "-n", "install", "DESTDIR=/nonexistent/destdir", "BUILD=/nonexistent/build")
	assert.NotContains(t, withDestdir, "useradd", "make install DESTDIR=... would create the account")
	system := mustRun(t, command{dir: root}, "make", "-n", "install", "DESTDIR=", "BUILD=/nonexistent/build")
	assert.Contains(t, system, "useradd", "make install (DESTDIR empty) would not create the account")
}
