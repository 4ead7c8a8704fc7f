package check

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOwnerRuleFollowsTheReader: a file named login_duo.conf that a
// pam_duo_go.so line names with conf= is read by the module, which wants
// it owned by root; check applies the module's rule to it, as the login
// would, instead of going by the file's name.
func TestOwnerRuleFollowsTheReader(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file another owner")
	}
	const other = 100 // an owner login_duo_go accepts for login_duo.conf (sshd on Debian)
	dir := t.TempDir()
	loginConf := filepath.Join(dir, "login_duo.conf")
	require.NoError(t, os.WriteFile(loginConf, []byte(
		"[duo]\nikey = DIXXXXXXXXXXXXXXXXXX\nskey = deadbeefdeadbeefdeadbeefdeadbeefdeadbeef\nhost = 127.0.0.1:1\nhttps_timeout = 1\n"), 0o600))
	require.NoError(t, os.Chown(loginConf, other, 0))
	usedByModule := filepath.Join(dir, "pam.d")
	require.NoError(t, os.Mkdir(usedByModule, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(usedByModule, "sudo"),
		[]byte("auth required pam_duo_go.so conf="+loginConf+"\n"), 0o644))
	notUsed := filepath.Join(dir, "pam.d-empty")
	require.NoError(t, os.Mkdir(notUsed, 0o755))

	tests := []struct {
		name      string
		pamDir    string
		wantBy    string
		wantValid bool
	}{
		{"named by a conf= of the module: root only", usedByModule, "pam_duo_go", false},
		{"not named by the PAM stack: login_duo_go's rule", notUsed, "login_duo_go", true},
		{"no PAM directory given: login_duo_go's rule", "", "login_duo_go", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := Options{LoginConfigOwners: func() []int { return []int{other} }, PAMDir: tt.pamDir}
			fc := checkFile(context.Background(), loginConf, "", opt, moduleConfigs(tt.pamDir))
			require.NotNil(t, fc.Config)
			assert.Equal(t, tt.wantBy, fc.Config.UsedBy)
			assert.Equal(t, tt.wantValid, fc.Config.Valid, "errors: %v", fc.Config.Errors)
			if !tt.wantValid {
				assert.Equal(t, ExitBadConfig, fc.Exit)
				assert.Contains(t, fc.Config.Errors[0], "owned by")
			}
		})
	}
}
