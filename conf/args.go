package conf

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Module modes (the mode= argument).
const (
	ModeAuto = "auto" // run the login in the Go core, or out of process after a fork
	ModeExec = "exec" // always run the login out of process (login_duo_go pam-worker)
)

// Outcomes for users outside groups (the bypass= argument).
const (
	BypassIgnore  = "ignore"  // PAM_IGNORE: the rest of the stack decides
	BypassSuccess = "success" // PAM_SUCCESS, as duo_unix answered
)

// Args are the PAM module's arguments (the words after the module path in
// a /etc/pam.d file).
type Args struct {
	Conf   string // conf=FILE: the configuration file (absolute); DefaultPAMConfig when not given
	Debug  bool   // debug: log more detail (duo_unix)
	Quiet  bool   // quiet: show the user fewer informational messages (pam_duo_go's; duo_unix has no such argument)
	Mode   string // mode=auto|exec; ModeAuto when not given
	Core   string // core=PATH: the Go core library (absolute); "" = the built-in path
	Helper string // helper=PATH: login_duo_go (absolute); "" = the built-in path
	Bypass string // bypass=ignore|success; BypassIgnore when not given
	// RememberDir is remember_dir=PATH, for tests: the directory of
	// remembered approvals instead of the built-in one; "" = built in.
	RememberDir string
	// LoginTimeout is login_timeout=SECONDS: the most one whole login may
	// take, waiting on the user and Duo included; DefaultLoginTimeout when
	// not given.
	LoginTimeout time.Duration
	Unknown      []string // arguments not understood or with a bad value, as given
}

// Bounds of the login_timeout= module argument, and its default.
const (
	DefaultLoginTimeout = 5 * time.Minute
	MinLoginTimeout     = 5 * time.Second
	MaxLoginTimeout     = time.Hour
)

// ParseArgs reads the module arguments: duo_unix's conf=FILE and debug,
// and pam_duo_go's quiet, mode=, core=, helper=, bypass=, login_timeout=
// and remember_dir= (for tests). When an
// argument is repeated the last one wins. An argument that is unknown or
// has a bad value (paths must be absolute) is listed in Unknown, leaves the
// setting at its default, and is reported in the returned error (wrapping
// ErrArgument); every other argument still takes effect. The login flow
// refuses the login for such an error (login.Params.ArgError), as
// duo_unix did.
func ParseArgs(argv []string) (Args, error) {
	a := Args{Conf: DefaultPAMConfig, Mode: ModeAuto, Bypass: BypassIgnore, LoginTimeout: DefaultLoginTimeout}
	var errs []error
	bad := func(arg, why string) {
		a.Unknown = append(a.Unknown, arg)
		errs = append(errs, newDetail(ErrArgument, fmt.Sprintf("module argument %q: %s", clip(arg, 200), why)))
	}
	for _, arg := range argv {
		name, value, hasValue := strings.Cut(arg, "=")
		switch {
		case arg == "debug":
			a.Debug = true
		case arg == "quiet":
			a.Quiet = true
		case name == "conf" && hasValue:
			if path, ok := absPath(value); ok {
				a.Conf = path
			} else {
				bad(arg, "want conf=/absolute/path")
			}
		case name == "core" && hasValue:
			if path, ok := absPath(value); ok {
				a.Core = path
			} else {
				bad(arg, "want core=/absolute/path")
			}
		case name == "helper" && hasValue:
			if path, ok := absPath(value); ok {
				a.Helper = path
			} else {
				bad(arg, "want helper=/absolute/path")
			}
		case name == "remember_dir" && hasValue:
			if path, ok := absPath(value); ok {
				a.RememberDir = path
			} else {
				bad(arg, "want remember_dir=/absolute/path")
			}
		case name == "mode" && hasValue:
			if value == ModeAuto || value == ModeExec {
				a.Mode = value
			} else {
				bad(arg, "want mode=auto or mode=exec")
			}
		case name == "bypass" && hasValue:
			if value == BypassIgnore || value == BypassSuccess {
				a.Bypass = value
			} else {
				bad(arg, "want bypass=ignore or bypass=success")
			}
		case name == "login_timeout" && hasValue:
			n, err := strconv.Atoi(value)
			d := time.Duration(n) * time.Second
			if err != nil || d < MinLoginTimeout || d > MaxLoginTimeout {
				bad(arg, fmt.Sprintf("want login_timeout=SECONDS, %d to %d", int(MinLoginTimeout.Seconds()), int(MaxLoginTimeout.Seconds())))
			} else {
				a.LoginTimeout = d
			}
		default:
			bad(arg, "unknown (known: conf=FILE, debug, quiet, mode=auto|exec, core=PATH, helper=PATH, bypass=ignore|success, login_timeout=SECONDS, remember_dir=PATH)")
		}
	}
	return a, joinErrors(errs)
}

// absPath returns p cleaned when it is an absolute path without control
// characters.
func absPath(p string) (string, bool) {
	if !filepath.IsAbs(p) || strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", false
	}
	return filepath.Clean(p), true
}
