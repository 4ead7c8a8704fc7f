package sshd_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// modes are the module modes every test runs in.
var modes = e2e.Modes

// stack is e2e.Stack.
func stack(auth ...string) string { return e2e.Stack(auth...) }

// randomWord is a random password-like word.
func randomWord(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// execCommand is exec.CommandContext with a bounded wait for output.
func execCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}
