package conf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadChecksCAFile: the cafile decides which server is Duo, so it gets
// the config file's owner rule and may not be writable by others; a
// missing one makes the config unusable (duo_unix refused it too).
func TestLoadChecksCAFile(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(pem, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))

	tests := []struct {
		name    string
		path    string
		mode    os.FileMode // 0 = leave it
		owner   int         // -1 = leave it
		err     error       // nil = accepted
		message string
	}{
		{"readable by all is fine", pem, 0o644, -1, nil, ""},
		{"missing", filepath.Join(dir, "nope.pem"), 0, -1, ErrNotFound, "nope.pem: no such file"},
		{"a directory", dir, 0, -1, ErrUnreadable, "is not a regular file"},
		{"a FIFO does not block", fifo, 0, -1, ErrUnreadable, "is not a regular file"},
		{"world-writable", pem, 0o666, -1, ErrPermissions, "mode 0666 lets group or others write it"},
		{"group-writable", pem, 0o664, -1, ErrPermissions, "mode 0664"},
		{"owned by another user", pem, 0o644, nobody, ErrPermissions, "owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.owner >= 0 && os.Geteuid() != 0 {
				t.Skip("needs root to give a file away")
			}
			if tt.mode != 0 {
				require.NoError(t, os.Chmod(tt.path, tt.mode))
			}
			if tt.owner >= 0 {
				require.NoError(t, os.Chown(tt.path, tt.owner, tt.owner))
				t.Cleanup(func() { _ = os.Chown(tt.path, 0, 0) })
			}
			path := writeConf(t, base+"failmode = safe\ncafile = "+tt.path+"\n", 0o600)
			c, err := Load(path)
			if tt.err == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.path, c.CAFile)
				return
			}
			require.ErrorIs(t, err, tt.err)
			assert.Contains(t, err.Error(), tt.message)
			assert.True(t, strings.Contains(err.Error(), "cafile"), "names the key: %v", err)
			var ce *Error
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, "", c.SKey, "a refused config carries no keys")
		})
	}
}
