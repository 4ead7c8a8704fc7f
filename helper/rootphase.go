package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/internal/keeper"
	"github.com/pam-duo-go/pam_duo_go/internal/privsep"
	"github.com/pam-duo-go/pam_duo_go/internal/remember"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// rootPhase is everything login mode does with root's rights, in order,
// before it is the user for good (internal/privsep says why the shape):
//
//  1. checkAccount: the Duo child's service account must exist; without
//     it the login is refused in any failmode, never run as a shared
//     account;
//  2. loadConfig: the config is loaded once, here, with the owners
//     login_duo.conf may have (the flow gets it in login.Params.Config),
//     and with remember= the root keeper that will save an approval is
//     started (internal/keeper);
//  3. the flow (login.Authenticate) runs, still as root, up to its first
//     Duo call: it looks up the user's groups and remembered approvals
//     (NSS sources and the remember store may need root) and decides
//     whether Duo applies at all; a user outside groups never starts a
//     child;
//  4. startChild, the flow's NewClient: start the Duo child as the
//     service account and drop to the real user for good, whatever
//     happened;
//  5. end: stop the keeper and the child, and make sure root is gone.
//
// Not setuid root (privileged false), only step 2 runs, as the caller.
type rootPhase struct {
	privileged bool
	configFile string
	duoUser    string
	debug      func(string) // nil without -d

	owners []int          // besides root, who may own configFile
	cfg    *conf.Config   // nil when it could not be loaded: the flow loads it again and says why
	keeper *keeper.Keeper // nil without remember= or privileges
	child  *privsep.Client
}

// checkAccount is step 1.
func (r *rootPhase) checkAccount() error {
	if !r.privileged {
		return nil
	}
	_, err := privsep.LookupAccount(privsepUser)
	return err
}

// loadConfig is step 2. A config that cannot be loaded is left to the
// flow, which fails closed and says why.
func (r *rootPhase) loadConfig() {
	r.owners = configOwners()
	cfg, err := conf.LoadOwned(r.configFile, r.owners...)
	if err != nil {
		return
	}
	r.cfg = cfg
	if cfg.Remember > 0 && r.privileged {
		// Approvals are saved by root only, after this process has
		// dropped to the user: start the root keeper now. Without it
		// nothing is saved (a full login next time).
		if r.keeper, err = keeper.Start(r.duoUser, privsep.Env); err != nil && r.debug != nil {
			r.debug("remember: " + err.Error())
		}
	}
}

// startChild is step 4, as the flow's NewClient: the first call starts
// the child and drops root; later calls return the same child.
func (r *rootPhase) startChild(ctx context.Context) func(*conf.Config) (login.DuoAPI, error) {
	return func(cfg *conf.Config) (login.DuoAPI, error) {
		if r.child != nil {
			return r.child, nil
		}
		c, err := r.spawn(ctx, cfg)
		// Whatever happened, root is no longer needed.
		if derr := setuid.DropToReal(); derr != nil {
			fmt.Fprintf(os.Stderr, "login_duo_go: couldn't drop privileges: %v\n", derr)
			os.Exit(1)
		}
		if err != nil {
			return nil, err
		}
		r.child = c
		return c, nil
	}
}

// spawn starts the Duo child as the service account.
func (r *rootPhase) spawn(ctx context.Context, cfg *conf.Config) (*privsep.Client, error) {
	acct, err := privsep.LookupAccount(privsepUser)
	if err != nil {
		return nil, err
	}
	return privsep.Start(ctx, cfg, acct, r.debug)
}

// rememberSave is the flow's RememberSave: the keeper's, when one runs.
func (r *rootPhase) rememberSave(sc remember.Scope, token string, maxAge time.Duration) error {
	if r.keeper == nil {
		return errors.New("remember: no root keeper (login_duo_go is not setuid root)")
	}
	return r.keeper.Save(sc, token, maxAge)
}

// end is step 5, once the flow has decided.
func (r *rootPhase) end() error {
	if r.keeper != nil {
		r.keeper.Close()
	}
	if r.child != nil {
		r.child.Shutdown()
	}
	return setuid.DropToReal()
}
