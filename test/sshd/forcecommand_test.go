package sshd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForceCommandLoginDuo logs users in through a real sshd whose
// ForceCommand is a setuid-root login_duo_go, the way duo_unix's login_duo
// is deployed: the password is pam_unix's, the second factor
// login_duo_go's (headless, as ssh runs a command: one automatic push).
func TestForceCommandLoginDuo(t *testing.T) {
	e2e.RequireRoot(t)
	art := e2e.BuildArtifacts(t)
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	// The config lives in a root-only directory, as /etc/duo is: only a
	// helper that really runs as root can read it.
	conf := filepath.Join(t.TempDir(), "login_duo.conf")
	require.NoError(t, mock.WriteConfig(conf, map[string]string{"failmode": "secure"}))
	helper := setuidHelper(t, art, conf)

	approved := e2e.CreateUser(t, "force", "Pw-"+randomWord(t))
	denied := e2e.CreateUser(t, "forcedeny", "Pw-"+randomWord(t))
	mock.AddUser(pushUser(approved.Name, duotest.PushApproved()))
	mock.AddUser(pushUser(denied.Name, duotest.PushDenied()))
	srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack("auth required pam_unix.so"), ForceCommand: helper})

	for _, tc := range []struct {
		user      *e2e.User
		wantLogin bool
		wantText  string
	}{
		{approved, true, ""},
		{denied, false, "Login request denied"},
	} {
		t.Run(tc.user.Name, func(t *testing.T) {
			res := srv.Login(t, e2e.SSHOptions{User: tc.user.Name, Timeout: loginTimeout, Respond: func(p e2e.Prompt) (string, error) {
				return tc.user.Password, nil
			}})
			require.EqualValues(t, tc.wantLogin, res.LoggedIn(), "logged in %v, want %v\nmock requests:\n%s", res.LoggedIn(), tc.wantLogin, describeRequests(mock))
			if tc.wantText != "" {
				assert.Contains(t, res.Transcript.String(), tc.wantText, "the client never saw %q", tc.wantText)
			}
			// ssh ran a command, so the login is headless and, like
			// duo_unix's login_duo, prints no progress lines.
			for _, progress := range []string{"Autopushing", "Pushed a login request", "Success. Logging you in"} {
				assert.NotContains(t, res.Transcript.String(), progress, "a headless login printed %q", progress)
			}
			assert.EqualValues(t, tc.wantLogin, strings.Contains(res.Transcript.String(), "LOGIN-OK"), "the command ran: %v, want %v", !tc.wantLogin, tc.wantLogin)
			auths := requests(mock, "/auth/v2/auth", tc.user.Name)
			require.Len(t, auths, 1, "%d Duo auth requests, want 1 (one automatic push)\n%s", len(auths), describeRequests(mock))
			assert.Contains(t, []string{"prompt", "push"}, auths[0].Params.Get("factor"), "factor, want a push")
		})
	}
}

// setuidHelper builds a copy of login_duo_go whose compiled-in default
// config is conf (no flag or environment variable may point a setuid
// helper elsewhere) and installs it setuid root where the file system
// honours setuid. It checks the set-user-ID bit really is set: without it
// the helper runs as the user, cannot read the config and fails closed,
// which would look like a product defect.
func setuidHelper(t *testing.T, art e2e.Artifacts, conf string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/usr/local", "pdg-forcecommand-")
	if err != nil {
		t.Skip("cannot make a setuid-capable directory under /usr/local:", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	helper := filepath.Join(dir, "login_duo_go")
	build := exec.Command("go", "build", "-ldflags", "-X main.defaultConfig="+conf, "-o", helper, "./helper")
	build.Dir = art.Root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build\n%s", out)
	// os.Chmod takes an os.FileMode: the set-user-ID bit is os.ModeSetuid,
	// not 0o4000 (which it silently drops).
	require.NoError(t, os.Chmod(helper, 0o755|os.ModeSetuid))
	fi, err := os.Stat(helper)
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&os.ModeSetuid, "%s is not setuid: %v", helper, fi.Mode())
	return helper
}
