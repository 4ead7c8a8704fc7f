// Package ptytest is a pseudo-terminal for tests that drive a program, or
// login_duo_go's terminal conversation, as a user at a terminal would: the
// test reads the screen from the master side and types into it.
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

	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal for driving login_duo_go as a user would: the
// child gets the pts as stdin, stdout, stderr and controlling terminal;
// the test reads the screen from the master and types into it.
type PTY struct {
	master *os.File
	// Slave is the terminal side: the program's stdin, stdout and stderr.
	Slave *os.File

	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{} // closed when the master reads EOF/EIO
}

// Open opens /dev/ptmx, unlocks it (TIOCSPTLCK) and opens its pts
// (number from TIOCGPTN).
func Open(t testing.TB) *PTY {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var n int
	var ioctlErr error
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	err = rc.Control(func(fd uintptr) {
		if ioctlErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioctlErr != nil {
			return
		}
		n, ioctlErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
	})
	if err != nil || ioctlErr != nil {
		m.Close()
		t.Fatalf("unlock pty: %v %v", err, ioctlErr)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("open pts: %v", err)
	}
	p := &PTY{master: m, Slave: s, done: make(chan struct{})}
	go p.pump()
	t.Cleanup(func() {
		p.Slave.Close()
		p.master.Close()
		<-p.done
	})
	return p
}

// pump copies everything the child writes into the screen buffer.
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

// Start runs cmd on the pts as a session leader with the pts as its
// controlling terminal.
func (p *PTY) Start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.Slave, p.Slave, p.Slave
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
}

// Screen returns what was shown so far, with the terminal's \r\n as \n.
func (p *PTY) Screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(p.screen.String(), "\r\n", "\n")
}

// WaitFor waits until the screen contains want; it fails the test after
// limit (a bound on hangs, not a timing assertion).
func (p *PTY) WaitFor(t testing.TB, want string, limit time.Duration) {
	t.Helper()
	p.WaitForAfter(t, 0, want, limit)
}

// WaitForAfter waits until want appears at or after byte offset from of
// the screen and returns the offset just past it.
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
	t.Fatalf("screen never showed %q (after byte %d); screen:\n%s", want, from, p.Screen())
	return 0
}

// Type sends keystrokes.
func (p *PTY) Type(t testing.TB, s string) {
	t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
}

// WaitExit waits for cmd within limit and then for the screen to drain;
// it returns the exit status.
func (p *PTY) WaitExit(t testing.TB, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-errc
		t.Fatalf("%v did not exit within %v; screen:\n%s", cmd.Args, limit, p.Screen())
	}
	// All output is in the pts once the process is gone; close our slave
	// so the master reads EOF after the last byte.
	p.Slave.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("pty output never ended; screen:\n%s", p.Screen())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("wait %v: %v", cmd.Args, err)
	}
	return 0
}
