// Package login is the Duo second-factor login flow, written once and shared
// by the PAM module's Go core and login_duo_go: preauth, the factor menu,
// auth with live status, failmode and the outcome.
package login

import (
	"context"
	"log/syslog"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/remember"
)

// Conversation is what the flow needs from its front end: a PAM
// conversation (the module's core, or the worker pipe) or a terminal.
// The flow hands it text as it has it, Duo's included: each
// implementation escapes every text where it writes it out
// (escape.Terminal), so that it is escaped exactly once.
type Conversation interface {
	// Prompt asks the user and returns the answer; echo says whether
	// the answer is shown as it is typed.
	Prompt(ctx context.Context, msg string, echo bool) (string, error)
	// Info shows an informational message (PAM_TEXT_INFO).
	Info(ctx context.Context, msg string) error
	// Error shows an error message (PAM_ERROR_MSG).
	Error(ctx context.Context, msg string) error
}

// Outcome is how a login ended; each front end maps it to its result
// (a PAM return code, an exit status).
type Outcome int

// Outcomes.
const (
	Allow       Outcome = iota // Duo allowed the second factor
	Deny                       // Duo or the user's answers denied it
	Bypass                     // user outside groups, or preauth allow
	UserUnknown                // the user does not exist locally
	MaxTries                   // the user ran out of attempts
	FailOpen                   // Duo unavailable; failmode safe allowed
	FailClosed                 // denied for a reason other than the user's answers: see Cause
	Aborted                    // the conversation broke
)

// Cause says why a login failed closed, so that a front end can word its
// message; it is CauseNone for every other outcome.
type Cause int

// Causes of FailClosed.
const (
	CauseNone Cause = iota
	// CauseConfig: the config file is missing, unreadable, not private or
	// invalid, or names a cafile or http_proxy the client cannot use (any
	// failmode).
	CauseConfig
	// CauseLocal: the local account or its groups could not be looked up
	// (an NSS source such as LDAP failing), or this machine could not make
	// the call to Duo (file descriptors, memory), in any failmode.
	CauseLocal
	// CauseDuoRefused: Duo answered with an error (HTTP 4xx: keys,
	// parameters, a rate limit). Duo is up, so failmode does not apply.
	CauseDuoRefused
	// CauseDuoUnavailable: Duo could not be reached or failed, and
	// failmode is secure.
	CauseDuoUnavailable
	// CauseDuoFailedLater: Duo failed after it had answered this login's
	// preauth (failmode applies only before that), in any failmode.
	CauseDuoFailedLater
	// CauseUnconfirmed: Duo looked down, but the outage was not confirmed
	// (the process was stopped or starved, lacked local resources, or a
	// fresh probe reached Duo), under failmode=safe.
	CauseUnconfirmed
)

// Result is an Outcome with the reason logged for it.
type Result struct {
	Outcome Outcome
	Cause   Cause // set for FailClosed
	Reason  string
	// Err is the failed Duo call's error, typed as the duo client
	// returned it (duo.Classify tells its kind), when a failed call
	// decided the outcome; nil otherwise.
	Err error
	// Unprompted is set on an Allow won with an automatic push because the
	// conversation refused to prompt (sshd's password step, which can only
	// answer the password prompt). The PAM module remembers it in the PAM
	// handle so that a later keyboard-interactive step of the same
	// connection does not push again.
	Unprompted bool
}

// Params describes one login. The front end fills what it knows; nil hooks
// get the real implementations.
type Params struct {
	Program    string // syslog tag: "pam_duo_go" or "login_duo_go"
	ConfigFile string // conf=FILE; "" = conf.DefaultPAMConfig
	// ArgError is the PAM module's argument problem (pamhandler.ParseArgs):
	// like a config error it refuses the login in any failmode, as
	// duo_unix refused an unknown argument. A typo such as "config=" or a
	// relative conf= path must not quietly use another config.
	ArgError error
	// ConfigOwners are uids besides root (and the process's own) that may
	// own ConfigFile: login_duo_go passes its service account, which owned
	// duo_unix's login_duo.conf.
	ConfigOwners []int
	// Config, when not nil, is ConfigFile already loaded (login_duo_go
	// loads it once, as root, before the flow runs); nil: the flow loads
	// ConfigFile itself.
	Config *conf.Config
	Debug  bool

	User       string // PAM_USER or the login_duo_go user
	UID        int    // real uid of the PAM process (su logins use the invoking user); -1 unknown
	Service    string // PAM service name
	RemoteHost string // PAM_RHOST or SSH_CONNECTION's client address; "" for local logins
	TTY        string
	Command    string // the command being authorized (SUDO_COMMAND), sent with pushinfo
	Hostname   string // local host name sent as hostname; "" = os.Hostname

	// UI is what the conversation can do: prompt and show messages as
	// they come (Interactive, the zero value), hold messages back until
	// a prompt (HeldInfo, sshd), or nothing can be asked (Headless), and
	// whether courtesy messages are dropped (Quiet).
	UI UI
	// ExplainRefusal: when the login fails closed, tell the user why in
	// one line through the conversation (FailClosedMessage), as
	// login_duo_go does on its terminal; without it sudo shows only
	// "PAM authentication error: Error in service module".
	ExplainRefusal bool
	EnvPasscode    string // $DUO_PASSCODE when accept_env_factor=yes

	// AuthInfo is sshd's SSH_AUTH_INFO_0 from the PAM environment
	// (ExposeAuthInfo yes): the public key that passed the first factor
	// binds remembered approvals (the remember key).
	AuthInfo string
	// RememberDir is the directory of remembered approvals; "" is
	// remember.DefaultDir (the module argument remember_dir=, for tests).
	RememberDir string
	// RememberSave saves an approval; nil saves it in RememberDir from
	// this process, which must be root. login_duo_go, which runs as the
	// user by then, hands it to a root process.
	RememberSave func(sc remember.Scope, token string, maxAge time.Duration) error

	Conv Conversation
	Log  Logger // nil = syslog, facility LOG_AUTHPRIV

	// Deadline bounds the whole login; 0 = DefaultDeadline.
	Deadline time.Duration

	// NewClient, LookupUser and Now (the clock of remembered approvals)
	// are test hooks.
	NewClient  func(cfg *conf.Config) (DuoAPI, error)
	LookupUser func(name string) (*UserInfo, error)
	Now        func() time.Time
}

// DefaultDeadline bounds a whole login when Params.Deadline is 0.
const DefaultDeadline = 5 * time.Minute

// Logger receives the syslog lines of a login.
type Logger interface {
	// Log writes one line at the given syslog priority (a log/syslog
	// severity such as syslog.LOG_INFO; the facility is the logger's).
	Log(severity syslog.Priority, line string)
}

// DuoAPI is the part of *duo.Client the flow uses.
type DuoAPI interface {
	Preauth(ctx context.Context, req duo.PreauthRequest) (*duo.PreauthResponse, error)
	Auth(ctx context.Context, req duo.AuthRequest) (*duo.AuthResponse, error)
	AuthStatus(ctx context.Context, txid string) (*duo.AuthStatusResponse, error)
	// Probe asks over a new connection whether Duo is up (nil: it
	// answered), within timeout; see duo.Client.Probe.
	Probe(ctx context.Context, timeout time.Duration) error
	Close()
}

// UserInfo is what the flow needs to know about a local account.
type UserInfo struct {
	Name   string
	UID    int
	Gecos  string   // the whole GECOS field, commas included
	Groups []string // primary and supplementary group names
	// GroupsErr is set when the groups could not be listed. It fails the
	// login closed only when the config has groups to check.
	GroupsErr error
}

// FailClosedMessage is the one line a user sees when a login failed
// closed, by its cause; the details are in the system log only.
func FailClosedMessage(c Cause) string {
	switch c {
	case CauseConfig:
		return "Access denied: the Duo configuration on this host cannot be used (an administrator can run \"login_duo_go check\"; details in the system log)."
	case CauseLocal:
		return "Access denied: the account could not be looked up (details in the system log)."
	case CauseDuoRefused:
		return "Access denied: Duo refused the request (details in the system log)."
	case CauseDuoFailedLater:
		return "Access denied: Duo failed during the login (details in the system log)."
	case CauseUnconfirmed:
		return "Access denied: Duo could not be reached, and this was not confirmed as an outage (details in the system log)."
	}
	return "Access denied: Duo could not be reached and failmode is secure."
}
