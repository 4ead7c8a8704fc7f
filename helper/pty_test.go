package main

import (
	"bytes"
	"context"
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

// pty is a pseudo-terminal for driving login_duo_go as a user would: the
// child gets the pts as stdin, stdout, stderr and controlling terminal;
// the test reads the screen from the master and types into it.
type pty struct {
	master *os.File
	slave  *os.File

	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{} // closed when the master reads EOF/EIO
}

// openPTY opens /dev/ptmx, unlocks it (TIOCSPTLCK) and opens its pts
// (number from TIOCGPTN).
func openPTY(t *testing.T) *pty {
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
	p := &pty{master: m, slave: s, done: make(chan struct{})}
	go p.pump()
	t.Cleanup(func() {
		p.slave.Close()
		p.master.Close()
		<-p.done
	})
	return p
}

// pump copies everything the child writes into the screen buffer.
func (p *pty) pump() {
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

// start runs cmd on the pts as a session leader with the pts as its
// controlling terminal.
func (p *pty) start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
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
func (p *pty) Screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(p.screen.String(), "\r\n", "\n")
}

// waitFor waits until the screen contains want; it fails the test after
// limit (a bound on hangs, not a timing assertion).
func (p *pty) waitFor(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	p.waitForAfter(t, 0, want, limit)
}

// waitForAfter waits until want appears at or after byte offset from of
// the screen and returns the offset just past it.
func (p *pty) waitForAfter(t *testing.T, from int, want string, limit time.Duration) int {
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
func (p *pty) Type(t *testing.T, s string) {
	t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
}

// waitExit waits for cmd within limit and then for the screen to drain;
// it returns the exit status.
func (p *pty) waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
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
	p.slave.Close()
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

func TestPTYEchoOff(t *testing.T) {
	// The terminal Conversation against a real pts: echo on shows the
	// answer, echo off hides it but still moves to the next line.
	p := openPTY(t)
	term := &terminal{in: int(p.slave.Fd()), out: p.slave, errOut: p.slave}
	type res struct {
		s   string
		err error
	}
	ask := func(msg string, echo bool) chan res {
		c := make(chan res, 1)
		go func() {
			s, err := term.Prompt(t.Context(), msg, echo)
			c <- res{s, err}
		}()
		return c
	}
	c := ask("Name: ", true)
	p.waitFor(t, "Name: ", 10*time.Second)
	p.Type(t, "alice\n")
	if r := <-c; r.err != nil || r.s != "alice" {
		t.Fatalf("echo-on prompt = %q, %v", r.s, r.err)
	}
	c = ask("Passcode: ", false)
	p.waitFor(t, "Passcode: ", 10*time.Second)
	p.Type(t, "123456\n")
	if r := <-c; r.err != nil || r.s != "123456" {
		t.Fatalf("echo-off prompt = %q, %v", r.s, r.err)
	}
	if err := term.Info(t.Context(), "bell\x07 and \x1b[31mred"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "red\n", 10*time.Second)
	want := "Name: alice\nPasscode: \nbell\\x07 and \\x1b[31mred\n"
	if got := p.Screen(); got != want {
		t.Fatalf("screen = %q, want %q", got, want)
	}
	// The terminal's echo setting is restored.
	tio, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	if err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Fatalf("echo not restored: %v", err)
	}
}

func TestPTYPromptEOFAndCancel(t *testing.T) {
	p := openPTY(t)
	term := &terminal{in: int(p.slave.Fd()), out: p.slave, errOut: p.slave}
	errc := make(chan error, 1)
	go func() {
		_, err := term.Prompt(t.Context(), "Passcode: ", false)
		errc <- err
	}()
	p.waitFor(t, "Passcode: ", 10*time.Second)
	p.Type(t, "\x04") // Ctrl-D on an empty line
	if err := <-errc; err == nil {
		t.Fatal("Ctrl-D: Prompt returned no error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		_, err := term.Prompt(ctx, "Again: ", true)
		errc <- err
	}()
	p.waitFor(t, "Again: ", 10*time.Second)
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("cancelled Prompt returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled Prompt did not return")
	}
}
