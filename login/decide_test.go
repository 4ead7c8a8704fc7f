package login_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// TestStarvedProcessIsNotAnOutage: a user who lowers RLIMIT_NOFILE before
// su or sudo makes every call to Duo fail (the resolver and the dialer
// get EMFILE). With Duo down at the same time, failmode=safe must still
// not open: the process could not have reached Duo anyway.
func TestStarvedProcessIsNotAnOutage(t *testing.T) {
	var saved unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &saved))
	restore := func() { require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &saved)) }
	t.Cleanup(restore)
	starve := func(p *login.Params) {
		fds, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		low := unix.Rlimit{Cur: uint64(len(fds) + 6), Max: saved.Max}
		require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
	}
	for _, failmode := range []string{"safe", "secure"} {
		t.Run(failmode, func(t *testing.T) {
			run(t, tcase{user: "alice", users: []duotest.User{{Name: "alice"}}, closeDuo: true,
				extra: map[string]string{"failmode": failmode, "https_timeout": "1"}, params: starve, want: login.FailClosed,
				check: func(t *testing.T, _ *duotest.Server, _ *conv, log string) {
					restore()
					assert.NotContains(t, log, "failopen")
					if failmode == "safe" {
						assert.Contains(t, log, "not an outage: this process lacks local resources")
					}
				}})
		})
	}
}

// TestResultCarriesTheError: the decision keeps the failed call's error,
// typed, for the front ends (and check) to classify the same way.
func TestResultCarriesTheError(t *testing.T) {
	s := duotest.NewServer()
	s.AddUser(duotest.User{Name: "alice"})
	path := t.TempDir() + "/pam_duo.conf"
	require.NoError(t, s.WriteConfig(path, map[string]string{"failmode": "secure", "https_timeout": "1"}))
	s.Inject("/auth/v2/preauth", duotest.Fault{Status: 403, HTML: true, Times: -1})
	defer s.Close()
	res := login.Authenticate(context.Background(), login.Params{
		ConfigFile: path, User: "alice", UID: -1, Service: "sshd", Conv: &conv{}, Log: &logRecorder{}, LookupUser: lookup,
	})
	require.Equal(t, login.FailClosed, res.Outcome, res.Reason)
	assert.Equal(t, login.CauseDuoRefused, res.Cause)
	var re *duo.ResponseError
	require.ErrorAs(t, res.Err, &re)
	assert.Equal(t, 403, re.StatusCode)
	assert.Equal(t, duo.KindRefused, duo.Classify(res.Err))
}
