package login

import (
	"strings"

	"github.com/pam-duo-go/pam_duo_go/conf"
)

// PAMLogin is one pam_sm_authenticate as both PAM front ends see it: the
// module's Go core (from the PAM handle) and login_duo_go pam-worker (from
// the C module's start message).
type PAMLogin struct {
	Args       []string // the module arguments, in order
	Silent     bool     // the application passed PAM_SILENT
	User       string   // PAM_USER
	UID        int      // getuid() of the PAM process; -1 unknown
	Service    string   // PAM_SERVICE
	RemoteHost string   // PAM_RHOST
	TTY        string   // PAM_TTY
	RUser      string   // PAM_RUSER
	Command    string   // SUDO_COMMAND as the PAM process has it; see SudoCommand
	AuthInfo   string   // SSH_AUTH_INFO_0 from the PAM environment (sshd's ExposeAuthInfo)
}

// SudoCommand is the one place that decides whether a PAM login carries a
// command to show in the push: only for services named sudo* is
// sudoCommand (SUDO_COMMAND, set by sudo) the command being authorized.
// Any other service (su, login, sshd) inherits SUDO_COMMAND from whoever
// started it, who can set it to anything
// (`env SUDO_COMMAND='apt-get update' su -c 'cat /etc/shadow' bob`),
// so there it is ignored.
func SudoCommand(service, sudoCommand string) string {
	if !IsSudoService(service) {
		return ""
	}
	return sudoCommand
}

// IsSudoService reports whether the PAM service is sudo's (its name
// starts with "sudo": sudo, sudo-i, a pam_service= of sudoers).
func IsSudoService(service string) bool {
	return strings.HasPrefix(service, "sudo")
}

// Params is the login for l, with the module arguments applied, and the
// arguments themselves (for bypass=). The caller adds Conv and Log.
//
// A bad argument refuses the login (Params.ArgError). PAM_SILENT works
// as the quiet argument: no courtesy messages, but what the user needs to
// finish the login (a Verified Push code, the progress of a push or call,
// why an answer was refused) is still shown. The module asks questions
// anyway, and sudo passes PAM_SILENT on every call: honouring it fully
// would hide the Verified Push code there and leave a sudo user waiting on
// a push with no word on the screen.
//
// Command reaches the login only for sudo* services (SudoCommand).
//
// Under sshd* services, keyboard-interactive holds PAM_TEXT_INFO back
// until the next prompt, so live status rides in a prompt; and the
// password step can only answer the password prompt, so a refused first
// prompt goes on headless.
func (l PAMLogin) Params() (Params, conf.Args) {
	args, argErr := conf.ParseArgs(l.Args)
	mode := Interactive
	if strings.HasPrefix(l.Service, "sshd") {
		mode = HeldInfo
	}
	return Params{
		Program:        "pam_duo_go",
		ConfigFile:     args.Conf,
		ArgError:       argErr,
		Debug:          args.Debug,
		UI:             UI{Mode: mode, Quiet: args.Quiet || l.Silent},
		Deadline:       args.LoginTimeout,
		User:           l.User,
		UID:            l.UID,
		Service:        l.Service,
		RemoteHost:     l.RemoteHost,
		TTY:            l.TTY,
		RUser:          l.RUser,
		Command:        SudoCommand(l.Service, l.Command),
		AuthInfo:       l.AuthInfo,
		RememberDir:    args.RememberDir,
		ExplainRefusal: true,
	}, args
}
