package metrics

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// waitFold is a budget long enough for Record to finish its fold, for the
// tests that read the file right after; TestDefaultBudget checks the
// default one.
var waitFold = Options{Budget: 5 * time.Second}

// metricsDir is a private directory the textfile collector would read.
func metricsDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "textfile")
	require.NoError(t, os.Mkdir(d, 0o755))
	return d
}

// sample returns the value of the series line that starts with series
// (an exact series, labels included), and whether it is there.
func sample(t *testing.T, path, series string) (float64, bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, line)
			return f, true
		}
	}
	return 0, false
}

func loginSeries(event, cause, service string) string {
	return fmt.Sprintf(`pam_duo_go_logins_total{event="%s",cause="%s",service="%s"}`, event, cause, service)
}

func TestCountsByKind(t *testing.T) {
	kinds := []struct {
		event, cause, service string
		n                     int
	}{
		{"allow", "", "sshd", 7},
		{"deny", "", "sshd", 3},
		{"bypass", "", "sudo", 2},
		{"failopen", "", "sshd", 1},
		{"failclosed", "duo_refused", "sshd", 4},
		{"failclosed", "config", "sudo", 2},
		{"maxtries", "", "sudo", 5},
		{"aborted", "", "sshd", 6},
	}
	path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
	for _, k := range kinds {
		for range k.n {
			require.NoError(t, Record(path, Event{Event: k.event, Cause: k.cause, Service: k.service, Time: time.Now()}, waitFold))
		}
	}
	for _, k := range kinds {
		cause := k.cause
		if cause == "" {
			cause = "none"
		}
		v, ok := sample(t, path, loginSeries(k.event, cause, k.service))
		require.True(t, ok, "no series for %+v", k)
		assert.Equal(t, float64(k.n), v, "%+v", k)
	}
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	assert.Equal(t, uint32(os.Geteuid()), fi.Sys().(*syscall.Stat_t).Uid)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.Contains(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
	}
}

func TestHistogramRateLimitFailopen(t *testing.T) {
	path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
	when := time.Unix(1764600000, 0)
	require.NoError(t, Record(path, Event{Event: "allow", Service: "sshd", RateLimited: 2, Calls: []Call{
		{"preauth", 40 * time.Millisecond}, {"auth", 300 * time.Millisecond}, {"auth_status", 20 * time.Second},
	}}, waitFold))
	require.NoError(t, Record(path, Event{Event: "failopen", Service: "sshd", Time: when, RateLimited: 1,
		Calls: []Call{{"preauth", 2 * time.Second}}}, waitFold))
	tests := []struct {
		series string
		want   float64
	}{
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="preauth",le="0.05"}`, 1},
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="preauth",le="1"}`, 1},
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="preauth",le="2.5"}`, 2},
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="preauth",le="+Inf"}`, 2},
		{`pam_duo_go_duo_request_duration_seconds_count{endpoint="preauth"}`, 2},
		{`pam_duo_go_duo_request_duration_seconds_sum{endpoint="preauth"}`, 2.04},
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="auth",le="0.25"}`, 0},
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="auth",le="0.5"}`, 1},
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="auth_status",le="10"}`, 0},
		{`pam_duo_go_duo_request_duration_seconds_bucket{endpoint="auth_status",le="30"}`, 1},
		{`pam_duo_go_duo_rate_limited_total`, 3},
		{`pam_duo_go_last_failopen_timestamp_seconds`, 1764600000},
	}
	for _, tt := range tests {
		v, ok := sample(t, path, tt.series)
		if assert.True(t, ok, tt.series) {
			assert.InDelta(t, tt.want, v, 1e-9, tt.series)
		}
	}
}

// TestLabelsStayPlain: a service name from the PAM application cannot
// break the file's syntax or grow it without bound.
func TestLabelsStayPlain(t *testing.T) {
	path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
	require.NoError(t, Record(path, Event{Event: "allow", Service: "ev\"il}\n x 1"}, waitFold))
	v, ok := sample(t, path, loginSeries("allow", "none", "ev_il___x_1"))
	assert.True(t, ok)
	assert.Equal(t, 1.0, v)
	for i := range maxLoginSeries + 50 {
		require.NoError(t, Record(path, Event{Event: "allow", Service: fmt.Sprintf("svc%d", i)}, waitFold))
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.LessOrEqual(t, strings.Count(string(data), "pam_duo_go_logins_total{"), maxLoginSeries+1)
	// The 200th series and after: svc199..svc249.
	v, _ = sample(t, path, loginSeries("allow", "none", "other"))
	assert.Equal(t, 51.0, v)
}

// TestConcurrentLoseNothing: logins in several processes at once. With a
// budget long enough for every fold, the file has every login when the
// last one returns; with a budget so short that most logins leave their
// fold to others, the file has every login once one more fold ran (the
// next login's).
func TestConcurrentLoseNothing(t *testing.T) {
	const procs, goroutines, each = 4, 5, 15
	for _, tt := range []struct {
		name       string
		budget     time.Duration
		flushAfter bool
	}{
		{"every fold waited for", 10 * time.Second, false},
		{"folds left to others", 100 * time.Microsecond, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
			var cmds []*exec.Cmd
			for range procs {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRecorder$")
				cmd.Env = append(os.Environ(), "METRICS_HELPER_PATH="+path,
					fmt.Sprintf("METRICS_HELPER_N=%d", goroutines*each), fmt.Sprintf("METRICS_HELPER_G=%d", goroutines),
					"METRICS_HELPER_BUDGET="+tt.budget.String())
				cmd.Stderr = os.Stderr
				require.NoError(t, cmd.Start())
				cmds = append(cmds, cmd)
			}
			for _, c := range cmds {
				require.NoError(t, c.Wait())
			}
			if tt.flushAfter {
				require.NoError(t, Flush(path, time.Now().Add(5*time.Second)))
			}
			v, ok := sample(t, path, loginSeries("allow", "none", "sshd"))
			require.True(t, ok)
			assert.Equal(t, float64(procs*goroutines*each), v, "increments lost")
			if fi, err := os.Stat(path + ".pending"); err == nil {
				assert.Zero(t, fi.Size(), "events left pending")
			}
			left, err := foldFiles(path)
			require.NoError(t, err)
			assert.Empty(t, left)
		})
	}
}

// TestHelperRecorder is the child of TestConcurrentLoseNothing.
func TestHelperRecorder(t *testing.T) {
	path := os.Getenv("METRICS_HELPER_PATH")
	if path == "" {
		t.Skip("only as a child of TestConcurrentLoseNothing")
	}
	n, _ := strconv.Atoi(os.Getenv("METRICS_HELPER_N"))
	g, _ := strconv.Atoi(os.Getenv("METRICS_HELPER_G"))
	budget, err := time.ParseDuration(os.Getenv("METRICS_HELPER_BUDGET"))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / g {
				assert.NoError(t, Record(path, Event{Event: "allow", Service: "sshd"}, Options{Budget: budget}), "Record")
			}
		}()
	}
	wg.Wait()
}

// TestCrashedFold: a fold file left by a process that died before or
// after it wrote the metrics file is counted exactly once.
func TestCrashedFold(t *testing.T) {
	path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
	require.NoError(t, Record(path, Event{Event: "allow", Service: "sshd"}, waitFold)) // batch 1
	line := []byte(`{"e":"deny","s":"sshd","t":"2026-12-01T00:00:00Z"}` + "\n")
	// Died after renaming the metrics file: batch 1 is already in it.
	require.NoError(t, os.WriteFile(path+".pending.fold.1", line, 0o600))
	// Died before: batch 2 is not.
	require.NoError(t, os.WriteFile(path+".pending.fold.2", line, 0o600))
	require.NoError(t, Record(path, Event{Event: "allow", Service: "sshd"}, waitFold))
	v, _ := sample(t, path, loginSeries("deny", "none", "sshd"))
	assert.Equal(t, 1.0, v)
	v, _ = sample(t, path, loginSeries("allow", "none", "sshd"))
	assert.Equal(t, 2.0, v)
	left, err := foldFiles(path)
	require.NoError(t, err)
	assert.Empty(t, left)
}

// TestDefaultBudget: with the default budget Record returns within a few
// milliseconds (the median; the slowest is allowed scheduling noise on a
// busy machine), and the logins are counted by the time a later fold ran.
func TestDefaultBudget(t *testing.T) {
	path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
	const n = 50
	took := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		require.NoError(t, Record(path, Event{Event: "allow", Service: "sshd"}, Options{}))
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("Record with the default budget: median %v, slowest %v", took[n/2], took[n-1])
	assert.Less(t, took[n/2], defaultBudget+3*time.Millisecond)
	assert.Less(t, took[n-1], 250*time.Millisecond)
	require.NoError(t, Flush(path, time.Now().Add(5*time.Second)))
	v, _ := sample(t, path, loginSeries("allow", "none", "sshd"))
	assert.Equal(t, float64(n), v)
}

// TestBusyLockIsBounded: while another process holds the lock, a login
// waits no longer than its budget, and its count arrives with the next
// login after the lock is released.
func TestBusyLockIsBounded(t *testing.T) {
	path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, unix.Flock(int(lock.Fd()), unix.LOCK_EX))
	start := time.Now()
	require.NoError(t, Record(path, Event{Event: "deny", Service: "sudo"}, Options{Budget: 5 * time.Millisecond}))
	took := time.Since(start)
	assert.Less(t, took, 50*time.Millisecond, "Record waited for a busy lock")
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "the file was written without the lock")
	time.Sleep(20 * time.Millisecond) // the abandoned fold gives up
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "the file was written without the lock")
	require.NoError(t, unix.Flock(int(lock.Fd()), unix.LOCK_UN))
	require.NoError(t, Record(path, Event{Event: "deny", Service: "sudo"}, waitFold))
	v, _ := sample(t, path, loginSeries("deny", "none", "sudo"))
	assert.Equal(t, 2.0, v)
}

// TestRefusedPaths: what Record will not write, it refuses at once.
func TestRefusedPaths(t *testing.T) {
	open := metricsDir(t)
	require.NoError(t, os.Chmod(open, 0o777))
	tests := []struct {
		name, path, want string
	}{
		{"relative", "pam_duo_go.prom", "absolute path ending in .prom"},
		{"not .prom", filepath.Join(metricsDir(t), "pam_duo_go.txt"), "ending in .prom"},
		{"no directory", filepath.Join(t.TempDir(), "none", "pam_duo_go.prom"), "no such file"},
		{"world-writable directory", filepath.Join(open, "pam_duo_go.prom"), "writable by group or others"},
		{"a file as directory", filepath.Join(os.Args[0], "x.prom"), "directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := Record(tt.path, Event{Event: "allow", Service: "sshd"}, Options{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Less(t, time.Since(start), 50*time.Millisecond)
		})
	}
}

// TestParseRoundTrip: what render writes, parse reads back unchanged.
func TestParseRoundTrip(t *testing.T) {
	s := newState()
	s.add(Event{Event: "failclosed", Cause: "duo_unavailable", Service: "sshd", Time: time.Unix(1700000000, 5e8),
		RateLimited: 3, Calls: []Call{{"preauth", 123 * time.Millisecond}}})
	s.add(Event{Event: "failopen", Service: "sudo", Time: time.Unix(1700000001, 0)})
	first := s.render()
	assert.Equal(t, string(first), string(parse(string(first)).render()))
}

// BenchmarkRecord is one login's metrics update with a long budget (the
// whole fold: read, add, write, fsync, rename).
func BenchmarkRecord(b *testing.B) {
	d := filepath.Join(b.TempDir(), "textfile")
	require.NoError(b, os.Mkdir(d, 0o755))
	path := filepath.Join(d, "pam_duo_go.prom")
	ev := Event{Event: "allow", Service: "sshd", Calls: []Call{{"preauth", 80 * time.Millisecond}, {"auth", 900 * time.Millisecond}}}
	for b.Loop() {
		require.NoError(b, Record(path, ev, Options{Budget: 10 * time.Second}))
	}
}

// TestFIFOInPlace: a FIFO or a link where the file should be is refused,
// never waited on, and the login is kept for when the file is fixed.
func TestFIFOInPlace(t *testing.T) {
	path := filepath.Join(metricsDir(t), "pam_duo_go.prom")
	require.NoError(t, unix.Mkfifo(path, 0o644))
	done := make(chan error, 1)
	go func() { done <- Record(path, Event{Event: "allow", Service: "sshd"}, waitFold) }()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not a regular file")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Record waited on a FIFO")
	}
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Symlink("/etc/passwd", path))
	require.Error(t, Record(path, Event{Event: "allow", Service: "sshd"}, waitFold))
	require.NoError(t, os.Remove(path))
	require.NoError(t, Record(path, Event{Event: "allow", Service: "sshd"}, waitFold))
	v, _ := sample(t, path, loginSeries("allow", "none", "sshd"))
	assert.Equal(t, 3.0, v, "the logins refused by the FIFO and the link were kept")
}
