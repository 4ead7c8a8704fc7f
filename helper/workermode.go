package main

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
)

// startTimeout bounds the wait for the module's Start message.
const startTimeout = 30 * time.Second

// errConvFailed is the module's X message: the PAM conversation failed.
var errConvFailed = errors.New("PAM conversation failed")

// runWorker is `login_duo_go pam-worker`: one login for the PAM module,
// over the protocol of ARCHITECTURE.md on fds 0 (in) and 1 (out).
func runWorker(args []string) int {
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
	ctx, cancel := context.WithTimeout(context.Background(), pamhandler.MaxLoginTimeout+startTimeout)
	defer cancel()
	return serveWorker(ctx, os.Stdin, os.Stdout)
}

// serveWorker runs one worker session: Start in, pamhandler.Authenticate
// with the conversation relayed, Result out.
func serveWorker(ctx context.Context, in io.Reader, out io.Writer) int {
	c := newWorkerConv(ctx, in, out)
	result := func(code int, reason string) int {
		reason = escape.Line(reason) // the module may log it
		_ = wire.WriteMessage(out, wire.Message{Type: wire.Result, Payload: wire.EncodeResult(int32(code), reason)})
		return pamhandler.ExitStatus(code)
	}
	var first wire.Message
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return result(pamhandler.ServiceErr, "pam-worker: no start message: "+c.readErrText())
		}
		first = m
	case <-time.After(startTimeout):
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
	res := pamhandler.Authenticate(ctx, startTx{si, c}, si.Args, si.Silent, nil)
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
	*workerConv
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

// workerConv is the login's conversation over the worker socket: P/p prompts
// answered by A (or X), I and E messages.
type workerConv struct {
	out     io.Writer
	msgs    chan wire.Message // messages from the module, closed at EOF or error
	readErr error             // why msgs was closed; read after it is
}

func newWorkerConv(ctx context.Context, in io.Reader, out io.Writer) *workerConv {
	c := &workerConv{out: out, msgs: make(chan wire.Message)}
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

func (c *workerConv) readErrText() string {
	if c.readErr == nil || errors.Is(c.readErr, io.EOF) {
		return "end of input"
	}
	return c.readErr.Error()
}

// Prompt sends P (echo off) or p (echo on) and waits for A or X.
func (c *workerConv) Prompt(ctx context.Context, msg string, echo bool) (string, error) {
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
			return "", errConvFailed
		}
		return "", fmt.Errorf("pam-worker: expected an answer, got %v", m.Type)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Info sends an I message.
func (c *workerConv) Info(_ context.Context, msg string) error { return c.send(wire.Info, msg) }

// Error sends an E message.
func (c *workerConv) Error(_ context.Context, msg string) error { return c.send(wire.Error, msg) }

func (c *workerConv) send(t wire.Type, msg string) error {
	msg = escape.Clip(escape.Terminal(msg), wire.MaxPayload, "")
	return wire.WriteMessage(c.out, wire.Message{Type: t, Payload: []byte(msg)})
}
