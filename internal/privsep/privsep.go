// Package privsep is the privilege separation of login_duo_go's login
// mode: the Duo child, a process of its own service account that makes
// every Duo call, and the Q/Y/D protocol its setuid parent speaks to it.
//
// login_duo_go is installed setuid root so that it can read a config file
// (with the Duo secret key) that the logging-in user cannot. Root is needed
// only before the first Duo call: to read that file, for lookups and
// remembered approvals that may need it, to start the remember keeper
// (internal/keeper) and to start the Duo child under the service account.
// The shape:
//
//	parent (setuid root, real uid = the user)
//	  1. as root, the root phase (helper/rootphase.go) loads the config
//	     once, and the flow (login.Authenticate) looks up the user, the
//	     groups and remembered approvals; a user Duo does not apply to
//	     never starts a child;
//	  2. at the flow's first Duo call (its NewClient), still root, the
//	     parent starts the child (Start): it
//	     re-executes its own binary by its absolute path
//	     (os.Executable) as `login_duo_go duo-child`, with
//	     SysProcAttr.Credential = the service account (LookupAccount; the
//	     build-time default "_pam_duo_go", a system account used by nothing else, created by
//	     the packages and make install; without it the login is refused,
//	     never run as another account), no supplementary groups, a new
//	     session (no controlling terminal), an explicit minimal environment
//	     and only two pipes as stdin/stdout;
//	  3. the parent at once drops to the real user for good (setresuid on
//	     every thread) and goes on with the flow as the user: the menu, the
//	     answers and the status lines stay between the user's terminal and
//	     a process running as the user;
//	  4. each Duo call (preauth, auth, auth_status) goes over the pipes as a
//	     framed JSON message (internal/wire framing, types Q/Y/D); the child
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
//
// The protocol (internal/wire framing, every payload at most
// wire.MaxPayload; the parent writes, the child answers each call before
// the next one is sent):
//
//	Q call    parent → child  JSON call: Method "init" (first, once: the
//	                          keys, host, proxy, timeout and cafile's PEM),
//	                          "preauth", "auth", "auth_status" or "probe",
//	                          with TimeoutMS, the time the call may take
//	D debug   child → parent  a debug line of the child's Duo client (-d
//	                          only), any number before a reply
//	Y reply   child → parent  JSON reply: the call's response, or Err, a
//	                          duo error that keeps its type (api, transport,
//	                          response, deadline, canceled, other) and its
//	                          local and deny marks
//
// The child's side (RunChild): a message that is not a Q or whose JSON it
// cannot parse, a call before init, a second init, or an init it cannot
// act on (a bad CA bundle) ends the child (exit 1) after an error reply.
// A Duo error, an unknown method or a preauth or auth without its request
// is only that call's error reply; the child goes on. A reply larger than
// wire.MaxPayload is replaced by an error reply (kind response); debug
// lines are clipped to it. Closing the child's stdin ends it (exit 0); so
// does its lifetime (childLifetime), and TimeoutMS bounds each call.
//
// The parent's side (Client): it reads at most 1000 messages for one call;
// more, a message of another type or a reply it cannot parse is a
// duo.ResponseError, and a pipe that fails or closes is a
// duo.TransportError wrapping duo.ErrLocalResource (the child is gone:
// something on this machine, never an outage of Duo). A parent whose
// call's context ends closes both pipes. After any of these the Client
// is broken: every later call returns the same error at once.
package privsep

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"time"

	"github.com/pam-duo-go/pam_duo_go/login"
)

// ChildCommand is login_duo_go's hidden subcommand of the Duo child: its
// main calls RunChild for it.
const ChildCommand = "duo-child"

// Env is the whole environment of the Duo child (and of login_duo_go's
// other helper processes). GOMAXPROCS=1: the
// child makes one HTTPS call at a time, and a Go runtime started with one
// P starts fewer threads; measured per login_duo_go login (bench, 3×15
// logins each): 85 fewer minor page faults and less CPU.
var Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "GOMAXPROCS=1"}

// childLifetime bounds the Duo child's whole run.
const childLifetime = login.DefaultDeadline + time.Minute

// Account is the uid and gid the Duo child runs as.
type Account struct {
	Name     string
	UID, GID int
}

// ErrNoAccount is wrapped by LookupAccount's error when the account does
// not exist.
var ErrNoAccount = errors.New("service account missing")

// LookupAccount resolves name, the service account of the Duo child. It
// must be an account no other process runs as: any process of that uid
// could stop the child (SIGSTOP) while it waits for Duo, and a login
// waiting on a stopped Duo call must not look like Duo being down. A
// missing account is an error (ErrNoAccount, with how to create it): the
// child never runs as a shared account such as sshd or nobody. Root is
// refused.
func LookupAccount(name string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return Account{}, fmt.Errorf("%w: the account %q, which runs login_duo_go's Duo child, does not exist; "+
				"the pam_duo_go package creates it, or run: useradd --system --no-create-home --home-dir /nonexistent "+
				"--shell /usr/sbin/nologin --user-group %s", ErrNoAccount, name, name)
		}
		return Account{}, fmt.Errorf("service account %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return Account{}, fmt.Errorf("service account %q: bad uid/gid %q/%q", u.Username, u.Uid, u.Gid)
	}
	if uid == 0 || gid == 0 {
		return Account{}, fmt.Errorf("service account %q is root", u.Username)
	}
	return Account{Name: u.Username, UID: uid, GID: gid}, nil
}
