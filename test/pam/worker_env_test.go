package pamtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// TestWorkerEnvironment: the module runs `login_duo_go pam-worker` with
// an explicit environment and nothing else: the PATH, and GOMAXPROCS=1
// (the worker makes one call to Duo at a time; a Go runtime started with
// one P starts fewer threads: fewer page faults and less CPU per login,
// bench/figures). Read from /proc while the mock holds the preauth.
func TestWorkerEnvironment(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the module looks up local users and the configs are root-owned")
	}
	art := e2e.BuildArtifacts(t)
	helper := art.Helper
	const hold = 3 * time.Second
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}})
	s.Inject("/auth/v2/preauth", duotest.Fault{Delay: hold})
	dir := t.TempDir()
	require.NoError(t, s.WriteConfig(filepath.Join(dir, "pam_duo.conf"), map[string]string{"https_timeout": "30"}))
	stack := art.AuthLine("required", filepath.Join(dir, "pam_duo.conf"), e2e.Mode{Arg: "mode=exec"}) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "duo-env"), []byte(stack), 0o644))

	conv := &transcript{answers: []string{"123456"}}
	tx, err := pam.StartConfDir("duo-env", "root", conv, dir)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- tx.Authenticate(0) }()

	var env []string
	for deadline := time.Now().Add(hold - 500*time.Millisecond); env == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		env = workerEnviron(helper, os.Getpid())
	}
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		require.FailNow(t, "login hung")
	}
	require.NoError(t, tx.End())
	assert.NoError(t, err, strings.Join(conv.seen, "\n"))
	require.NotNil(t, env, "no pam-worker child of this process seen while the preauth was held")
	assert.Equal(t, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GOMAXPROCS=1"}, env)
}

// workerEnviron returns the environment of the `HELPER pam-worker` child
// of ppid, nil when there is none (yet).
func workerEnviron(helper string, ppid int) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		if exe, err := os.Readlink(filepath.Join(dir, "exe")); err != nil || exe != helper {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so after the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "environ"))
		if err != nil || len(data) == 0 {
			continue // not yet exec'd, or gone
		}
		return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	}
	return nil
}
