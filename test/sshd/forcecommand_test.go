package sshd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// TestForceCommandLoginDuo logs a user in through a real sshd whose
// ForceCommand is a setuid-root login_duo_go, the way duo_unix's login_duo
// is deployed: the password is pam_unix's, the second factor
// login_duo_go's (headless, as ssh runs a command: one automatic push).
func TestForceCommandLoginDuo(t *testing.T) {
	if os.Getenv("PAM_DUO_GO_KNOWN_GAPS") != "1" {
		t.Skip("known defect, not yet fixed: under sshd's ForceCommand the setuid login_duo_go logs " +
			"'config: ...: cannot open: permission denied' and, with failmode=safe, runs the command without Duo. " +
			"Set PAM_DUO_GO_KNOWN_GAPS=1 to run it.")
	}
	e2e.RequireRoot(t)
	art := e2e.BuildArtifacts(t)
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	conf := filepath.Join(t.TempDir(), "login_duo.conf")
	if err := mock.WriteConfig(conf, nil); err != nil {
		t.Fatal(err)
	}

	// A copy built with the test config as its compiled-in default (no
	// flag or environment variable may point a setuid helper elsewhere),
	// installed setuid root where the file system honours setuid.
	dir, err := os.MkdirTemp("/usr/local", "pdg-forcecommand-")
	if err != nil {
		t.Skip("cannot make a setuid-capable directory under /usr/local:", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "login_duo_go")
	build := exec.Command("go", "build", "-ldflags", "-X main.defaultConfig="+conf, "-o", helper, "./helper")
	build.Dir = art.Root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.Chmod(helper, 0o4755); err != nil {
		t.Fatal(err)
	}

	u := e2e.CreateUser(t, "force", "Pw-"+randomWord(t))
	mock.AddUser(pushUser(u.Name, duotest.PushApproved()))
	srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack("auth required pam_unix.so"), ForceCommand: helper})
	res := srv.Login(t, e2e.SSHOptions{User: u.Name, Timeout: loginTimeout, Respond: func(p e2e.Prompt) (string, error) {
		return u.Password, nil
	}})
	if !res.LoggedIn() {
		t.Fatalf("ForceCommand login failed\nmock requests:\n%s", describeRequests(mock))
	}
	auths := requests(mock, "/auth/v2/auth", u.Name)
	if len(auths) != 1 {
		t.Fatalf("%d Duo auth requests, want 1 (one automatic push)\n%s", len(auths), describeRequests(mock))
	}
	if f := auths[0].Params.Get("factor"); f != "prompt" && f != "push" {
		t.Errorf("factor %q, want a push", f)
	}
}
