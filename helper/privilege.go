package main

// Running a Go program setuid root: the caveats and what this file does.
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
//     are re-read when GODEBUG changes, so sanitizeEnv unsets GODEBUG before
//     any of that code runs, and the Duo child is started with an explicit
//     environment without it. That is why accepting the runtime's early
//     read is acceptable.
//   - No environment variable may change the config path, the proxy or TLS
//     trust: sanitizeEnv removes the proxy variables (net/http reads them
//     once, lazily), SSL_CERT_FILE and SSL_CERT_DIR from this process's
//     environment at start, before any HTTP or x509 code runs. The user's
//     original environment is kept aside for the command we exec.
//   - ensureStdFDs reopens /dev/null on closed fds 0/1/2 in every mode, so
//     that a file we open can never become someone's stdin or stderr (the
//     runtime does this only for setuid starts).
//   - Dropping privileges: since Go 1.16, syscall.Setresuid, Setresgid and
//     Setgroups change the credentials of every thread of the process (the
//     runtime broadcasts them), so a goroutine on another OS thread cannot
//     keep root. dropTo sets all three ids (real, effective, saved) and then
//     checks the result, including that root cannot be regained.

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ensureStdFDs opens /dev/null on whichever of fds 0, 1 and 2 is closed.
func ensureStdFDs() error {
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

// sanitizeEnv removes untrustedEnv, TZ and the locale variables from the
// environment and returns the environment as it was, for the user's
// command. It runs before anything logs: Go then uses /etc/localtime.
func sanitizeEnv() []string {
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

// envWithout returns env without the entries for the named variables.
func envWithout(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

// ids is a process's real, effective and saved user and group ids.
type ids struct {
	ruid, euid, suid int
	rgid, egid, sgid int
}

func currentIDs() ids {
	var c ids
	c.ruid, c.euid, c.suid = unix.Getresuid()
	c.rgid, c.egid, c.sgid = unix.Getresgid()
	return c
}

func (c ids) String() string {
	groups, _ := unix.Getgroups()
	return fmt.Sprintf("uid=%d/%d/%d gid=%d/%d/%d groups=%v", c.ruid, c.euid, c.suid, c.rgid, c.egid, c.sgid, groups)
}

// dropTo makes uid and gid the real, effective and saved ids of every
// thread. groups replaces the supplementary groups unless it is nil (then
// they are kept: a setuid start keeps the caller's own groups). It fails
// unless the change took and, for a non-root uid, root cannot be regained.
func dropTo(uid, gid int, groups []int) error {
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
	now := currentIDs()
	if now.ruid != uid || now.euid != uid || now.suid != uid || now.rgid != gid || now.egid != gid || now.sgid != gid {
		return fmt.Errorf("privileges not dropped: %v", now)
	}
	if uid != 0 {
		if err := syscall.Setresuid(-1, 0, -1); err == nil {
			return errors.New("privileges not dropped: root could be regained")
		}
	}
	return nil
}

// dropToReal gives up the setuid privileges: the real ids become the
// effective and saved ids too; the supplementary groups are the caller's.
func dropToReal() error {
	c := currentIDs()
	if c.euid == c.ruid && c.suid == c.ruid && c.egid == c.rgid && c.sgid == c.rgid {
		return nil
	}
	return dropTo(c.ruid, c.rgid, nil)
}
