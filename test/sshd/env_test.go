package sshd_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// modes are the module modes every test runs in.
var modes = e2e.Modes

// duoEnv is the built module, a mock Duo server and a pam_duo.conf
// pointing at it.
type duoEnv struct {
	art  e2e.Artifacts
	mode e2e.Mode
	mock *duotest.Server
	conf string
}

// newDuoEnv builds the module, starts the mock (closed in Cleanup) and
// writes a config for it with the extra keys. It skips when the mode
// cannot run yet.
func newDuoEnv(t *testing.T, mode e2e.Mode, extra map[string]string) *duoEnv {
	t.Helper()
	e2e.RequireRoot(t)
	art := e2e.BuildArtifacts(t)
	e2e.RequireMode(t, art, mode)
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	conf := filepath.Join(t.TempDir(), "pam_duo.conf")
	if err := mock.WriteConfig(conf, extra); err != nil {
		t.Fatalf("writing pam_duo.conf: %v", err)
	}
	return &duoEnv{art: art, mode: mode, mock: mock, conf: conf}
}

// authLine is the module's auth line with the given control.
func (e *duoEnv) authLine(control string) string {
	return e.art.AuthLine(control, e.conf, e.mode)
}

// stack is e2e.Stack.
func stack(auth ...string) string { return e2e.Stack(auth...) }

// randomWord is a random password-like word.
func randomWord(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// execCommand is exec.CommandContext with a bounded wait for output.
func execCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}
