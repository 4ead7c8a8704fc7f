package login_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// Two public keys as sshd writes them in SSH_AUTH_INFO_0.
const (
	keyA = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv3yRk3cJpQ0Cq2uY0mJ6g2tqWm9p2b4l9rM9yA3cX1\n"
	keyB = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq0n8m0c3kq3Yx9m1B8m6f2o3J8xqk8r1Zt2w4v5u6Q\n"
)

// rlogin is one login of a remember case. Zero fields take the first
// login's scope: user alice, service sshd, rhost 198.51.100.7, key A.
type rlogin struct {
	user, service, rhost, authInfo string
	remember                       string        // the remember key; "-" = unset
	at                             time.Duration // the clock, from the first login
	answers                        []string
	tamper                         func(t *testing.T, dir string) // before the login
	duo                            func(s *duotest.Server)        // before the login
	down                           bool                           // Duo is down for this login
	want                           login.Outcome
	prompted                       bool     // the menu was shown
	requests                       int      // requests Duo received (-1: any)
	tokenSent                      bool     // the preauth carried a trusted_device_token
	reasons                        []string // substrings of the log
}

func runRemember(t *testing.T, users []duotest.User, dir string, logins []rlogin) {
	s := duotest.NewServer()
	defer s.Close()
	for _, u := range users {
		s.AddUser(u)
	}
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "remember")
	}
	start := time.Now()
	for i, l := range logins {
		s.Reset()
		if l.tamper != nil {
			l.tamper(t, dir)
		}
		if l.duo != nil {
			l.duo(s)
		}
		extra := map[string]string{"https_timeout": "2", "remember": "1h"}
		switch l.remember {
		case "-":
			delete(extra, "remember")
		case "":
		default:
			extra["remember"] = l.remember
		}
		path := filepath.Join(t.TempDir(), "pam_duo.conf")
		require.NoError(t, s.WriteConfig(path, extra))
		if l.down {
			s.Inject("", duotest.Fault{Times: 2, CloseConnection: true}) // preauth and the probe
		}
		c := &conv{answers: l.answers}
		log := &logRecorder{}
		p := login.Params{
			ConfigFile: path, User: or(l.user, "alice"), UID: -1, Service: or(l.service, "sshd"),
			RemoteHost: or(l.rhost, "198.51.100.7"), AuthInfo: or(l.authInfo, keyA),
			Hostname: "testhost", Conv: c, Log: log, LookupUser: lookup, Deadline: 20 * time.Second,
			RememberDir: dir, Now: func() time.Time { return start.Add(l.at) },
		}
		res := login.Authenticate(context.Background(), p)
		tr := c.transcript()
		logs := log.Text()
		msg := []any{"login %d: reason %q\ntranscript:\n%s\nlog:\n%s", i + 1, res.Reason, tr, logs}
		assert.Equal(t, l.want, res.Outcome, msg...)
		assert.Equal(t, l.prompted, strings.Contains(tr, "PROMPT:"), msg...)
		reqs := s.Requests()
		if l.requests >= 0 {
			assert.Len(t, reqs, l.requests, msg...)
		}
		sent := false
		for _, r := range s.RequestsTo("/auth/v2/preauth") {
			sent = sent || r.Params.Get("trusted_device_token") != ""
		}
		assert.Equal(t, l.tokenSent, sent, msg...)
		for _, r := range l.reasons {
			assert.Contains(t, logs, r, msg...)
		}
		assert.NotContains(t, logs, s.SKey)
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func stateFile(dir, user string) string { return filepath.Join(dir, "u."+user) }

func TestRemember(t *testing.T) {
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}}
	bob := duotest.User{Name: "bob", Passcodes: []string{"123456"}}
	tdt := alice
	tdt.TrustedDeviceToken = "TDT-alice-1"
	pass := []string{"123456"}
	// first is a full login that Duo allows (preauth, auth: 2 requests).
	first := rlogin{answers: pass, want: login.Allow, prompted: true, requests: 2}
	full := first
	localAllow := rlogin{want: login.Allow, requests: 0,
		reasons: []string{"allow user=alice rhost=198.51.100.7 service=sshd ipaddr=198.51.100.7 factor=- txid=- elapsed_ms=",
			" cause=none reason=remembered: approved 60 s ago (alice, sshd, 198.51.100.7, key SHA256:"},
		at: time.Minute}
	tests := []struct {
		name   string
		users  []duotest.User
		logins []rlogin
	}{
		{"same scope within remember: no request to Duo", []duotest.User{alice}, []rlogin{first, localAllow}},
		{"Duo's token: one preauth with it, allowed by Duo", []duotest.User{tdt}, []rlogin{first,
			{want: login.Allow, requests: 1, tokenSent: true, at: 2 * time.Hour,
				reasons: []string{"reason=remembered by Duo: preauth allow for the trusted device token (alice, sshd, 198.51.100.7, key SHA256:"}}}},
		{"Duo's token refused (expired at Duo): full login", []duotest.User{tdt}, []rlogin{first,
			{duo: newToken("TDT-alice-2"), answers: pass, want: login.Allow, prompted: true, requests: 2, tokenSent: true},
			{want: login.Allow, requests: 1, tokenSent: true, at: time.Minute, reasons: []string{"remembered by Duo"}}}},
		{"another IP", []duotest.User{alice}, []rlogin{first, withRHost(full, "198.51.100.8")}},
		{"another key", []duotest.User{alice}, []rlogin{first, withKey(full, keyB)}},
		{"no key info does not match a key", []duotest.User{alice}, []rlogin{first, withKey(full, "password\n")}},
		{"another user", []duotest.User{alice, bob}, []rlogin{first, withUser(full, "bob")}},
		{"another service", []duotest.User{alice}, []rlogin{first, withService(full, "sudo")}},
		{"expired entry", []duotest.User{alice}, []rlogin{first, at(full, time.Hour+time.Second)}},
		{"clock set back before the approval", []duotest.User{alice}, []rlogin{at(first, time.Hour), at(full, 0)}},
		{"shorter remember on the second login", []duotest.User{alice}, []rlogin{first, remember(at(full, 10*time.Minute), "5m")}},
		{"remember unset", []duotest.User{alice}, []rlogin{first, remember(full, "-")}},
		{"remember unset: nothing is saved", []duotest.User{alice}, []rlogin{remember(first, "-"), at(full, time.Minute)}},
		{"a failopen is never remembered", []duotest.User{alice}, []rlogin{
			{down: true, want: login.FailOpen, requests: -1}, at(full, time.Minute)}},
		{"a host name is not an IP literal: never remembered", []duotest.User{alice}, []rlogin{
			withRHost(first, "client.example"), withRHost(at(full, time.Minute), "client.example")}},
		{"unreadable auth info: never remembered", []duotest.User{alice}, []rlogin{
			withKey(first, "publickey ssh-ed25519 !!!\n"), withKey(at(full, time.Minute), "publickey ssh-ed25519 !!!\n")}},
		{"a remembered approval is not renewed by its use", []duotest.User{alice}, []rlogin{first,
			reasons(at(localAllow, 50*time.Minute), "reason=remembered: approved 3000 s ago"), at(full, time.Hour+time.Minute)}},
		{"corrupt state", []duotest.User{alice}, []rlogin{first, tampered(full, func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(stateFile(dir, "alice"), []byte(`{"version":1,"entries":[{`), 0o600))
		}, "corrupt")}},
		{"state file writable by others", []duotest.User{alice}, []rlogin{first, tampered(full, func(t *testing.T, dir string) {
			require.NoError(t, os.Chmod(stateFile(dir, "alice"), 0o666))
		}, "mode 0666")}},
		{"state file not root's", []duotest.User{alice}, []rlogin{first, tampered(full, func(t *testing.T, dir string) {
			require.NoError(t, os.Chown(stateFile(dir, "alice"), 65534, 65534))
		}, "owned by uid 65534")}},
		{"state directory open to others", []duotest.User{alice}, []rlogin{first, tampered(full, func(t *testing.T, dir string) {
			require.NoError(t, os.Chmod(dir, 0o755))
		}, "mode 0755")}},
		{"state file too large", []duotest.User{alice}, []rlogin{first, tampered(full, func(t *testing.T, dir string) {
			data, err := os.ReadFile(stateFile(dir, "alice"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(stateFile(dir, "alice"), append(data, make([]byte, 70<<10)...), 0o600))
		}, "bytes (at most")}},
		{"state file is a symlink", []duotest.User{alice}, []rlogin{first, tampered(full, func(t *testing.T, dir string) {
			f := stateFile(dir, "alice")
			require.NoError(t, os.Rename(f, f+".real"))
			require.NoError(t, os.Symlink(f+".real", f))
		}, "too many levels of symbolic links")}},
		{"entry for the future (forged or clock set back)", []duotest.User{alice}, []rlogin{first, tampered(full, func(t *testing.T, dir string) {
			data, err := os.ReadFile(stateFile(dir, "alice"))
			require.NoError(t, err)
			forged := strings.Replace(string(data), `"approved_at":`, `"approved_at":1`, 1)
			require.NoError(t, os.WriteFile(stateFile(dir, "alice"), []byte(forged), 0o600))
		}, "")}},
		{"preauth deny with a remembered token is a deny", []duotest.User{tdt}, []rlogin{first,
			{duo: func(s *duotest.Server) { u := tdt; u.Preauth = "deny"; s.AddUser(u) }, want: login.Deny, requests: 1, tokenSent: true}}},
		{"a write failure costs nothing", []duotest.User{alice}, []rlogin{
			{tamper: func(t *testing.T, dir string) { require.NoError(t, os.WriteFile(dir, nil, 0o600)) },
				answers: pass, want: login.Allow, prompted: true, requests: 2, reasons: []string{"approval not saved", "reason=second factor passcode: allow"}},
			at(full, time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runRemember(t, tt.users, "", tt.logins)
		})
	}
}

// newToken moves alice to a new token at Duo: the old one is refused.
func newToken(tok string) func(*duotest.Server) {
	return func(s *duotest.Server) {
		s.AddUser(duotest.User{Name: "alice", Passcodes: []string{"123456"}, TrustedDeviceToken: tok})
	}
}

func withRHost(l rlogin, h string) rlogin   { l.rhost = h; return l }
func withKey(l rlogin, k string) rlogin     { l.authInfo = k; return l }
func withUser(l rlogin, u string) rlogin    { l.user = u; return l }
func withService(l rlogin, s string) rlogin { l.service = s; return l }
func at(l rlogin, d time.Duration) rlogin   { l.at = d; return l }
func remember(l rlogin, r string) rlogin    { l.remember = r; return l }
func reasons(l rlogin, r ...string) rlogin  { l.reasons = r; return l }

// tampered is l after tamper, with the log line saying the state was
// ignored (why, when not "").
func tampered(l rlogin, tamper func(*testing.T, string), why string) rlogin {
	l.tamper, l.at = tamper, time.Minute
	if why != "" {
		l.reasons = []string{"remember user=alice service=sshd reason=state ignored, full Duo login: remember: ", why}
	}
	return l
}
