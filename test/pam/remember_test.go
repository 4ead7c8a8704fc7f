package pamtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// Public keys as sshd puts them in SSH_AUTH_INFO_0 (ExposeAuthInfo yes).
const (
	authInfoA = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv3yRk3cJpQ0Cq2uY0mJ6g2tqWm9p2b4l9rM9yA3cX1\n"
	authInfoB = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq0n8m0c3kq3Yx9m1B8m6f2o3J8xqk8r1Zt2w4v5u6Q\n"
)

// rememberEnv is a mock Duo, a config with remember, and a private state
// directory passed to the real module with remember_dir=.
type rememberEnv struct {
	art        e2e.Artifacts
	dir, state string
	s          *duotest.Server
}

func newRememberEnv(t *testing.T, users ...duotest.User) *rememberEnv {
	e := &rememberEnv{art: e2e.BuildArtifacts(t), dir: t.TempDir(), s: duotest.NewServer()}
	t.Cleanup(e.s.Close)
	e.state = filepath.Join(e.dir, "remember")
	for _, u := range users {
		e.s.AddUser(u)
	}
	writeConfig(t, e.s, filepath.Join(e.dir, "pam_duo.conf"), map[string]string{"remember": "1h"})
	return e
}

// service writes the PAM service file: the module with the extra
// arguments args.
func (e *rememberEnv) service(t *testing.T, service, args string) {
	stack := e.art.AuthLine("required", filepath.Join(e.dir, "pam_duo.conf"), e2e.Mode{}, "remember_dir="+e.state, args) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, service), []byte(stack), 0o644))
}

// login runs one pam_authenticate of root through the service with the
// given PAM_RHOST and SSH_AUTH_INFO_0; it returns the error, what the
// user saw and the requests Duo received meanwhile.
func (e *rememberEnv) login(t *testing.T, service, rhost, authInfo string, answers ...string) (string, []duotest.Request, error) {
	conv := &transcript{answers: answers}
	tx, err := pam.StartConfDir(service, "root", conv, e.dir)
	require.NoError(t, err)
	require.NoError(t, tx.SetItem(pam.Rhost, rhost))
	if authInfo != "" {
		require.NoError(t, tx.PutEnv("SSH_AUTH_INFO_0="+authInfo))
	}
	before := len(e.s.Requests())
	err = authenticate(t, tx, 0, func() string { return strings.Join(conv.seen, "\n") })
	require.NoError(t, tx.End())
	return strings.Join(conv.seen, "\n"), e.s.Requests()[before:], err
}

// TestRememberedApprovals runs the remember key's scenarios through libpam and the
// real module, in process and with mode=exec (the worker).
func TestRememberedApprovals(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the state and the configs are root's")
	}
	root := duotest.User{Name: "root", Passcodes: []string{"123456"}}
	for _, mode := range []string{"", "mode=exec"} {
		t.Run("local "+mode, func(t *testing.T) {
			e := newRememberEnv(t, root)
			e.service(t, "duo-rem", mode)
			e.service(t, "duo-rem2", mode)
			seen, reqs, err := e.login(t, "duo-rem", "198.51.100.7", authInfoA, "123456")
			require.NoError(t, err, seen)
			require.Len(t, reqs, 2, "a full login: preauth and auth")

			seen, reqs, err = e.login(t, "duo-rem", "198.51.100.7", authInfoA)
			require.NoError(t, err, seen)
			assert.Empty(t, reqs, "the same scope within remember: no request to Duo")
			assert.NotContains(t, seen, "PROMPT", "and no prompt")

			for _, other := range []struct{ name, service, rhost, info string }{
				{"another key", "duo-rem", "198.51.100.7", authInfoB},
				{"no key", "duo-rem", "198.51.100.7", ""},
				{"another IP", "duo-rem", "198.51.100.8", authInfoA},
				{"another service", "duo-rem2", "198.51.100.7", authInfoA},
			} {
				seen, reqs, err = e.login(t, other.service, other.rhost, other.info)
				assert.ErrorIs(t, err, pam.ErrAbort, "%s: a full login, which asks (no answer: aborted)\n%s", other.name, seen)
				assert.Contains(t, seen, "PROMPT: Duo two-factor login for root", other.name)
				assert.Len(t, reqs, 1, "%s: a preauth without a token", other.name)
			}

			// Tampered state: open to others. Ignored, never an allow.
			require.NoError(t, os.Chmod(filepath.Join(e.state, "u.root"), 0o644))
			seen, _, err = e.login(t, "duo-rem", "198.51.100.7", authInfoA)
			assert.ErrorIs(t, err, pam.ErrAbort, seen)
			assert.Contains(t, seen, "PROMPT: Duo two-factor login for root")
		})
		t.Run("Duo's token "+mode, func(t *testing.T) {
			tdt := root
			tdt.TrustedDeviceToken = "TDT-root"
			e := newRememberEnv(t, tdt)
			e.service(t, "duo-rem", mode)
			seen, _, err := e.login(t, "duo-rem", "198.51.100.7", authInfoA, "123456")
			require.NoError(t, err, seen)
			seen, reqs, err := e.login(t, "duo-rem", "198.51.100.7", authInfoA)
			require.NoError(t, err, seen)
			require.Len(t, reqs, 1, "one preauth, with the token")
			assert.Equal(t, "/auth/v2/preauth", reqs[0].Path)
			assert.Equal(t, "TDT-root", reqs[0].Params.Get("trusted_device_token"))
			assert.NotContains(t, seen, "PROMPT")
		})
		t.Run("remember unset "+mode, func(t *testing.T) {
			e := newRememberEnv(t, root)
			e.service(t, "duo-rem", mode)
			writeConfig(t, e.s, filepath.Join(e.dir, "pam_duo.conf"), nil)
			seen, _, err := e.login(t, "duo-rem", "198.51.100.7", authInfoA, "123456")
			require.NoError(t, err, seen)
			seen, reqs, err := e.login(t, "duo-rem", "198.51.100.7", authInfoA)
			assert.ErrorIs(t, err, pam.ErrAbort, seen)
			assert.Len(t, reqs, 1)
			_, statErr := os.Stat(e.state)
			assert.True(t, os.IsNotExist(statErr), "nothing written")
		})
	}
}

// TestRememberConcurrentLogins: logins of one user at once, each from its
// own address, in process and in workers; every approval is kept and the
// state stays readable.
func TestRememberConcurrentLogins(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the state and the configs are root's")
	}
	e := newRememberEnv(t, duotest.User{Name: "root", Passcodes: []string{"123456"}})
	const n = 12
	e.service(t, "duo-c0", "")
	e.service(t, "duo-c1", "mode=exec")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = e.login(t, fmt.Sprintf("duo-c%d", i%2), fmt.Sprintf("198.51.100.%d", i+1), authInfoA, "123456")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "login %d", i)
	}
	for i := range n {
		seen, reqs, err := e.login(t, fmt.Sprintf("duo-c%d", i%2), fmt.Sprintf("198.51.100.%d", i+1), authInfoA)
		assert.NoError(t, err, "login %d: its approval was kept\n%s", i, seen)
		assert.Empty(t, reqs, "login %d", i)
	}
}
