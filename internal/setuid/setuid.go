// Package setuid holds what login_duo_go needs to run safely as a setuid
// root program: closed standard fds reopened, the environment scrubbed,
// privileges dropped for good on every thread, and its own binary checked
// before it is run again with other credentials.
//
// Running a Go program setuid root: the caveats and what this package does.
//
//   - The Go runtime reads GOTRACEBACK, GODEBUG, GOGC, GOMEMLIMIT and
//     GOMAXPROCS from the caller's environment before main runs; nothing here
//     can stop that. Since Go 1.20.5 (CVE-2023-29403) the runtime itself
//     notices an AT_SECURE (setuid) start: it forces GOTRACEBACK=none so a
//     crash does not dump registers or memory, and it opens /dev/null on
//     any of fds 0/1/2 that the caller left closed. GOGC, GOMEMLIMIT and
//     GOMAXPROCS only change how much memory and CPU the caller's own login
//     uses. Runtime-level GODEBUG knobs (gctrace, schedtrace, ...) print
//     statistics to the caller's own stderr; none changes privileges. The
//     library-level GODEBUG settings (crypto/tls, crypto/x509, net/http)
//     are re-read when GODEBUG changes, so SanitizeEnv unsets GODEBUG before
//     any of that code runs, and the Duo child is started with an explicit
//     environment without it. That is why accepting the runtime's early
//     read is acceptable.
//   - No environment variable may change the config path, the proxy or TLS
//     trust: SanitizeEnv removes the proxy variables (net/http reads them
//     once, lazily), SSL_CERT_FILE and SSL_CERT_DIR from this process's
//     environment at start, before any HTTP or x509 code runs. The user's
//     original environment is kept aside for the command we exec.
//   - EnsureStdFDs reopens /dev/null on closed fds 0/1/2 in every mode, so
//     that a file we open can never become someone's stdin or stderr (the
//     runtime does this only for setuid starts).
//   - Dropping privileges: since Go 1.16, syscall.Setresuid, Setresgid and
//     Setgroups change the credentials of every thread of the process (the
//     runtime broadcasts them), so a goroutine on another OS thread cannot
//     keep root. DropTo sets all three ids (real, effective, saved) and then
//     checks the result, including that root cannot be regained.
package setuid

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"path/filepath"
)

// EnsureStdFDs opens /dev/null on whichever of fds 0, 1 and 2 is closed.
func EnsureStdFDs() error {
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil || !errors.Is(err, unix.EBADF) {
			continue
		}
		nfd, err := unix.Open("/dev/null", unix.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open /dev/null for fd %d: %w", fd, err)
		}
		if nfd != fd { // open returns the lowest free fd: fd, as the lower ones are open
			unix.Close(nfd)
			return fmt.Errorf("open /dev/null for fd %d: got fd %d", fd, nfd)
		}
	}
	return nil
}

// untrustedEnv lists variables removed from this process's environment at
// start: they would change the proxy, TLS trust or Go library behaviour.
var untrustedEnv = []string{
	"GODEBUG",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// isTimeOrLocaleVar reports whether the variable named k is TZ or one of
// the C library's locale variables. Go reads TZ when it first formats a
// local time (a syslog line's timestamp) and opens the file it names: in
// a setuid start that was a root-only file read as root, or a FIFO that
// hung the login. The locale variables name files too (LOCPATH,
// NLSPATH) and are nobody's business in a privileged process.
func isTimeOrLocaleVar(k string) bool {
	switch k {
	case "TZ", "TZDIR", "LANG", "LANGUAGE", "LOCPATH", "NLSPATH":
		return true
	}
	return strings.HasPrefix(k, "LC_")
}

// SanitizeEnv removes untrustedEnv, TZ and the locale variables from the
// environment and returns the environment as it was, for the user's
// command. It runs before anything logs: Go then uses /etc/localtime.
func SanitizeEnv() []string {
	orig := os.Environ()
	for _, k := range untrustedEnv {
		os.Unsetenv(k)
	}
	for _, kv := range orig {
		if k, _, _ := strings.Cut(kv, "="); isTimeOrLocaleVar(k) {
			os.Unsetenv(k)
		}
	}
	return orig
}

// EnvWithout returns env without the entries for the named variables.
func EnvWithout(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

// IDs is a process's real, effective and saved user and group ids.
type IDs struct {
	RUID, EUID, SUID int
	RGID, EGID, SGID int
}

// Current returns this process's ids.
func Current() IDs {
	var c IDs
	c.RUID, c.EUID, c.SUID = unix.Getresuid()
	c.RGID, c.EGID, c.SGID = unix.Getresgid()
	return c
}

// String shows the ids and the supplementary groups, as -d logs them.
func (c IDs) String() string {
	groups, _ := unix.Getgroups()
	return fmt.Sprintf("uid=%d/%d/%d gid=%d/%d/%d groups=%v", c.RUID, c.EUID, c.SUID, c.RGID, c.EGID, c.SGID, groups)
}

// DropTo makes uid and gid the real, effective and saved ids of every
// thread. groups replaces the supplementary groups unless it is nil (then
// they are kept: a setuid start keeps the caller's own groups). It fails
// unless the change took and, for a non-root uid, root cannot be regained.
func DropTo(uid, gid int, groups []int) error {
	if groups != nil {
		if err := syscall.Setgroups(groups); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("setresgid(%d): %w", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("setresuid(%d): %w", uid, err)
	}
	now := Current()
	if now.RUID != uid || now.EUID != uid || now.SUID != uid || now.RGID != gid || now.EGID != gid || now.SGID != gid {
		return fmt.Errorf("privileges not dropped: %v", now)
	}
	if uid != 0 {
		if err := syscall.Setresuid(-1, 0, -1); err == nil {
			return errors.New("privileges not dropped: root could be regained")
		}
	}
	return nil
}

// DropToReal gives up the setuid privileges: the real ids become the
// effective and saved ids too; the supplementary groups are the caller's.
func DropToReal() error {
	c := Current()
	if c.EUID == c.RUID && c.SUID == c.RUID && c.EGID == c.RGID && c.SGID == c.RGID {
		return nil
	}
	return DropTo(c.RUID, c.RGID, nil)
}

// SelfPath returns the absolute path of this binary, checked to be owned by
// root and not writable by group or others (it is about to be run with a
// service account's credentials by root).
func SelfPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own binary: %w", err)
	}
	if !filepath.IsAbs(exe) {
		return "", fmt.Errorf("own binary %q: not an absolute path", exe)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "", fmt.Errorf("own binary: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("own binary %s must be owned by root and not writable by group or others", exe)
	}
	return exe, nil
}
