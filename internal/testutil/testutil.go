// Package testutil holds what the unit tests of several packages share:
// a recording login.Logger and a mock Duo server with a config file for
// it. Only tests import it.
package testutil

import (
	"log/syslog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

// LogRecorder is the login.Logger of a test: it keeps the lines in the
// order they were logged. Its zero value is ready; it is safe for
// concurrent use.
type LogRecorder struct {
	mu    sync.Mutex
	lines []string
}

// Log records line (the priority is not kept).
func (l *LogRecorder) Log(_ syslog.Priority, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// Lines is a copy of the lines logged so far.
func (l *LogRecorder) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Text is the lines logged so far, joined by newlines.
func (l *LogRecorder) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// MockDuo starts a mock Duo server, closed when t ends, and writes a
// duo_unix-format config for it (with extra keys) as a file called name
// in a temporary directory; it returns the server and the config's path.
func MockDuo(t testing.TB, name string, extra map[string]string) (*duotest.Server, string) {
	t.Helper()
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	conf := filepath.Join(t.TempDir(), name)
	require.NoError(t, mock.WriteConfig(conf, extra), "write config")
	return mock, conf
}
