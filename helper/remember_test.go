package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/keeper"
	"github.com/pam-duo-go/pam_duo_go/internal/qr"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// TestLoginRemembered: login mode, installed setuid root and run by a
// user, saves an approval through its root keeper (it runs as the user by
// then), and the next login in the same scope (user, login_duo_go,
// SSH_CONNECTION's client address) needs no Duo; another address does.
// The state lives in a private mount namespace: a test directory over
// /var/lib.
func TestLoginRemembered(t *testing.T) {
	needRoot(t)
	e2e.RequireBinary(t, "unshare")
	u := testUser(t)
	e2e.EnsureServiceAccount(t)
	dir := suidDir(t)
	env := newMockEnv(t, map[string]string{"remember": "1h"})
	env.mock.AddUser(duotest.User{Name: u.name, Push: duotest.PushApproved()})
	confPath := filepath.Join(dir, "login_duo.conf")
	good, err := os.ReadFile(env.conf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(confPath, good, 0o600))
	bin := installSetuid(t, dir, "main.defaultConfig="+confPath)
	varLib := t.TempDir()
	run := func(client string) (string, string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), loginLimit)
		defer cancel()
		cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$1" /var/lib && shift && exec "$@"`, "sh", varLib,
			"runuser", "-u", u.name, "--", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			"SSH_ORIGINAL_COMMAND=echo ran", "SSH_CONNECTION="+client+" 50000 192.0.2.1 22", bin)
		cmd.Stdin = strings.NewReader("")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		_ = cmd.Run()
		require.NoError(t, ctx.Err(), "login hung; stderr: %s", errb.String())
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}

	out, errOut, exit := run("192.0.2.10")
	require.Equal(t, 0, exit, errOut)
	require.Equal(t, "ran\n", out)
	require.NotEmpty(t, env.mock.RequestsTo("/auth/v2/auth"), "a full login")
	state := filepath.Join(varLib, "pam_duo_go", "remember", "u."+u.name)
	fi, err := os.Stat(state)
	require.NoError(t, err, "saved by the root keeper")
	assert.Equal(t, os.FileMode(0o600), fi.Mode())
	assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid, "root's")
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"service":"login_duo_go","rhost":"192.0.2.10","key":""`)

	env.mock.Reset()
	out, errOut, exit = run("192.0.2.10")
	require.Equal(t, 0, exit, errOut)
	assert.Equal(t, "ran\n", out)
	assert.Empty(t, env.mock.Requests(), "remembered: no request to Duo")

	out, errOut, exit = run("192.0.2.11")
	require.Equal(t, 0, exit, errOut)
	assert.Equal(t, "ran\n", out)
	assert.NotEmpty(t, env.mock.RequestsTo("/auth/v2/auth"), "another address: a full login")
}

// TestRememberKeeperRefuses: the keeper saves only for the user it was
// started for, in login mode's service, and only for a root caller.
func TestRememberKeeperRefuses(t *testing.T) {
	needLoginRoot(t)
	tests := []struct {
		name, args, input string
		want              int
	}{
		{"no user", "", "", 64},
		{"another user's scope", "alice", `{"Scope":{"user":"bob","service":"login_duo_go"},"MaxAge":3600000000000}`, 2},
		{"another service", "alice", `{"Scope":{"user":"alice","service":"sudo"},"MaxAge":3600000000000}`, 2},
		{"garbage", "alice", `{`, 2},
		{"nothing to save", "alice", ``, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{keeper.Command}
			if tt.args != "" {
				args = append(args, tt.args)
			}
			cmd := exec.Command(helperBin, args...)
			cmd.Stdin = strings.NewReader(tt.input)
			err := cmd.Run()
			code := 0
			if err != nil {
				ee, ok := err.(*exec.ExitError)
				require.True(t, ok, err)
				code = ee.ExitCode()
			}
			assert.Equal(t, tt.want, code)
		})
	}
}

// TestLoginEnrollQR: login_duo_go on a terminal shows an unenrolled
// user the portal URL and then its QR code.
func TestLoginEnrollQR(t *testing.T) {
	needLoginRoot(t)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: "root", Preauth: "enroll"})
	screen, exit := runOnPTY(t, env, nil, []string{"-c", env.conf}, []step{{waitFor: "Scan the code"}})
	assert.Equal(t, 1, exit)
	m := regexp.MustCompile(`Enroll at: (https://\S+)`).FindStringSubmatch(screen)
	require.NotNil(t, m, screen)
	url := strings.ReplaceAll(m[1], "MOCKHOST", env.mock.Host)
	code, err := qr.Encode([]byte(url))
	require.NoError(t, err)
	// The terminal turns each newline into CR LF.
	got := strings.ReplaceAll(screen, "\r\n", "\n")
	assert.Contains(t, got, code.Terminal(qr.Dark)+"Scan the code with your phone's camera to enroll.", screen)
}
