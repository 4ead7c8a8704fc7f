package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testAccount is a local user created for the tests (root only).
type testAccount struct {
	name     string
	uid, gid int
}

var (
	testUserOnce sync.Once
	testUserAcct testAccount
	testUserErr  error
	testUserMade bool
)

// testUser returns a throwaway local account, created with useradd on
// first use and removed when the tests end. It skips the test when not
// root or when useradd is missing.
func testUser(t *testing.T) testAccount {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("creating a test user needs root")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd not installed")
	}
	testUserOnce.Do(func() {
		name := fmt.Sprintf("ldgo%d", os.Getpid()%100000)
		out, err := exec.Command("useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", name).CombinedOutput()
		if err != nil {
			testUserErr = fmt.Errorf("useradd %s: %v: %s", name, err, out)
			return
		}
		testUserMade = true
		u, err := user.Lookup(name)
		if err != nil {
			testUserErr = err
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		testUserAcct = testAccount{name: name, uid: uid, gid: gid}
	})
	require.NoError(t, testUserErr)
	return testUserAcct
}

// removeTestUser deletes the account testUser made, if any.
func removeTestUser() {
	if testUserMade {
		if out, err := exec.Command("userdel", testUserAcct.name).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "userdel %s: %v: %s\n", testUserAcct.name, err, out)
		}
	}
}
