package pamhandler

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pam-duo-go/pam_duo_go/conf"
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
	Conf   string // conf=FILE: the configuration file (absolute); conf.DefaultPAMConfig when not given
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

// ErrArgument is wrapped by every error of ParseArgs: a module argument it
// does not understand, or one with a bad value.
var ErrArgument = errors.New("bad module argument")

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
	a := Args{Conf: conf.DefaultPAMConfig, Mode: ModeAuto, Bypass: BypassIgnore, LoginTimeout: DefaultLoginTimeout}
	var errs []error
	bad := func(arg, why string) {
		a.Unknown = append(a.Unknown, arg)
		errs = append(errs, &argError{msg: fmt.Sprintf("module argument %q: %s", clip(arg, 200), why)})
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
	switch len(errs) {
	case 0:
		return a, nil
	case 1:
		return a, errs[0]
	}
	return a, errors.Join(errs...)
}

// argError is one bad argument: its text, matched by errors.Is to
// ErrArgument without repeating ErrArgument's text.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }
func (e *argError) Unwrap() error { return ErrArgument }

// clip shortens s for quoting in a message, on a rune boundary.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// absPath returns p cleaned when it is an absolute path without control
// characters.
func absPath(p string) (string, bool) {
	if !filepath.IsAbs(p) || strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", false
	}
	return filepath.Clean(p), true
}
