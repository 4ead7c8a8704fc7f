// Package testutil holds what the unit tests of several packages share:
// a recording login.Logger and a mock Duo server with a config file for
// it. Only tests import it.
package testutil

import (
	"log/syslog"
	"path/filepath"
	"slices"
	"strconv"
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

// DuoRequestLines is one line per request of reqs, "METHOD PATH" and the
// parameters in key order as key=value (a value quoted unless plain).
// With collapsePolls, an auth_status poll the same as the line before is
// left out: how many polls a push takes depends on timing.
func DuoRequestLines(reqs []duotest.Request, collapsePolls bool) []string {
	var lines []string
	last := ""
	for _, r := range reqs {
		line := r.Method + " " + r.Path
		keys := make([]string, 0, len(r.Params))
		for k := range r.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range r.Params[k] {
				line += " " + k + "=" + quoteIfNeeded(v)
			}
		}
		if collapsePolls && line == last && r.Path == "/auth/v2/auth_status" {
			continue
		}
		last = line
		lines = append(lines, line)
	}
	return lines
}

// quoteIfNeeded quotes a request parameter's value unless it is plain.
func quoteIfNeeded(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:/@%+-", r))
	}) < 0 {
		return v
	}
	return strconv.Quote(v)
}
