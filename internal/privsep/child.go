package privsep

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
)

// RunChild is `login_duo_go duo-child`: it drops to its real ids (the
// service account) and serves Duo calls on stdin/stdout for the parent,
// sending userAgent to Duo. Exit status: 0 after stdin closed, 1 on
// errors (which the parent sees as a dead child), 64 with arguments.
func RunChild(args []string, userAgent string) int {
	if len(args) != 0 {
		fmt.Fprintln(os.Stderr, "login_duo_go duo-child: internal use only; takes no arguments")
		return 64
	}
	// The exec of this setuid binary made us euid 0 again: go back to the
	// real ids (the service account) before anything else.
	start := setuid.Current()
	if start.EUID == 0 {
		if err := syscall.Setgroups(nil); err != nil {
			fmt.Fprintf(os.Stderr, "login_duo_go duo-child: %v\n", err)
			return 1
		}
	}
	if err := setuid.DropTo(start.RUID, start.RGID, nil); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go duo-child: drop privileges: %v\n", err)
		return 1
	}
	if start.RUID == 0 {
		fmt.Fprintln(os.Stderr, "login_duo_go duo-child: refusing to run as root")
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), childLifetime)
	defer cancel()
	return serve(ctx, os.Stdin, os.Stdout, userAgent)
}

// serve is the child's side of the protocol: it answers calls read from in
// on w until in ends or ctx is done, and returns the child's exit status.
// RunChild calls it once the child runs as the service account.
func serve(ctx context.Context, in io.Reader, w io.Writer, userAgent string) int {
	out := &lockedWriter{w: w} // replies and the client's debug lines
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	calls := readCalls(ctx, cancel, in)
	var client *duo.Client
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	for {
		var m wire.Message
		var ok bool
		select {
		case m, ok = <-calls:
		case <-ctx.Done():
			return 0
		}
		if !ok {
			return 0
		}
		var call childCall
		err := json.Unmarshal(m.Payload, &call)
		m.Wipe()
		// A bad call, a bad or failed init and a call before init end the
		// child (fatal); a Duo error is only the call's answer.
		reply, fatal := &childReply{}, true
		switch {
		case err != nil || m.Type != wire.Call:
			reply.Err = &wireError{Kind: "other", Message: "bad call"}
		case call.Method == "init" && (client != nil || call.Init == nil):
			reply.Err = &wireError{Kind: "other", Message: "bad init"}
		case call.Method == "init":
			client, reply = initClient(call.Init, out, userAgent)
			fatal = client == nil
		case client == nil:
			reply.Err = &wireError{Kind: "other", Message: "call before init"}
		default:
			reply, fatal = handleCall(ctx, client, &call), false
		}
		if !sendReply(out, reply) || fatal {
			return 1
		}
	}
}

// readCalls passes the messages read from in on, until in ends (then it
// cancels ctx: the parent went away, the call in flight is abandoned).
func readCalls(ctx context.Context, cancel context.CancelFunc, in io.Reader) <-chan wire.Message {
	calls := make(chan wire.Message)
	go func() {
		defer close(calls)
		defer cancel()
		for {
			m, err := wire.ReadMessage(in)
			if err != nil {
				return
			}
			select {
			case calls <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return calls
}

// sendReply writes one Reply; a reply too large for the pipe becomes an
// error reply.
func sendReply(out io.Writer, r *childReply) bool {
	payload, err := json.Marshal(r)
	if err == nil && len(payload) > wire.MaxPayload {
		payload, err = json.Marshal(&childReply{Err: &wireError{Kind: "response", Message: "reply too large for the pipe"}})
	}
	if err != nil {
		return false
	}
	return wire.WriteMessage(out, wire.Message{Type: wire.Reply, Payload: payload}) == nil
}

// initClient answers the init call: the child's Duo client, or the error
// reply that ends the child.
func initClient(in *childInit, out io.Writer, userAgent string) (*duo.Client, *childReply) {
	client, err := newChildClient(in, out, userAgent)
	in.SKey = ""
	if err != nil {
		return nil, &childReply{Err: &wireError{Kind: "other", Message: err.Error()}}
	}
	if in.Debug {
		debugLine(out, "duo child: running as "+setuid.Current().String()+"; GOMAXPROCS="+strconv.Itoa(runtime.GOMAXPROCS(0)))
	}
	return client, &childReply{}
}

// newChildClient makes the child's Duo client from the init call; with
// debug the client's log lines go to the parent as Debug messages.
func newChildClient(in *childInit, out io.Writer, userAgent string) (*duo.Client, error) {
	opts := duo.Options{
		IKey: in.IKey, SKey: in.SKey, Host: in.Host, Proxy: in.Proxy, Timeout: in.Timeout,
		UserAgent: userAgent,
	}
	if in.CAPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(in.CAPEM) {
			return nil, errors.New("cafile: no PEM certificates")
		}
		opts.RootCAs = pool
	}
	if in.Debug {
		opts.Logf = func(format string, args ...any) {
			debugLine(out, fmt.Sprintf(format, args...))
		}
	}
	return duo.New(opts)
}

// lockedWriter serializes writes, so that messages written whole by one
// Write never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// debugLine sends a Debug message to the parent.
func debugLine(out io.Writer, line string) {
	_ = wire.WriteMessage(out, wire.Message{Type: wire.Debug, Payload: []byte(escape.Clip(line, wire.MaxPayload, ""))})
}

// handleCall runs one Duo call within the time the parent gave it.
func handleCall(ctx context.Context, client *duo.Client, call *childCall) *childReply {
	if call.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(call.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	var r childReply
	var err error
	switch {
	case call.Method == "preauth" && call.Preauth != nil:
		r.Preauth, err = client.Preauth(ctx, *call.Preauth)
	case call.Method == "auth" && call.Auth != nil:
		r.Auth, err = client.Auth(ctx, *call.Auth)
	case call.Method == "auth_status":
		r.AuthStatus, err = client.AuthStatus(ctx, call.TxID)
	case call.Method == "probe":
		// The parent's context bounds the probe (TimeoutMS).
		err = client.Probe(ctx, childLifetime)
	default:
		err = fmt.Errorf("unknown call %q", escape.Clip(call.Method, 32, ""))
	}
	r.Err = toWireError(err)
	return &r
}
