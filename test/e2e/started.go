package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Started is su or sudo started by StartSu or StartSudo and still running:
// a test can act on its processes (stop, freeze, signal) as a user could
// while it waits for Duo.
type Started struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// Ended is how a Started program ended.
type Ended struct {
	Stdout, Stderr string
	ExitCode       int // -1 when killed
}

// String is a one-line summary for test messages.
func (e *Ended) String() string { return fmt.Sprintf("exit %d, stdout %q", e.ExitCode, e.Stdout) }

// StartSu starts `runuser -u USER -- sh -c 'SHELLPREFIX exec su -c COMMAND
// TARGET'` where /etc/pam.d holds opts.PAMStack as "su" (as SuRun), with
// answers on stdin, and returns at once. shellPrefix runs in the user's
// shell first (for example "ulimit -n 9;"); "" for none.
func StartSu(t testing.TB, opts SuOptions, shellPrefix string) *Started {
	t.Helper()
	run := prepareSu(t, opts)
	argv := []string{"runuser", "-u", opts.User, "--", "sh", "-c", shellPrefix + ` exec su -c "$0" "$1"`, run.command, run.target}
	return start(t, run.binds, argv, run.env, run.stdin, run.timeout)
}

// StartSudo starts `runuser -u USER -- sh -c 'SHELLPREFIX exec sudo -S -k
// -- COMMAND'` with the PAM service and sudoers drop-in of runSudo, with
// answers on stdin, and returns at once.
func StartSudo(t testing.TB, opts SudoOptions, shellPrefix string) *Started {
	t.Helper()
	requireSudo(t, opts.User)
	run, err := prepareSudo(t.TempDir(), opts)
	require.NoError(t, err)
	// runuser -u USER -- sh -c 'PREFIX exec "$@"' sh sudo -S -k -- COMMAND
	argv := append([]string{"runuser", "-u", opts.User, "--", "sh", "-c", shellPrefix + ` exec "$@"`, "sh"}, run.argv[4:]...)
	return start(t, run.binds, argv, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}, run.stdin, run.timeout)
}

// start runs argv in a private mount namespace with binds, but not in a
// PID namespace: signals sent from outside a PID namespace to its members
// are not all delivered as they would be to a login on a real host
// (SIGSTOP is lost on this platform), and a test that stops a login must
// send them as an attacker would. The process group is killed at timeout
// and at the end of the test instead.
func start(t testing.TB, binds []Bind, argv, env []string, stdin string, timeout time.Duration) *Started {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	args := []string{"--mount", "--propagation", "private", "/bin/sh", "-c", bindScript, "sh"}
	for _, b := range binds {
		args = append(args, b.Source, b.Target)
	}
	args = append(append(args, "--"), argv...)
	p := &Started{done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, "unshare", args...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Cancel = func() error { return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
	p.cmd.WaitDelay = 5 * time.Second
	p.cmd.Env = env
	p.cmd.Stdin = strings.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		require.NoError(t, err, "starting %s", argv)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// Pids are the processes of the run: unshare and everything under it
// (su or sudo, the PAM worker, the command).
func (p *Started) Pids() []int {
	pids := []int{p.cmd.Process.Pid}
	for i := 0; i < len(pids); i++ {
		pids = append(pids, childrenOf(pids[i])...)
	}
	return pids
}

// PgID is the process group of the run (unshare's, which su or sudo and,
// unless it leaves it, the PAM worker share): what a terminal's Ctrl-Z
// stops.
func (p *Started) PgID() int { return p.cmd.Process.Pid }

// Wait waits for the program to end and returns what it printed.
func (p *Started) Wait(t testing.TB) *Ended {
	t.Helper()
	<-p.done
	res := &Ended{Stdout: p.stdout.String(), Stderr: p.stderr.String(), ExitCode: exitCode(p.err)}
	t.Logf("%s: exit %d\n--- stdout:\n%s\n--- stderr:\n%s", p.cmd.Args[len(p.cmd.Args)-1], res.ExitCode,
		escapeLines(res.Stdout), escapeLines(res.Stderr))
	return res
}
