package tty

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/ptytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestPTYEchoOff(t *testing.T) {
	// The terminal Conversation against a real pts: echo on shows the
	// answer, echo off hides it but still moves to the next line.
	p := ptytest.Open(t)
	term := newTerminal(int(p.Slave().Fd()), p.Slave(), p.Slave())
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
	p.WaitFor(t, "Name: ", 10*time.Second)
	p.Type(t, "alice\n")
	r := <-c
	require.NoError(t, r.err, "echo-on prompt")
	assert.Equal(t, "alice", r.s, "echo-on prompt")
	c = ask("Passcode: ", false)
	p.WaitFor(t, "Passcode: ", 10*time.Second)
	p.Type(t, "123456\n")
	r = <-c
	require.NoError(t, r.err, "echo-off prompt")
	assert.Equal(t, "123456", r.s, "echo-off prompt")
	require.NoError(t, term.Info(t.Context(), "bell\x07 and \x1b[31mred"))
	p.WaitFor(t, "red\n", 10*time.Second)
	want := "Name: alice\nPasscode: \nbell\\x07 and \\x1b[31mred\n"
	assert.Equal(t, want, p.Screen())
	// The terminal's echo setting is restored.
	tio, err := unix.IoctlGetTermios(int(p.Slave().Fd()), unix.TCGETS)
	require.NoError(t, err)
	assert.NotZero(t, tio.Lflag&unix.ECHO, "echo not restored")
}

func TestPTYPromptEOFAndCancel(t *testing.T) {
	p := ptytest.Open(t)
	term := newTerminal(int(p.Slave().Fd()), p.Slave(), p.Slave())
	errc := make(chan error, 1)
	go func() {
		_, err := term.Prompt(t.Context(), "Passcode: ", false)
		errc <- err
	}()
	p.WaitFor(t, "Passcode: ", 10*time.Second)
	p.Type(t, "\x04") // Ctrl-D on an empty line
	assert.Error(t, <-errc, "Ctrl-D on an empty line")
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		_, err := term.Prompt(ctx, "Again: ", true)
		errc <- err
	}()
	p.WaitFor(t, "Again: ", 10*time.Second)
	cancel()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, context.Canceled, "cancelled Prompt")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "cancelled Prompt did not return")
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name  string
		typed string
		want  string
		err   error  // wanted error, when errIn is empty
		errIn string // wanted in the error text
	}{
		{name: "line", typed: "123456\nrest", want: "123456"},
		{name: "CRLF", typed: "1\r\n", want: "1"},
		{name: "empty line", typed: "\n", want: ""},
		{name: "EOF after text", typed: "abc", want: "abc"},
		{name: "EOF at once", typed: "", err: io.EOF},
		{name: "too long", typed: strings.Repeat("x", maxAnswer+600), errIn: "answer longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			defer r.Close()
			go func() {
				_, _ = io.WriteString(w, tt.typed)
				w.Close()
			}()
			got, err := readLine(t.Context(), int(r.Fd()))
			switch {
			case tt.errIn != "":
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errIn)
			case tt.err != nil:
				assert.ErrorIs(t, err, tt.err)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestReadLineDeadline(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = readLine(ctx, int(r.Fd()))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "nothing typed before the deadline")
}

func TestPromptWithoutTerminal(t *testing.T) {
	var out strings.Builder
	term := newTerminal(-1, &out, &out)
	_, err := term.Prompt(t.Context(), "Passcode: ", false)
	assert.ErrorIs(t, err, ErrNoTerminal)
	require.NoError(t, term.Error(t.Context(), "no\x1b[2J"))
	assert.Equal(t, "no\\x1b[2J\n", out.String(), "error lines are escaped")
}
