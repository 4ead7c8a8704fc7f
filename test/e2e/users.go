package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// userPrefix starts the name of every user CreateUser makes, so that test
// users never collide with real ones (and are easy to spot).
const userPrefix = "pdgt-"

// User is a local account made by CreateUser.
type User struct {
	Name     string
	Password string
	UID      string
	Home     string
}

var userNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// CreateUser makes a local user (useradd -m -s /bin/sh, password set with
// chpasswd) named userPrefix + name + a random suffix, and removes it with
// userdel -r in t.Cleanup. name is 1 to 16 lowercase letters and digits.
func CreateUser(t testing.TB, name, password string) *User {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "useradd")
	RequireBinary(t, "userdel")
	RequireBinary(t, "chpasswd")
	require.True(t, userNameRE.MatchString(name), "CreateUser: name %q: want 1 to 16 lowercase letters and digits, starting with a letter", name)
	require.False(t, strings.ContainsAny(password, ":\n") || password == "", "CreateUser: the password must be non-empty, without ':' or newlines")
	suffix := make([]byte, 3)
	_, err := rand.Read(suffix)
	require.NoError(t, err)
	full := userPrefix + name + "-" + hex.EncodeToString(suffix)

	err = retryLocked(func() (string, error) {
		return runBounded(30*time.Second, "useradd", "-m", "-s", "/bin/sh", "-c", "pam_duo_go e2e test user", full)
	})
	require.NoError(t, err, "useradd %s", full)
	t.Cleanup(func() {
		err := retryLocked(func() (string, error) {
			return runBounded(30*time.Second, "userdel", "-r", "-f", full)
		})
		assert.NoError(t, err, "userdel %s", full)
	})
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(full + ":" + password + "\n")
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "chpasswd %s\n%s", full, out)
	u, err := user.Lookup(full)
	require.NoError(t, err, "looking up the new user %s", full)
	return &User{Name: full, Password: password, UID: u.Uid, Home: u.HomeDir}
}

// retryLocked runs a shadow-utils command, retrying (bounded) while
// another process holds the password file lock.
func retryLocked(run func() (string, error)) error {
	var out string
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		out, err = run()
		if err == nil {
			return nil
		}
		if !strings.Contains(out, "lock") {
			break
		}
		time.Sleep(time.Duration(200*(attempt+1)) * time.Millisecond)
	}
	return fmt.Errorf("%w\n%s", err, out)
}

// serviceAccount is the system account that login_duo_go's Duo child
// runs as; the packages and make install create it.
const serviceAccount = "_pam_duo_go"

// EnsureServiceAccount creates serviceAccount as the packages do when it
// does not exist yet (it is left in place: it is part of an install, and
// other tests may be using it) and returns its uid and gid.
func EnsureServiceAccount(t testing.TB) (uid, gid int) {
	t.Helper()
	RequireRoot(t)
	if _, err := user.Lookup(serviceAccount); err != nil {
		RequireBinary(t, "useradd")
		err := retryLocked(func() (string, error) {
			return runBounded(30*time.Second, "useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
				"--shell", "/usr/sbin/nologin", "--user-group", serviceAccount)
		})
		// Another test binary may have made it meanwhile.
		_, lerr := user.Lookup(serviceAccount)
		require.NoError(t, lerr, "useradd %s: %v; then looking it up", serviceAccount, err)
	}
	u, err := user.Lookup(serviceAccount)
	require.NoError(t, err)
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	require.False(t, err1 != nil || err2 != nil, "%s: bad uid/gid %q/%q", serviceAccount, u.Uid, u.Gid)
	return uid, gid
}
