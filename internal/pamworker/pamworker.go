// Package pamworker is `login_duo_go pam-worker`: the PAM module's
// out-of-process login. It reads the C module's start message, runs the
// login with internal/pamhandler, relays the login's conversation over the
// worker socket and sends the result (the protocol is in ARCHITECTURE.md,
// its framing in internal/wire).
//
// Serve is one session over any reader and writer; Run is the subcommand
// (root only, on fds 0 and 1).
package pamworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"github.com/pam-duo-go/pam_duo_go/internal/pamhandler"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// Command is the subcommand of login_duo_go that runs Run.
const Command = "pam-worker"

// StartTimeout bounds the wait for the module's start message.
const StartTimeout = 30 * time.Second

// ErrConvFailed is the module's X message: the PAM conversation failed.
var ErrConvFailed = errors.New("PAM conversation failed")

// Run is `login_duo_go pam-worker`: one login for the PAM module over fds
// 0 (in) and 1 (out), logged to syslog. It returns the exit status
// (pamhandler.ExitStatus; 64 for arguments, 2 when the caller is not root).
func Run(args []string) int {
	if len(args) != 0 {
		fmt.Fprint(os.Stderr, "login_duo_go pam-worker: takes no arguments\n")
		return 64
	}
	// A setuid start by someone else must not read config files (or
	// anything named by conf=) as root on their behalf.
	if os.Getuid() != 0 {
		_ = setuid.DropToReal()
		fmt.Fprint(os.Stderr, "login_duo_go pam-worker: only root (the pam_duo_go module) may run the worker\n")
		return 2
	}
	setuid.SanitizeEnv()
	// The login bounds itself (login_timeout=); this only backs it up.
	ctx, cancel := context.WithTimeout(context.Background(), pamhandler.MaxLoginTimeout+StartTimeout)
	defer cancel()
	return Serve(ctx, os.Stdin, os.Stdout, nil)
}

// Serve runs one worker session: the start message from in,
// pamhandler.Authenticate with the conversation relayed over in and out,
// the result message to out. log receives the login's syslog lines (nil =
// syslog). It returns the exit status that goes with the result
// (pamhandler.ExitStatus); a bad or missing start message is
// PAM_SERVICE_ERR.
func Serve(ctx context.Context, in io.Reader, out io.Writer, log login.Logger) int {
	c := newConv(ctx, in, out)
	result := func(code int, reason string) int {
		_ = wire.WriteMessage(out, wire.Message{Type: wire.Result, Payload: wire.EncodeResult(int32(code), escape.Line(reason))})
		return pamhandler.ExitStatus(code)
	}
	var first wire.Message
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return result(pamhandler.ServiceErr, "pam-worker: no start message: "+c.readErrText())
		}
		first = m
	case <-time.After(StartTimeout):
		return result(pamhandler.ServiceErr, "pam-worker: no start message in time")
	case <-ctx.Done():
		return result(pamhandler.ServiceErr, "pam-worker: no start message in time")
	}
	if first.Type != wire.Start {
		return result(pamhandler.ServiceErr, fmt.Sprintf("pam-worker: expected a start message, got %v", first.Type))
	}
	si, err := wire.ParseStart(first.Payload)
	if err != nil {
		return result(pamhandler.ServiceErr, "pam-worker: "+err.Error())
	}
	res := pamhandler.Authenticate(ctx, startTx{si, c}, si.Args, si.Silent, log)
	if res.Unprompted {
		// The module remembers it, so that a later step of the same
		// sshd login does not push again (ARCHITECTURE.md).
		_ = wire.WriteMessage(out, wire.Message{Type: wire.Unprompted})
	}
	return result(res.Code, res.Reason)
}

// startTx is the handler's Transaction in the worker: the PAM items as the
// module's start message gave them, the conversation over the socket.
type startTx struct {
	si wire.StartInfo
	*conv
}

// User is the start message's user (ParseStart requires one: the module
// itself answers PAM_USER_UNKNOWN when pam_get_user fails).
func (t startTx) User() (string, error) { return t.si.User, nil }

// Item is a PAM item from the start message.
func (t startTx) Item(i pamhandler.Item) string {
	switch i {
	case pamhandler.Service:
		return t.si.Service
	case pamhandler.RemoteHost:
		return t.si.RHost
	case pamhandler.TTY:
		return t.si.TTY
	}
	return ""
}

// Env is the PAM environment the module sends: SSH_AUTH_INFO_0 only.
func (t startTx) Env(name string) string {
	if name == "SSH_AUTH_INFO_0" {
		return t.si.AuthInfo
	}
	return ""
}

// UID is the PAM process's real uid.
func (t startTx) UID() int { return t.si.UID }

// Command is SUDO_COMMAND as the PAM process had it.
func (t startTx) Command() string { return t.si.Command }

// conv is the login's conversation over the worker socket: P/p prompts
// answered by A (or X), I and E messages. It escapes every text it sends
// (escape.Terminal): the login hands it Duo's text raw.
type conv struct {
	out     io.Writer
	msgs    chan wire.Message // messages from the module, closed at EOF or error
	readErr error             // why msgs was closed; read after it is
}

func newConv(ctx context.Context, in io.Reader, out io.Writer) *conv {
	c := &conv{out: out, msgs: make(chan wire.Message)}
	go func() {
		defer close(c.msgs)
		for {
			m, err := wire.ReadMessage(in)
			if err != nil {
				c.readErr = err
				return
			}
			select {
			case c.msgs <- m:
			case <-ctx.Done():
				m.Wipe()
				c.readErr = ctx.Err()
				return
			}
		}
	}()
	return c
}

func (c *conv) readErrText() string {
	if c.readErr == nil || errors.Is(c.readErr, io.EOF) {
		return "end of input"
	}
	return c.readErr.Error()
}

// Prompt sends P (echo off) or p (echo on) and waits for A or X.
func (c *conv) Prompt(ctx context.Context, msg string, echo bool) (string, error) {
	t := wire.PromptEchoOff
	if echo {
		t = wire.PromptEchoOn
	}
	if err := c.send(t, msg); err != nil {
		return "", err
	}
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return "", fmt.Errorf("pam-worker: waiting for an answer: %s", c.readErrText())
		}
		defer m.Wipe()
		switch m.Type {
		case wire.Answer:
			return string(m.Payload), nil
		case wire.ConvFailed:
			return "", ErrConvFailed
		}
		return "", fmt.Errorf("pam-worker: expected an answer, got %v", m.Type)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Info sends an I message.
func (c *conv) Info(_ context.Context, msg string) error { return c.send(wire.Info, msg) }

// Error sends an E message.
func (c *conv) Error(_ context.Context, msg string) error { return c.send(wire.Error, msg) }

// send writes msg escaped for the terminal, the one escape it gets, and
// cut to fit a message.
func (c *conv) send(t wire.Type, msg string) error {
	msg = escape.Clip(escape.Terminal(msg), wire.MaxPayload, "")
	return wire.WriteMessage(c.out, wire.Message{Type: t, Payload: []byte(msg)})
}
