package passwd

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookupFile(t *testing.T) {
	jane := &Entry{Name: "jane", UID: 1001, GID: 1001, Gecos: "Jane Doe,jdoe.duo,Room 1,", Dir: "/home/jane", Shell: "/bin/zsh"}
	tests := []struct {
		name string
		q    query
		want *Entry
	}{
		{"by name keeps every GECOS field", query{byName: true, name: "jane"}, jane},
		{"by uid", query{uid: 1001}, jane},
		{"empty GECOS and shell", query{byName: true, name: "empty"}, &Entry{Name: "empty", UID: 1002, GID: 1002, Dir: "/home/empty"}},
		{"root", query{uid: 0}, &Entry{Name: "root", GID: 0, Gecos: "root", Dir: "/root", Shell: "/bin/bash"}},
		{"unknown name", query{byName: true, name: "nobody-here"}, nil},
		{"unknown uid", query{uid: 4242}, nil},
		{"a line with a bad uid is skipped", query{byName: true, name: "bad"}, nil},
		{"a prefix is not a name", query{byName: true, name: "jan"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookupFile("testdata/passwd", tt.q)
			if tt.want == nil {
				assert.ErrorIs(t, err, ErrNotFound)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestLookupMatchesPasswdFile compares the C library's answers with
// /etc/passwd for every local account.
func TestLookupMatchesPasswdFile(t *testing.T) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		name, _, ok := strings.Cut(sc.Text(), ":")
		if !ok || name == "" || strings.HasPrefix(name, "+") {
			continue
		}
		want, err := lookupFile("/etc/passwd", query{byName: true, name: name})
		if err != nil {
			continue
		}
		got, err := LookupName(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got)
		byUID, err := LookupUID(want.UID)
		require.NoError(t, err, name)
		assert.Equal(t, want.UID, byUID.UID)
		n++
	}
	require.Positive(t, n, "no accounts in /etc/passwd")
}

func TestLookupNotFound(t *testing.T) {
	for _, name := range []string{"pdg-no-such-user-x", "", "a\x00b", strings.Repeat("x", 5000)} {
		_, err := LookupName(name)
		assert.True(t, errors.Is(err, ErrNotFound), "%q: %v", name, err)
	}
	_, err := LookupUID(0x7ffffff0)
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestLookupGecosWithCommas makes a real account whose GECOS has commas
// (adduser's "Full Name,Room,Work phone,Home phone" shape) and reads it
// back through the C library.
func TestLookupGecosWithCommas(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to add a user")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd not installed")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "pdgpw-" + hex.EncodeToString(b)
	gecos := "Jane Doe,jdoe.duo,Room 1,"
	out, err := exec.Command("useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", "-c", gecos, name).CombinedOutput()
	require.NoError(t, err, "useradd: %s", out)
	t.Cleanup(func() { _ = exec.Command("userdel", "-f", name).Run() })

	e, err := LookupName(name)
	require.NoError(t, err)
	assert.Equal(t, gecos, e.Gecos)
	byUID, err := LookupUID(e.UID)
	require.NoError(t, err)
	assert.Equal(t, e, byUID)
}
