// Package headroom checks that this process has the local resources a
// network call needs. A user can lower the limits of a process that runs
// with their uid (ulimit -n before sudo or su), and a starved resolver or
// dialer then fails as if Duo were down; the login asks here before it
// believes that.
package headroom

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// minFreeFDs is the number of unused file descriptors a Duo call (resolver
// sockets, a TLS connection, a fresh probe) may need at once, with margin.
const minFreeFDs = 32

// ErrLow is wrapped by Check's error when a limit leaves too little.
var ErrLow = errors.New("too few local resources")

// Check reports whether the process has minFreeFDs file descriptors to
// spare under its RLIMIT_NOFILE, and can open one.
func Check() error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	open, err := openFDs()
	if err != nil {
		return err
	}
	if lim.Cur != unix.RLIM_INFINITY && lim.Cur < uint64(open+minFreeFDs) {
		return fmt.Errorf("%w: RLIMIT_NOFILE %d with %d descriptors open (need %d free)", ErrLow, lim.Cur, open, minFreeFDs)
	}
	f, err := os.Open("/dev/null")
	if err != nil {
		return fmt.Errorf("%w: cannot open a file: %v", ErrLow, err)
	}
	return f.Close()
}

// openFDs counts this process's open file descriptors.
func openFDs() (int, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("%w: cannot count open descriptors: %v", ErrLow, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("%w: cannot count open descriptors: %v", ErrLow, err)
	}
	return len(names) - 1, nil // less the directory itself
}
