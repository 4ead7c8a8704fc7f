package metrics_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/metrics"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// answers is a PAM conversation that types the given answers.
type answers []string

func (a *answers) RespondPAM(style pam.Style, _ string) (string, error) {
	if style == pam.TextInfo || style == pam.ErrorMsg {
		return "", nil
	}
	if len(*a) == 0 {
		return "", errors.New("no answer")
	}
	v := (*a)[0]
	*a = (*a)[1:]
	return v, nil
}

// pamLogin runs one pam_authenticate of user through the real module.
func pamLogin(t *testing.T, dir, service, user string, typed ...string) error {
	t.Helper()
	conv := answers(typed)
	tx, err := pam.StartConfDir(service, user, &conv, dir)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- tx.Authenticate(0) }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		require.FailNow(t, "login hung")
	}
	require.NoError(t, tx.End())
	return err
}

func count(t *testing.T, path, event, service string) float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	prefix := fmt.Sprintf(`pam_duo_go_logins_total{event="%s",cause="none",service="%s"} `, event, service)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	return 0
}

// TestModuleUpdatesMetrics: logins through libpam and the built module,
// in process and with mode=exec (the root worker, umask 077), land in the
// metrics file, root's and mode 0644; an unusable metrics_file leaves the
// same logins' results alone.
func TestModuleUpdatesMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	for _, mode := range e2e.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			textfile := filepath.Join(t.TempDir(), "textfile")
			require.NoError(t, os.Mkdir(textfile, 0o755))
			path := filepath.Join(textfile, "pam_duo_go.prom")
			env := e2e.NewDuoEnv(t, mode, map[string]string{"metrics_file": path, "https_timeout": "5"})
			env.Mock.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}})
			dir := t.TempDir()
			service := "duo-metrics"
			require.NoError(t, os.WriteFile(filepath.Join(dir, service),
				[]byte(e2e.Stack(env.AuthLine("required"))), 0o644))
			for range 3 {
				require.NoError(t, pamLogin(t, dir, service, "root", "123456"))
			}
			for range 2 {
				require.Error(t, pamLogin(t, dir, service, "root", "000000", "000000", "000000"))
			}
			env.Mock.AddUser(duotest.User{Name: "root", Preauth: duo.ResultAllow})
			require.Error(t, pamLogin(t, dir, service, "root"), "PAM_IGNORE alone in the stack")
			require.NoError(t, metrics.Flush(path, time.Now().Add(5*time.Second)))
			assert.Equal(t, 3.0, count(t, path, "allow", service))
			assert.Equal(t, 2.0, count(t, path, "maxtries", service))
			assert.Equal(t, 1.0, count(t, path, "bypass", service))
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
			assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid)

			// The same logins with a metrics_file nobody may write.
			open := filepath.Join(t.TempDir(), "open")
			require.NoError(t, os.Mkdir(open, 0o777))
			require.NoError(t, os.Chmod(open, 0o777))
			env.Mock.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}})
			bad := e2e.NewDuoEnv(t, mode, map[string]string{"metrics_file": filepath.Join(open, "pam_duo_go.prom")})
			bad.Mock.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}})
			require.NoError(t, os.WriteFile(filepath.Join(dir, service),
				[]byte(e2e.Stack(bad.AuthLine("required"))), 0o644))
			require.NoError(t, pamLogin(t, dir, service, "root", "123456"))
			require.Error(t, pamLogin(t, dir, service, "root", "000000", "000000", "000000"))
			entries, err := os.ReadDir(open)
			require.NoError(t, err)
			assert.Empty(t, entries)
		})
	}
}
