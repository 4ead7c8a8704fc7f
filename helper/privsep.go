package main

// Privilege separation of login mode.
//
// login_duo_go is installed setuid root so that it can read a config file
// (with the Duo secret key) that the logging-in user cannot. Root is needed
// for exactly two things: reading that file and starting the Duo child
// under the service account. The shape:
//
//	parent (setuid root, real uid = the user)
//	  1. login.Authenticate loads the config and resolves groups, as root;
//	  2. when the flow first needs Duo it calls Params.NewClient: the hook
//	     (duoChildClient) re-executes this binary by its absolute path
//	     (os.Executable) as `login_duo_go duo-child`, with
//	     SysProcAttr.Credential = the service account (build-time default
//	     "_pam_duo_go", a system account used by nothing else, created by
//	     the packages and make install; without it the login is refused,
//	     never run as another account), no supplementary groups, a new
//	     session (no controlling terminal), an explicit minimal environment
//	     and only two pipes as stdin/stdout;
//	  3. the parent at once drops to the real user for good (setresuid on
//	     every thread) and goes on with the flow as the user: the menu, the
//	     answers and the status lines stay between the user's terminal and
//	     a process running as the user;
//	  4. each Duo call (preauth, auth, auth_status) goes over the pipes as a
//	     framed JSON message (helper/worker framing, types Q/Y/D); the child
//	     does TLS, HTTP and JSON from the network and answers, errors keep
//	     their duo.* types so failmode decisions are unchanged;
//	  5. with the flow's outcome the parent (already the user) execs the
//	     shell or command, or exits 1.
//
//	child (`duo-child`)
//	  drops whatever the exec gave it: the binary is setuid root, so the
//	  exec by the service account makes it euid 0 again. It sets real,
//	  effective and saved ids to its real ids (the service account) before
//	  reading anything, refuses to run as root, then serves calls until its
//	  stdin closes or the login deadline passes. Anyone may run duo-child:
//	  it only ever ends up as its caller, with keys its caller provides.
//
// Why this shape: the network-facing code never runs as root, the child
// never holds the user's terminal (with TIOCSTI it could type into the
// user's shell later), the secret key is never readable by the user (the
// parent is not dumpable after a setuid start, and execs away its memory),
// and the flow (login package) runs unchanged. The decision to exec is the
// flow's; it runs in a process that is already the user, which costs
// nothing: whoever can tamper with it already runs code as the user.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/sanitize"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// privsepUser is the service account the Duo child runs as; set at build
// time with -ldflags "-X main.privsepUser=NAME". It must be an account no
// other process runs as: any process of that uid could stop the child
// (SIGSTOP) while it waits for Duo, and a login waiting on a stopped Duo
// call must not look like Duo being down.
var privsepUser = "_pam_duo_go"

// legacyConfigOwner may own login_duo.conf besides root: duo_unix's
// documentation had it owned by sshd (0600).
const legacyConfigOwner = "sshd"

// childCommand is the hidden subcommand of the Duo child.
const childCommand = "duo-child"

// childEnv is the whole environment of the Duo child. GOMAXPROCS=1: the
// child makes one HTTPS call at a time, and a Go runtime started with one
// P starts fewer threads; measured per login_duo_go login (bench, 3×15
// logins each): 85 fewer minor page faults and less CPU.
var childEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "GOMAXPROCS=1"}

// childLifetime bounds the Duo child's whole run.
const childLifetime = login.DefaultDeadline + time.Minute

// serviceAccount is the uid and gid the Duo child runs as.
type serviceAccount struct {
	Name     string
	UID, GID int
}

// errNoServiceAccount is returned when privsepUser does not exist.
var errNoServiceAccount = errors.New("service account missing")

// lookupServiceAccount resolves privsepUser. A missing account is an
// error (errNoServiceAccount, with how to create it): the child never
// runs as a shared account such as sshd or nobody. Root is refused.
func lookupServiceAccount() (serviceAccount, error) {
	u, err := user.Lookup(privsepUser)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return serviceAccount{}, fmt.Errorf("%w: the account %q, which runs login_duo_go's Duo child, does not exist; "+
				"the pam_duo_go package creates it, or run: useradd --system --no-create-home --home-dir /nonexistent "+
				"--shell /usr/sbin/nologin --user-group %s", errNoServiceAccount, privsepUser, privsepUser)
		}
		return serviceAccount{}, fmt.Errorf("service account %q: %w", privsepUser, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return serviceAccount{}, fmt.Errorf("service account %q: bad uid/gid %q/%q", u.Username, u.Uid, u.Gid)
	}
	if uid == 0 || gid == 0 {
		return serviceAccount{}, fmt.Errorf("service account %q is root", u.Username)
	}
	return serviceAccount{Name: u.Username, UID: uid, GID: gid}, nil
}

// configOwners lists the uids besides root that may own login_duo_go's
// config: sshd's when it exists, because duo_unix's documentation had
// login_duo.conf owned by it.
func configOwners() []int {
	u, err := user.Lookup(legacyConfigOwner)
	if err != nil {
		return nil
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil || uid == 0 {
		return nil
	}
	return []int{uid}
}

// childInit is the first call: what the child needs to reach Duo. The CA
// bundle travels as PEM: the parent reads cafile as root, so a bundle only
// root can read works as it does for the PAM module.
type childInit struct {
	IKey, SKey, Host string
	CAPEM            []byte // cafile's contents; nil = Duo's embedded roots
	Proxy            string
	Timeout          time.Duration
	Debug            bool
}

// childCall is one message from the parent.
type childCall struct {
	Method    string // "init", "preauth", "auth", "auth_status", "probe"
	TimeoutMS int64  // how long the child may take; 0 = childLifetime
	Init      *childInit
	Preauth   *duo.PreauthRequest
	Auth      *duo.AuthRequest
	TxID      string
}

// childReply is the child's answer to one call.
type childReply struct {
	Preauth    *duo.PreauthResponse
	Auth       *duo.AuthResponse
	AuthStatus *duo.AuthStatusResponse
	Err        *wireError
}

// wireError carries a duo error across the pipe, keeping its type.
type wireError struct {
	Kind       string // api, transport, response, deadline, canceled, other
	Op         string
	StatusCode int
	Code       int
	Message    string
	Detail     string
	Local      bool // a TransportError of KindLocal
	Deny       bool // a ResponseError that says deny
}

func toWireError(err error) *wireError {
	if err == nil {
		return nil
	}
	var api *duo.APIError
	var te *duo.TransportError
	var re *duo.ResponseError
	switch {
	case errors.As(err, &api):
		return &wireError{Kind: "api", Op: api.Op, StatusCode: api.StatusCode, Code: api.Code, Message: api.Message, Detail: api.MessageDetail}
	case errors.As(err, &te):
		return &wireError{Kind: "transport", Op: te.Op, Message: te.Err.Error(), Local: duo.Classify(err) == duo.KindLocal}
	case errors.As(err, &re):
		return &wireError{Kind: "response", Op: re.Op, StatusCode: re.StatusCode, Message: re.Err.Error(), Deny: re.Deny}
	case errors.Is(err, context.DeadlineExceeded):
		return &wireError{Kind: "deadline", Message: err.Error()}
	case errors.Is(err, context.Canceled):
		return &wireError{Kind: "canceled", Message: err.Error()}
	}
	return &wireError{Kind: "other", Message: err.Error()}
}

func (w *wireError) toError() error {
	switch w.Kind {
	case "api":
		return &duo.APIError{Op: w.Op, StatusCode: w.StatusCode, Code: w.Code, Message: w.Message, MessageDetail: w.Detail}
	case "transport":
		if w.Local {
			return &duo.TransportError{Op: w.Op, Err: fmt.Errorf("%w: %s", duo.ErrLocalResource, w.Message)}
		}
		return &duo.TransportError{Op: w.Op, Err: errors.New(w.Message)}
	case "response":
		return &duo.ResponseError{Op: w.Op, StatusCode: w.StatusCode, Err: errors.New(w.Message), Deny: w.Deny}
	case "deadline":
		return fmt.Errorf("duo child: %s: %w", w.Message, context.DeadlineExceeded)
	case "canceled":
		return fmt.Errorf("duo child: %s: %w", w.Message, context.Canceled)
	}
	return fmt.Errorf("duo child: %s", w.Message)
}

// duoChildClient is the parent's end: a login.DuoAPI whose calls run in the
// Duo child. Calls are serialized; a call abandoned because its context
// ended breaks the client (the child is told to stop by closing its stdin).
type duoChildClient struct {
	cmd   *exec.Cmd
	toC   *os.File // child's stdin
	fromC *os.File // child's stdout
	debug func(string)

	mu     sync.Mutex
	broken error
	once   sync.Once
	exited chan struct{}
}

// startDuoChild starts the Duo child as acct and sends it cfg. It must be
// called with root privileges. It does not drop the parent's privileges.
func startDuoChild(ctx context.Context, cfg *conf.Config, acct serviceAccount, debug func(string)) (*duoChildClient, error) {
	exe, err := setuid.SelfPath()
	if err != nil {
		return nil, err
	}
	var caPEM []byte
	if cfg.CAFile != "" {
		if caPEM, err = readBounded(cfg.CAFile, maxCAFile); err != nil {
			return nil, fmt.Errorf("cafile: %w", err)
		}
	}
	childIn, toC, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("duo child: pipe: %w", err)
	}
	fromC, childOut, err := os.Pipe()
	if err != nil {
		childIn.Close()
		toC.Close()
		return nil, fmt.Errorf("duo child: pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:   exe,
		Args:   []string{"login_duo_go", childCommand},
		Env:    childEnv,
		Dir:    "/",
		Stdin:  childIn,
		Stdout: childOut,
		Stderr: nil, // /dev/null
		SysProcAttr: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: uint32(acct.UID), Gid: uint32(acct.GID), Groups: []uint32{}},
			Setsid:     true,
		},
	}
	err = cmd.Start()
	childIn.Close()
	childOut.Close()
	if err != nil {
		toC.Close()
		fromC.Close()
		return nil, fmt.Errorf("duo child: start %s as %s: %w", exe, acct.Name, err)
	}
	c := &duoChildClient{cmd: cmd, toC: toC, fromC: fromC, debug: debug, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	hello := &childInit{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host, CAPEM: caPEM, Proxy: cfg.HTTPProxy,
		Timeout: cfg.HTTPSTimeout, Debug: debug != nil,
	}
	_, err = c.roundTrip(ctx, &childCall{Method: "init", Init: hello})
	clear(caPEM)
	if err != nil {
		c.shutdown()
		return nil, err
	}
	return c, nil
}

// Preauth runs /auth/v2/preauth in the child.
func (c *duoChildClient) Preauth(ctx context.Context, req duo.PreauthRequest) (*duo.PreauthResponse, error) {
	r, err := c.roundTrip(ctx, &childCall{Method: "preauth", Preauth: &req})
	if err != nil {
		return nil, err
	}
	if r.Preauth == nil {
		return nil, errors.New("duo child: preauth: empty reply")
	}
	return r.Preauth, nil
}

// Auth runs /auth/v2/auth in the child.
func (c *duoChildClient) Auth(ctx context.Context, req duo.AuthRequest) (*duo.AuthResponse, error) {
	r, err := c.roundTrip(ctx, &childCall{Method: "auth", Auth: &req})
	if err != nil {
		return nil, err
	}
	if r.Auth == nil {
		return nil, errors.New("duo child: auth: empty reply")
	}
	return r.Auth, nil
}

// AuthStatus runs /auth/v2/auth_status in the child.
func (c *duoChildClient) AuthStatus(ctx context.Context, txid string) (*duo.AuthStatusResponse, error) {
	r, err := c.roundTrip(ctx, &childCall{Method: "auth_status", TxID: txid})
	if err != nil {
		return nil, err
	}
	if r.AuthStatus == nil {
		return nil, errors.New("duo child: auth_status: empty reply")
	}
	return r.AuthStatus, nil
}

// Probe runs Duo's fresh-connection probe in the child.
func (c *duoChildClient) Probe(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := c.roundTrip(ctx, &childCall{Method: "probe"})
	return err
}

// Close is a no-op: the child outlives the flow's client and is stopped by
// shutdown once the login is decided.
func (c *duoChildClient) Close() {}

// shutdown closes the child's stdin (it exits at once) and waits for it a
// little. The parent may no longer be allowed to signal it (it runs as
// another uid), so a child that hangs is left to its own deadline.
func (c *duoChildClient) shutdown() {
	c.once.Do(func() {
		c.toC.Close()
		select {
		case <-c.exited:
		case <-time.After(3 * time.Second):
		}
		c.fromC.Close()
	})
}

func (c *duoChildClient) roundTrip(ctx context.Context, call *childCall) (*childReply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, c.broken
	}
	if dl, ok := ctx.Deadline(); ok {
		call.TimeoutMS = max(time.Until(dl).Milliseconds(), 1)
	}
	payload, err := json.Marshal(call)
	if err != nil {
		return nil, fmt.Errorf("duo child: encode %s: %w", call.Method, err)
	}
	err = wire.WriteMessage(c.toC, wire.Message{Type: wire.Call, Payload: payload})
	clear(payload)
	if err != nil {
		return nil, c.fail(&duo.TransportError{Op: call.Method, Err: childGone(err)})
	}
	type result struct {
		reply *childReply
		err   error
	}
	done := make(chan result, 1)
	go func() {
		r, err := c.readReply(call.Method)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, c.fail(res.err)
		}
		if res.reply.Err != nil {
			return nil, res.reply.Err.toError()
		}
		return res.reply, nil
	case <-ctx.Done():
		// Unblock the reader and tell the child to stop.
		c.toC.Close()
		c.fromC.Close()
		<-done
		return nil, c.fail(fmt.Errorf("duo child: %s: %w", call.Method, ctx.Err()))
	}
}

// childGone is the error of a Duo child that died or closed its pipe. It
// is local, never an outage of Duo: something on this machine ended the
// child (a signal from its account, a resource limit).
func childGone(err error) error {
	return fmt.Errorf("%w: duo child gone: %w", duo.ErrLocalResource, err)
}

func (c *duoChildClient) fail(err error) error {
	c.broken = err
	return err
}

// readReply reads messages until the Reply, passing Debug lines on.
func (c *duoChildClient) readReply(method string) (*childReply, error) {
	for range 1000 {
		m, err := wire.ReadMessage(c.fromC)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, &duo.TransportError{Op: method, Err: childGone(err)}
		}
		switch m.Type {
		case wire.Debug:
			if c.debug != nil {
				c.debug(string(m.Payload))
			}
		case wire.Reply:
			var r childReply
			if err := json.Unmarshal(m.Payload, &r); err != nil {
				return nil, &duo.ResponseError{Op: method, Err: fmt.Errorf("duo child: bad reply: %w", err)}
			}
			return &r, nil
		default:
			return nil, &duo.ResponseError{Op: method, Err: fmt.Errorf("duo child: unexpected %v message", m.Type)}
		}
	}
	return nil, &duo.ResponseError{Op: method, Err: errors.New("duo child: too many messages without a reply")}
}

// runDuoChild is `login_duo_go duo-child`: it serves Duo calls on
// stdin/stdout for the parent. Exit status: 0 after stdin closed, 1 on
// errors (which the parent sees as a dead child).
func runDuoChild(args []string) int {
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
	return serveDuoChild(ctx, os.Stdin, os.Stdout)
}

// serveDuoChild answers calls read from in until in ends or ctx is done.
func serveDuoChild(ctx context.Context, in io.Reader, w io.Writer) int {
	out := &lockedWriter{w: w} // replies and the client's debug lines
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	calls := make(chan wire.Message)
	go func() {
		defer close(calls)
		defer cancel() // the parent went away: abandon the call in flight
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
	send := func(r *childReply) bool {
		payload, err := json.Marshal(r)
		if err == nil && len(payload) > wire.MaxPayload {
			payload, err = json.Marshal(&childReply{Err: &wireError{Kind: "response", Message: "reply too large for the pipe"}})
		}
		if err != nil {
			return false
		}
		return wire.WriteMessage(out, wire.Message{Type: wire.Reply, Payload: payload}) == nil
	}
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
		if err != nil || m.Type != wire.Call {
			send(&childReply{Err: &wireError{Kind: "other", Message: "bad call"}})
			return 1
		}
		if call.Method == "init" {
			if client != nil || call.Init == nil {
				send(&childReply{Err: &wireError{Kind: "other", Message: "bad init"}})
				return 1
			}
			client, err = newChildClient(call.Init, out)
			call.Init.SKey = ""
			if err != nil {
				send(&childReply{Err: &wireError{Kind: "other", Message: err.Error()}})
				return 1
			}
			if call.Init.Debug {
				debugLine(out, "duo child: running as "+setuid.Current().String()+"; GOMAXPROCS="+strconv.Itoa(runtime.GOMAXPROCS(0)))
			}
			if !send(&childReply{}) {
				return 1
			}
			continue
		}
		if client == nil {
			send(&childReply{Err: &wireError{Kind: "other", Message: "call before init"}})
			return 1
		}
		if !send(handleCall(ctx, client, &call)) {
			return 1
		}
	}
}

// newChildClient makes the child's Duo client from the init call; with
// debug the client's log lines go to the parent as Debug messages.
func newChildClient(in *childInit, out io.Writer) (*duo.Client, error) {
	opts := duo.Options{
		IKey: in.IKey, SKey: in.SKey, Host: in.Host, Proxy: in.Proxy, Timeout: in.Timeout,
		UserAgent: userAgent(),
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

// maxCAFile bounds the cafile read for the child.
const maxCAFile = 4 << 20

// readBounded reads a whole file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// debugLine sends a Debug message to the parent.
func debugLine(out io.Writer, line string) {
	_ = wire.WriteMessage(out, wire.Message{Type: wire.Debug, Payload: []byte(sanitize.Clip(line, wire.MaxPayload))})
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
		err = fmt.Errorf("unknown call %q", sanitize.Clip(call.Method, 32))
	}
	r.Err = toWireError(err)
	return &r
}
