package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/internal/pamhandler"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
)

// The worker itself is tested through its API in internal/pamworker; these
// tests need the built binary: the dispatch and the refusal of a caller
// who is not root.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("pam-worker runs only for root (the PAM module); run the tests as root")
	}
}

// TestWorkerDispatch: `login_duo_go pam-worker` runs the worker, which
// answers a missing start message with a PAM_SERVICE_ERR result.
func TestWorkerDispatch(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(helperBin, "pam-worker")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.Output()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "pam-worker with no input: output %q", out)
	assert.Equal(t, pamhandler.ExitFailed, ee.ExitCode())
	m, n, err := wire.Decode(out)
	require.NoError(t, err, "output %q", out)
	assert.Len(t, out, n, "one message")
	require.Equal(t, wire.Result, m.Type)
	code, reason, err := wire.ParseResult(m.Payload)
	require.NoError(t, err)
	assert.EqualValues(t, pamhandler.ServiceErr, code)
	assert.Contains(t, reason, "end of input")
}

func TestWorkerRefusesNonRoot(t *testing.T) {
	needRoot(t)
	u := testUser(t)
	cmd := exec.Command("runuser", "-u", u.name, "--", helperBin, "pam-worker")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "pam-worker as %s: output %q", u.name, out)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "only root")
}
