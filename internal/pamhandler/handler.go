// Package pamhandler is pam_duo_go's pam_sm_authenticate, written once:
// it takes the module arguments, PAM_SILENT and the PAM items from a
// Transaction, runs the login (login.Authenticate) and returns the PAM
// return code.
//
// Two transports carry it. The module's Go core (pam_module/core) runs it
// in the PAM application's process, on the live pam_handle; login_duo_go
// pam-worker runs it out of process, with the items from the C module's
// start message and the conversation relayed over the worker socket
// (ARCHITECTURE.md). The module arguments (ParseArgs) and the PAM return
// codes are defined here for both.
package pamhandler

import (
	"context"
	"log/syslog"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/login"
)

// PAM return codes (Linux-PAM's _pam_types.h) that logins end with. The
// Go core checks them against libpam's at compile time.
const (
	Success     = 0
	ServiceErr  = 3
	AuthErr     = 7
	UserUnknown = 10
	MaxTries    = 11
	Ignore      = 25
	Abort       = 26
)

// Code is the PAM return code for o, the table in ARCHITECTURE.md;
// bypassSuccess is the module argument bypass=success.
func Code(o login.Outcome, bypassSuccess bool) int {
	switch o {
	case login.Allow, login.FailOpen:
		return Success
	case login.Bypass:
		if bypassSuccess {
			return Success
		}
		return Ignore
	case login.Deny:
		return AuthErr
	case login.UserUnknown:
		return UserUnknown
	case login.MaxTries:
		return MaxTries
	case login.Aborted:
		return Abort
	}
	return ServiceErr // FailClosed, and any outcome this table does not know
}

// Exit statuses of an out-of-process login (login_duo_go pam-worker): the
// C module's fallback when the worker ended without its result message
// (ExitDenied gives PAM_AUTH_ERR, any other PAM_SERVICE_ERR).
const (
	ExitAllowed = 0 // PAM_SUCCESS or PAM_IGNORE
	ExitDenied  = 1 // PAM_AUTH_ERR, PAM_MAXTRIES or PAM_USER_UNKNOWN
	ExitFailed  = 2 // any other code
)

// ExitStatus is the exit status that goes with a PAM return code.
func ExitStatus(code int) int {
	switch code {
	case Success, Ignore:
		return ExitAllowed
	case AuthErr, MaxTries, UserUnknown:
		return ExitDenied
	}
	return ExitFailed
}

// Item names a string PAM item; the values are libpam's (checked at
// compile time by the Go core).
type Item int

// The PAM items a login reads.
const (
	Service    Item = 1 // PAM_SERVICE
	TTY        Item = 3 // PAM_TTY: shown in the login's debug line
	RemoteHost Item = 4 // PAM_RHOST
)

// Transaction is one pam_sm_authenticate as a transport sees it: the PAM
// items and environment, the PAM application's process, and the
// application's conversation.
type Transaction interface {
	login.Conversation
	// User is PAM_USER as pam_get_user(3) gives it (it may ask the
	// application); an error when there is none.
	User() (string, error)
	// Item is a string PAM item; "" when unset.
	Item(Item) string
	// Env is a variable of the PAM environment (pam_getenv(3)); "" when
	// unset.
	Env(name string) string
	// UID is the real uid of the PAM application's process (su logins use
	// the invoking user); -1 when unknown.
	UID() int
	// Command is SUDO_COMMAND as the PAM application's process has it, ""
	// when unset; both transports read it the same way (the worker gets
	// it in the module's start message). It is asked only under services
	// named sudo*: anywhere else it is whatever the caller put in the
	// environment.
	Command() string
}

// Result is how one pam_sm_authenticate ended.
type Result struct {
	Code   int    // the PAM return code
	Reason string // the reason logged for it
	// Unprompted is login.Result.Unprompted: allowed with an automatic
	// push because the conversation could not prompt. The C module then
	// marks the PAM handle (ARCHITECTURE.md).
	Unprompted bool
}

// Program is the syslog tag of every line the handler and the login log.
const Program = "pam_duo_go"

// Authenticate runs one pam_sm_authenticate: argv are the module
// arguments, silent is PAM_SILENT, log receives the syslog lines (nil =
// syslog). A bad argument refuses the login (login.Params.ArgError).
func Authenticate(ctx context.Context, tx Transaction, argv []string, silent bool, log login.Logger) Result {
	service := tx.Item(Service)
	user, err := tx.User()
	if err != nil {
		if log == nil {
			l := login.NewSyslog(Program)
			defer l.Close()
			log = l
		}
		const reason = "no user name from PAM"
		log.Log(syslog.LOG_WARNING, "unknown-user "+login.LogFields(login.LogLine{
			RemoteHost: tx.Item(RemoteHost), Service: service, Reason: reason}))
		return Result{Code: UserUnknown, Reason: reason}
	}
	p, args := loginParams(tx, argv, silent, service, user)
	p.Conv, p.Log = tx, log
	res := login.Authenticate(ctx, p)
	return Result{Code: Code(res.Outcome, args.Bypass == BypassSuccess), Reason: res.Reason, Unprompted: res.Unprompted}
}

// loginParams is the login for one pam_sm_authenticate, with the module
// arguments applied, and the arguments themselves (for bypass=); the
// caller adds the conversation and the logger.
//
// PAM_SILENT works as the quiet argument: no courtesy messages, but what
// the user needs to finish the login (a Verified Push code, the progress
// of a push or call, why an answer was refused) is still shown. The
// module asks questions anyway, and sudo passes PAM_SILENT on every call:
// honouring it fully would hide the Verified Push code there and leave a
// sudo user waiting on a push with no word on the screen.
//
// Under sshd* services, keyboard-interactive holds PAM_TEXT_INFO back
// until the next prompt, so live status rides in a prompt; and the
// password step can only answer the password prompt, so a refused first
// prompt goes on headless.
//
// The command shown in the push is computed here and only here: for
// services named sudo* (sudo, sudo-i, a pam_service= of sudoers) it is
// SUDO_COMMAND, the command being authorized. Any other service (su,
// login, sshd) inherits SUDO_COMMAND from whoever started it, who can set
// it to anything (`env SUDO_COMMAND='apt-get update' su -c 'cat
// /etc/shadow' bob`), so there it is not even read.
func loginParams(tx Transaction, argv []string, silent bool, service, user string) (login.Params, Args) {
	args, argErr := ParseArgs(argv)
	mode := login.Interactive
	if strings.HasPrefix(service, "sshd") {
		mode = login.HeldInfo
	}
	p := login.Params{
		Program:        Program,
		ConfigFile:     args.Conf,
		ArgError:       argErr,
		Debug:          args.Debug,
		UI:             login.UI{Mode: mode, Quiet: args.Quiet || silent},
		Deadline:       args.LoginTimeout,
		User:           user,
		UID:            tx.UID(),
		Service:        service,
		RemoteHost:     tx.Item(RemoteHost),
		TTY:            tx.Item(TTY),
		AuthInfo:       tx.Env("SSH_AUTH_INFO_0"),
		RememberDir:    args.RememberDir,
		ExplainRefusal: true,
	}
	if strings.HasPrefix(service, "sudo") {
		p.Command = tx.Command()
	}
	return p, args
}
