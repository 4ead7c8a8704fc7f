package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/internal/sanitize"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// PAM return codes (<security/_pam_types.h>).
const (
	pamSuccess     int32 = 0
	pamServiceErr  int32 = 3
	pamAuthErr     int32 = 7
	pamUserUnknown int32 = 10
	pamMaxTries    int32 = 11
	pamIgnore      int32 = 25
	pamAbort       int32 = 26
)

// pamCode maps a login outcome to the PAM result (ARCHITECTURE.md);
// bypassSuccess is the module argument bypass=success.
func pamCode(o login.Outcome, bypassSuccess bool) int32 {
	return int32(o.PAMResult(bypassSuccess))
}

// workerExit is the exit status that goes with a Result: the module's
// fallback when it did not get the R message (1 = auth error, else
// service error).
func workerExit(code int32) int {
	switch code {
	case pamSuccess, pamIgnore:
		return 0
	case pamAuthErr, pamMaxTries, pamUserUnknown:
		return 1
	}
	return 2
}

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
	ctx, cancel := context.WithTimeout(context.Background(), conf.MaxLoginTimeout+startTimeout)
	defer cancel()
	return serveWorker(ctx, os.Stdin, os.Stdout)
}

// serveWorker runs one worker session: Start in, conversation, Result out.
func serveWorker(ctx context.Context, in io.Reader, out io.Writer) int {
	c := newWorkerConv(ctx, in, out)
	result := func(code int32, reason string) int {
		reason = sanitize.String(reason, false) // the module may log it
		_ = wire.WriteMessage(out, wire.Message{Type: wire.Result, Payload: wire.EncodeResult(code, reason)})
		return workerExit(code)
	}
	var first wire.Message
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return result(pamServiceErr, "pam-worker: no start message: "+c.readErrText())
		}
		first = m
	case <-time.After(startTimeout):
		return result(pamServiceErr, "pam-worker: no start message in time")
	case <-ctx.Done():
		return result(pamServiceErr, "pam-worker: no start message in time")
	}
	if first.Type != wire.Start {
		return result(pamServiceErr, fmt.Sprintf("pam-worker: expected a start message, got %v", first.Type))
	}
	si, err := wire.ParseStart(first.Payload)
	if err != nil {
		return result(pamServiceErr, "pam-worker: "+err.Error())
	}
	p, args := login.PAMLogin{
		Args: si.Args, Silent: si.Silent, User: si.User, UID: si.UID, Service: si.Service,
		RemoteHost: si.RHost, TTY: si.TTY, RUser: si.RUser, Command: si.Command,
		AuthInfo: si.AuthInfo,
	}.Params()
	p.Conv = c
	res := login.Authenticate(ctx, p)
	if res.Unprompted {
		// The module remembers it, so that a later step of the same
		// sshd login does not push again (ARCHITECTURE.md).
		_ = wire.WriteMessage(out, wire.Message{Type: wire.Unprompted})
	}
	return result(pamCode(res.Outcome, args.Bypass == conf.BypassSuccess), res.Reason)
}

// workerConv is login.Conversation over the worker pipes: P/p prompts
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
	msg = sanitize.Clip(sanitize.String(msg, true), wire.MaxPayload)
	return wire.WriteMessage(c.out, wire.Message{Type: t, Payload: []byte(msg)})
}
