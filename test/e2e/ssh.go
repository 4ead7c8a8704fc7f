package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// LoginCommand is the remote command RunSSH runs by default: it prints LOGIN-OK and
// the name of the user the session runs as.
const LoginCommand = "echo LOGIN-OK $(id -un)"

// SSHOptions configure RunSSH.
type SSHOptions struct {
	Port    int
	User    string
	Respond Responder // answers prompts; nil = fail on any prompt
	// Command is the remote command; "" = LoginCommand.
	Command string
	// PreferredAuthentications is ssh's option; "" = "keyboard-interactive".
	PreferredAuthentications string
	// NumberOfPasswordPrompts is ssh's option (how many times it retries
	// a failed keyboard-interactive or password round); 0 = 1.
	NumberOfPasswordPrompts int
	// TTY asks for a remote terminal (-tt) instead of none (-T).
	TTY bool
	// Timeout bounds the whole run; 0 = 60 s.
	Timeout time.Duration
	// ExtraArgs are more ssh options, placed before the destination.
	ExtraArgs []string
}

// SSHResult is what the ssh client showed and how it ended.
type SSHResult struct {
	*TerminalResult
	User string
}

// LoggedIn reports whether the session ran LoginCommand as the user
// (the transcript has "LOGIN-OK USER") and ssh exited 0.
func (r *SSHResult) LoggedIn() bool {
	if r == nil || r.TerminalResult == nil || r.ExitCode != 0 {
		return false
	}
	for _, l := range r.Transcript.Lines() {
		if l.Text == "LOGIN-OK "+r.User {
			return true
		}
	}
	return false
}

// Summary is a short account of the run for test logs: exit status,
// prompts answered and the transcript.
func (r *SSHResult) Summary() string {
	s := fmt.Sprintf("ssh %s@127.0.0.1: exit %d, timed out %v, logged in %v, %d prompts\n  $ %s\n",
		r.User, r.ExitCode, r.TimedOut, r.LoggedIn(), len(r.Prompts), r.commandLine())
	return s + r.Transcript.String()
}

// SSHArgv is the ssh command line RunSSH runs for opts: the real
// /usr/bin/ssh with no user or system configuration, no known-hosts
// files, and only the chosen authentication methods.
func SSHArgv(opts SSHOptions) []string {
	methods := opts.PreferredAuthentications
	if methods == "" {
		methods = "keyboard-interactive"
	}
	tries := opts.NumberOfPasswordPrompts
	if tries <= 0 {
		tries = 1
	}
	command := opts.Command
	if command == "" {
		command = LoginCommand
	}
	tty := "-T"
	if opts.TTY {
		tty = "-tt"
	}
	argv := []string{"/usr/bin/ssh", "-F", "/dev/null",
		"-p", strconv.Itoa(opts.Port),
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
		"-o", "PreferredAuthentications=" + methods,
		"-o", "KbdInteractiveAuthentication=yes",
		"-o", "PasswordAuthentication=yes",
		"-o", "PubkeyAuthentication=no",
		"-o", "HostbasedAuthentication=no",
		"-o", "GSSAPIAuthentication=no",
		"-o", "NumberOfPasswordPrompts=" + strconv.Itoa(tries),
		"-o", "ConnectTimeout=5",
		"-o", "BatchMode=no",
		"-o", "ControlPath=none",
		"-o", "IdentityAgent=none",
		tty,
	}
	argv = append(argv, opts.ExtraArgs...)
	return append(argv, opts.User+"@127.0.0.1", command)
}

// RunSSH logs in with the real ssh client on a pseudo-terminal, answering
// its prompts with opts.Respond and recording every line it shows with a
// timestamp. It is bounded by opts.Timeout; the result is never nil. The
// error wraps ErrTimeout when ssh was killed at the deadline, or is the
// responder's error.
func RunSSH(ctx context.Context, opts SSHOptions) (*SSHResult, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	tr, err := RunTerminal(ctx, Terminal{
		Argv:    SSHArgv(opts),
		Respond: opts.Respond,
		Timeout: timeout,
	})
	return &SSHResult{TerminalResult: tr, User: opts.User}, err
}

// Login logs in to this server with RunSSH (opts.Port is set) and
// returns what happened. It fails the test (with the transcript, and when
// the login hangs the server's processes and their stacks) if ssh hangs
// past opts.Timeout or shows a prompt the responder refuses; a refused
// login is a result, not a failure. The transcript is logged.
func (s *Sshd) Login(t testing.TB, opts SSHOptions) *SSHResult {
	t.Helper()
	RequireBinary(t, "/usr/bin/ssh")
	opts.Port = s.Port
	res, err := RunSSH(context.Background(), opts)
	if err != nil {
		if errors.Is(err, ErrTimeout) { // only then: the stacks are costly (gdb)
			require.NoError(t, err, "ssh login hung\n%s\nserver processes:\n%s\nstacks:\n%s", res.Summary(), s.Processes(), s.Stacks("[pam]"))
		}
		require.NoError(t, err, "ssh login\n%s", res.Summary())
	}
	t.Logf("%s", res.Summary())
	return res
}
