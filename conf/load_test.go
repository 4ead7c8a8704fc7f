package conf

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nobody is the uid the wrong-owner tests give a file.
const nobody = 65534

// writeConf writes text to a new file with exactly mode and returns its path.
func writeConf(t *testing.T, text string, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pam_duo.conf")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	require.NoError(t, os.Chmod(path, mode))
	return path
}

func TestLoad(t *testing.T) {
	for _, mode := range []fs.FileMode{0o600, 0o400, 0o700, 0o200} {
		path := writeConf(t, base+"failmode = secure\n", mode)
		c, err := Load(path)
		require.NoError(t, err, "mode %04o", mode)
		assert.Equal(t, path, c.File, "mode %04o: got %v", mode, c)
		assert.Equal(t, FailSecure, c.Failmode, "mode %04o: got %v", mode, c)
		assert.Equal(t, testSKey, c.SKey, "mode %04o: got %v", mode, c)
	}
}

func TestLoadRefusesPermissions(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want string
	}{
		{0o644, "mode 0644 lets group or others read it; run chmod 600"},
		{0o640, "mode 0640 lets group or others read it; run chmod 600"},
		{0o604, "mode 0604 lets group or others read it; run chmod 600"},
		{0o620, "mode 0620 lets group or others write it; run chmod 600"},
		{0o666, "mode 0666 lets group or others read and write it; run chmod 600"},
		{0o601, "mode 0601 lets group or others execute it; run chmod 600"},
		{0o777, "mode 0777 lets group or others read and write and execute it; run chmod 600"},
	}
	for _, tt := range tests {
		path := writeConf(t, base+"failmode = secure\n", tt.mode)
		c, err := Load(path)
		require.ErrorIs(t, err, ErrPermissions, "mode %04o: got %v, want ErrPermissions", tt.mode, err)
		got, want := err.Error(), path+": "+tt.want
		assert.Equal(t, want, got, "mode %04o:\n got %q\nwant %q", tt.mode, got, want)
		// The failmode contract: the administrator's failmode applies.
		assertFailmodeOnly(t, c, "mode %04o", tt.mode)
		if c != nil {
			assert.Empty(t, c.IKey, "mode %04o: want a Config with only the failmode, got %v", tt.mode, c)
		}
	}
}

func TestLoadRefusesWrongOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root can give a test file to another user")
	}
	path := writeConf(t, base+"failmode = secure\n", 0o600)
	require.NoError(t, os.Chown(path, nobody, nobody))
	c, err := Load(path)
	require.ErrorIs(t, err, ErrPermissions, "got %v, want ErrPermissions", err)
	want := path + ": owned by uid 65534 (nobody), not root; run chown root"
	assert.Equal(t, want, err.Error(), "got %q, want %q", err, want)
	assertFailmodeOnly(t, c, "")

	// login_duo_go accepts its privilege-separation user.
	c, err = LoadOwned(path, nobody)
	if assert.NoError(t, err, "LoadOwned(path, %d)", nobody) {
		assert.Equal(t, testSKey, c.SKey, "LoadOwned(path, %d): %v", nobody, c)
	}
	_, err = LoadOwned(path, 1234)
	if assert.ErrorIs(t, err, ErrPermissions, "LoadOwned(path, 1234): %v", err) {
		assert.Contains(t, err.Error(), "or uid 1234", "LoadOwned(path, 1234): %v", err)
	}

	// Both problems at once are both reported.
	require.NoError(t, os.Chmod(path, 0o644))
	_, err = Load(path)
	assert.Contains(t, err.Error(), "mode 0644", "got %v", err)
	assert.Contains(t, err.Error(), "owned by uid 65534", "got %v", err)
}

func TestLoadAcceptsOwnFile(t *testing.T) {
	path := writeConf(t, base, 0o600)
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(path, &st))
	if int(st.Uid) != os.Geteuid() {
		t.Skipf("the test file is owned by uid %d, not this process's uid %d", st.Uid, os.Geteuid())
	}
	_, err := Load(path)
	assert.NoError(t, err, "a file owned by the effective uid must load")
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	regular := writeConf(t, base, 0o600)
	fifo := filepath.Join(dir, "fifo.conf")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	tests := []struct {
		name, path string
		is         error
		want       string
	}{
		{"missing", filepath.Join(dir, "missing.conf"), ErrNotFound, "no such file"},
		{"directory", dir, ErrUnreadable, "is a directory"},
		{"under a file", filepath.Join(regular, "x.conf"), ErrUnreadable, "cannot open: not a directory"},
		{"fifo", fifo, ErrUnreadable, "is not a regular file"},
		{"device", "/dev/null", ErrUnreadable, "is not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				c   *Config
				err error
			}
			done := make(chan result, 1)
			go func() {
				c, err := Load(tt.path)
				done <- result{c, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				require.FailNow(t, "Load hung")
			}
			require.ErrorIs(t, r.err, tt.is, "got %v, want %v", r.err, tt.is)
			assert.Nil(t, r.c, "a file that cannot be read gives no Config, got %v", r.c)
			want := tt.path + ": " + tt.want
			assert.True(t, strings.HasPrefix(r.err.Error(), want), "got %q, want it to start with %q", r.err, want)
			var ce *Error
			if assert.ErrorAs(t, r.err, &ce, "want an *Error naming the file, got %#v", r.err) {
				assert.Equal(t, tt.path, ce.File, "want an *Error naming the file, got %#v", r.err)
			}
		})
	}
}

func TestLoadTooLarge(t *testing.T) {
	text := base + "failmode = secure\n" + strings.Repeat("; padding\n", MaxFileSize/10+1)
	path := writeConf(t, text, 0o600)
	c, err := Load(path)
	require.ErrorIs(t, err, ErrTooLarge, "got %v, want ErrTooLarge", err)
	assertFailmodeOnly(t, c, "")
	exact := writeConf(t, text[:MaxFileSize], 0o600)
	_, err = Load(exact)
	assert.NoError(t, err, "a file of exactly MaxFileSize bytes must load")
}

func TestLoadInvalid(t *testing.T) {
	path := writeConf(t, base+"failmode = secure\nfialmode = x\n", 0o600)
	c, err := Load(path)
	require.ErrorIs(t, err, ErrUnknownKey, "got %v", err)
	want := path + `:6: unknown key "fialmode" (did you mean "failmode"?)`
	assert.Equal(t, want, err.Error(), "got %q, want %q", err, want)
	assertFailmodeOnly(t, c, "")
}

func TestLoadRefusedAndInvalid(t *testing.T) {
	path := writeConf(t, "failmode = secure\nfialmode = x\n", 0o644)
	c, err := Load(path)
	for _, is := range []error{ErrPermissions, ErrUnknownKey, ErrMissingKey} {
		assert.ErrorIs(t, err, is, "error %v does not match %v", err, is)
	}
	if assert.NotNil(t, c) {
		assert.Equal(t, FailSecure, c.Failmode, "got %v", c)
	}
}

func TestLoadFollowsSymlink(t *testing.T) {
	target := writeConf(t, base, 0o600)
	link := filepath.Join(t.TempDir(), "link.conf")
	require.NoError(t, os.Symlink(target, link))
	c, err := Load(link)
	if assert.NoError(t, err, "Load(symlink)") {
		assert.Equal(t, link, c.File, "Load(symlink): %v", c)
	}
}

func TestLoadExample(t *testing.T) {
	data, err := os.ReadFile("testdata/duo_unix_example.conf")
	require.NoError(t, err)
	_, err = Load(writeConf(t, string(data), 0o600))
	assert.NoError(t, err, "duo_unix's example must load")
}

// TestLoadGroupReadableLoginConf: a root-owned login_duo.conf may be
// readable by its group (mode 0640), as newer duo_unix allows (upstream
// #402); pam_duo.conf may not, nor may a login_duo.conf that others can
// read, the group can write, or another user owns.
func TestLoadGroupReadableLoginConf(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the file must be owned by root")
	}
	for _, tt := range []struct {
		name  string
		mode  fs.FileMode
		owner int
		ok    bool
	}{
		{LoginConfigName, 0o640, 0, true},
		{LoginConfigName, 0o440, 0, true},
		{LoginConfigName, 0o600, 0, true},
		{LoginConfigName, 0o644, 0, false},
		{LoginConfigName, 0o660, 0, false},
		{LoginConfigName, 0o650, 0, false},
		{LoginConfigName, 0o640, nobody, false},
		{"pam_duo.conf", 0o640, 0, false},
	} {
		t.Run(fmt.Sprintf("%s %04o uid %d", tt.name, tt.mode, tt.owner), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.name)
			require.NoError(t, os.WriteFile(path, []byte(base), 0o600))
			require.NoError(t, os.Chmod(path, tt.mode))
			require.NoError(t, os.Chown(path, tt.owner, 0))
			_, err := LoadOwned(path, nobody+1)
			if tt.ok {
				assert.NoError(t, err, "refused")
			} else {
				assert.ErrorIs(t, err, ErrPermissions, "got %v, want ErrPermissions", err)
			}
		})
	}
}

// assertFailmodeOnly: c is the Config of a refused file, holding the
// administrator's failmode (secure here) and no key.
func assertFailmodeOnly(t *testing.T, c *Config, format string, args ...any) {
	t.Helper()
	msg := "want a Config with only the failmode"
	if format != "" {
		msg = fmt.Sprintf(format, args...) + ": " + msg
	}
	if assert.NotNil(t, c, msg) {
		assert.Equal(t, FailSecure, c.Failmode, "%s, got %v", msg, c)
		assert.Empty(t, c.SKey, "%s, got %v", msg, c)
	}
}
