// Package remember keeps remembered Duo approvals (the remember key): one
// JSON file per Unix user in a root-only directory, each entry bound to a
// whole Scope (user, PAM service, the client's IP literal, the public key
// that passed the first factor) and holding either Duo's
// trusted_device_token or only the time of the approval.
//
// Every failure here is "nothing remembered": a state directory or file
// that is missing, corrupt, too large, not root's or writable by group or
// others is ignored (Lookup returns an error for the log, never an entry),
// and a write that fails leaves the login as it was. Writes are atomic
// (a temporary file renamed over the old one, under an flock of the
// directory), and expired entries are pruned on every write.
package remember

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDir is where the state lives when no other directory is given.
const DefaultDir = "/var/lib/pam_duo_go/remember"

// Limits.
const (
	// maxFileSize bounds one user's state file; a larger file is ignored.
	maxFileSize = 64 << 10
	// maxEntries bounds the entries of one user; the oldest go first.
	maxEntries = 32
	// maxTokenAge is how long an entry with a Duo token is kept: Duo's
	// policy decides whether the token still counts; this only prunes.
	maxTokenAge = 30 * 24 * time.Hour
	// maxLocalAge bounds an entry without a token (the remember key's
	// ceiling, conf.MaxRemember).
	maxLocalAge = 12 * time.Hour
	// lockWait bounds the wait for another login's write.
	lockWait = 2 * time.Second
	// maxTokenLen bounds a stored trusted_device_token.
	maxTokenLen = 4096
)

// ErrUntrusted is wrapped by errors about state that must not be used
// (wrong owner or mode, not a regular file or directory, too large).
var ErrUntrusted = errors.New("untrusted remember state")

// Scope is what a remembered approval is bound to. An empty field is a
// missing element (no remote address, no key information): it matches
// only logins that miss it too.
type Scope struct {
	User    string `json:"user"`
	Service string `json:"service"`
	RHost   string `json:"rhost"` // an IP literal, or "" for none
	Key     string `json:"key"`   // "SHA256:..." fingerprints of the first factor's public keys, or ""
	// Target is the account being logged in to when Duo was asked about
	// another (su to root asks about the invoking user); "" otherwise.
	Target string `json:"target,omitempty"`
}

// String describes the scope for the log: (user, service, rhost, key).
func (s Scope) String() string {
	rhost, key := s.RHost, s.Key
	if rhost == "" {
		rhost = "no rhost"
	}
	if key == "" {
		key = "no key"
	} else {
		key = "key " + key
	}
	user := s.User
	if s.Target != "" {
		user += " as " + s.Target
	}
	return fmt.Sprintf("%s, %s, %s, %s", user, s.Service, rhost, key)
}

// Entry is one remembered approval.
type Entry struct {
	Scope      Scope  `json:"scope"`
	ApprovedAt int64  `json:"approved_at"` // Unix seconds of Duo's allow
	Token      string `json:"token,omitempty"`
}

// fileData is a state file.
type fileData struct {
	Version int     `json:"version"`
	Entries []Entry `json:"entries"`
}

// Store is the state directory.
type Store struct {
	Dir string           // "" = DefaultDir
	Now func() time.Time // nil = time.Now
	// Owner is the uid that must own the directory and files: 0 (root).
	// Tests running as root use 0 too.
	Owner int
}

func (s *Store) dir() string {
	if s.Dir == "" {
		return DefaultDir
	}
	return s.Dir
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// fileName is the state file of user: the name itself when it is a
// portable one, else its hex encoding.
func fileName(user string) string {
	ok := user != "" && len(user) <= 64 && user[0] != '.' && user[0] != '-'
	for i := 0; ok && i < len(user); i++ {
		c := user[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
	}
	if ok {
		return "u." + user
	}
	return "x." + hex.EncodeToString([]byte(user))
}

// openDir opens the state directory and checks that only its owner (root)
// can change it. create makes it (0700) when it is missing.
func (s *Store) openDir(create bool) (int, error) {
	path := s.dir()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) && create {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return -1, fmt.Errorf("remember: create %s: %w", path, err)
		}
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, fmt.Errorf("remember: open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("remember: stat %s: %w", path, err)
	}
	if int(st.Uid) != s.Owner || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("remember: %w: %s is owned by uid %d with mode %04o (want uid %d, mode 0700)",
			ErrUntrusted, path, st.Uid, st.Mode&0o7777, s.Owner)
	}
	return fd, nil
}

// read loads user's file relative to the directory fd; a missing file is
// no entries.
func (s *Store) read(dirfd int, user string) ([]Entry, error) {
	name := fileName(user)
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("remember: open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("remember: stat %s: %w", name, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("remember: %w: %s is not a regular file", ErrUntrusted, name)
	case int(st.Uid) != s.Owner || st.Mode&0o077 != 0:
		return nil, fmt.Errorf("remember: %w: %s is owned by uid %d with mode %04o (want uid %d, mode 0600)",
			ErrUntrusted, name, st.Uid, st.Mode&0o7777, s.Owner)
	case st.Size > maxFileSize:
		return nil, fmt.Errorf("remember: %w: %s has %d bytes (at most %d)", ErrUntrusted, name, st.Size, maxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("remember: read %s: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("remember: %w: %s grew past %d bytes", ErrUntrusted, name, maxFileSize)
	}
	var fdata fileData
	if err := json.Unmarshal(data, &fdata); err != nil {
		return nil, fmt.Errorf("remember: %s is corrupt: %w", name, err)
	}
	if fdata.Version != 1 {
		return nil, fmt.Errorf("remember: %s has version %d (want 1)", name, fdata.Version)
	}
	return fdata.Entries, nil
}

// live reports whether e may still be used or kept at now: approved in
// the past, and within maxTokenAge (with a token) or maxLocal (without).
func live(e Entry, now time.Time, maxLocal time.Duration) bool {
	at := time.Unix(e.ApprovedAt, 0)
	if at.After(now) {
		return false // approved in the future: a clock set back, or a forged entry
	}
	if e.Token != "" {
		return now.Sub(at) <= maxTokenAge
	}
	return now.Sub(at) <= min(maxLocal, maxLocalAge)
}

// Lookup finds the approval remembered for scope. An entry with a Duo
// token is returned while maxTokenAge allows (Duo decides whether it still
// counts); one without a token only while it is at most maxAge old. ok is
// false when nothing is remembered; err says why the state was ignored
// (for the log), and never comes with ok.
func (s *Store) Lookup(scope Scope, maxAge time.Duration) (e Entry, ok bool, err error) {
	if maxAge <= 0 || scope.User == "" {
		return Entry{}, false, nil
	}
	dirfd, err := s.openDir(false)
	if errors.Is(err, unix.ENOENT) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	defer unix.Close(dirfd)
	entries, err := s.read(dirfd, scope.User)
	if err != nil {
		return Entry{}, false, err
	}
	now := s.now()
	for _, x := range entries {
		if x.Scope == scope && live(x, now, maxAge) {
			return x, true, nil
		}
	}
	return Entry{}, false, nil
}

// Save remembers an approval of scope made now, with Duo's token if it
// gave one, replacing any entry of the same scope and pruning the expired
// ones (by maxAge) and the oldest beyond maxEntries. A state file that
// cannot be used is replaced; a directory that cannot be trusted is left
// alone (an error).
func (s *Store) Save(scope Scope, token string, maxAge time.Duration) error {
	if maxAge <= 0 || scope.User == "" {
		return nil
	}
	if len(token) > maxTokenLen {
		token = "" // too long to keep: the approval is remembered locally only
	}
	dirfd, err := s.openDir(true)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if err := lock(dirfd); err != nil {
		return err
	}
	defer unix.Flock(dirfd, unix.LOCK_UN)
	old, _ := s.read(dirfd, scope.User) // unusable state is replaced
	now := s.now()
	entries := []Entry{{Scope: scope, ApprovedAt: now.Unix(), Token: token}}
	for _, e := range old {
		if e.Scope != scope && e.Scope.User == scope.User && live(e, now, maxAge) {
			entries = append(entries, e)
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].ApprovedAt > entries[j].ApprovedAt })
	if len(entries) > maxEntries {
		entries = entries[:maxEntries]
	}
	data, err := json.Marshal(fileData{Version: 1, Entries: entries})
	if err != nil {
		return fmt.Errorf("remember: encode: %w", err)
	}
	for len(data) > maxFileSize && len(entries) > 1 {
		entries = entries[:len(entries)/2]
		if data, err = json.Marshal(fileData{Version: 1, Entries: entries}); err != nil {
			return fmt.Errorf("remember: encode: %w", err)
		}
	}
	return writeAtomic(dirfd, fileName(scope.User), data)
}

// lock takes the directory's flock, waiting at most lockWait.
func lock(dirfd int) error {
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(dirfd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("remember: lock: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remember: lock: another login held it for %v", lockWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeAtomic writes data to name in the directory through a temporary
// file, synced and renamed over name.
func writeAtomic(dirfd int, name string, data []byte) error {
	tmp := fmt.Sprintf(".%s.%d.tmp", name, os.Getpid())
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("remember: create %s: %w", tmp, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	fail := func(err error) error {
		f.Close()
		_ = unix.Unlinkat(dirfd, tmp, 0)
		return fmt.Errorf("remember: write %s: %w", name, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = unix.Unlinkat(dirfd, tmp, 0)
		return fmt.Errorf("remember: write %s: %w", name, err)
	}
	if err := unix.Renameat(dirfd, tmp, dirfd, name); err != nil {
		_ = unix.Unlinkat(dirfd, tmp, 0)
		return fmt.Errorf("remember: rename %s: %w", name, err)
	}
	_ = unix.Fsync(dirfd)
	return nil
}

// KeyFingerprints reads sshd's SSH_AUTH_INFO_0 (ExposeAuthInfo yes): one
// line per method that already succeeded, "publickey TYPE BASE64 ..." for
// a key. It returns the SHA256 fingerprints of the public keys,
// comma-separated in the order given ("" when no key passed). ok is false
// when the text is not what sshd writes (a line without a method, a key
// that does not decode): then no scope can be told, and nothing is
// remembered.
func KeyFingerprints(authInfo string) (fps string, ok bool) {
	var list []string
	for line := range strings.SplitSeq(authInfo, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case f[0] != "publickey":
			if strings.IndexFunc(f[0], func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '-') }) >= 0 {
				return "", false
			}
			continue
		case len(f) < 3:
			return "", false
		}
		fp, good := fingerprint(f[2])
		if !good {
			return "", false
		}
		list = append(list, fp)
	}
	return strings.Join(list, ","), true
}
