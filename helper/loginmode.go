package main

import (
	"context"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"github.com/pam-duo-go/pam_duo_go/internal/loginopts"
	"github.com/pam-duo-go/pam_duo_go/internal/logsink"
	"github.com/pam-duo-go/pam_duo_go/internal/passwd"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/internal/tty"
	"github.com/pam-duo-go/pam_duo_go/login"
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
		return "Access denied: the Duo configuration cannot be used: " + escape.Terminal(strings.TrimPrefix(res.Reason, "config: "))
	case showCause && res.Cause == login.CauseLocal:
		return "Access denied: the account could not be looked up: " + escape.Line(strings.TrimPrefix(res.Reason, "user lookup: "))
	}
	return login.FailClosedMessage(res.Cause)
}

// loginService is login mode's service name, in the log and in the scope
// of remembered approvals.
const loginService = "login_duo_go"

// runLogin is login mode: authenticate the real user (or -f's Duo user)
// with Duo, then exec the shell or command. It returns the exit status
// when it does not exec.
func runLogin(args []string) int {
	userEnv := setuid.SanitizeEnv()
	opts, err := loginopts.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go: %v\n%s", strings.TrimPrefix(err.Error(), "usage: "), usageText)
		return 1
	}
	if opts.Version {
		fmt.Printf("login_duo_go %s\n", version)
		return 0
	}
	inv, exit := newInvocation(opts)
	if inv == nil {
		return exit
	}
	root := &rootPhase{privileged: inv.privileged, configFile: inv.configFile, duoUser: inv.duoUser, debug: inv.debug}
	if err := root.checkAccount(); err != nil {
		_ = setuid.DropToReal()
		logger := inv.logger
		if logger == nil {
			logger = logsink.Syslog("login_duo_go")
		}
		logger.Log(syslog.LOG_ERR, "failclosed "+login.LogFields(login.LogLine{
			User: inv.duoUser, Service: "login_duo_go", Cause: "local", Reason: err.Error()}))
		return die("%v", err)
	}
	root.loadConfig()
	envPasscode := ""
	if root.cfg != nil && root.cfg.AcceptEnvFactor {
		envPasscode = os.Getenv("DUO_PASSCODE")
	}
	os.Unsetenv("DUO_PASSCODE")
	userEnv = setuid.EnvWithout(userEnv, "DUO_PASSCODE")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer stop()
	term := tty.Open()
	defer term.Close()

	res := login.Authenticate(ctx, inv.params(ctx, root, term, envPasscode))
	if err := root.end(); err != nil {
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

	d := decide(res, inv.start.RUID == 0 || !inv.setUID)
	if !d.allowed {
		fmt.Fprintf(os.Stderr, "%s\n", d.message)
		return 1
	}
	if root.cfg != nil && root.cfg.Motd && !inv.headless && res.Outcome != login.FailOpen {
		printMotd(os.Stdout)
	}
	err = execShell(inv.me, inv.command, userEnv)
	return die("%v", err)
}

// die prints login mode's error line and returns its exit status, 1.
func die(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, "login_duo_go: "+format+"\n", a...)
	return 1
}

// invocation is who runs login mode, with which rights, and what for.
type invocation struct {
	opts       loginopts.Options
	start      setuid.IDs // the ids login_duo_go started with
	setUID     bool       // installed setuid or setgid (and run by another)
	privileged bool       // effective uid 0: the root phase runs
	me         *passwd.Entry
	configFile string
	duoUser    string
	command    *string // the command to run; nil for a login shell
	headless   bool    // no terminal to prompt on, or a forced command
	logger     login.Logger
	debug      func(string) // nil without -d
}

// newInvocation checks the command line against the caller's rights,
// gives up root at once when it will not be needed, and says who logs in.
// On failure it says why and returns nil and the exit status.
func newInvocation(opts loginopts.Options) (*invocation, int) {
	inv := &invocation{opts: opts, start: setuid.Current()}
	start := inv.start
	// Installed setuid (or setgid), -c and -f would let a caller choose
	// what the privileged process reads and whom Duo is asked about: only
	// root may. A plain binary runs with the caller's own rights and reads
	// only what the caller can, so anyone may, as with duo_unix (Duo's
	// shared-account setup: a non-setuid login_duo, a config the account
	// owns, command="login_duo -f alice" in authorized_keys).
	inv.setUID = start.EUID != start.RUID || start.EGID != start.RGID
	if (opts.Config != "" || opts.DuoUser != "") && inv.setUID && start.RUID != 0 {
		_ = setuid.DropToReal()
		return nil, die("Only root may specify -c or -f")
	}
	inv.privileged = start.EUID == 0
	// -d shows the config's values (host, ikey, what the flow decided):
	// on the terminal only for root, or for anyone running a copy that is
	// not setuid (they can read the file anyway). A setuid helper's other
	// callers get the debug lines in the system log.
	debugOnTerminal := opts.Debug && (start.RUID == 0 || !inv.setUID)
	if debugOnTerminal {
		fmt.Fprintf(os.Stderr, "login_duo_go: started as %v\n", start)
	}
	if !inv.privileged {
		// Installed setuid to some other account, or not setuid: run as
		// the caller, with the caller's rights.
		if err := setuid.DropToReal(); err != nil {
			return nil, die("couldn't drop privileges: %v", err)
		}
	}
	me, err := passwd.LookupUID(start.RUID)
	if err != nil {
		_ = setuid.DropToReal()
		return nil, die("Who are you? %v", err)
	}
	inv.me, inv.configFile, inv.duoUser = me, defaultConfig, me.Name
	if opts.Config != "" {
		inv.configFile = opts.Config
	}
	if opts.DuoUser != "" {
		inv.duoUser = opts.DuoUser
	}
	originalCommand, hasOriginalCommand := os.LookupEnv("SSH_ORIGINAL_COMMAND")
	if len(opts.Command) > 0 {
		c := strings.Join(opts.Command, " ")
		inv.command = &c
	} else if hasOriginalCommand {
		inv.command = &originalCommand
	}
	inv.headless = hasOriginalCommand || !tty.IsTerminal(0)
	switch {
	case debugOnTerminal:
		inv.logger = logsink.Stderr(os.Stderr)
	case opts.Debug:
		inv.logger = logsink.Syslog("login_duo_go")
	}
	if inv.logger != nil {
		inv.debug = func(s string) { inv.logger.Log(syslog.LOG_DEBUG, s) }
	}
	return inv, 0
}

// params are the flow's parameters for this login.
// ui is what the conversation can do: no terminal means no prompts and
// no progress lines.
func (inv *invocation) ui() login.UI {
	if inv.headless {
		return login.UI{Mode: login.Headless}
	}
	return login.UI{Mode: login.Interactive}
}

func (inv *invocation) params(ctx context.Context, root *rootPhase, term *tty.Terminal, envPasscode string) login.Params {
	p := login.Params{
		Program:      "login_duo_go",
		ConfigFile:   inv.configFile,
		ConfigOwners: root.owners,
		Config:       root.cfg,
		Debug:        inv.opts.Debug, // lines go to logger: the terminal or syslog
		User:         inv.duoUser,
		UID:          inv.start.RUID,
		Service:      loginService,
		RemoteHost:   inv.opts.RemoteAddress(os.Getenv("SSH_CONNECTION")),
		UI:           inv.ui(),
		EnvPasscode:  envPasscode,
		Conv:         term,
		Log:          inv.logger,
		RememberSave: root.rememberSave,
	}
	if pw := os.Getenv("SSH_TTY"); pw != "" {
		p.TTY = escape.Clip(pw, 255, "")
	}
	if inv.command != nil {
		p.Command = *inv.command
	}
	if inv.opts.DuoUser != "" {
		// -f: Duo is asked about duoUser, but groups are the real local
		// user's, and GECOS is not consulted (as in duo_unix).
		p.LookupUser = func(string) (*login.UserInfo, error) {
			return localGroups(inv.me, inv.duoUser)
		}
	}
	if inv.privileged {
		p.NewClient = root.startChild(ctx)
	}
	return p
}

// localGroups describes the local account pw for the flow under the name
// duoName: its uid and group names, no GECOS.
func localGroups(pw *passwd.Entry, duoName string) (*login.UserInfo, error) {
	info := &login.UserInfo{Name: duoName, UID: pw.UID}
	info.Groups, info.GroupsErr = login.GroupNames(pw.Name, pw.GID)
	return info, nil
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
