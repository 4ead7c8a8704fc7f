package check

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPresentConfigs: a plain check looks at every config present: the
// defaults and each conf= of a pam_duo_go.so line, once each.
func TestPresentConfigs(t *testing.T) {
	dir := t.TempDir()
	pamConf := filepath.Join(dir, "pam_duo.conf")
	loginConf := filepath.Join(dir, "login_duo.conf")
	sudoConf := filepath.Join(dir, "sudo.conf")
	absent := filepath.Join(dir, "absent.conf")
	pamd := filepath.Join(dir, "pam.d")
	require.NoError(t, os.Mkdir(pamd, 0o755))
	for _, p := range []string{pamConf, loginConf, sudoConf} {
		require.NoError(t, os.WriteFile(p, nil, 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(pamd, "sudo"), []byte(
		"auth required pam_duo_go.so conf="+sudoConf+"\n"+
			"auth required pam_duo_go.so conf="+absent+"\n"+
			"auth required /lib/security/pam_duo_go.so debug conf="+pamConf+"\n"+
			"auth required pam_duo_go.so conf=relative.conf\n"), 0o644))
	tests := []struct {
		name     string
		defaults []string
		want     []string
	}{
		{"both defaults and a conf=", []string{pamConf, loginConf}, []string{pamConf, loginConf, sudoConf}},
		{"one default missing", []string{absent, loginConf}, []string{loginConf, pamConf, sudoConf}},
		{"none present: the defaults, reported missing", []string{absent + "1", absent + "2"},
			[]string{pamConf, sudoConf}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, PresentConfigs(tt.defaults, pamd))
		})
	}
	assert.Equal(t, []string{absent + "1", absent + "2"}, PresentConfigs([]string{absent + "1", absent + "2"}, filepath.Join(dir, "none")))
}

func TestErrorLines(t *testing.T) {
	err := errors.Join(errors.New("line 3: unknown key \"foo\""), fmt.Errorf("wrapped: %w", errors.New("a\nb")))
	assert.Equal(t, []string{`line 3: unknown key "foo"`, "wrapped: a", "b"}, errorLines(err))
}
