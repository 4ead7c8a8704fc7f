package sshd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sshKey makes an ed25519 key pair in dir and returns the private key's
// path, the public key line and its fingerprint as ssh-keygen prints it.
func sshKey(t *testing.T, dir, name string) (key, pub, fp string) {
	t.Helper()
	key = filepath.Join(dir, name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key).CombinedOutput()
	require.NoError(t, err, "ssh-keygen: %s", out)
	b, err := os.ReadFile(key + ".pub")
	require.NoError(t, err)
	out, err = exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub").Output()
	require.NoError(t, err)
	return key, string(b), strings.Fields(string(out))[1]
}

// TestRememberedByKey: sshd with publickey,keyboard-interactive passes
// the key to PAM in SSH_AUTH_INFO_0; a second login with the same key
// from the same address within remember needs no Duo, another key does.
// The saved scope carries ssh-keygen's own fingerprint of the key.
func TestRememberedByKey(t *testing.T) {
	e2e.RequireBinary(t, "ssh-keygen")
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"remember": "1h"})
			dir := t.TempDir()
			state := filepath.Join(dir, "remember")
			// sshd reads authorized keys as the user: a directory
			// everyone can reach.
			keys, err := os.MkdirTemp("", "pdgt-keys-")
			require.NoError(t, err)
			t.Cleanup(func() { os.RemoveAll(keys) })
			require.NoError(t, os.Chmod(keys, 0o755))
			keyA, pubA, fpA := sshKey(t, dir, "a")
			keyB, pubB, _ := sshKey(t, dir, "b")
			srv := e2e.StartSshd(t, e2e.SshdOptions{
				PAMStack: stack(env.AuthLine("required") + " remember_dir=" + state),
				// The global options turn public keys off; Match
				// overrides them (and AuthenticationMethods must be
				// satisfiable globally at start).
				ExtraConfig: "ExposeAuthInfo yes\nMatch all\n\tPubkeyAuthentication yes\n\tAuthorizedKeysFile " + keys + "/%u\n" +
					"\tAuthenticationMethods publickey,keyboard-interactive\n",
			})
			u := e2e.CreateUser(t, "rem", "Pw-"+randomWord(t))
			require.NoError(t, os.WriteFile(filepath.Join(keys, u.Name), []byte(pubA+pubB), 0o644))
			env.Mock.AddUser(pushUser(u.Name, approvedPush()))
			try := func(key string, answers ...string) (*e2e.SSHResult, error) {
				opts := e2e.SSHOptions{Port: srv.Port, User: u.Name, Respond: e2e.DuoAnswers(answers...), Timeout: loginTimeout,
					PreferredAuthentications: "publickey,keyboard-interactive",
					ExtraArgs:                []string{"-i", key, "-o", "IdentitiesOnly=yes"}}
				// e2e.SSHArgv turns public keys off (ssh keeps the first
				// value of an option): turn them on in its place.
				argv := e2e.SSHArgv(opts)
				for i, a := range argv {
					if a == "PubkeyAuthentication=no" {
						argv[i] = "PubkeyAuthentication=yes"
					}
				}
				tr, err := e2e.RunTerminal(context.Background(), e2e.Terminal{Argv: argv, Respond: opts.Respond, Timeout: loginTimeout})
				res := &e2e.SSHResult{TerminalResult: tr, User: u.Name}
				t.Logf("%s", res.Summary())
				return res, err
			}
			login := func(key string, answers ...string) *e2e.SSHResult {
				res, err := try(key, answers...)
				require.NoError(t, err, "ssh")
				return res
			}

			res := login(keyA, goodPasscode)
			require.True(t, res.LoggedIn(), "first login failed:\n%s\n%s", res.Summary(), describeRequests(env.Mock))
			data, err := os.ReadFile(filepath.Join(state, "u."+u.Name))
			require.NoError(t, err, "nothing remembered")
			assert.Contains(t, string(data), `"key":"`+fpA+`"`, "the scope lacks ssh-keygen's fingerprint %s of the key:\n%s", fpA, data)
			before := len(requests(env.Mock, "/auth/v2/preauth", u.Name))
			res = login(keyA)
			require.True(t, res.LoggedIn(), "second login (same key, same address) failed:\n%s\n%s", res.Summary(), describeRequests(env.Mock))
			assert.Len(t, requests(env.Mock, "/auth/v2/preauth", u.Name), before, "the remembered login asked Duo (preauths, had %d)", before)
			// Another key: Duo's menu, which this client cannot answer.
			res, err = try(keyB)
			if assert.Error(t, err, "another key: want Duo's menu\n%s", res.Summary()) {
				assert.Contains(t, err.Error(), "Passcode or option", "another key: want Duo's menu\n%s", res.Summary())
			}
			assert.False(t, res.LoggedIn(), "another key: want Duo's menu\n%s", res.Summary())
			res = login(keyB, goodPasscode)
			assert.True(t, res.LoggedIn(), "another key with Duo failed:\n%s", res.Summary())
		})
	}
}
