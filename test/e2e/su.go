package e2e

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SuOptions configure SuRun.
type SuOptions struct {
	// User runs su (through runuser). Required.
	User string
	// Target is the account su switches to; "" = root.
	Target string
	// PAMStack is the text of the "su" PAM service su reads.
	PAMStack string
	// Answers are su's stdin lines, one per prompt.
	Answers []string
	// Command is what su runs with -c; "" = "id -u".
	Command string
	// Timeout bounds the run; 0 = 60 s.
	Timeout time.Duration
	// Env is added to the minimal environment su is started with.
	Env []string
}

// SuResult is how a su run ended.
type SuResult struct {
	Stdout, Stderr string
	ExitCode       int // -1 when killed
}

// SuRun runs `runuser -u USER -- su -c COMMAND TARGET` with the answers on
// su's stdin, in private mount and PID namespaces where /etc/pam.d is a
// copy holding opts.PAMStack as the "su" service, so the system's files are
// never changed. It fails the test if su outlives opts.Timeout (the whole
// namespace is killed) and logs what su printed.
func SuRun(t testing.TB, opts SuOptions) *SuResult {
	t.Helper()
	run := prepareSu(t, opts)
	target, command, timeout := run.target, run.command, run.timeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := privateCommand(ctx, run.binds, "runuser", "-u", opts.User, "--", "su", "-c", command, target)
	cmd.Env = run.env
	cmd.Stdin = strings.NewReader(run.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := &SuResult{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: exitCode(err)}
	t.Logf("su %s by %s: exit %d\n--- stdout:\n%s\n--- stderr:\n%s", target, opts.User, res.ExitCode,
		escapeLines(res.Stdout), escapeLines(res.Stderr))
	require.NoError(t, ctx.Err(), "su: %v after %v", ErrTimeout, timeout)
	return res
}

// suRun is a prepared su run: the bind that gives it its own /etc/pam.d,
// and what it runs.
type suRun struct {
	binds           []Bind
	target, command string
	env             []string
	stdin           string
	timeout         time.Duration
}

// prepareSu checks what a su run needs, applies opts' defaults and writes
// its PAM service.
func prepareSu(t testing.TB, opts SuOptions) suRun {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "su")
	RequireBinary(t, "runuser")
	RequireBinary(t, "unshare")
	require.NotEmpty(t, opts.User, "su: no user")
	run := suRun{target: opts.Target, command: opts.Command, timeout: opts.Timeout,
		env:   append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}, opts.Env...),
		stdin: strings.Join(opts.Answers, "\n") + "\n"}
	if run.target == "" {
		run.target = "root"
	}
	if run.command == "" {
		run.command = "id -u"
	}
	if run.timeout <= 0 {
		run.timeout = 60 * time.Second
	}
	pamDir := filepath.Join(t.TempDir(), "pam.d")
	require.NoError(t, copyPAMDir(pamDir, map[string]string{"su": opts.PAMStack}))
	run.binds = []Bind{{Source: pamDir, Target: "/etc/pam.d"}}
	return run
}

// String is a one-line summary for test messages.
func (r *SuResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q", r.ExitCode, r.Stdout)
}

// SuShellArgv is the command line of a shell script run by user in
// private mount and PID namespaces where /etc/pam.d holds pamStack as the
// "su" service (as SuRun has it), for RunTerminal: the script can change
// its own limits, nice value and scheduling, then run su on the
// terminal. The pam.d copy is removed with the test.
func SuShellArgv(t testing.TB, user, pamStack, script string) []string {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "su")
	RequireBinary(t, "runuser")
	RequireBinary(t, "unshare")
	pamDir := filepath.Join(t.TempDir(), "pam.d")
	require.NoError(t, copyPAMDir(pamDir, map[string]string{"su": pamStack}))
	return privateArgv([]Bind{{Source: pamDir, Target: "/etc/pam.d"}},
		"runuser", "-u", user, "--", "/bin/sh", "-c", script)
}
