package remember

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func testStore(t *testing.T) *Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the state must be root's: run as root")
	}
	return &Store{Dir: filepath.Join(t.TempDir(), "remember")}
}

func TestKeyFingerprints(t *testing.T) {
	// ssh-keygen -lf of this key prints this fingerprint.
	const key = "AAAAC3NzaC1lZDI1NTE5AAAAIOv3yRk3cJpQ0Cq2uY0mJ6g2tqWm9p2b4l9rM9yA3cX1"
	fp, ok := fingerprint(key)
	require.True(t, ok)
	tests := []struct {
		name, info, want string
		ok               bool
	}{
		{"none", "", "", true},
		{"password only", "password\n", "", true},
		{"one key", "publickey ssh-ed25519 " + key + "\n", fp, true},
		{"key then keyboard-interactive", "publickey ssh-ed25519 " + key + "\nkeyboard-interactive\n", fp, true},
		{"two keys", "publickey ssh-ed25519 " + key + "\npublickey ssh-ed25519 " + key + "\n", fp + "," + fp, true},
		{"bad base64", "publickey ssh-ed25519 !!!\n", "", false},
		{"key missing", "publickey ssh-ed25519\n", "", false},
		{"garbage method", "Publickey? x y\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := KeyFingerprints(tt.info)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Regexp(t, `^SHA256:[A-Za-z0-9+/]{43}$`, fp)
}

func TestFileName(t *testing.T) {
	tests := []struct{ user, want string }{
		{"alice", "u.alice"},
		{"first.last-1_x", "u.first.last-1_x"},
		{"../etc", "x.2e2e2f657463"},
		{".hidden", "x.2e68696464656e"},
		{"DOMAIN\\bob", "x.444f4d41494e5c626f62"},
		{"a b", "x.612062"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fileName(tt.user), tt.user)
	}
}

func TestSaveLookup(t *testing.T) {
	st := testStore(t)
	now := time.Unix(1_800_000_000, 0)
	st.Now = func() time.Time { return now }
	sc := Scope{User: "alice", Service: "sshd", RHost: "192.0.2.1", Key: "SHA256:x"}
	_, ok, err := st.Lookup(sc, time.Hour)
	require.NoError(t, err, "a missing directory is nothing remembered")
	require.False(t, ok)

	require.NoError(t, st.Save(sc, "", time.Hour))
	fi, err := os.Stat(st.Dir)
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|0o700, fi.Mode(), "the directory is root's only")
	fi, err = os.Stat(filepath.Join(st.Dir, "u.alice"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode())

	e, ok, err := st.Lookup(sc, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, now.Unix(), e.ApprovedAt)

	for _, other := range []Scope{
		{User: "alice", Service: "sudo", RHost: "192.0.2.1", Key: "SHA256:x"},
		{User: "alice", Service: "sshd", RHost: "192.0.2.2", Key: "SHA256:x"},
		{User: "alice", Service: "sshd", RHost: "192.0.2.1", Key: "SHA256:y"},
		{User: "alice", Service: "sshd", RHost: "192.0.2.1"},
		{User: "alice", Service: "sshd", RHost: "192.0.2.1", Key: "SHA256:x", Target: "root"},
		{User: "bob", Service: "sshd", RHost: "192.0.2.1", Key: "SHA256:x"},
	} {
		_, ok, err := st.Lookup(other, time.Hour)
		assert.NoError(t, err)
		assert.False(t, ok, "%+v", other)
	}
	_, ok, _ = st.Lookup(sc, 0)
	assert.False(t, ok, "remember off")
	now = now.Add(time.Hour + time.Second)
	_, ok, _ = st.Lookup(sc, time.Hour)
	assert.False(t, ok, "expired")
	_, ok, _ = st.Lookup(sc, 2*time.Hour)
	assert.True(t, ok, "the remember of the login that looks decides")
	now = now.Add(maxLocalAge)
	_, ok, _ = st.Lookup(sc, 24*time.Hour)
	assert.False(t, ok, "never beyond maxLocalAge")
}

func TestTokenEntriesLiveLonger(t *testing.T) {
	st := testStore(t)
	now := time.Unix(1_800_000_000, 0)
	st.Now = func() time.Time { return now }
	sc := Scope{User: "alice", Service: "sshd"}
	require.NoError(t, st.Save(sc, "TDT", time.Hour))
	now = now.Add(10 * 24 * time.Hour)
	e, ok, err := st.Lookup(sc, time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "Duo decides how long a token counts")
	assert.Equal(t, "TDT", e.Token)
	now = now.Add(maxTokenAge)
	_, ok, _ = st.Lookup(sc, time.Hour)
	assert.False(t, ok, "pruned after maxTokenAge")
}

func TestSavePrunesAndBounds(t *testing.T) {
	st := testStore(t)
	now := time.Unix(1_800_000_000, 0)
	st.Now = func() time.Time { return now }
	for i := range maxEntries + 10 {
		now = now.Add(time.Second)
		require.NoError(t, st.Save(Scope{User: "alice", Service: "sshd", RHost: fmt.Sprintf("192.0.2.%d", i)}, "", time.Hour))
	}
	data, err := os.ReadFile(filepath.Join(st.Dir, "u.alice"))
	require.NoError(t, err)
	var fd fileData
	require.NoError(t, json.Unmarshal(data, &fd))
	assert.Len(t, fd.Entries, maxEntries, "the oldest go first")
	_, ok, _ := st.Lookup(Scope{User: "alice", Service: "sshd", RHost: "192.0.2.0"}, time.Hour)
	assert.False(t, ok, "the oldest entry was dropped")

	now = now.Add(2 * time.Hour)
	require.NoError(t, st.Save(Scope{User: "alice", Service: "sudo"}, "", time.Hour))
	data, err = os.ReadFile(filepath.Join(st.Dir, "u.alice"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &fd))
	assert.Len(t, fd.Entries, 1, "expired entries are pruned on write")

	long := make([]byte, maxTokenLen+1)
	for i := range long {
		long[i] = 'a'
	}
	require.NoError(t, st.Save(Scope{User: "alice", Service: "su"}, string(long), time.Hour))
	e, ok, err := st.Lookup(Scope{User: "alice", Service: "su"}, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Empty(t, e.Token, "an oversized token is not kept")
}

func TestConcurrentSaves(t *testing.T) {
	st := testStore(t)
	const n = 24
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s := &Store{Dir: st.Dir} // a login of its own: its own fds and lock
			assert.NoError(t, s.Save(Scope{User: "alice", Service: "sshd", RHost: fmt.Sprintf("192.0.2.%d", i)}, "", time.Hour))
		}()
		go func() {
			defer wg.Done()
			s := &Store{Dir: st.Dir}
			_, _, err := s.Lookup(Scope{User: "alice", Service: "sshd", RHost: "192.0.2.1"}, time.Hour)
			assert.NoError(t, err, "a reader never sees a half-written file")
		}()
	}
	wg.Wait()
	for i := range n {
		_, ok, err := st.Lookup(Scope{User: "alice", Service: "sshd", RHost: fmt.Sprintf("192.0.2.%d", i)}, time.Hour)
		require.NoError(t, err)
		assert.True(t, ok, "entry %d was lost", i)
	}
	left, err := filepath.Glob(filepath.Join(st.Dir, ".*.tmp"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left behind")
}

func TestUntrustedState(t *testing.T) {
	sc := Scope{User: "alice", Service: "sshd"}
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir, file string)
		want   string
	}{
		{"directory open to others", func(t *testing.T, dir, _ string) { require.NoError(t, os.Chmod(dir, 0o755)) }, "mode 0755"},
		{"directory not root's", func(t *testing.T, dir, _ string) { require.NoError(t, os.Chown(dir, 65534, 65534)) }, "uid 65534"},
		{"directory is a symlink", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Rename(dir, dir+".real"))
			require.NoError(t, os.Symlink(dir+".real", dir))
		}, "not a directory"},
		{"file group-writable", func(t *testing.T, _, file string) { require.NoError(t, os.Chmod(file, 0o620)) }, "mode 0620"},
		{"file not root's", func(t *testing.T, _, file string) { require.NoError(t, os.Chown(file, 65534, 0)) }, "uid 65534"},
		{"file is a directory", func(t *testing.T, _, file string) {
			require.NoError(t, os.Remove(file))
			require.NoError(t, os.Mkdir(file, 0o700))
		}, "not a regular file"},
		{"file is a FIFO", func(t *testing.T, _, file string) {
			require.NoError(t, os.Remove(file))
			require.NoError(t, mkfifo(file))
		}, "not a regular file"},
		{"corrupt", func(t *testing.T, _, file string) { require.NoError(t, os.WriteFile(file, []byte("{"), 0o600)) }, "corrupt"},
		{"wrong version", func(t *testing.T, _, file string) {
			require.NoError(t, os.WriteFile(file, []byte(`{"version":2,"entries":[]}`), 0o600))
		}, "version 2"},
		{"too large", func(t *testing.T, _, file string) {
			require.NoError(t, os.WriteFile(file, make([]byte, maxFileSize+1), 0o600))
		}, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := testStore(t)
			require.NoError(t, st.Save(sc, "", time.Hour))
			tt.tamper(t, st.Dir, filepath.Join(st.Dir, "u.alice"))
			_, ok, err := st.Lookup(sc, time.Hour)
			assert.False(t, ok, "never an allow")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func mkfifo(path string) error { return unix.Mkfifo(path, 0o600) }
