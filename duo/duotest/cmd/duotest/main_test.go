package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// TestFlags runs the standalone server with -clock-offset and -fault, as
// an administrator would, and checks both with the real client.
func TestFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "duotest")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	conf := filepath.Join(dir, "pam_duo.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-listen", "127.0.0.1:0", "-write-conf", conf,
		"-ikey", "DIWJ8X6AEYOR5OMC6TQ1", "-skey", "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep",
		"-clock-offset", "1h", "-fault", "preauth:status=503,times=-1")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	m := regexp.MustCompile(`host=(\S+),`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	ca, err := os.ReadFile(conf + ".ca.pem")
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca, 0o600))

	c, err := duo.New(duo.Options{IKey: "DIWJ8X6AEYOR5OMC6TQ1", SKey: "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep", Host: m[1], CAFile: caFile})
	require.NoError(t, err)
	defer c.Close()
	ping, err := c.Ping(ctx)
	require.NoError(t, err)
	assert.InDelta(t, time.Now().Add(time.Hour).Unix(), ping.Time, 5, "-clock-offset 1h")
	for i := 0; i < 2; i++ { // times=-1: every request
		_, err = c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
		var api *duo.APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, 503, api.StatusCode)
	}
	_, err = c.Check(ctx) // another endpoint is not affected
	assert.NoError(t, err)
}
