// Package ptytest drives programs on a pseudo-terminal in tests: one
// driver for login_duo_go's terminal tests, internal/tty's and test/e2e's
// RunTerminal (which answers prompts by itself on OpenPair's terminal).
package ptytest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// OpenPair opens a new pseudo-terminal pair (posix_openpt, unlockpt,
// ptsname) of 24 rows and 200 columns and returns its master and slave
// ends, both close-on-exec.
func OpenPair() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	raw, err := master.SyscallConn()
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pty master: %w", err)
	}
	var n int
	var ioctlErr error
	err = raw.Control(func(fd uintptr) {
		if ioctlErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioctlErr != nil {
			ioctlErr = fmt.Errorf("unlocking pty (TIOCSPTLCK): %w", ioctlErr)
			return
		}
		if n, ioctlErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN); ioctlErr != nil {
			ioctlErr = fmt.Errorf("pty number (TIOCGPTN): %w", ioctlErr)
			return
		}
		ioctlErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 200})
	})
	if err == nil {
		err = ioctlErr
	}
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("opening pty slave: %w", err)
	}
	return master, slave, nil
}

// PTY is a pseudo-terminal a test drives by hand, where test/e2e's RunTerminal
// answers prompts by itself: the test starts a program on it (Start) or
// uses Slave in process, reads the screen, waits for text and types.
// It is the same pseudo-terminal as RunTerminal's (OpenPair).
type PTY struct {
	master *os.File
	slave  *os.File

	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{} // closed when the master reads EOF/EIO
}

// Open opens a new pseudo-terminal (OpenPair), and skips the test when the system
// has none. t.Cleanup closes both ends.
func Open(t testing.TB) *PTY {
	t.Helper()
	m, s, err := OpenPair()
	if err != nil {
		t.Skipf("skipping: no pseudo-terminals here: %v", err)
	}
	p := &PTY{master: m, slave: s, done: make(chan struct{})}
	go p.pump()
	t.Cleanup(func() {
		p.slave.Close()
		p.master.Close()
		<-p.done
	})
	return p
}

// pump copies everything written to the terminal into the screen.
func (p *PTY) pump() {
	defer close(p.done)
	buf := make([]byte, 4096)
	for {
		n, err := p.master.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.screen.Write(buf[:n])
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// Slave is the terminal end, for code under test that runs in process.
func (p *PTY) Slave() *os.File { return p.slave }

// Start runs cmd on the terminal (as stdin, stdout and stderr), as a
// session leader with the terminal as its controlling terminal.
func (p *PTY) Start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
	require.NoError(t, cmd.Start(), "starting %v", cmd.Args)
}

// Screen returns what was shown so far, with the terminal's \r\n as \n.
func (p *PTY) Screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(p.screen.String(), "\r\n", "\n")
}

// WaitFor waits until the screen shows want; it fails the test after
// limit (a bound on hangs, not a timing assertion).
func (p *PTY) WaitFor(t testing.TB, want string, limit time.Duration) {
	t.Helper()
	p.WaitForAfter(t, 0, want, limit)
}

// WaitForAfter waits until want appears at or after byte offset from of
// the screen (bounded by limit, as WaitFor) and returns the offset just
// past it.
func (p *PTY) WaitForAfter(t testing.TB, from int, want string, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if screen := p.Screen(); len(screen) >= from {
			if i := strings.Index(screen[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.FailNow(t, "screen never showed the text", "want %q (after byte %d); screen:\n%s", want, from, p.Screen())
	return 0
}

// Type sends keystrokes.
func (p *PTY) Type(t testing.TB, s string) {
	t.Helper()
	_, err := p.master.Write([]byte(s))
	require.NoError(t, err, "typing %q", s)
}

// Wait waits (bounded by limit, past which it kills cmd and fails the
// test) for cmd, started by Start, to exit and for the screen to hold
// all its output; it returns the exit status.
func (p *PTY) Wait(t testing.TB, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-errc
		require.FailNow(t, "a hang", "%v did not exit within %v; screen:\n%s", cmd.Args, limit, p.Screen())
	}
	// All output is in the terminal once the process is gone; closing
	// our slave makes the master read EOF after the last byte.
	p.slave.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "a hang", "the terminal's output never ended; screen:\n%s", p.Screen())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, err, "waiting for %v", cmd.Args)
	return 0
}
