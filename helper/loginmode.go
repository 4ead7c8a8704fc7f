package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/internal/passwd"
	"github.com/pam-duo-go/pam_duo_go/internal/privsep"
	"github.com/pam-duo-go/pam_duo_go/internal/remember"
	"github.com/pam-duo-go/pam_duo_go/internal/sanitize"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/internal/tty"
	"github.com/pam-duo-go/pam_duo_go/login"
	"os/user"
	"strconv"
)

// defaultConfig is login mode's config file; packagers and tests may move
// it with -ldflags "-X main.defaultConfig=PATH". No environment variable
// changes it.
var defaultConfig = conf.DefaultLoginConfig

// privsepUser is the service account the Duo child runs as
// (privsep.LookupAccount); set at build time with
// -ldflags "-X main.privsepUser=NAME".
var privsepUser = "_pam_duo_go"

// legacyConfigOwner may own login_duo.conf besides root: duo_unix's
// documentation had it owned by sshd (0600).
const legacyConfigOwner = "sshd"

// configOwners lists the uids besides root that may own login_duo_go's
// config: sshd's when it exists, because duo_unix's documentation had
// login_duo.conf owned by it.
func configOwners() []int {
	u, err := user.Lookup(legacyConfigOwner)
	if err != nil {
		return nil
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil || uid == 0 {
		return nil
	}
	return []int{uid}
}

// motdFile is printed after a successful interactive login when motd=yes.
const motdFile = "/etc/motd"

// maxMotd bounds how much of motdFile is printed.
const maxMotd = 64 << 10

// loginOptions are login mode's command line.
type loginOptions struct {
	config  string // -c
	duoUser string // -f
	host    string // -h
	debug   bool   // -d
	version bool   // -v
	command []string
}

// errUsage marks a command-line error.
var errUsage = errors.New("usage")

// parseLoginArgs parses login_duo's options the way getopt("vc:df:h:")
// does in POSIX mode: clustered flags (-dv), option arguments attached or
// separate (-cFILE, -c FILE), options end at "--" or at the first
// argument that is not an option; the rest is the command.
func parseLoginArgs(args []string) (loginOptions, error) {
	var o loginOptions
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			switch c := a[j]; c {
			case 'v':
				o.version = true
			case 'd':
				o.debug = true
			case 'c', 'f', 'h':
				var val string
				switch {
				case j+1 < len(a):
					val = a[j+1:]
				case i+1 < len(args):
					i++
					val = args[i]
				default:
					return o, fmt.Errorf("%w: option requires an argument -- '%c'", errUsage, c)
				}
				switch c {
				case 'c':
					o.config = val
				case 'f':
					o.duoUser = val
				case 'h':
					o.host = val
				}
				j = len(a)
			default:
				return o, fmt.Errorf("%w: invalid option -- '%s'", errUsage, sanitize.String(string(c), false))
			}
		}
	}
	o.command = args[i:]
	return o, nil
}

// remoteAddress returns the client address: the first field of
// SSH_CONNECTION when it is an IP address, else -h's value.
func remoteAddress(sshConnection, hostFlag string) string {
	if f := strings.Fields(sshConnection); len(f) > 0 {
		if net.ParseIP(f[0]) != nil {
			return f[0]
		}
	}
	return sanitize.Clip(strings.TrimSpace(hostFlag), 255)
}

// syslogLogger writes to syslog (facility authpriv), debug lines too.
type syslogLogger struct{ w *syslog.Writer }

// newSyslogLogger connects to syslog; with no syslog it logs nothing.
func newSyslogLogger() syslogLogger {
	w, _ := syslog.New(syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "login_duo_go")
	return syslogLogger{w}
}

// Log writes line at severity.
func (l syslogLogger) Log(severity syslog.Priority, line string) {
	if l.w == nil {
		return
	}
	line = sanitize.String(line, false)
	switch severity {
	case syslog.LOG_DEBUG:
		_ = l.w.Debug(line)
	case syslog.LOG_ERR:
		_ = l.w.Err(line)
	case syslog.LOG_WARNING:
		_ = l.w.Warning(line)
	default:
		_ = l.w.Info(line)
	}
}

// stderrLogger is the -d logger: syslog lines go to stderr instead.
type stderrLogger struct{ w io.Writer }

// Log writes "[priority] line".
func (l stderrLogger) Log(severity syslog.Priority, line string) {
	fmt.Fprintf(l.w, "[%d] %s\n", severity, sanitize.String(line, false))
}

// loginExit is what runLogin does once the flow has decided.
type loginExit struct {
	allowed bool
	message string // shown on stderr when not allowed
}

// decide maps a login outcome to login mode's action (ARCHITECTURE.md).
// showCause says the caller may see why the config or a lookup failed:
// root, or anyone running a copy that is not setuid (they can read the
// file anyway). A setuid helper's other callers are told where to look.
func decide(res login.Result, showCause bool) loginExit {
	switch res.Outcome {
	case login.Allow, login.Bypass, login.FailOpen:
		return loginExit{allowed: true}
	case login.Deny:
		return loginExit{message: "Access denied."}
	case login.UserUnknown:
		return loginExit{message: "Access denied: unknown user."}
	case login.MaxTries:
		return loginExit{message: "Access denied: no attempts left."}
	case login.FailClosed:
		return loginExit{message: failClosedMessage(res, showCause)}
	case login.Aborted:
		return loginExit{message: "Login aborted."}
	}
	return loginExit{message: fmt.Sprintf("Access denied (unexpected outcome %d).", res.Outcome)}
}

// failClosedMessage says why a login failed closed, by its cause; with
// showCause (-d or a root caller) the config or lookup error itself.
func failClosedMessage(res login.Result, showCause bool) string {
	switch {
	case showCause && res.Cause == login.CauseConfig:
		return "Access denied: the Duo configuration cannot be used: " + sanitize.String(strings.TrimPrefix(res.Reason, "config: "), true)
	case showCause && res.Cause == login.CauseLocal:
		return "Access denied: the account could not be looked up: " + sanitize.String(strings.TrimPrefix(res.Reason, "user lookup: "), false)
	}
	return login.FailClosedMessage(res.Cause)
}

// runLogin is login mode: authenticate the real user (or -f's Duo user)
// with Duo, then exec the shell or command. It returns the exit status
// when it does not exec.
// loginService is login mode's service name, in the log and in the scope
// of remembered approvals.
const loginService = "login_duo_go"

func runLogin(args []string) int {
	userEnv := setuid.SanitizeEnv()
	die := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "login_duo_go: "+format+"\n", a...)
		return 1
	}
	opts, err := parseLoginArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go: %v\n%s", strings.TrimPrefix(err.Error(), "usage: "), usageText)
		return 1
	}
	if opts.version {
		fmt.Printf("login_duo_go %s\n", version)
		return 0
	}
	start := setuid.Current()
	// Installed setuid (or setgid), -c and -f would let a caller choose
	// what the privileged process reads and whom Duo is asked about: only
	// root may. A plain binary runs with the caller's own rights and reads
	// only what the caller can, so anyone may, as with duo_unix (Duo's
	// shared-account setup: a non-setuid login_duo, a config the account
	// owns, command="login_duo -f alice" in authorized_keys).
	setUID := start.EUID != start.RUID || start.EGID != start.RGID
	if (opts.config != "" || opts.duoUser != "") && setUID && start.RUID != 0 {
		_ = setuid.DropToReal()
		return die("Only root may specify -c or -f")
	}
	privileged := start.EUID == 0
	// -d shows the config's values (host, ikey, what the flow decided):
	// on the terminal only for root, or for anyone running a copy that is
	// not setuid (they can read the file anyway). A setuid helper's other
	// callers get the debug lines in the system log.
	debugOnTerminal := opts.debug && (start.RUID == 0 || !setUID)
	if debugOnTerminal {
		fmt.Fprintf(os.Stderr, "login_duo_go: started as %v\n", start)
	}
	if !privileged {
		// Installed setuid to some other account, or not setuid: run as
		// the caller, with the caller's rights.
		if err := setuid.DropToReal(); err != nil {
			return die("couldn't drop privileges: %v", err)
		}
	}
	me, err := passwd.LookupUID(start.RUID)
	if err != nil {
		_ = setuid.DropToReal()
		return die("Who are you? %v", err)
	}
	configFile := defaultConfig
	if opts.config != "" {
		configFile = opts.config
	}
	duoUser := me.Name
	if opts.duoUser != "" {
		duoUser = opts.duoUser
	}
	originalCommand, hasOriginalCommand := os.LookupEnv("SSH_ORIGINAL_COMMAND")
	var command *string
	if len(opts.command) > 0 {
		c := strings.Join(opts.command, " ")
		command = &c
	} else if hasOriginalCommand {
		command = &originalCommand
	}
	headless := hasOriginalCommand || !tty.IsTerminal(0)

	var debug func(string)
	var logger login.Logger
	switch {
	case debugOnTerminal:
		logger = stderrLogger{os.Stderr}
	case opts.debug:
		logger = newSyslogLogger()
	}
	if logger != nil {
		debug = func(s string) { logger.Log(syslog.LOG_DEBUG, s) }
	}

	// The Duo child runs as its own system account, never as a shared
	// one: without it the login is refused in any failmode.
	if privileged {
		if _, err := privsep.LookupAccount(privsepUser); err != nil {
			_ = setuid.DropToReal()
			if logger == nil {
				logger = newSyslogLogger()
			}
			logger.Log(syslog.LOG_ERR, "failclosed "+login.LogFields(login.LogLine{
				User: duoUser, Service: "login_duo_go", Cause: "local", Reason: err.Error()}))
			return die("%v", err)
		}
	}

	// Read the config (as root) for the front end's own keys; the flow
	// loads and reports it again itself.
	var motd, acceptEnv bool
	var keeper *rememberKeeper
	owners := configOwners()
	if cfg, err := conf.LoadOwned(configFile, owners...); err == nil {
		motd, acceptEnv = cfg.Motd, cfg.AcceptEnvFactor
		if cfg.Remember > 0 && privileged {
			// Approvals are saved by root only, after this process has
			// dropped to the user: start the root keeper now. Without it
			// nothing is saved (a full login next time).
			if keeper, err = startRememberKeeper(duoUser); err != nil && debug != nil {
				debug("remember: " + err.Error())
			}
		}
	}
	envPasscode := ""
	if acceptEnv {
		envPasscode = os.Getenv("DUO_PASSCODE")
	}
	os.Unsetenv("DUO_PASSCODE")
	userEnv = setuid.EnvWithout(userEnv, "DUO_PASSCODE")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer stop()

	term := tty.Open()
	defer term.Close()

	params := login.Params{
		Program:      "login_duo_go",
		ConfigFile:   configFile,
		ConfigOwners: owners,
		Debug:        opts.debug, // lines go to logger: the terminal or syslog
		User:         duoUser,
		UID:          start.RUID,
		Service:      loginService,
		RemoteHost:   remoteAddress(os.Getenv("SSH_CONNECTION"), opts.host),
		Headless:     headless,
		NoProgress:   headless,
		EnvPasscode:  envPasscode,
		Conv:         term,
		Log:          logger,
	}
	if pw := os.Getenv("SSH_TTY"); pw != "" {
		params.TTY = sanitize.Clip(pw, 255)
	}
	if command != nil {
		params.Command = *command
	}

	if opts.duoUser != "" {
		// -f: Duo is asked about duoUser, but groups are the real local
		// user's, and GECOS is not consulted (as in duo_unix).
		params.LookupUser = func(string) (*login.UserInfo, error) {
			return localGroups(me, duoUser)
		}
	}

	var child *privsep.Client
	if privileged {
		params.NewClient = func(cfg *conf.Config) (login.DuoAPI, error) {
			if child != nil {
				return child, nil
			}
			c, err := spawnDuoChild(ctx, cfg, debug)
			// Whatever happened, root is no longer needed.
			if derr := setuid.DropToReal(); derr != nil {
				fmt.Fprintf(os.Stderr, "login_duo_go: couldn't drop privileges: %v\n", derr)
				os.Exit(1)
			}
			if err != nil {
				return nil, err
			}
			child = c
			return c, nil
		}
	}
	if keeper != nil {
		params.RememberSave = keeper.save
	} else {
		params.RememberSave = func(remember.Scope, string, time.Duration) error {
			return errors.New("remember: no root keeper (login_duo_go is not setuid root)")
		}
	}
	res := login.Authenticate(ctx, params)
	if keeper != nil {
		keeper.close()
	}
	if child != nil {
		child.Shutdown()
	}
	if err := setuid.DropToReal(); err != nil {
		return die("couldn't drop privileges: %v", err)
	}
	// A signal (Ctrl-C, the connection hanging up) cancels the login: the
	// flow may have seen it as a failed Duo call, which failmode=safe
	// would turn into a success. It is an abort, whatever the flow said.
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		res = login.Result{Outcome: login.Aborted, Reason: "interrupted by a signal"}
	}

	d := decide(res, start.RUID == 0 || !setUID)
	if !d.allowed {
		fmt.Fprintf(os.Stderr, "%s\n", d.message)
		return 1
	}
	if motd && !headless && res.Outcome != login.FailOpen {
		printMotd(os.Stdout)
	}
	err = execShell(me, command, userEnv)
	return die("%v", err)
}

// localGroups describes the local account pw for the flow under the name
// duoName: its uid and group names, no GECOS.
func localGroups(pw *passwd.Entry, duoName string) (*login.UserInfo, error) {
	info := &login.UserInfo{Name: duoName, UID: pw.UID}
	info.Groups, info.GroupsErr = login.GroupNames(pw.Name, pw.GID)
	return info, nil
}

// spawnDuoChild starts the Duo child as the service account.
func spawnDuoChild(ctx context.Context, cfg *conf.Config, debug func(string)) (*privsep.Client, error) {
	acct, err := privsep.LookupAccount(privsepUser)
	if err != nil {
		return nil, err
	}
	return privsep.Start(ctx, cfg, acct, debug)
}

// printMotd copies the start of motdFile to w; a missing file is fine.
func printMotd(w io.Writer) {
	f, err := os.Open(motdFile)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(w, io.LimitReader(f, maxMotd))
}

// execShell replaces the process with the user's shell: `shell -c CMD`
// (argv[0] the shell's base name) when command is set, else a login shell
// (argv[0] "-" + base name). It returns only on failure.
func execShell(pw *passwd.Entry, command *string, env []string) error {
	shell := pw.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	base := filepath.Base(shell)
	argv := []string{"-" + base}
	if command != nil {
		argv = []string{base, "-c", *command}
	}
	err := syscall.Exec(shell, argv, env)
	return fmt.Errorf("%s: %w", shell, err)
}
