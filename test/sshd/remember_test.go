package sshd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// sshKey makes an ed25519 key pair in dir and returns the private key's
// path, the public key line and its fingerprint as ssh-keygen prints it.
func sshKey(t *testing.T, dir, name string) (key, pub, fp string) {
	t.Helper()
	key = filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
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
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(keys) })
			if err := os.Chmod(keys, 0o755); err != nil {
				t.Fatal(err)
			}
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
			if err := os.WriteFile(filepath.Join(keys, u.Name), []byte(pubA+pubB), 0o644); err != nil {
				t.Fatal(err)
			}
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
				if err != nil {
					t.Fatalf("ssh: %v", err)
				}
				return res
			}

			if res := login(keyA, goodPasscode); !res.LoggedIn() {
				t.Fatalf("first login failed:\n%s\n%s", res.Summary(), describeRequests(env.Mock))
			}
			data, err := os.ReadFile(filepath.Join(state, "u."+u.Name))
			if err != nil {
				t.Fatalf("nothing remembered: %v", err)
			}
			if !strings.Contains(string(data), `"key":"`+fpA+`"`) {
				t.Errorf("the scope lacks ssh-keygen's fingerprint %s of the key:\n%s", fpA, data)
			}
			before := len(requests(env.Mock, "/auth/v2/preauth", u.Name))
			if res := login(keyA); !res.LoggedIn() {
				t.Fatalf("second login (same key, same address) failed:\n%s\n%s", res.Summary(), describeRequests(env.Mock))
			}
			if n := len(requests(env.Mock, "/auth/v2/preauth", u.Name)); n != before {
				t.Errorf("the remembered login asked Duo (%d preauths, had %d)", n, before)
			}
			// Another key: Duo's menu, which this client cannot answer.
			if res, err := try(keyB); err == nil || !strings.Contains(err.Error(), "Passcode or option") || res.LoggedIn() {
				t.Errorf("another key: want Duo's menu, got %v\n%s", err, res.Summary())
			}
			if res := login(keyB, goodPasscode); !res.LoggedIn() {
				t.Errorf("another key with Duo failed:\n%s", res.Summary())
			}
		})
	}
}
