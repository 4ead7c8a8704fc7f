package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SudoOptions configure runSudo.
type SudoOptions struct {
	// User runs sudo (through runuser). Required.
	User string
	// PAMStack is the text of the PAM service file sudo uses.
	PAMStack string
	// Service is the PAM service name; "" = a random "sudo-pdgt-*" (a
	// sudo* name: the module takes SUDO_COMMAND only from those).
	Service string
	// Answers are sudo -S's stdin lines, one per prompt.
	Answers []string
	// Command is what sudo runs; nil = /usr/bin/id -u. The sudoers rule
	// allows /usr/bin/id only, with any arguments.
	Command []string
	// Timeout bounds the run; 0 = 60 s.
	Timeout time.Duration
}

// SudoResult is how a sudo run ended.
type SudoResult struct {
	Stdout, Stderr string
	ExitCode       int // -1 when killed
	TimedOut       bool
	Sudoers        string // the drop-in that was in effect
}

// Summary formats the result for a test log.
func (r *SudoResult) Summary() string {
	return fmt.Sprintf("sudo: exit %d, timed out %v\n--- stdout:\n%s\n--- stderr:\n%s\n--- sudoers drop-in:\n%s",
		r.ExitCode, r.TimedOut, escapeLines(r.Stdout), escapeLines(r.Stderr), r.Sudoers)
}

// runSudo runs `runuser -u USER -- sudo -S -k COMMAND` with the answers on
// sudo's stdin. sudo sees, in private mount and PID namespaces, a copy of
// /etc/pam.d holding opts.PAMStack as service opts.Service, and an
// /etc/sudoers.d holding only a drop-in (validated with visudo -cf):
//
//	Defaults:USER pam_service="SERVICE", timestamp_timeout=0, passwd_tries=1, !lecture
//	USER ALL=(root) /usr/bin/id
//
// so the system's files are never changed. Nothing outlives the run: the
// test directory is removed by the testing package, and a run past the
// deadline is killed with its whole namespace (the error then wraps
// ErrTimeout). The result is never nil.
func runSudo(ctx context.Context, dir string, opts SudoOptions) (*SudoResult, error) {
	res := &SudoResult{ExitCode: -1}
	run, err := prepareSudo(dir, opts)
	res.Sudoers = run.sudoers
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, run.timeout)
	defer cancel()
	cmd := privateCommand(ctx, run.binds, run.argv...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	cmd.Stdin = strings.NewReader(run.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.ExitCode = exitCode(err)
	if ctx.Err() != nil {
		res.TimedOut = true
		return res, fmt.Errorf("sudo: %w after %v", ErrTimeout, run.timeout)
	}
	return res, nil
}

// sudoRun is a prepared sudo run: the binds that give it its own
// /etc/pam.d and /etc/sudoers.d, its command line, stdin and bound.
type sudoRun struct {
	binds   []Bind
	argv    []string
	stdin   string
	timeout time.Duration
	sudoers string
}

// prepareSudo writes the PAM service and the sudoers drop-in of a sudo
// run into dir and returns how to run it.
func prepareSudo(dir string, opts SudoOptions) (sudoRun, error) {
	var run sudoRun
	if opts.User == "" {
		return run, errors.New("runSudo: no user")
	}
	service := opts.Service
	if service == "" {
		service = "sudo-pdgt-" + randomHex(4)
	}
	if strings.ContainsAny(service, "/\"\\ \t\n") {
		return run, fmt.Errorf("runSudo: bad service name %q", service)
	}
	command := opts.Command
	if len(command) == 0 {
		command = []string{"/usr/bin/id", "-u"}
	}
	run.timeout = opts.Timeout
	if run.timeout <= 0 {
		run.timeout = 60 * time.Second
	}

	pamDir := filepath.Join(dir, "pam.d")
	if err := copyPAMDir(pamDir, map[string]string{service: opts.PAMStack}); err != nil {
		return run, err
	}
	sudoersDir := filepath.Join(dir, "sudoers.d")
	if err := os.Mkdir(sudoersDir, 0o755); err != nil {
		return run, fmt.Errorf("sudoers.d: %w", err)
	}
	run.sudoers = fmt.Sprintf("Defaults:%s pam_service=\"%s\", timestamp_timeout=0, passwd_tries=1, !lecture\n%s ALL=(root) /usr/bin/id\n",
		opts.User, service, opts.User)
	dropIn := filepath.Join(sudoersDir, "pam_duo_go_test_"+randomHex(4))
	if err := os.WriteFile(dropIn, []byte(run.sudoers), 0o440); err != nil {
		return run, fmt.Errorf("sudoers drop-in: %w", err)
	}
	if err := os.Chmod(dropIn, 0o440); err != nil {
		return run, fmt.Errorf("sudoers drop-in: %w", err)
	}
	if out, err := runBounded(30*time.Second, "visudo", "-cf", dropIn); err != nil {
		return run, fmt.Errorf("visudo -cf rejects the drop-in: %w\n%s", err, out)
	}
	run.binds = []Bind{{Source: pamDir, Target: "/etc/pam.d"}, {Source: sudoersDir, Target: "/etc/sudoers.d"}}
	run.argv = append([]string{"runuser", "-u", opts.User, "--", "sudo", "-S", "-k", "--"}, command...)
	var stdin strings.Builder
	for _, a := range opts.Answers {
		stdin.WriteString(a + "\n")
	}
	run.stdin = stdin.String()
	return run, nil
}

// SudoRun is runSudo for a test: it fails the test if sudo hangs or the
// setup fails, logs the result, and removes the sudo timestamp record it
// may leave in /run/sudo/ts. A refused sudo is a result, not a failure.
func SudoRun(t testing.TB, opts SudoOptions) *SudoResult {
	t.Helper()
	requireSudo(t, opts.User)
	res, err := runSudo(context.Background(), t.TempDir(), opts)
	require.NoError(t, err, "%v\n%s", err, res.Summary())
	t.Logf("%s", res.Summary())
	return res
}

// requireSudo checks what a sudo run needs and removes, at the end of the
// test, the sudo timestamp record it may leave in /run/sudo/ts for user.
func requireSudo(t testing.TB, user string) {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "sudo")
	RequireBinary(t, "visudo")
	RequireBinary(t, "runuser")
	RequireBinary(t, "unshare")
	t.Cleanup(func() { _ = os.Remove(filepath.Join("/run/sudo/ts", user)) })
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// escapeLines is EscapeControls applied to each line of s.
func escapeLines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = EscapeControls(l)
	}
	return strings.Join(lines, "\n")
}
