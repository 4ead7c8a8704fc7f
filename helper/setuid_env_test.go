package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syslogSink is a unixgram socket standing in for /dev/log.
type syslogSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *syslogSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// listenSyslog starts a sink at path (mode 0666), closed with the test.
func listenSyslog(t *testing.T, path string) *syslogSink {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, os.Chmod(path, 0o666))
	s := &syslogSink{}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.lines = append(s.lines, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

// withSyslogScript runs "$@" after making the socket $1 the system log
// (/dev/log or what it points to, and /run/log) in a private mount
// namespace, so that nothing on the host changes.
const withSyslogScript = `set -e
sock=$1; shift
mount -t tmpfs -o mode=0755 tmpfs /run
touch /run/log; mount --bind "$sock" /run/log
if [ -e /dev/log ] || [ -L /dev/log ]; then
	t=$(readlink -m /dev/log); mkdir -p "$(dirname "$t")"; [ -e "$t" ] || touch "$t"; mount --bind "$sock" "$t"
fi
exec "$@"`

// watchFIFO reports, until stop, whether any process opened the FIFO at
// path for reading (a non-blocking open for writing then succeeds); it
// closes its end at once, so such a reader gets EOF instead of hanging.
func watchFIFO(path string, stop <-chan struct{}) *atomic.Bool {
	var opened atomic.Bool
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
				opened.Store(true)
				unix.Close(fd)
			}
		}
	}()
	return &opened
}

// TestSetuidIgnoresTZ: Go loads $TZ when it first formats a local time,
// for the syslog line. The setuid helper must drop TZ (and the locale
// variables) before anything logs: a FIFO named by TZ hung the login, and
// a root-only file was read as root. The user's command still gets TZ.
func TestSetuidIgnoresTZ(t *testing.T) {
	needRoot(t)
	e2e.RequireBinary(t, "unshare")
	u := testUser(t)
	e2e.EnsureServiceAccount(t)
	dir := suidDir(t)
	env := newMockEnv(t, nil)
	env.mock.AddUser(duotest.User{Name: u.name, Push: duotest.PushApproved()})
	confPath := filepath.Join(dir, "login_duo.conf")
	bin := installSetuid(t, dir, "main.defaultConfig="+confPath)
	good, err := os.ReadFile(env.conf)
	require.NoError(t, err)
	sockPath := filepath.Join(openDir(t), "log.sock")
	sink := listenSyslog(t, sockPath)

	userFIFO := filepath.Join(dir, "user-tz")
	rootFIFO := filepath.Join(dir, "root-tz")
	for _, f := range []string{userFIFO, rootFIFO} {
		require.NoError(t, unix.Mkfifo(f, 0o600))
	}
	require.NoError(t, os.Chown(userFIFO, u.uid, u.gid))

	tests := []struct {
		name     string
		config   []byte
		tz       string
		wantExit int
		wantOut  string
		wantLog  string
	}{
		// Allowed: the outcome is logged after the drop to the user, who
		// can open (and hang on) their own FIFO.
		{"the user's FIFO", good, userFIFO, 0, "TZ=" + userFIFO + "\n", "allow"},
		// A config error is logged before any drop, as root.
		{"a root-only FIFO", []byte("[duo]\nno_such_key = 1\n"), rootFIFO, 1, "", "failclosed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(confPath, tt.config, 0o600))
			stop := make(chan struct{})
			opened := watchFIFO(tt.tz, stop)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", withSyslogScript, "sh",
				sockPath, "runuser", "-u", u.name, "--", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
				"TZ="+tt.tz, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", `SSH_ORIGINAL_COMMAND=echo "TZ=$TZ"`, bin)
			cmd.Stdin = strings.NewReader("")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			cmd.WaitDelay = 5 * time.Second
			err := cmd.Run()
			close(stop)
			require.NoError(t, ctx.Err(), "login_duo_go hung with TZ=%s; stderr:\n%s", tt.tz, errb.String())
			exit := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantExit, exit, "exit %d, stdout %q, want %d and %q; stderr:\n%s", exit, out.String(), tt.wantExit, tt.wantOut, errb.String())
			assert.Equal(t, tt.wantOut, out.String(), "exit %d, stdout %q, want %d and %q; stderr:\n%s", exit, out.String(), tt.wantExit, tt.wantOut, errb.String())
			assert.False(t, opened.Load(), "login_duo_go opened TZ=%s", tt.tz)
			time.Sleep(100 * time.Millisecond) // the datagram is sent; let the sink read it
			assert.Contains(t, sink.text(), "login_duo_go", "syslog lacks a %s line from login_duo_go (so nothing was logged and TZ never mattered):\n%s", tt.wantLog, sink.text())
			assert.Contains(t, sink.text(), tt.wantLog, "syslog lacks a %s line from login_duo_go (so nothing was logged and TZ never mattered):\n%s", tt.wantLog, sink.text())
		})
	}
}
