// Command login_duo_go is pam_duo_go's helper binary, installed setuid root
// as /usr/sbin/login_duo_go. It has three jobs:
//
//   - login mode, a drop-in for duo_unix's login_duo: run as an sshd
//     ForceCommand or an authorized_keys command="..." option, it asks for
//     Duo's second factor and then runs the user's shell or command;
//   - `login_duo_go pam-worker`: the out-of-process login the PAM module
//     runs (pipe protocol in ARCHITECTURE.md);
//   - `login_duo_go check`: configuration and connectivity checks for
//     administrators.
//
// Exit status of login mode: the command's own status after a successful
// login (the command replaces login_duo_go), 1 when the login is refused,
// fails or the command line is wrong.
package main

import (
	"fmt"
	"os"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/keeper"
	"github.com/pam-duo-go/pam_duo_go/internal/pamworker"
	"github.com/pam-duo-go/pam_duo_go/internal/privsep"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// userAgent is sent to Duo by login mode and check.
func userAgent() string {
	return "login_duo_go/" + version + " (pam_duo_go " + duo.Version + "; Go)"
}

const usageText = `Usage: login_duo_go [-v] [-c config] [-d] [-f duouser] [-h host] [--] [prog [args...]]
       login_duo_go check [--json] [-c config] [-u user]
       login_duo_go check [--json] --pam-stack [dir]
       login_duo_go pam-worker

Login mode (sshd ForceCommand, or command="login_duo_go -f alice" in
authorized_keys) asks for Duo's second factor, then runs prog, else
$SSH_ORIGINAL_COMMAND, through the user's shell (shell -c), else the
user's login shell. It exits 1 when the login is refused.
  -c config   config file (default /etc/duo/login_duo.conf); root only
  -d          debug: log to stderr instead of syslog
  -f duouser  authenticate as this Duo user; root only
  -h host     remote address to report when SSH_CONNECTION is not set
  -v          print the version and exit

check validates the config file (every problem with its line, under the
owner rule of its reader: login_duo.conf login_duo_go's, any other file the
PAM module's), proves the keys, host, proxy and TLS trust with Duo's
/auth/v2/check and reports the server clock offset; without -c it checks
every config present (/etc/duo/pam_duo.conf, login_duo.conf, each conf= in
/etc/pam.d). -u decides what the login would for the local USER (account,
groups, GECOS) and shows what Duo would offer.
--pam-stack reads dir (default /etc/pam.d), follows its includes and
reports the stacks that lock users out or let them past Duo, each with
its line, severity and fix. --json prints every result as one JSON
document. Exit: 0 ok, 1 config invalid, 2 Duo unreachable or failing,
3 Duo refused the credentials, 4 PAM stack errors, 5 USER refused locally
(no such account, groups unreadable), 6 clock more than 5 min off, 64 usage.

pam-worker is run by the pam_duo_go PAM module (root only).
`

func main() {
	if err := setuid.EnsureStdFDs(); err != nil {
		// Nowhere safe to write to: exit quietly.
		os.Exit(1)
	}
	os.Exit(run(os.Args[1:]))
}

// run dispatches on the subcommand; anything else is login mode, so that
// `login_duo_go ls -l` and `login_duo_go -- check` run commands.
func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case pamworker.Command:
			return pamworker.Run(args[1:])
		case "check":
			return runCheck(args[1:])
		case privsep.ChildCommand:
			return privsep.RunChild(args[1:], userAgent())
		case keeper.Command:
			return keeper.Run(args[1:], loginService)
		case "--help":
			fmt.Print(usageText)
			return 0
		}
	}
	return runLogin(args)
}
