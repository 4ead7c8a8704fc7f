package login_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/metrics"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// metricsPath is a metrics_file in a private directory.
func metricsPath(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "textfile")
	require.NoError(t, os.Mkdir(d, 0o755))
	return filepath.Join(d, "pam_duo_go.prom")
}

// loginCount reads one login counter from the metrics file once every
// pending login has been folded in (what the next login does).
func loginCount(t *testing.T, path, event, cause, service string) float64 {
	t.Helper()
	require.NoError(t, metrics.Flush(path, time.Now().Add(5*time.Second)))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	series := fmt.Sprintf(`pam_duo_go_logins_total{event="%s",cause="%s",service="%s"} `, event, cause, service)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	return 0
}

// TestMetricsCountEachKind: N logins of each kind, through the real flow
// and the mock Duo, give exactly N in the matching series.
func TestMetricsCountEachKind(t *testing.T) {
	path := metricsPath(t)
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}, Push: duotest.PushApproved()}
	kinds := []struct {
		tc           tcase
		n            int
		event, cause string
	}{
		{tcase{name: "allow", user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, want: login.Allow}, 3, "allow", "none"},
		{tcase{name: "deny", user: "dave", users: []duotest.User{{Name: "dave", Preauth: duo.ResultDeny}}, want: login.Deny}, 2, "deny", "none"},
		{tcase{name: "bypass", user: "carol", users: []duotest.User{{Name: "carol", Preauth: duo.ResultAllow}}, want: login.Bypass}, 2, "bypass", "none"},
		{tcase{name: "failopen", user: "alice", users: []duotest.User{alice}, closeDuo: true, want: login.FailOpen}, 1, "failopen", "none"},
		{tcase{name: "failclosed", user: "alice", users: []duotest.User{alice}, faultPath: "/auth/v2/preauth",
			fault: &duotest.Fault{Status: 400, Times: -1}, want: login.FailClosed}, 2, "failclosed", "duo_refused"},
		{tcase{name: "failclosed secure", user: "alice", users: []duotest.User{alice}, closeDuo: true,
			extra: map[string]string{"failmode": "secure"}, want: login.FailClosed}, 1, "failclosed", "duo_unavailable"},
		{tcase{name: "maxtries", user: "alice", users: []duotest.User{alice}, answers: []string{"000000", "111111", "222222"}, want: login.MaxTries}, 2, "maxtries", "none"},
		{tcase{name: "aborted", user: "alice", users: []duotest.User{alice}, failAt: 1, want: login.Aborted}, 2, "aborted", "none"},
		{tcase{name: "unknown user", user: "nobody-here", want: login.UserUnknown}, 1, "unknown-user", "none"},
	}
	for _, k := range kinds {
		runWithMetrics(t, k.tc, k.n, path, nil)
	}
	for _, k := range kinds {
		assert.Equal(t, float64(k.n), loginCount(t, path, k.event, k.cause, "sshd"), "%s", k.tc.name)
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "pam_duo_go_last_failopen_timestamp_seconds 1", "the failopen time is set")
}

// TestMetricsConcurrentLogins: logins at once lose no increment.
func TestMetricsConcurrentLogins(t *testing.T) {
	const n = 24
	path := metricsPath(t)
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice", Passcodes: []string{"123456"}})
	conf := filepath.Join(t.TempDir(), "pam_duo.conf")
	require.NoError(t, s.WriteConfig(conf, map[string]string{"https_timeout": "5", "metrics_file": path}))
	var wg sync.WaitGroup
	logs := make([]*logRecorder, n)
	outcomes := make([]login.Outcome, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs[i] = &logRecorder{}
			outcomes[i] = login.Authenticate(context.Background(), login.Params{
				ConfigFile: conf, User: "alice", UID: -1, Service: "sudo", Hostname: "testhost",
				Conv: &conv{answers: []string{"123456"}}, Log: logs[i], LookupUser: lookup, Deadline: 30 * time.Second,
			}).Outcome
		}()
	}
	wg.Wait()
	for i := range n {
		require.Equal(t, login.Allow, outcomes[i])
		assert.NotContains(t, logs[i].Text(), "metrics:")
	}
	assert.Equal(t, float64(n), loginCount(t, path, "allow", "none", "sudo"))
}

// TestMetricsFailureLeavesLoginsAlone: a metrics file that cannot be
// written changes no outcome, adds no real delay, and is logged once.
func TestMetricsFailureLeavesLoginsAlone(t *testing.T) {
	worldWritable := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(worldWritable, 0o777))
	require.NoError(t, os.Chmod(worldWritable, 0o777))
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o644))
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}}
	for _, tt := range []struct{ name, path, want string }{
		{"missing directory", filepath.Join(t.TempDir(), "none", "pam_duo_go.prom"), "no such file"},
		{"directory others can write", filepath.Join(worldWritable, "pam_duo_go.prom"), "writable by group or others"},
		{"a file where the directory should be", filepath.Join(notADir, "pam_duo_go.prom"), "not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				tc   tcase
				warn bool
			}{
				{tcase{user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, want: login.Allow}, true},
				{tcase{user: "alice", users: []duotest.User{alice}, answers: []string{"000000", "111111", "222222"}, want: login.MaxTries}, false},
				{tcase{user: "carol", users: []duotest.User{{Name: "carol", Preauth: duo.ResultAllow}}, want: login.Bypass}, false},
				// Round trips observed (a 429 among them) and then not
				// written change nothing either.
				{tcase{user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, faultPath: "/auth/v2/preauth",
					fault: &duotest.Fault{Status: 429, RetryAfter: "0"}, want: login.Allow}, false},
			} {
				tc := c.tc
				tc.extra = map[string]string{"metrics_file": tt.path}
				tc.check = func(t *testing.T, _ *duotest.Server, _ *conv, log string) {
					if c.warn {
						assert.Contains(t, log, "metrics: ")
						assert.Contains(t, log, tt.want)
						assert.Contains(t, log, "logins are not affected")
					} else {
						assert.NotContains(t, log, "metrics: ", "logged more than once")
					}
				}
				start := time.Now()
				run(t, tc)
				t.Logf("%v: login took %v", tc.want, time.Since(start))
			}
			entries, err := os.ReadDir(worldWritable)
			require.NoError(t, err)
			assert.Empty(t, entries, "something was written in a directory others can write")
		})
	}
}

// TestMetricsOffByDefault: without metrics_file nothing is written.
func TestMetricsOffByDefault(t *testing.T) {
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}}
	run(t, tcase{user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, want: login.Allow,
		check: func(t *testing.T, _ *duotest.Server, _ *conv, log string) { assert.NotContains(t, log, "metrics") }})
}

// TestMetricsNotForLoginDuoGo: login_duo_go's logins (which run as the
// user) are not counted and do not log a metrics failure at every login.
func TestMetricsNotForLoginDuoGo(t *testing.T) {
	path := metricsPath(t)
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}}
	for _, tc := range []tcase{
		{user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, want: login.Allow},
		{user: "alice", users: []duotest.User{alice}, extra: map[string]string{"groups": "nobody-group"}, want: login.Bypass},
	} {
		if tc.extra == nil {
			tc.extra = map[string]string{}
		}
		tc.extra["metrics_file"] = path
		tc.params = func(p *login.Params) { p.Program = "login_duo_go" }
		tc.check = func(t *testing.T, _ *duotest.Server, _ *conv, log string) { assert.NotContains(t, log, "metrics") }
		run(t, tc)
	}
	_, err := os.Stat(path)
	assert.True(t, os.IsNotExist(err), "login_duo_go wrote the metrics file")
}

// metricsSeries reads the value of every series of the metrics file that
// starts with prefix, keyed by the rest of the series name, once every
// pending login has been folded in.
func metricsSeries(t *testing.T, path, prefix string) map[string]float64 {
	t.Helper()
	require.NoError(t, metrics.Flush(path, time.Now().Add(5*time.Second)))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]float64{}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		sp := strings.LastIndexByte(rest, ' ')
		require.GreaterOrEqual(t, sp, 0, "line %q", line)
		f, err := strconv.ParseFloat(rest[sp+1:], 64)
		require.NoError(t, err)
		out[rest[:sp]] = f
	}
	return out
}

// rttCounts reads the round-trip histogram's count per endpoint.
func rttCounts(t *testing.T, path string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for k, v := range metricsSeries(t, path, "pam_duo_go_duo_request_duration_seconds_count{endpoint=") {
		out[strings.Trim(k, `"}`)] = v
	}
	return out
}

// rateLimited reads the 429 counter.
func rateLimited(t *testing.T, path string) float64 {
	t.Helper()
	return metricsSeries(t, path, "pam_duo_go_duo_rate_limited_total")[""]
}

// TestMetricsDuoRoundTrips: N logins of each kind, through the real flow
// and the mock Duo, put exactly the round trips the mock answered in the
// histogram of each endpoint, and scripted HTTP 429s in the 429 counter.
func TestMetricsDuoRoundTrips(t *testing.T) {
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}, Push: duotest.PushApproved()}
	kinds := []struct {
		tc tcase
		n  int
		// want: round trips per endpoint of one login; 0 for an endpoint
		// not called.
		want    map[string]int
		limited int // HTTP 429s per login
	}{
		{tcase{name: "passcode", user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, want: login.Allow},
			3, map[string]int{"preauth": 1, "auth": 1}, 0},
		{tcase{name: "push", user: "alice", users: []duotest.User{alice}, answers: []string{""}, want: login.Allow},
			2, map[string]int{"preauth": 1, "auth": 1, "auth_status": -1}, 0},
		{tcase{name: "deny", user: "dave", users: []duotest.User{{Name: "dave", Preauth: duo.ResultDeny}}, want: login.Deny},
			2, map[string]int{"preauth": 1}, 0},
		{tcase{name: "bypass", user: "carol", users: []duotest.User{{Name: "carol", Preauth: duo.ResultAllow}}, want: login.Bypass},
			2, map[string]int{"preauth": 1}, 0},
		{tcase{name: "maxtries", user: "alice", users: []duotest.User{alice}, answers: []string{"000000", "111111", "222222"}, want: login.MaxTries},
			2, map[string]int{"preauth": 3, "auth": 3}, 0}, // a preauth before each try
		{tcase{name: "429 then allowed", user: "alice", users: []duotest.User{alice}, answers: []string{"123456"},
			faultPath: "/auth/v2/preauth", fault: &duotest.Fault{Status: 429, RetryAfter: "0", Times: 2}, want: login.Allow},
			2, map[string]int{"preauth": 3, "auth": 1}, 2},
		{tcase{name: "outside groups", user: "alice", users: []duotest.User{alice}, extra: map[string]string{"groups": "nobody-group"}, want: login.Bypass},
			1, map[string]int{}, 0},
	}
	path := metricsPath(t)
	want := map[string]float64{}
	var wantLimited float64
	for _, k := range kinds {
		runWithMetrics(t, k.tc, k.n, path, func(t *testing.T, s *duotest.Server) {
			seen := map[string]int{}
			for _, r := range s.Requests() {
				seen[strings.TrimPrefix(r.Path, "/auth/v2/")]++
			}
			for ep, n := range k.want {
				if n < 0 { // long polls: as many as the mock answered, at least one
					assert.Positive(t, seen[ep], "%s", ep)
					continue
				}
				assert.Equal(t, n, seen[ep], "%s: requests the mock saw", ep)
			}
			for ep, n := range seen {
				want[ep] += float64(n)
			}
		})
		wantLimited += float64(k.n * k.limited)
	}
	assert.Equal(t, want, rttCounts(t, path), "histogram counts per endpoint = the mock's requests")
	assert.Equal(t, wantLimited, rateLimited(t, path))
	assert.Equal(t, float64(3+2+2+2+2*3+2*3), want["preauth"], "the table's preauths, 429s included")
	assert.Equal(t, float64(4), wantLimited)
}

// TestMetricsDuoUnreachable: a login that found Duo down puts its failed
// round trips (the preauth and the probe that confirmed the outage) in
// the histogram, and no 429.
func TestMetricsDuoUnreachable(t *testing.T) {
	path := metricsPath(t)
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}}
	run(t, tcase{user: "alice", users: []duotest.User{alice}, closeDuo: true, want: login.FailOpen,
		extra: map[string]string{"metrics_file": path}})
	got := rttCounts(t, path)
	assert.Equal(t, float64(1), got["preauth"])
	assert.Positive(t, got["probe"])
	assert.Zero(t, rateLimited(t, path))
}

// TestMetricsObserverOff: without metrics_file the flow gives the Duo
// client no Observe hook, and makes the same requests as with it.
func TestMetricsObserverOff(t *testing.T) {
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}, Push: duotest.PushApproved()}
	requests := map[bool][]string{}
	for _, on := range []bool{false, true} {
		tc := tcase{user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, want: login.Allow}
		if on {
			tc.extra = map[string]string{"metrics_file": metricsPath(t)}
		}
		tc.check = func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
			for _, r := range s.Requests() {
				requests[on] = append(requests[on], r.Path)
			}
		}
		run(t, tc)
	}
	assert.Equal(t, []string{"/auth/v2/preauth", "/auth/v2/auth"}, requests[false])
	assert.Equal(t, requests[false], requests[true], "the hook adds no Duo request")
}

// runWithMetrics runs base n times as subtests named after it and the run's
// number, each with metrics_file=path added to base's keys; after each run
// it asserts that the metrics update did not fail, then calls check (when
// not nil) with the run's mock Duo.
func runWithMetrics(t *testing.T, base tcase, n int, path string, check func(t *testing.T, s *duotest.Server)) {
	t.Helper()
	for i := range n {
		tc := base
		tc.name = fmt.Sprintf("%s %d", base.name, i)
		tc.extra = map[string]string{"metrics_file": path}
		maps.Copy(tc.extra, base.extra)
		tc.check = func(t *testing.T, s *duotest.Server, _ *conv, log string) {
			assert.NotContains(t, log, "metrics:", "the metrics update failed")
			if check != nil {
				check(t, s)
			}
		}
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
