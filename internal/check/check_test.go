package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
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

// TestCheckEveryConfig: check without -c reports on each file and exits
// with the first failure (here the second file's).
func TestCheckEveryConfig(t *testing.T) {
	mock := duotest.NewServer()
	t.Cleanup(mock.Close)
	good := filepath.Join(t.TempDir(), "login_duo.conf")
	require.NoError(t, mock.WriteConfig(good, nil))
	bad := filepath.Join(t.TempDir(), "pam_duo.conf")
	require.NoError(t, os.WriteFile(bad, []byte("[duo]\nfailmode = maybe\n"), 0o600))
	rep := Configs(context.Background(), []string{good, bad}, "", Options{UserAgent: "check-test"})
	assert.Equal(t, ExitBadConfig, rep.Exit)
	require.Len(t, rep.Configs, 2)
	assert.Equal(t, ExitOK, rep.Configs[0].Exit)
	assert.Equal(t, ExitBadConfig, rep.Configs[1].Exit)
	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf, false))
	assert.Contains(t, buf.String(), "login_duo.conf: ok")
	assert.Contains(t, buf.String(), "pam_duo.conf: INVALID")
}

// TestWriteRedactsSecretKeys: whatever field carries a checked file's
// secret key, neither form prints it.
func TestWriteRedactsSecretKeys(t *testing.T) {
	const skey = "s3cr3tKEYs3cr3tKEYs3cr3tKEYs3cr3tKEY0000"
	fc := &FileCheck{Exit: ExitBadConfig, Config: &ConfigReport{File: "/etc/duo/pam_duo.conf", UsedBy: "pam_duo_go",
		Errors: []string{"line 3: bad value " + skey}, Warnings: []string{}}}
	rep := &Report{Schema: 1, Exit: ExitBadConfig, Config: fc.Config, Configs: []*FileCheck{fc}, skeys: []string{skey}}
	for _, asJSON := range []bool{false, true} {
		var buf bytes.Buffer
		require.NoError(t, rep.Write(&buf, asJSON))
		assert.NotContains(t, buf.String(), skey, "json=%v", asJSON)
		assert.Contains(t, buf.String(), "bad value [skey]", "json=%v", asJSON)
	}
}
