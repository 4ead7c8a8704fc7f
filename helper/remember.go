package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/privsep"
	"github.com/pam-duo-go/pam_duo_go/internal/remember"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
)

// rememberCommand is the subcommand of the remember keeper.
const rememberCommand = "remember-save"

// keeperWait bounds the keeper's work once it has its request, and
// keeperLifetime its whole life (a login never takes longer).
const (
	keeperWait     = 5 * time.Second
	keeperLifetime = 2 * time.Hour
	maxKeeperInput = 16 << 10
)

// keeperRequest is the one message to the keeper: an approval to save.
type keeperRequest struct {
	Scope  remember.Scope
	Token  string
	MaxAge time.Duration
}

// rememberKeeper is a root process that login mode starts, while it is
// still root, when the config has remember: remembered approvals are
// written only by root, and login mode runs as the user once it has
// dropped privileges (before Duo answers). It takes at most one request
// on its stdin and exits; a closed pipe saves nothing. It runs with real
// uid 0, so the user cannot signal it, and in its own session.
type rememberKeeper struct {
	cmd   *exec.Cmd
	w     *os.File
	ok    bool  // the keeper exited 0
	state error // how it exited
}

// startRememberKeeper starts the keeper (as root: real, effective and
// saved uid 0) for approvals of user in login mode's service.
func startRememberKeeper(user string) (*rememberKeeper, error) {
	exe, err := setuid.SelfPath()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("remember keeper: pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:  exe,
		Args:  []string{"login_duo_go", rememberCommand, user},
		Env:   privsep.Env,
		Dir:   "/",
		Stdin: r,
		SysProcAttr: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}},
			Setsid:     true,
		},
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("remember keeper: start: %w", err)
	}
	return &rememberKeeper{cmd: cmd, w: w}, nil
}

// save hands the approval to the keeper and waits for it to be written.
func (k *rememberKeeper) save(sc remember.Scope, token string, maxAge time.Duration) error {
	b, err := json.Marshal(keeperRequest{Scope: sc, Token: token, MaxAge: maxAge})
	if err != nil {
		return fmt.Errorf("remember keeper: %w", err)
	}
	_, werr := k.w.Write(b)
	k.close()
	if werr != nil {
		return fmt.Errorf("remember keeper: write: %w", werr)
	}
	if !k.ok {
		return fmt.Errorf("remember keeper: the approval was not saved (%v)", k.state)
	}
	return nil
}

// close ends the keeper's input and waits for it, at most keeperWait.
func (k *rememberKeeper) close() {
	if k.w == nil {
		return
	}
	k.w.Close()
	k.w = nil
	done := make(chan error, 1)
	go func() { done <- k.cmd.Wait() }()
	select {
	case err := <-done:
		k.ok = err == nil
		k.state = err
	case <-time.After(keeperWait):
		_ = k.cmd.Process.Kill()
		k.state = <-done
	}
}

// runRememberSave is `login_duo_go remember-save USER`: the keeper. Only
// a process started by root (real uid 0) may run it: a user running the
// setuid binary with this argument is refused. It saves approvals of USER
// in login mode's service only.
func runRememberSave(args []string) int {
	if len(args) != 1 || os.Getuid() != 0 || os.Geteuid() != 0 {
		_ = setuid.DropToReal()
		fmt.Fprint(os.Stderr, "login_duo_go remember-save: for login_duo_go's own use\n")
		return 64
	}
	setuid.SanitizeEnv()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(os.Stdin, maxKeeperInput+1))
		got <- b
	}()
	var b []byte
	select {
	case b = <-got:
	case <-time.After(keeperLifetime):
		return 2
	}
	if len(b) == 0 {
		return 0 // the login saved nothing
	}
	var req keeperRequest
	if len(b) > maxKeeperInput || json.Unmarshal(b, &req) != nil ||
		req.Scope.User != args[0] || req.Scope.Service != loginService {
		return 2
	}
	if err := (&remember.Store{}).Save(req.Scope, req.Token, req.MaxAge); err != nil {
		return 1
	}
	return 0
}
