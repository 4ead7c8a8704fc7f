package privsep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
)

// Client is the parent's end: a login.DuoAPI whose calls run in the
// Duo child. Calls are serialized; a call abandoned because its context
// ended breaks the client (the child is told to stop by closing its stdin).
type Client struct {
	cmd   *exec.Cmd
	toC   *os.File // child's stdin
	fromC *os.File // child's stdout
	debug func(string)

	mu     sync.Mutex
	broken error
	once   sync.Once
	exited chan struct{}
}

// Start starts the Duo child as acct and sends it cfg's keys, host, proxy,
// timeout and cafile (read here, as root). It must be called with root
// privileges; it does not drop the parent's. debug, when not nil, gets
// the child's debug lines. The child is this binary (setuid.SelfPath)
// run as ChildCommand.
func Start(ctx context.Context, cfg *conf.Config, acct Account, debug func(string)) (*Client, error) {
	exe, err := setuid.SelfPath()
	if err != nil {
		return nil, err
	}
	hello, err := newInit(cfg, debug != nil)
	if err != nil {
		return nil, err
	}
	defer clear(hello.CAPEM)
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
		Args:   []string{"login_duo_go", ChildCommand},
		Env:    Env,
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
	c := &Client{cmd: cmd, toC: toC, fromC: fromC, debug: debug, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	if err := c.init(ctx, hello); err != nil {
		return nil, err
	}
	return c, nil
}

// newInit is the init call's payload for cfg; it reads cafile.
func newInit(cfg *conf.Config, debug bool) (*childInit, error) {
	var caPEM []byte
	if cfg.CAFile != "" {
		var err error
		if caPEM, err = readBounded(cfg.CAFile, maxCAFile); err != nil {
			return nil, fmt.Errorf("cafile: %w", err)
		}
	}
	return &childInit{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host, CAPEM: caPEM, Proxy: cfg.HTTPProxy,
		Timeout: cfg.HTTPSTimeout, Debug: debug,
	}, nil
}

// init sends the init call; on failure it shuts the child down.
func (c *Client) init(ctx context.Context, hello *childInit) error {
	if _, err := c.roundTrip(ctx, &childCall{Method: "init", Init: hello}); err != nil {
		c.Shutdown()
		return err
	}
	return nil
}

// Preauth runs /auth/v2/preauth in the child.
func (c *Client) Preauth(ctx context.Context, req duo.PreauthRequest) (*duo.PreauthResponse, error) {
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
func (c *Client) Auth(ctx context.Context, req duo.AuthRequest) (*duo.AuthResponse, error) {
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
func (c *Client) AuthStatus(ctx context.Context, txid string) (*duo.AuthStatusResponse, error) {
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
func (c *Client) Probe(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := c.roundTrip(ctx, &childCall{Method: "probe"})
	return err
}

// Close is a no-op: the child outlives the flow's client and is stopped by
// Shutdown once the login is decided.
func (c *Client) Close() {}

// Shutdown closes the child's stdin (it exits at once) and waits for it a
// little. The parent may no longer be allowed to signal it (it runs as
// another uid), so a child that hangs is left to its own deadline.
func (c *Client) Shutdown() {
	c.once.Do(func() {
		c.toC.Close()
		select {
		case <-c.exited:
		case <-time.After(3 * time.Second):
		}
		c.fromC.Close()
	})
}

func (c *Client) roundTrip(ctx context.Context, call *childCall) (*childReply, error) {
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

func (c *Client) fail(err error) error {
	c.broken = err
	return err
}

// readReply reads messages until the Reply, passing Debug lines on.
func (c *Client) readReply(method string) (*childReply, error) {
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
