package login_test

import (
	"os"
	"os/user"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// TestParamsConfigIsNotReloaded: a config the caller loaded
// (login_duo_go, once, as root) is the one the flow uses; it does not
// read ConfigFile again.
func TestParamsConfigIsNotReloaded(t *testing.T) {
	me, err := user.Current()
	require.NoError(t, err)
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: me.Username, Preauth: duo.ResultAllow})
	path := t.TempDir() + "/login_duo.conf"
	require.NoError(t, s.WriteConfig(path, map[string]string{"https_timeout": "2"}))
	cfg, err := conf.Load(path)
	require.NoError(t, err)
	require.NoError(t, os.Remove(path)) // a second load would fail closed

	res := login.Authenticate(t.Context(), login.Params{ConfigFile: path, Config: cfg, User: me.Username, UID: -1,
		Service: "login_duo_go", Hostname: "testhost", Conv: &conv{}, Log: &logRecorder{}})
	assert.Equal(t, login.Bypass, res.Outcome, "reason %q", res.Reason)
	assert.Len(t, s.RequestsTo("/auth/v2/preauth"), 1)
}
