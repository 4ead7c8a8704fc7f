package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SuProcess is a su started by StartSu and still running: a test can act
// on its processes (stop, freeze, signal) while it waits for Duo.
type SuProcess struct {
	cmd            *exec.Cmd
	cancel         context.CancelFunc
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// StartSu starts `runuser -u USER -- sh -c 'SHELLPREFIX exec su -c COMMAND
// TARGET'` in a private mount namespace where /etc/pam.d holds
// opts.PAMStack as "su" (as SuRun), with answers on stdin, and returns at
// once. shellPrefix runs in the user's shell before su (for example
// "ulimit -n 9;"); "" for none. Its process group is killed at
// opts.Timeout and at the end of the test.
func StartSu(t testing.TB, opts SuOptions, shellPrefix string) *SuProcess {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "su")
	RequireBinary(t, "runuser")
	RequireBinary(t, "unshare")
	target, command, timeout := opts.Target, opts.Command, opts.Timeout
	if target == "" {
		target = "root"
	}
	if command == "" {
		command = "id -u"
	}
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	pamDir := filepath.Join(t.TempDir(), "pam.d")
	if err := copyPAMDir(pamDir, map[string]string{"su": opts.PAMStack}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	script := shellPrefix + ` exec su -c "$0" "$1"`
	p := &SuProcess{cancel: cancel, done: make(chan struct{})}
	// A private mount namespace, but not a PID namespace: signals sent
	// from outside a PID namespace to its members are not all delivered
	// as they would be to a login on a real host (SIGSTOP is lost on
	// this platform), and a test of stopping a login must send them as
	// an attacker would. The process group is killed at the end instead.
	p.cmd = exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private",
		"/bin/sh", "-c", bindScript, "sh", pamDir, "/etc/pam.d", "--",
		"runuser", "-u", opts.User, "--", "sh", "-c", script, command, target)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Cancel = func() error { return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
	p.cmd.WaitDelay = 5 * time.Second
	p.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	p.cmd.Stdin = strings.NewReader(strings.Join(opts.Answers, "\n") + "\n")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting su: %v", err)
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

// Pids are the processes of the su run: unshare and everything under it
// (su, the PAM worker, the command).
func (p *SuProcess) Pids() []int {
	root := p.cmd.Process.Pid
	pids := []int{root}
	for i := 0; i < len(pids); i++ {
		pids = append(pids, childrenOf(pids[i])...)
	}
	return pids
}

// PgID is the process group of the su run (unshare's, which su and,
// unless it leaves it, the PAM worker share): what a terminal's Ctrl-Z
// stops.
func (p *SuProcess) PgID() int { return p.cmd.Process.Pid }

// Wait waits for su to end and returns what it printed and its exit code.
func (p *SuProcess) Wait(t testing.TB) *SuResult {
	t.Helper()
	<-p.done
	res := &SuResult{Stdout: p.stdout.String(), Stderr: p.stderr.String(), ExitCode: exitCode(p.err)}
	t.Logf("su: exit %d\n--- stdout:\n%s\n--- stderr:\n%s", res.ExitCode, escapeLines(res.Stdout), escapeLines(res.Stderr))
	return res
}

// ProcessState is the state letter of /proc/PID/stat (R, S, T, ...), or
// "" when the process is gone.
func ProcessState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// ProcessCommand is /proc/PID/cmdline with spaces for NULs.
func ProcessCommand(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
