// Package keeper is login_duo_go's remember keeper: a root process that
// login mode starts, while it is still root, when the config has
// remember=. Remembered approvals are written only by root, and login
// mode runs as the user once it has dropped privileges (before Duo
// answers); the keeper takes at most one approval from it and saves it
// (internal/remember). It runs with real uid 0, so the user cannot signal
// it, in its own session, and accepts only approvals of the user and the
// service it was started for.
package keeper

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/remember"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
)

// Command is login_duo_go's subcommand of the keeper: its main calls Run
// for it.
const Command = "remember-save"

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

// Keeper is login mode's end of a running keeper. The keeper takes at
// most one request on its stdin and exits; a closed pipe saves nothing.
type Keeper struct {
	cmd   *exec.Cmd
	w     *os.File
	ok    bool  // the keeper exited 0
	state error // how it exited
}

// Start starts the keeper (as root: real, effective and saved uid 0, with
// the environment env) for approvals of user. It must be called with
// root privileges. The keeper is this binary (setuid.SelfPath) run as
// Command.
func Start(user string, env []string) (*Keeper, error) {
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
		Args:  []string{"login_duo_go", Command, user},
		Env:   env,
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
	return &Keeper{cmd: cmd, w: w}, nil
}

// Save hands the approval to the keeper and waits for it to be written;
// it is login.Params.RememberSave. The keeper is done after it.
func (k *Keeper) Save(sc remember.Scope, token string, maxAge time.Duration) error {
	b, err := json.Marshal(keeperRequest{Scope: sc, Token: token, MaxAge: maxAge})
	if err != nil {
		return fmt.Errorf("remember keeper: %w", err)
	}
	_, werr := k.w.Write(b)
	k.Close()
	if werr != nil {
		return fmt.Errorf("remember keeper: write: %w", werr)
	}
	if !k.ok {
		return fmt.Errorf("remember keeper: the approval was not saved (%v)", k.state)
	}
	return nil
}

// Close ends the keeper's input (nothing more is saved) and waits for it,
// at most keeperWait. It may be called more than once.
func (k *Keeper) Close() {
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

// Run is `login_duo_go remember-save USER`: the keeper. Only a process
// started by root (real uid 0) may run it: a user running the setuid
// binary with this argument is refused (64). It saves one approval of
// USER in service, read from stdin, into the default store. Exit status:
// 0 saved or nothing to save, 1 the store failed, 2 a bad request or no
// request within the keeper's lifetime.
func Run(args []string, service string) int {
	if len(args) != 1 || os.Getuid() != 0 || os.Geteuid() != 0 {
		_ = setuid.DropToReal()
		fmt.Fprint(os.Stderr, "login_duo_go remember-save: for login_duo_go's own use\n")
		return 64
	}
	setuid.SanitizeEnv()
	return serve(os.Stdin, args[0], service, &remember.Store{}, keeperLifetime)
}

// serve reads one request from in and saves it in store when it is an
// approval of user in service.
func serve(in io.Reader, user, service string, store *remember.Store, lifetime time.Duration) int {
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(in, maxKeeperInput+1))
		got <- b
	}()
	var b []byte
	select {
	case b = <-got:
	case <-time.After(lifetime):
		return 2
	}
	if len(b) == 0 {
		return 0 // the login saved nothing
	}
	var req keeperRequest
	if len(b) > maxKeeperInput || json.Unmarshal(b, &req) != nil ||
		req.Scope.User != user || req.Scope.Service != service {
		return 2
	}
	if err := store.Save(req.Scope, req.Token, req.MaxAge); err != nil {
		return 1
	}
	return 0
}
