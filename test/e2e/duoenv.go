package e2e

import (
	"path/filepath"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"

	"github.com/stretchr/testify/require"
)

// DuoEnv is what an end-to-end test of one module mode starts from: the
// built artifacts, a mock Duo server and a pam_duo.conf pointing at it.
type DuoEnv struct {
	Art  Artifacts
	Mode Mode
	Mock *duotest.Server
	Conf string // pam_duo.conf for Mock, 0600
}

// NewDuoEnv builds the module, starts the mock (closed in t.Cleanup) and
// writes a config for it with the extra keys. It needs root.
func NewDuoEnv(t testing.TB, mode Mode, extra map[string]string) *DuoEnv {
	t.Helper()
	RequireRoot(t)
	art := BuildArtifacts(t)
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	conf := filepath.Join(t.TempDir(), "pam_duo.conf")
	require.NoError(t, mock.WriteConfig(conf, extra), "writing pam_duo.conf")
	return &DuoEnv{Art: art, Mode: mode, Mock: mock, Conf: conf}
}

// AuthLine is the module's auth line for this environment, with the given
// control.
func (e *DuoEnv) AuthLine(control string) string {
	return e.Art.AuthLine(control, e.Conf, e.Mode)
}
