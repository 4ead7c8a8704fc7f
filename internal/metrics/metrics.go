// Package metrics keeps pam_duo_go's Prometheus text-format file for
// node_exporter's textfile collector: login counters by event, cause and
// service, a histogram of Duo round-trip times per endpoint, the HTTP 429
// answers seen and the time of the last failopen.
//
// How a login is counted, so that none is lost and none waits long:
//
//  1. Record appends the login's Event as one line to PATH.pending (a
//     shared flock held for that one write).
//  2. It then folds the pending file into PATH under the exclusive lock
//     PATH.lock: it renames PATH.pending to PATH.pending.fold.N (N is the
//     batch number recorded in PATH), adds its events to the counters read
//     from PATH, writes the new file beside it, fsyncs it, renames it over
//     PATH (mode 0644) and deletes the fold file. A fold file left by a
//     process that died is applied by the next fold unless PATH already
//     records its batch, so it is counted exactly once.
//  3. Record waits for step 2 at most Options.Budget. Past that it
//     returns; the fold goes on if the process does, else the next login
//     folds the event. A busy lock is not waited for longer than the
//     budget either: its holder or the next login folds the event.
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// defaultBudget bounds how long Record delays a login when
// Options.Budget is 0.
const defaultBudget = 5 * time.Millisecond

// maxPending bounds a pending file read at once (about 20,000 logins).
const maxPending = 4 << 20

// maxFile bounds the metrics file read back.
const maxFile = 4 << 20

// Event is what one login adds to the metrics.
type Event struct {
	// Event is the syslog event: allow, deny, bypass, failopen,
	// failclosed, maxtries, aborted, unknown-user.
	Event string `json:"e"`
	// Cause is the failclosed cause (config, local, duo_refused,
	// duo_unavailable, duo_failed_later, unconfirmed); "" for others.
	Cause string `json:"c,omitempty"`
	// Service is the PAM service (sshd, sudo) or login_duo_go.
	Service string `json:"s"`
	// Time is when the login ended (used for the last failopen).
	Time time.Time `json:"t"`
	// Calls are the login's Duo round trips.
	Calls []Call `json:"r,omitempty"`
	// RateLimited counts the HTTP 429 answers the login saw.
	RateLimited int `json:"q,omitempty"`
}

// Call is one Duo API round trip.
type Call struct {
	Endpoint string        `json:"p"` // preauth, auth, auth_status, ping, check
	Duration time.Duration `json:"d"`
}

// Every file here is opened with O_NOFOLLOW and O_NONBLOCK: a link or a
// FIFO where a file should be is an error, never followed or waited on.

// Options tune Record.
type Options struct {
	// Budget bounds how long Record may take; defaultBudget when 0.
	Budget time.Duration
}

// Record counts ev in the metrics file path, taking at most the budget
// (plus one small write). An error means the event could not be queued,
// or the fold failed within the budget; the caller logs it and goes on.
func Record(path string, ev Event, opt Options) error {
	if opt.Budget <= 0 {
		opt.Budget = defaultBudget
	}
	deadline := time.Now().Add(opt.Budget)
	if err := checkPath(path); err != nil {
		return err
	}
	if err := appendPending(path, ev, deadline); err != nil {
		return fmt.Errorf("metrics %s: %w", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- Flush(path, deadline) }()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return nil // queued: this fold or the next login's counts it
	}
}

// Flush folds the pending events into the metrics file if the lock can
// be had before deadline (it returns nil when it cannot: the holder or
// the next login folds them).
func Flush(path string, deadline time.Time) error {
	if err := checkPath(path); err != nil {
		return err
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("metrics %s: lock: %w", path, err)
	}
	defer lock.Close()
	if !tryLock(lock, unix.LOCK_EX, deadline) {
		return nil
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if err := fold(path); err != nil {
		return fmt.Errorf("metrics %s: %w", path, err)
	}
	return nil
}

// checkPath refuses what a root process must not write: a relative path,
// a name the textfile collector would not read, a directory others may
// write to (they could put a link where the file goes).
func checkPath(path string) error {
	if !filepath.IsAbs(path) || !strings.HasSuffix(path, ".prom") {
		return fmt.Errorf("metrics %s: want an absolute path ending in .prom", path)
	}
	dir := filepath.Dir(path)
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("metrics %s: directory: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("metrics %s: %s is not a directory", path, dir)
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("metrics %s: directory %s is owned by uid %d, not root", path, dir, st.Uid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("metrics %s: directory %s is writable by group or others: use a directory only root can write", path, dir)
	}
	return nil
}

// tryLock takes an flock of kind on f, retrying until deadline.
func tryLock(f *os.File, kind int, deadline time.Time) bool {
	for {
		err := unix.Flock(int(f.Fd()), kind|unix.LOCK_NB)
		if err == nil {
			return true
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return false
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// appendPending appends ev as one line to PATH.pending, holding a shared
// lock on it for the write; a file the folder renamed away meanwhile is
// reopened.
func appendPending(path string, ev Event, deadline time.Time) error {
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding the event: %w", err)
	}
	line = append(line, '\n')
	for range 5 {
		f, err := os.OpenFile(path+".pending", os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("pending file: %w", err)
		}
		// The folder holds the exclusive lock for a rename only.
		if !tryLock(f, unix.LOCK_SH, deadline.Add(50*time.Millisecond)) {
			f.Close()
			return fmt.Errorf("pending file: lock busy")
		}
		if !sameFile(f, path+".pending") {
			f.Close()
			continue
		}
		_, err = f.Write(line)
		f.Close()
		if err != nil {
			return fmt.Errorf("pending file: %w", err)
		}
		return nil
	}
	return fmt.Errorf("pending file: replaced repeatedly while appending")
}

// sameFile reports whether the open file f is still the one at name.
func sameFile(f *os.File, name string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Lstat(name, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// fold adds the pending events and any fold file left behind to the
// metrics file. The caller holds the lock.
func fold(path string) error {
	st, err := readState(path)
	if err != nil {
		return err
	}
	leftovers, err := foldFiles(path)
	if err != nil {
		return err
	}
	var done []string
	for _, lf := range leftovers {
		if lf.batch <= st.batch {
			done = append(done, lf.name) // already in the file
			continue
		}
		if err := applyFile(st, lf.name); err != nil {
			return err
		}
		st.batch = lf.batch
		done = append(done, lf.name)
	}
	next := st.batch + 1
	name := fmt.Sprintf("%s.pending.fold.%d", path, next)
	taken, err := takePending(path, name)
	if err != nil {
		return err
	}
	if taken {
		if err := applyFile(st, name); err != nil {
			return err
		}
		st.batch = next
		done = append(done, name)
	}
	if len(done) == 0 {
		return nil
	}
	if err := writeAtomic(path, st.render()); err != nil {
		return err
	}
	for _, n := range done {
		_ = os.Remove(n)
	}
	return nil
}

type foldFile struct {
	name  string
	batch uint64
}

// foldFiles lists PATH.pending.fold.N files in batch order.
func foldFiles(path string) ([]foldFile, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)+".pending.fold."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []foldFile
	for _, e := range entries {
		if n, ok := strings.CutPrefix(e.Name(), base); ok {
			if b, err := strconv.ParseUint(n, 10, 64); err == nil {
				out = append(out, foldFile{filepath.Join(dir, e.Name()), b})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].batch < out[j].batch })
	return out, nil
}

// takePending renames PATH.pending to name while no appender is writing
// it; false when there is nothing pending.
func takePending(path, name string) (bool, error) {
	f, err := os.OpenFile(path+".pending", os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pending file: %w", err)
	}
	defer f.Close()
	if !tryLock(f, unix.LOCK_EX, time.Now().Add(50*time.Millisecond)) {
		return false, nil // appenders hold it for one write: next time
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		return false, nil
	}
	if err := os.Rename(path+".pending", name); err != nil {
		return false, fmt.Errorf("pending file: %w", err)
	}
	return true, nil
}

// applyFile adds the events in a fold file to st.
func applyFile(st *state, name string) error {
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fold file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPending))
	if err != nil {
		return fmt.Errorf("fold file: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var ev Event
		if line == "" || json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		st.add(ev)
	}
	return nil
}

func readState(path string) (*state, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading: not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFile))
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return parse(string(data)), nil
}

// writeAtomic replaces path with data: mode 0644, fsynced, renamed over
// the old file, the directory fsynced.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
