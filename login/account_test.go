package login_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// addAccount makes a local account with the given GECOS (useradd -M, no
// home) and removes it when the test ends.
func addAccount(t *testing.T, gecos string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to add a user")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd not installed")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "pdglg-" + hex.EncodeToString(b)
	out, err := exec.Command("useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", "-c", gecos, name).CombinedOutput()
	require.NoError(t, err, "useradd: %s", out)
	t.Cleanup(func() { _ = exec.Command("userdel", "-f", name).Run() })
	return name
}

// TestRealAccountLookup runs the flow with the real account lookup (no
// LookupUser hook): the whole GECOS field reaches send_gecos and
// gecos_username_pos (os/user would cut it at the first comma), and groups
// are the account's real ones.
func TestRealAccountLookup(t *testing.T) {
	const gecos = "Jane Doe,jdoe.duo,Room 1,"
	name := addAccount(t, gecos)
	tests := []struct {
		name     string
		extra    map[string]string
		want     login.Outcome
		duoUser  string // the username preauth must carry; "" = no preauth
		wantNote string
	}{
		{name: "gecos_username_pos=2 with the default delimiter", extra: map[string]string{"gecos_username_pos": "2"},
			want: login.Bypass, duoUser: "jdoe.duo"},
		{name: "send_gecos sends the whole field", extra: map[string]string{"send_gecos": "yes"},
			want: login.Bypass, duoUser: gecos},
		{name: "no GECOS option sends the login name", want: login.Bypass, duoUser: name},
		{name: "groups: the account's own group (useradd made it) puts it in scope", extra: map[string]string{"groups": name},
			want: login.Bypass, duoUser: name},
		{name: "groups: a group it is not in bypasses Duo", extra: map[string]string{"groups": "pdg-no-such-group"},
			want: login.Bypass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := duotest.NewServer()
			defer s.Close()
			for _, u := range []string{name, "jdoe.duo", gecos} {
				s.AddUser(duotest.User{Name: u, Preauth: duo.ResultAllow})
			}
			path := t.TempDir() + "/pam_duo.conf"
			extra := map[string]string{"https_timeout": "2"}
			for k, v := range tt.extra {
				extra[k] = v
			}
			require.NoError(t, s.WriteConfig(path, extra))
			log := &logRecorder{}
			res := login.Authenticate(t.Context(), login.Params{ConfigFile: path, User: name, UID: -1, Service: "sshd",
				Hostname: "testhost", Conv: &conv{}, Log: log})
			assert.Equal(t, tt.want, res.Outcome, "reason %q", res.Reason)
			pre := s.RequestsTo("/auth/v2/preauth")
			if tt.duoUser == "" {
				assert.Empty(t, pre)
				assert.Contains(t, res.Reason, "not in groups")
				return
			}
			require.Len(t, pre, 1)
			assert.Equal(t, tt.duoUser, pre[0].Params.Get("username"))
		})
	}
}

// TestAccountLookupFailure: an account that cannot be looked up (as
// opposed to one that does not exist) fails closed in either failmode,
// and so do groups that cannot be listed when the config checks groups.
func TestAccountLookupFailure(t *testing.T) {
	broken := errors.New("sssd: backend offline")
	tests := []struct {
		name   string
		lookup func(string) (*login.UserInfo, error)
		groups string
		want   login.Outcome
	}{
		{name: "lookup error", lookup: func(string) (*login.UserInfo, error) { return nil, broken }, want: login.FailClosed},
		{name: "groups error with groups set", groups: "admins",
			lookup: func(n string) (*login.UserInfo, error) {
				return &login.UserInfo{Name: n, UID: 1000, GroupsErr: broken}, nil
			}, want: login.FailClosed},
		{name: "groups error without groups does not matter",
			lookup: func(n string) (*login.UserInfo, error) {
				return &login.UserInfo{Name: n, UID: 1000, GroupsErr: broken}, nil
			}, want: login.Bypass},
	}
	for _, tt := range tests {
		for _, failmode := range []string{"safe", "secure"} {
			t.Run(tt.name+"/"+failmode, func(t *testing.T) {
				s := duotest.NewServer()
				defer s.Close()
				s.AddUser(duotest.User{Name: "alice", Preauth: duo.ResultAllow})
				path := t.TempDir() + "/pam_duo.conf"
				extra := map[string]string{"failmode": failmode}
				if tt.groups != "" {
					extra["groups"] = tt.groups
				}
				require.NoError(t, s.WriteConfig(path, extra))
				res := login.Authenticate(t.Context(), login.Params{ConfigFile: path, User: "alice", UID: -1, Service: "sshd",
					Hostname: "testhost", Conv: &conv{}, Log: &logRecorder{}, LookupUser: tt.lookup})
				assert.Equal(t, tt.want, res.Outcome, "reason %q", res.Reason)
				if tt.want == login.FailClosed {
					assert.Equal(t, login.CauseLocal, res.Cause)
					assert.Contains(t, res.Reason, "backend offline")
					assert.Empty(t, s.RequestsTo("/auth/v2/preauth"))
				}
			})
		}
	}
}

// TestArgErrorFailsClosed: a bad module argument refuses the login before
// the config is read or Duo is asked, in either failmode.
func TestArgErrorFailsClosed(t *testing.T) {
	for _, failmode := range []string{"safe", "secure"} {
		t.Run(failmode, func(t *testing.T) {
			s := duotest.NewServer()
			defer s.Close()
			s.AddUser(duotest.User{Name: "alice", Preauth: duo.ResultAllow})
			path := t.TempDir() + "/pam_duo.conf"
			require.NoError(t, s.WriteConfig(path, map[string]string{"failmode": failmode}))
			log := &logRecorder{}
			res := login.Authenticate(t.Context(), login.Params{ConfigFile: path, User: "alice", UID: -1, Service: "sshd",
				ArgError: errors.New(`module argument "config=/x": unknown`), Conv: &conv{}, Log: log, LookupUser: lookup})
			assert.Equal(t, login.FailClosed, res.Outcome)
			assert.Equal(t, login.CauseConfig, res.Cause)
			assert.Contains(t, log.Text(), `failclosed user=alice`)
			assert.Contains(t, log.Text(), `module arguments: module argument "config=/x": unknown`)
			assert.Empty(t, s.Requests())
		})
	}
}
