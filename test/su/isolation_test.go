package su_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// TestSuWorkerIsolated: su runs with the caller's real uid, so the caller
// may signal it and it carries the caller's limits, nice value,
// scheduling and CPU affinity. The login must not run in it: in both
// modes it runs in `login_duo_go pam-worker`, in a session of its own
// (Ctrl-Z on the terminal does not stop it), with cwd /, the module's
// limits, nice 0, SCHED_OTHER and every CPU. The worker is observed in
// /proc while the mock holds the preauth answer; then Ctrl-Z is typed.
func TestSuWorkerIsolated(t *testing.T) {
	for _, bin := range []string{"taskset", "chrt", "nice", "prlimit"} {
		e2e.RequireBinary(t, bin)
	}
	self, err := e2e.ReadProc(os.Getpid())
	require.NoError(t, err)
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			const hold = 8 * time.Second
			env := e2e.NewDuoEnv(t, mode, map[string]string{"prompts": "1", "https_timeout": "30"})
			caller := e2e.CreateUser(t, "suiso", "Pw-unused-password")
			env.Mock.AddUser(duotest.User{Name: caller.Name, Passcodes: []string{"111111"}})
			env.Mock.Inject("/auth/v2/preauth", duotest.Fault{Delay: hold})
			// The caller starves what it starts as much as it may.
			// The shell runs su as a job (set -m), as an interactive
			// shell would: in a process group of its own that is the
			// terminal's foreground, so that Ctrl-Z stops it (the kernel
			// ignores it for an orphaned process group). When su stops
			// the shell waits a second and resumes it (fg). (dash's own
			// exit status is 2 here: it cannot give the terminal back
			// to a process group of another PID namespace.)
			script := `set -m
taskset -c 0 chrt --idle 0 nice -n 19 prlimit --nofile=9: su -c 'id -u' root; r=$?
n=0; while [ $r -eq 148 ] && [ $n -lt 5 ]; do n=$((n+1)); sleep 1; fg >/dev/null; r=$?; done
echo "su exit status: $r"`
			argv := e2e.SuShellArgv(t, caller.Name, e2e.Stack(env.AuthLine("required")), script)

			type seen struct {
				su, worker, workerAfterCtrlZ *e2e.Proc
				suStopped                    bool
				callerStopErr                error // kill -STOP of the worker, run as the caller
				err                          error
			}
			observed := make(chan seen, 1)
			onStart := func(_ int, typeRaw func(string) error) {
				var s seen
				defer func() { observed <- s }()
				s.su, s.worker, s.err = findWorker(caller.Name, env.Art.Helper, hold-2*time.Second)
				if s.err != nil {
					return
				}
				// The caller may SIGSTOP su (same real uid), not the worker.
				s.callerStopErr = exec.Command("runuser", "-u", caller.Name, "--", "kill", "-STOP", strconv.Itoa(s.worker.Pid)).Run()
				if s.err = typeRaw("\x1a"); s.err != nil { // Ctrl-Z
					return
				}
				for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					if p, err := e2e.ReadProc(s.su.Pid); err == nil && p.State == "T" {
						s.suStopped = true
						break
					}
				}
				time.Sleep(300 * time.Millisecond)
				s.workerAfterCtrlZ, s.err = e2e.ReadProc(s.worker.Pid)
			}
			res, err := e2e.RunTerminal(context.Background(), e2e.Terminal{
				Argv: argv, Respond: menuAnswers("111111"), Timeout: 45 * time.Second, OnStart: onStart,
			})
			var s seen
			select {
			case s = <-observed:
			case <-time.After(10 * time.Second):
				require.FailNow(t, "the observer did not finish")
			}
			t.Logf("terminal:\n%s", res.Transcript)
			require.NoError(t, s.err, "finding the worker while the preauth is held")
			t.Logf("su:     %v\nworker: %v\nworker after Ctrl-Z: %v", s.su, s.worker, s.workerAfterCtrlZ)

			// The caller's starvation did reach su: else this proves nothing.
			require.Equal(t, [2]string{"9", s.su.Limits["Max open files"][1]}, s.su.Limits["Max open files"])
			require.Equal(t, 19, s.su.Nice)
			require.Equal(t, 5, s.su.Policy, "su runs SCHED_IDLE")
			require.Equal(t, "0", s.su.CPUs)

			w := s.worker
			assert.Equal(t, "0 0 0 0", w.UIDs, "the worker is root in every id: the caller cannot signal it")
			assert.Equal(t, w.Pid, w.Session, "the worker leads its own session")
			assert.NotEqual(t, s.su.Session, w.Session)
			assert.Equal(t, w.Pid, w.PGrp)
			assert.Equal(t, "/", w.Cwd)
			assert.Equal(t, [2]string{"4096", "4096"}, w.Limits["Max open files"])
			assert.Equal(t, [2]string{"0", "0"}, w.Limits["Max core file size"])
			assert.Equal(t, 0, w.Nice)
			assert.Equal(t, 0, w.Policy, "SCHED_OTHER")
			assert.Equal(t, self.CPUs, w.CPUs, "every CPU the test may use")

			assert.Error(t, s.callerStopErr, "the caller could SIGSTOP the worker")
			require.True(t, s.suStopped, "Ctrl-Z stopped su (the terminal's foreground process group)")
			require.NotNil(t, s.workerAfterCtrlZ)
			assert.NotEqual(t, "T", s.workerAfterCtrlZ.State, "Ctrl-Z stopped the worker")

			require.NoError(t, err)
			assert.True(t, res.Transcript.Contains("su exit status: 0"), "su succeeded")
			assert.True(t, slices.Contains(strings.Split(strings.ReplaceAll(res.Transcript.Text(), "\r", ""), "\n"), "0"),
				"id -u printed 0 after the login")
			auths := env.Mock.RequestsTo("/auth/v2/auth")
			if assert.Len(t, auths, 1) {
				assert.Equal(t, caller.Name, auths[0].Params.Get("username"))
			}
		})
	}
}

// menuAnswers answers the module's menu prompts in order; any other
// unfinished line (the echo of ^Z) is not a prompt.
func menuAnswers(answers ...string) e2e.Responder {
	next := e2e.Answers(answers...)
	return func(p e2e.Prompt) (string, error) {
		if !strings.Contains(p.Text, "Passcode or option") {
			return "", e2e.ErrNotAPrompt
		}
		return next(p)
	}
}

// findWorker waits up to limit for a `HELPER pam-worker` whose parent is a
// su that runuser started for user (through a shell), and returns both.
func findWorker(user, helper string, limit time.Duration) (su, worker *e2e.Proc, err error) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, w := range e2e.FindProcs(helper, "pam-worker") {
			p, err := e2e.ReadProc(w.PPid)
			if err != nil || len(p.Cmdline) == 0 || p.Cmdline[0] != "su" {
				continue
			}
			for a, i := p.PPid, 0; a > 1 && i < 5; i++ { // su's ancestors: sh, runuser -u USER
				r, err := e2e.ReadProc(a)
				if err != nil {
					break
				}
				if slices.Contains(r.Cmdline, user) {
					return p, w, nil
				}
				a = r.PPid
			}
		}
	}
	return nil, nil, fmt.Errorf("no %s pam-worker child of su for %s within %v", helper, user, limit)
}

// TestSuWorkerHardFDLimit: a caller who lowers the hard fd limit too
// (`ulimit -n 9`) gets either the worker's own limit (root with
// CAP_SYS_RESOURCE raises it) or a refused login that never reached Duo:
// never a login decided by a worker short of fds, which could take the
// resulting errors for Duo being down and fail open.
func TestSuWorkerHardFDLimit(t *testing.T) {
	e2e.RequireBinary(t, "prlimit")
	canRaise := hasCapability(t, 24) // CAP_SYS_RESOURCE
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, map[string]string{"prompts": "1", "failmode": "safe"})
			caller := e2e.CreateUser(t, "sufd", "Pw-unused-password")
			env.Mock.AddUser(duotest.User{Name: caller.Name, Passcodes: []string{"111111"}})
			argv := e2e.SuShellArgv(t, caller.Name, e2e.Stack(env.AuthLine("required")),
				`prlimit --nofile=9:9 su -c 'id -u' root; echo "su exit status: $?"`)
			res, err := e2e.RunTerminal(context.Background(), e2e.Terminal{Argv: argv, Respond: menuAnswers("111111"), Timeout: 45 * time.Second})
			t.Logf("CAP_SYS_RESOURCE %v; terminal:\n%s", canRaise, res.Transcript)
			require.NoError(t, err)
			if canRaise {
				assert.True(t, res.Transcript.Contains("su exit status: 0"), "login with the worker's own fd limit")
				assert.Len(t, env.Mock.RequestsTo("/auth/v2/auth"), 1)
				return
			}
			assert.False(t, res.Transcript.Contains("su exit status: 0"), "su succeeded with a worker that could not be isolated")
			assert.Empty(t, env.Mock.Requests(), "a worker that could not be isolated reached Duo")
		})
	}
}

// hasCapability reports whether the test process has capability bit in
// its effective set.
func hasCapability(t *testing.T, bit uint) bool {
	st, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			var caps uint64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%x", &caps)
			require.NoError(t, err)
			return caps&(1<<bit) != 0
		}
	}
	require.FailNow(t, "no CapEff in /proc/self/status")
	return false
}
