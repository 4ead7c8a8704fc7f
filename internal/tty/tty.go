// Package tty is login_duo_go's conversation with the user: prompts and
// answers on the user's terminal, answers read with echo off when asked
// and without blocking past the login's deadline, info and error lines on
// stderr. Everything shown is escaped (internal/escape).
package tty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"golang.org/x/sys/unix"
)

// maxAnswer bounds one typed answer, in bytes.
const maxAnswer = 4096

// ErrNoTerminal is returned by Prompt when there is no terminal to ask on.
var ErrNoTerminal = errors.New("no terminal to prompt on")

// Terminal is login_duo_go's login.Conversation: prompts and answers on the
// user's terminal (/dev/tty, else stdin/stdout when stdin is a terminal),
// answers read with echo off when asked, info and error lines on stderr.
// Everything shown is sanitized.
type Terminal struct {
	in     int       // fd answers are read from; -1 without a terminal
	out    io.Writer // where prompts are written
	errOut io.Writer // where info and error lines are written
	tty    *os.File  // /dev/tty when it was opened (closed by Close)
}

// Open finds the user's terminal. Without one it still returns a
// Terminal whose Prompt fails and whose Info and Error write to stderr.
func Open() *Terminal {
	t := newTerminal(-1, os.Stderr, os.Stderr)
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		t.tty, t.in, t.out = f, int(f.Fd()), f
		return t
	}
	if IsTerminal(0) {
		t.in, t.out = 0, os.Stdout
	}
	return t
}

// newTerminal returns a Terminal that reads answers from the terminal fd
// in and writes prompts to out and info and error lines to errOut; in < 0
// means there is no terminal to prompt on.
func newTerminal(in int, out, errOut io.Writer) *Terminal {
	return &Terminal{in: in, out: out, errOut: errOut}
}

// Close releases /dev/tty.
func (t *Terminal) Close() error {
	if t.tty != nil {
		return t.tty.Close()
	}
	return nil
}

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// Prompt shows msg and reads one line; with echo false the terminal does
// not show what is typed (the newline is still echoed).
func (t *Terminal) Prompt(ctx context.Context, msg string, echo bool) (string, error) {
	if t.in < 0 {
		return "", ErrNoTerminal
	}
	if _, err := io.WriteString(t.out, escape.Terminal(msg)); err != nil {
		return "", fmt.Errorf("write prompt: %w", err)
	}
	if !echo {
		restore, err := echoOff(t.in)
		if err != nil {
			return "", err
		}
		defer restore()
	}
	return readLine(ctx, t.in)
}

// Info shows an informational line on stderr.
func (t *Terminal) Info(_ context.Context, msg string) error {
	_, err := io.WriteString(t.errOut, escape.Terminal(msg)+"\n")
	return err
}

// Error shows an error line on stderr.
func (t *Terminal) Error(_ context.Context, msg string) error {
	_, err := io.WriteString(t.errOut, escape.Terminal(msg)+"\n")
	return err
}

// echoOff turns off echo on the terminal fd (keeping the echoed newline)
// and returns the function that restores the previous settings.
func echoOff(fd int) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("read terminal settings: %w", err)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ECHONL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("turn off echo: %w", err)
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// pollSlice is how long one poll waits before the context is checked again.
const pollSlice = 200 * time.Millisecond

// fallbackDeadline bounds a read when ctx has no deadline.
const fallbackDeadline = 5 * time.Minute

// readLine reads up to a newline from fd without blocking past ctx: it
// polls in short slices (the fd is shared with the user's session, so it
// must not be switched to non-blocking mode). The line is returned without
// its line ending; the bytes read are wiped. EOF before a newline is an
// error unless something was typed.
func readLine(ctx context.Context, fd int) (string, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(fallbackDeadline)
	}
	buf := make([]byte, 512)
	// line never grows past its capacity, so no copy of the answer is left
	// behind in a discarded array.
	line := make([]byte, 0, maxAnswer+len(buf))
	defer clear(buf)
	defer func() { clear(line) }()
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", context.DeadlineExceeded
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(min(left, pollSlice).Milliseconds())+1)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("wait for input: %w", err)
		}
		n, err = unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read answer: %w", err)
		}
		if n == 0 {
			if len(line) > 0 {
				return string(line), nil
			}
			return "", io.EOF
		}
		line = append(line, buf[:n]...)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			return string(bytes.TrimRight(line[:i], "\r")), nil
		}
		if len(line) > maxAnswer {
			return "", fmt.Errorf("answer longer than %d bytes", maxAnswer)
		}
	}
}
