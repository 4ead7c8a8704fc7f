package sudo_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSudoWorkerIsolated: sudo runs with the caller's real uid, so in
// both modes the login runs in `login_duo_go pam-worker`, root in every
// id, leading its own session, in /. Observed while the mock holds the
// preauth answer.
func TestSudoWorkerIsolated(t *testing.T) {
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			const hold = 6 * time.Second
			env := e2e.NewDuoEnv(t, mode, map[string]string{"https_timeout": "30"})
			u := e2e.CreateUser(t, "sudoiso", "Pw-unused-password")
			env.Mock.AddUser(duotest.User{Name: u.Name, Push: duotest.PushApproved()})
			env.Mock.Inject("/auth/v2/preauth", duotest.Fault{Delay: hold})

			type seen struct{ sudo, worker *e2e.Proc }
			found := make(chan seen, 1)
			go func() {
				var s seen
				defer func() { found <- s }()
				for deadline := time.Now().Add(hold - time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					for _, w := range e2e.FindProcs(env.Art.Helper, "pam-worker") {
						p, err := e2e.ReadProc(w.PPid)
						if err == nil && len(p.Cmdline) > 0 && p.Cmdline[0] == "sudo" && slices.Contains(p.Cmdline, "/usr/bin/id") {
							if r, err := e2e.ReadProc(p.PPid); err == nil && slices.Contains(r.Cmdline, u.Name) {
								s.sudo, s.worker = p, w
								return
							}
						}
					}
				}
			}()
			res := e2e.SudoRun(t, e2e.SudoOptions{User: u.Name, PAMStack: e2e.Stack(env.AuthLine("required")),
				Answers: []string{"1"}, Timeout: sudoTimeout})
			s := <-found
			assert.False(t, res.ExitCode != 0 || !slices.Contains(strings.Split(res.Stdout, "\n"), "0"), "sudo: exit %d, stdout %q; want a push login and id -u = 0", res.ExitCode, res.Stdout)
			require.NotNil(t, s.worker, "no %s pam-worker child of sudo while the preauth was held", env.Art.Helper)
			t.Logf("sudo:   %v\nworker: %v", s.sudo, s.worker)
			w := s.worker
			const notIsolated = "worker not isolated: want uids 0 0 0 0, its own session, cwd /, no core dumps"
			assert.Equal(t, "0 0 0 0", w.UIDs, notIsolated)
			assert.Equal(t, w.Pid, w.Session, notIsolated)
			assert.NotEqual(t, s.sudo.Session, w.Session, notIsolated)
			assert.Equal(t, "/", w.Cwd, notIsolated)
			assert.Equal(t, [2]string{"0", "0"}, w.Limits["Max core file size"], notIsolated)
		})
	}
}
