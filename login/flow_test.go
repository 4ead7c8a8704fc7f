package login_test

import (
	"context"
	"errors"
	"os/user"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/testutil"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// conv is a scripted conversation: it replays answers and records what
// the user saw; a prompt with no answer left fails, so nothing can hang.
type conv struct {
	mu      sync.Mutex
	answers []string
	seen    []string
	failAt  int // fail the Nth prompt (1-based); 0 never
	prompts int
}

func (c *conv) Prompt(_ context.Context, msg string, echo bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prompts++
	c.seen = append(c.seen, "PROMPT: "+msg)
	if c.failAt == c.prompts || len(c.answers) == 0 {
		return "", errors.New("conversation closed")
	}
	a := c.answers[0]
	c.answers = c.answers[1:]
	return a, nil
}

func (c *conv) Info(_ context.Context, msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, "INFO: "+msg)
	return nil
}

func (c *conv) Error(_ context.Context, msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, "ERROR: "+msg)
	return nil
}

func (c *conv) transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.seen, "\n")
}

// logRecorder is the login.Logger of a test: the lines in order.
type logRecorder = testutil.LogRecorder

func lookup(name string) (*login.UserInfo, error) {
	switch name {
	case "nobody-here":
		return nil, user.UnknownUserError(name)
	case "opsuser":
		return &login.UserInfo{Name: name, UID: 1001, Groups: []string{"users", "ops"}}, nil
	case "root":
		return &login.UserInfo{Name: name, UID: 0, Groups: []string{"root"}}, nil
	case "gecosuser":
		return &login.UserInfo{Name: name, UID: 1002, Gecos: "Jane Doe,jdoe.duo", Groups: []string{"users"}}, nil
	}
	return &login.UserInfo{Name: name, UID: 1000, Groups: []string{"users"}}, nil
}

type tcase struct {
	name    string
	user    string
	users   []duotest.User
	extra   map[string]string
	answers []string
	failAt  int
	fault   *duotest.Fault
	// faultPath is the endpoint fault applies to; "" = every endpoint.
	faultPath string
	closeDuo  bool
	params    func(*login.Params)
	want      login.Outcome
	// unprompted is the expected Result.Unprompted (allowed with an
	// automatic push because the conversation could not prompt).
	unprompted bool
	seen       []string // substrings the transcript must contain, in order
	raw        []string // texts the conversation must receive unescaped (its writer escapes them)
	check      func(t *testing.T, s *duotest.Server, c *conv, log string)
	// pollsVary: how often auth_status is asked depends on timing (a
	// push that runs into the deadline); the golden transcript records
	// a run of identical requests once.
	pollsVary bool
}

// sshdUI is what the PAM front ends set under sshd (PAMLogin.Params).
func sshdUI(p *login.Params) { p.UI.Mode = login.HeldInfo }

// headlessUI is what login_duo_go sets without a terminal.
func headlessUI(p *login.Params) { p.UI.Mode = login.Headless }

func run(t *testing.T, tc tcase) {
	s := duotest.NewServer()
	defer s.Close()
	for _, u := range tc.users {
		s.AddUser(u)
	}
	path := t.TempDir() + "/pam_duo.conf"
	extra := map[string]string{"https_timeout": "2"}
	for k, v := range tc.extra {
		extra[k] = v
	}
	require.NoError(t, s.WriteConfig(path, extra))
	if tc.fault != nil {
		s.Inject(tc.faultPath, *tc.fault)
	}
	if tc.closeDuo {
		s.Close()
	}
	c := &conv{answers: tc.answers, failAt: tc.failAt}
	log := &logRecorder{}
	p := login.Params{
		ConfigFile: path, User: tc.user, UID: -1, Service: "sshd", RemoteHost: "198.51.100.7",
		Hostname: "testhost", Conv: c, Log: log, LookupUser: lookup, Deadline: 20 * time.Second,
	}
	if tc.params != nil {
		tc.params(&p)
	}
	res := login.Authenticate(context.Background(), p)
	tr := c.transcript()
	assert.Equal(t, tc.want, res.Outcome, "reason %q\ntranscript:\n%s", res.Reason, tr)
	assert.Equal(t, tc.unprompted, res.Unprompted, "Unprompted; reason %q", res.Reason)
	pos := 0
	for _, want := range tc.seen {
		i := strings.Index(tr[pos:], want)
		if !assert.True(t, i >= 0, "missing %q after position %d in transcript:\n%s", want, pos, tr) {
			break
		}
		pos += i + len(want)
	}
	logs := log.Text()
	assert.Equal(t, 1, strings.Count(logs, " user="), "one outcome line: %s", logs)
	s.Close()
	assert.NotContains(t, logs, s.SKey)
	for _, a := range tc.answers {
		if len(a) >= 6 {
			assert.NotContains(t, logs, a, "no passcode in syslog")
		}
	}
	if tc.check != nil {
		tc.check(t, s, c, logs)
	}
	compareGolden(t, tc, s, res, c, log)
}

func TestFlows(t *testing.T) {
	token := []duo.Device{{Device: "DTOKEN", Type: "token", Name: "0"}}
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}, Push: duotest.PushApproved()}
	tests := []tcase{
		{name: "push approved with status before the result", user: "alice", users: []duotest.User{alice}, answers: []string{""},
			want: login.Allow, seen: []string{"PROMPT: Duo two-factor login for alice", "1. Duo Push to iOS (XXX-XXX-0100)",
				"INFO: Pushed a login request to your device...", "INFO: Success. Logging you in..."},
			check: func(t *testing.T, s *duotest.Server, _ *conv, log string) {
				auth := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auth, 1)
				assert.Equal(t, "prompt", auth[0].Params.Get("factor"))
				assert.Equal(t, "push1", auth[0].Params.Get("prompt"))
				assert.Equal(t, "1", auth[0].Params.Get("async"))
				assert.Equal(t, "198.51.100.7", auth[0].Params.Get("ipaddr"))
				pre := s.RequestsTo("/auth/v2/preauth")[0].Params
				assert.Equal(t, "1", pre.Get("text_prompt"))
				assert.Equal(t, "testhost", pre.Get("hostname"))
				assert.Equal(t, "open", pre.Get("failmode"))
				// The stable field set (pam_duo_go(8)): the async push's txid, the factor, the time taken.
				assert.Regexp(t, `allow user=alice rhost=198\.51\.100\.7 service=sshd ipaddr=198\.51\.100\.7 factor=push1 txid=[^- ]\S* elapsed_ms=\d+ cause=none reason=`, log)
				assert.NotContains(t, log, "duo_user=")
			}},
		{name: "the log line names the Duo user GECOS maps to and the ipaddr sent", user: "gecosuser",
			users: []duotest.User{{Name: "jdoe.duo", Passcodes: []string{"123456"}}}, extra: map[string]string{"gecos_username_pos": "2"},
			answers: []string{"123456"}, want: login.Allow,
			check: func(t *testing.T, s *duotest.Server, _ *conv, log string) {
				assert.Regexp(t, `allow user=gecosuser rhost=198\.51\.100\.7 service=sshd duo_user=jdoe\.duo ipaddr=198\.51\.100\.7 factor=passcode txid=- elapsed_ms=\d+ cause=none reason=`, log)
			}},
		{name: "the log line says when no ipaddr was sent", user: "alice", users: []duotest.User{alice},
			params: func(p *login.Params) { p.RemoteHost = "" }, answers: []string{"123456"}, want: login.Allow,
			check: func(t *testing.T, s *duotest.Server, _ *conv, log string) {
				assert.Regexp(t, `allow user=alice rhost=- service=sshd ipaddr=- factor=passcode txid=- elapsed_ms=\d+ cause=none reason=`, log)
			}},
		{name: "pushinfo is percent-encoded, a space as %20", user: "alice", users: []duotest.User{alice},
			extra: map[string]string{"pushinfo": "yes"}, params: func(p *login.Params) { p.Command = "/usr/bin/ls -l /tmp" },
			answers: []string{"1"}, want: login.Allow,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				auth := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auth, 1)
				assert.Equal(t, "command=%2Fusr%2Fbin%2Fls%20-l%20%2Ftmp&hostname=testhost", auth[0].Params.Get("pushinfo"))
			}},
		{name: "a rate-limited request tells the user it waits", user: "alice", users: []duotest.User{alice},
			faultPath: "/auth/v2/preauth", fault: &duotest.Fault{Status: 429, XRetryAfter: "1"},
			answers: []string{"123456"}, want: login.Allow,
			seen: []string{"INFO: Rate-limiting response received from server. Waiting for 1 seconds before retrying.", "PROMPT: Duo two-factor"}},
		{name: "push denied three times", user: "bob", users: []duotest.User{{Name: "bob", Push: duotest.PushDenied()}},
			answers: []string{"1", "1", "1"}, want: login.MaxTries, seen: []string{"Login request denied."}},
		{name: "push denied, prompts=1", user: "bob", users: []duotest.User{{Name: "bob", Push: duotest.PushDenied()}},
			extra: map[string]string{"prompts": "1"}, answers: []string{"1"}, want: login.MaxTries},
		{name: "passcode", user: "alice", users: []duotest.User{alice}, answers: []string{"123456"}, want: login.Allow},
		{name: "wrong then right passcode", user: "alice", users: []duotest.User{alice}, answers: []string{"000000", "123456"},
			want: login.Allow, seen: []string{"ERROR: Incorrect passcode. Please try again."}},
		{name: "wrong passcodes use up the prompts", user: "alice", users: []duotest.User{alice},
			answers: []string{"000000", "111111", "222222"}, want: login.MaxTries},
		{name: "garbage answer counts as an attempt", user: "alice", users: []duotest.User{alice},
			answers: []string{"rm -rf /", "123456"}, want: login.Allow, seen: []string{"ERROR: Invalid passcode or option."}},
		{name: "sms then passcode", user: "alice", users: []duotest.User{alice}, answers: []string{"3", "123456"},
			want: login.Allow, seen: []string{"INFO: New SMS passcodes sent.", "PROMPT: Duo two-factor"}},
		{name: "phone call", user: "alice", users: []duotest.User{alice}, answers: []string{"2"}, want: login.Allow,
			seen: []string{"INFO: Dialing", "INFO: Answered"}},
		{name: "fraud ends the login", user: "f", users: []duotest.User{{Name: "f", Push: duotest.PushFraud()}},
			answers: []string{"", ""}, want: login.Deny},
		{name: "locked out", user: "l", users: []duotest.User{{Name: "l", LockedOut: true}}, answers: []string{""}, want: login.Deny},
		{name: "enroll shows the portal URL", user: "erin", users: []duotest.User{{Name: "erin", Preauth: duo.ResultEnroll}},
			want: login.Deny, seen: []string{"ERROR: Your account is not enrolled in Duo. Enroll at: https://"}},
		{name: "preauth allow is a bypass", user: "carol", users: []duotest.User{{Name: "carol", Preauth: duo.ResultAllow}}, want: login.Bypass},
		{name: "preauth deny", user: "dave", users: []duotest.User{{Name: "dave", Preauth: duo.ResultDeny}}, want: login.Deny,
			seen: []string{"ERROR: Login denied by policy"}},
		{name: "user outside groups", user: "alice", users: []duotest.User{alice}, extra: map[string]string{"groups": "ops,admin"},
			want: login.Bypass, check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) { assert.Empty(t, s.Requests()) }},
		{name: "user inside groups", user: "opsuser", users: []duotest.User{{Name: "opsuser", Passcodes: []string{"123456"}}},
			extra: map[string]string{"groups": "ops,admin"}, answers: []string{"123456"}, want: login.Allow},
		{name: "unknown local user", user: "nobody-here", want: login.UserUnknown},
		{name: "verified push code from the status messages, no empty code", user: "grace",
			users: []duotest.User{{Name: "grace", VerifiedPushCode: "417"}}, extra: map[string]string{"verified_push": "yes"},
			answers: []string{""}, want: login.Allow, seen: []string{"INFO: Please enter verification code 417 into Duo Mobile...", "INFO: Pushed a login request"},
			check: func(t *testing.T, s *duotest.Server, c *conv, _ string) {
				assert.NotContains(t, c.transcript(), "Verification code:", "a code was shown that Duo never sent")
				pre := s.RequestsTo("/auth/v2/preauth")[0].Params
				assert.Equal(t, "1", pre.Get("client_supports_verified_push"))
				auth := s.RequestsTo("/auth/v2/auth")[0].Params
				assert.Equal(t, "verified_push1", auth.Get("prompt"))
				assert.NotEmpty(t, auth.Get("txid"))
			}},
		{name: "verified push code Duo sent in preauth is shown before the push", user: "grace",
			users: []duotest.User{{Name: "grace", VerifiedPushCode: "417", SendVerificationCode: true}}, extra: map[string]string{"verified_push": "yes"},
			answers: []string{""}, want: login.Allow, seen: []string{"INFO: Verification code: 417 (enter it", "INFO: Please enter verification code 417"}},
		{name: "verified push code shown even without progress lines (headless)", user: "grace",
			users: []duotest.User{{Name: "grace", VerifiedPushCode: "417"}}, extra: map[string]string{"verified_push": "yes"},
			params: headlessUI, answers: []string{""}, want: login.Allow,
			seen: []string{"INFO: Please enter verification code 417 into Duo Mobile..."},
			check: func(t *testing.T, s *duotest.Server, c *conv, _ string) {
				assert.NotContains(t, c.transcript(), "Pushed a login request", "progress lines are off")
				assert.NotContains(t, c.transcript(), "Verification code:", "a code was shown that Duo never sent")
			}},
		{name: "verified push code in the status prompt under sshd, before approving", user: "grace",
			users: []duotest.User{{Name: "grace", VerifiedPushCode: "417"}}, extra: map[string]string{"verified_push": "yes"},
			params: sshdUI, answers: []string{"", ""}, want: login.Allow,
			seen: []string{"PROMPT: Please enter verification code 417 into Duo Mobile...\nPress Enter after you answer"},
			check: func(t *testing.T, s *duotest.Server, c *conv, _ string) {
				assert.NotContains(t, c.transcript(), "Verification code:", "a code was shown that Duo never sent")
			}},
		{name: "status carried by a prompt under sshd", user: "alice", users: []duotest.User{alice}, answers: []string{"", ""},
			params: sshdUI, want: login.Allow,
			seen: []string{"PROMPT: Pushed a login request to your device...\nPress Enter"}},
		{name: "menu built from devices without a server prompt", user: "t",
			users: []duotest.User{{Name: "t", Devices: token, Passcodes: []string{"999999"}}}, answers: []string{"999999"}, want: login.Allow},
		{name: "autopush", user: "alice", users: []duotest.User{alice}, extra: map[string]string{"autopush": "yes"},
			want: login.Allow, seen: []string{"INFO: Autopushing login request to phone...", "INFO: Success"}},
		{name: "verified push: each push attempt gets a fresh txid from a new preauth", user: "vera",
			users: []duotest.User{{Name: "vera", VerifiedPushCode: "417", Push: duotest.PushDenied()}},
			extra: map[string]string{"verified_push": "yes", "prompts": "2"}, answers: []string{"", ""}, want: login.MaxTries,
			seen: []string{"verification code 417", "Login request denied.", "verification code 417", "Login request denied."},
			check: func(t *testing.T, s *duotest.Server, c *conv, _ string) {
				assert.Len(t, s.RequestsTo("/auth/v2/preauth"), 2)
				auths := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auths, 2)
				first, second := auths[0].Params.Get("txid"), auths[1].Params.Get("txid")
				assert.NotEmpty(t, first)
				assert.NotEqual(t, first, second, "the second push reused the first push's txid")
				assert.NotContains(t, c.transcript(), "Verified Duo Push is required")
			}},
		{name: "a typed factor name is that factor, not a passcode", user: "alice", users: []duotest.User{alice}, answers: []string{"sms1", "push1"},
			want: login.Allow, seen: []string{"New SMS passcodes sent"}, check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				var got []string
				for _, a := range s.RequestsTo("/auth/v2/auth") {
					got = append(got, a.Params.Get("factor")+":"+a.Params.Get("prompt"))
				}
				assert.Equal(t, []string{"prompt:sms1", "prompt:push1"}, got)
			}},
		{name: "DUO_PASSCODE may name a factor of the menu", user: "alice", users: []duotest.User{alice},
			params: func(p *login.Params) { headlessUI(p); p.EnvPasscode = "push1" }, want: login.Allow,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				auths := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auths, 1)
				assert.Equal(t, "push1", auths[0].Params.Get("prompt"))
			}},
		{name: "autopush with a landline: a call is announced as a call", user: "lander",
			users: []duotest.User{{Name: "lander", Devices: []duo.Device{{Device: "DLAND", Type: "phone", Number: "XXX-XXX-0199",
				Capabilities: []string{duo.CapPhone}}}}}, extra: map[string]string{"autopush": "yes"},
			want: login.Allow, seen: []string{"INFO: Calling your phone..."},
			check: func(t *testing.T, _ *duotest.Server, c *conv, _ string) {
				assert.NotContains(t, c.transcript(), "Autopushing")
			}},
		{name: "autopush denied falls back to the menu", user: "bob",
			users: []duotest.User{{Name: "bob", Push: duotest.PushDenied(), Passcodes: []string{"123456"}}},
			extra: map[string]string{"autopush": "yes"}, answers: []string{"123456"}, want: login.Allow,
			seen: []string{"Autopushing", "Login request denied.", "PROMPT: Duo two-factor"}},
		{name: "headless pushes once", user: "alice", users: []duotest.User{alice},
			params: headlessUI, want: login.Allow},
		{name: "headless with env passcode", user: "alice", users: []duotest.User{alice},
			params: func(p *login.Params) { headlessUI(p); p.EnvPasscode = "123456" }, want: login.Allow,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				assert.Equal(t, "passcode", s.RequestsTo("/auth/v2/auth")[0].Params.Get("factor"))
			}},
		{name: "env factor name push", user: "alice", users: []duotest.User{alice},
			params: func(p *login.Params) { headlessUI(p); p.EnvPasscode = "push" }, want: login.Allow,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				auth := s.RequestsTo("/auth/v2/auth")[0].Params
				assert.Equal(t, "push", auth.Get("factor"))
				assert.Equal(t, "auto", auth.Get("device"))
			}},
		// sms as $DUO_PASSCODE only texts new passcodes: headless, nothing
		// can be asked after it, so the login is denied (it was allowed).
		{name: "headless env factor sms is no second factor", user: "alice", users: []duotest.User{alice},
			params: func(p *login.Params) { headlessUI(p); p.EnvPasscode = "sms" }, want: login.Deny,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				auths := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auths, 1)
				assert.Equal(t, "sms", auths[0].Params.Get("factor"))
			}},
		{name: "deadline during a pending push denies, even with failmode safe", user: "slow",
			users: []duotest.User{{Name: "slow", Push: []duotest.Step{
				{Status: "pushed", StatusMsg: "Pushed", Result: duo.ResultWaiting},
				{Status: "allow", StatusMsg: "late", Result: duo.ResultAllow, Delay: 10 * time.Second}}}},
			extra: map[string]string{"failmode": "safe"}, answers: []string{""},
			params: func(p *login.Params) { p.Deadline = 500 * time.Millisecond }, want: login.Deny},
		{name: "pushinfo carries the command", user: "alice", users: []duotest.User{alice}, extra: map[string]string{"pushinfo": "yes", "push_type": "Sudo request"},
			params: func(p *login.Params) { p.Command = "/usr/bin/id -u" }, answers: []string{""}, want: login.Allow,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				auth := s.RequestsTo("/auth/v2/auth")[0].Params
				assert.Contains(t, auth.Get("pushinfo"), "command=%2Fusr%2Fbin%2Fid%20-u")
				assert.Equal(t, "Sudo request", auth.Get("type"))
			}},
		// sshd's password step: a conversation that answers only echo-off
		// prompts. One automatic push, nothing typed is sent to Duo.
		{name: "conversation cannot prompt: one automatic push", user: "alice", users: []duotest.User{alice}, failAt: 1,
			params: sshdUI, want: login.Allow, unprompted: true, seen: []string{"PROMPT: Duo two-factor", "INFO: Autopushing", "INFO: Success"},
			check: func(t *testing.T, s *duotest.Server, _ *conv, log string) {
				auths := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auths, 1)
				assert.Equal(t, "", auths[0].Params.Get("passcode"))
				assert.Contains(t, log, "conversation cannot prompt")
			}},
		{name: "conversation cannot prompt, push denied", user: "alice",
			users: []duotest.User{{Name: "alice", Push: duotest.PushDenied()}}, failAt: 1, params: sshdUI, want: login.MaxTries,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				assert.Len(t, s.RequestsTo("/auth/v2/auth"), 1)
			}},
		{name: "cannot prompt the push status either (autopush)", user: "alice", users: []duotest.User{alice},
			extra: map[string]string{"autopush": "yes"}, params: sshdUI,
			want: login.Allow, unprompted: true, seen: []string{"PROMPT: Pushed a login request", "INFO: Pushed a login request", "INFO: Success"}},
		{name: "status prompt fails after the menu was answered", user: "alice", users: []duotest.User{alice},
			answers: []string{"1"}, failAt: 2, params: sshdUI,
			want: login.Allow, unprompted: false, seen: []string{"PROMPT: Duo two-factor", "PROMPT: Pushed", "INFO: Pushed", "INFO: Success"}},
		// A server that answers "waiting" at once, for ever: polled at most
		// every 250 ms, and a deny (never failmode) at the login deadline.
		{name: "push that never resolves: deny at the deadline, failmode safe", user: "nr",
			users:  []duotest.User{{Name: "nr", Push: []duotest.Step{{Status: "pushed", StatusMsg: "Pushed.", Result: duo.ResultWaiting}}}},
			extra:  map[string]string{"failmode": "safe"},
			params: func(p *login.Params) { p.Deadline = 2 * time.Second }, answers: []string{"1"}, want: login.Deny, pollsVary: true,
			check: func(t *testing.T, s *duotest.Server, _ *conv, log string) {
				n := len(s.RequestsTo("/auth/v2/auth_status"))
				assert.True(t, n >= 2 && n <= 2*4+2, "%d auth_status calls in 2 s, want about 8", n)
				assert.Contains(t, log, "deny user=nr")
			}},
		{name: "without the fallback (sudo), a refused prompt is a cancel: no push", user: "alice", users: []duotest.User{alice},
			failAt: 1, want: login.Aborted,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				assert.Empty(t, s.RequestsTo("/auth/v2/auth"))
			}},
		{name: "conversation breaks after an answer", user: "alice", users: []duotest.User{alice},
			answers: []string{"999999"}, failAt: 2, params: sshdUI, want: login.Aborted,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				assert.Len(t, s.RequestsTo("/auth/v2/auth"), 1)
			}},
		{name: "control characters in status_msg reach the conversation raw", user: "x",
			users: []duotest.User{{Name: "x", Push: []duotest.Step{
				{Status: "pushed", StatusMsg: "evil\x1b[2J\x07msg", Result: duo.ResultWaiting},
				{Status: "allow", StatusMsg: "ok", Result: duo.ResultAllow}}}},
			answers: []string{""}, want: login.Allow, seen: []string{"INFO: evil\x1b[2J\x07msg"}},
		{name: "hostile user name is escaped in syslog", user: "a b\nfake=1", users: []duotest.User{{Name: "a b\nfake=1", Preauth: duo.ResultAllow}},
			want: login.Bypass, check: func(t *testing.T, _ *duotest.Server, _ *conv, log string) {
				assert.Contains(t, log, `user=a\x20b\x0afake\x3d1 `)
				assert.NotContains(t, log, "\n")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// failmodeCase is one row of TestFailmode: a fault and what each failmode
// must make of it.
type failmodeCase struct {
	name     string
	path     string // "" = every endpoint, the probe's /auth/v2/ping included
	fault    *duotest.Fault
	closeDuo bool
	answers  []string // default: a passcode (no auth_status)
	extra    map[string]string
	// safe and secure are the outcomes under each failmode; reason is a
	// substring of the logged reason in both.
	safe, secure login.Outcome
	reason       string
}

// TestFailmode: failmode=safe lets a login through only for a confirmed
// outage of Duo before Duo answered this login. Every other failure (a
// refusal with any body, a deny however malformed, a failure after
// preauth answered, an outage a fresh probe does not confirm) fails
// closed in both modes. Each row tries to reach failopen.
func TestFailmode(t *testing.T) {
	alice := duotest.User{Name: "alice", Passcodes: []string{"123456"}, Push: duotest.PushDenied()}
	open, closed, deny := login.FailOpen, login.FailClosed, login.Deny
	push := []string{""}
	html := func(status int) *duotest.Fault { return &duotest.Fault{HTML: true, Status: status, Times: -1} }
	body := func(status int, b string) *duotest.Fault {
		return &duotest.Fault{Status: status, Body: []byte(b), Times: -1}
	}
	const (
		confirmed    = "outage confirmed: a fresh probe failed too"
		refused      = "Duo refused the request (failmode does not apply)"
		later        = "Duo failed after it had answered this login (failmode applies only before)"
		probeReached = "not an outage: a fresh probe reached Duo"
	)
	rows := []failmodeCase{
		// Duo really down: every endpoint fails, so the probe does too.
		{name: "duo down", closeDuo: true, safe: open, secure: closed, reason: "connection refused"},
		{name: "503 everywhere", fault: &duotest.Fault{Status: 503, Times: -1}, safe: open, secure: closed, reason: "HTTP 503"},
		{name: "slower than https_timeout everywhere", fault: &duotest.Fault{Hang: true, Times: -1}, safe: open, secure: closed, reason: "no answer within 1s"},
		{name: "malformed answers everywhere", fault: &duotest.Fault{Malformed: true, Times: -1}, safe: open, secure: closed, reason: "malformed JSON"},
		// Only preauth fails while Duo answers a fresh probe: not an outage.
		{name: "503 at preauth only", path: "/auth/v2/preauth", fault: &duotest.Fault{Status: 503, Times: -1}, safe: closed, secure: closed, reason: "HTTP 503"},
		{name: "preauth hangs, Duo answers a probe", path: "/auth/v2/preauth", fault: &duotest.Fault{Hang: true, Times: -1}, safe: closed, secure: closed, reason: "no answer within 1s"},
		{name: "malformed preauth only", path: "/auth/v2/preauth", fault: &duotest.Fault{Malformed: true, Times: -1}, safe: closed, secure: closed, reason: "malformed JSON"},
		{name: "unknown preauth result", path: "/auth/v2/preauth", fault: body(200, `{"stat":"OK","response":{"result":"maybe"}}`), safe: closed, secure: closed, reason: `unknown result "maybe"`},
		// Refusals, whatever the body: something answered.
		{name: "429 storm", fault: &duotest.Fault{Status: 429, RetryAfter: "1", Times: -1}, safe: closed, secure: closed, reason: refused},
		{name: "400 at preauth", path: "/auth/v2/preauth", fault: &duotest.Fault{Status: 400, Times: -1}, safe: closed, secure: closed, reason: refused},
		{name: "401 at preauth", path: "/auth/v2/preauth", fault: &duotest.Fault{Status: 401, Times: -1}, safe: closed, secure: closed, reason: refused},
		{name: "403 at preauth", path: "/auth/v2/preauth", fault: &duotest.Fault{Status: 403, Times: -1}, safe: closed, secure: closed, reason: refused},
		{name: "400 empty body everywhere", fault: body(400, ""), safe: closed, secure: closed, reason: refused},
		{name: "401 empty body everywhere", fault: body(401, ""), safe: closed, secure: closed, reason: refused},
		{name: "402 empty body everywhere", fault: body(402, ""), safe: closed, secure: closed, reason: refused},
		{name: "403 HTML from a proxy everywhere", fault: html(403), safe: closed, secure: closed, reason: refused},
		{name: "404 HTML everywhere", fault: html(404), safe: closed, secure: closed, reason: refused},
		{name: "407 HTML from a proxy everywhere", fault: html(407), safe: closed, secure: closed, reason: refused},
		{name: "302 to a captive portal everywhere", fault: body(302, ""), safe: closed, secure: closed, reason: refused},
		{name: "400 on auth", path: "/auth/v2/auth", fault: &duotest.Fault{Status: 400, Times: -1}, safe: closed, secure: closed, reason: refused},
		{name: "404 HTML on auth", path: "/auth/v2/auth", fault: html(404), safe: closed, secure: closed, reason: refused},
		{name: "429 storm on auth", path: "/auth/v2/auth", fault: &duotest.Fault{Status: 429, RetryAfter: "1", Times: -1}, safe: closed, secure: closed, reason: refused},
		// Answers that say deny, however incomplete.
		{name: "async deny without txid", path: "/auth/v2/auth", answers: push, extra: map[string]string{"prompts": "1"},
			fault: body(200, `{"stat":"OK","response":{"result":"deny","status":"deny","status_msg":"Verified Duo Push is required."}}`),
			safe:  login.MaxTries, secure: login.MaxTries, reason: "deny on the last attempt"},
		{name: "preauth deny of the wrong shape", path: "/auth/v2/preauth",
			fault: body(200, `{"stat":"OK","response":{"result":"deny","devices":"none"}}`),
			safe:  deny, secure: deny, reason: "an invalid answer that says deny"},
		// Failures after preauth answered: closed in both modes.
		{name: "503 on auth", path: "/auth/v2/auth", fault: &duotest.Fault{Status: 503, Times: -1}, safe: closed, secure: closed, reason: later},
		{name: "auth hangs", path: "/auth/v2/auth", fault: &duotest.Fault{Hang: true, Times: -1}, safe: closed, secure: closed, reason: later},
		{name: "malformed auth", path: "/auth/v2/auth", fault: &duotest.Fault{Malformed: true, Times: -1}, safe: closed, secure: closed, reason: later},
		{name: "auth refused connection", path: "/auth/v2/auth", fault: &duotest.Fault{CloseConnection: true, Times: -1}, safe: closed, secure: closed, reason: later},
		{name: "503 on auth_status", path: "/auth/v2/auth_status", answers: push, fault: &duotest.Fault{Status: 503, Times: -1}, safe: closed, secure: closed, reason: later},
		{name: "malformed auth_status", path: "/auth/v2/auth_status", answers: push, fault: &duotest.Fault{Malformed: true, Times: -1}, safe: closed, secure: closed, reason: later},
		{name: "auth_status connection closed", path: "/auth/v2/auth_status", answers: push, fault: &duotest.Fault{CloseConnection: true, Times: -1}, safe: closed, secure: closed, reason: later},
	}
	for _, f := range rows {
		for _, failmode := range []string{"safe", "secure"} {
			want := f.safe
			if failmode == "secure" {
				want = f.secure
			}
			answers := f.answers
			if answers == nil {
				answers = []string{"123456"}
			}
			extra := map[string]string{"failmode": failmode, "https_timeout": "1"}
			for k, v := range f.extra {
				extra[k] = v
			}
			t.Run(f.name+"/"+failmode, func(t *testing.T) {
				tc := tcase{user: "alice", users: []duotest.User{alice}, closeDuo: f.closeDuo, fault: f.fault, faultPath: f.path, answers: answers,
					extra: extra, want: want,
					check: func(t *testing.T, s *duotest.Server, _ *conv, log string) {
						assert.Contains(t, log, f.reason)
						switch {
						case want == open:
							assert.Contains(t, log, "failopen ")
							assert.Contains(t, log, confirmed)
						case f.safe == closed && f.secure == closed && failmode == "safe" && f.path == "/auth/v2/preauth" && f.reason != refused:
							assert.Contains(t, log, probeReached)
						}
						if want != open {
							assert.NotContains(t, log, "failopen ")
						}
					}}
				tc.params = instantRetries
				run(t, tc)
			})
		}
	}
}

// instantRetries builds the Duo client with a sleep that does not wait, so
// a 429 storm gives up at once instead of after 32 s of real time.
func instantRetries(p *login.Params) {
	p.NewClient = func(cfg *conf.Config) (login.DuoAPI, error) {
		return duo.New(duo.Options{IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host, CAFile: cfg.CAFile,
			Timeout: cfg.HTTPSTimeout, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	}
}

func TestConfigErrorsFailClosed(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		mode       uint32
		want       login.Outcome
		reason     string
	}{
		{"unknown key, failmode secure", "ikey=DIX\nskey=s\nhost=h\nfailmode=secure\nfialmode=x\n", 0o600, login.FailClosed, "unknown key"},
		{"unknown key, default safe", "ikey=DIX\nskey=s\nhost=h\nbogus=1\n", 0o600, login.FailClosed, "unknown key"},
		{"unknown key, failmode safe", "ikey=DIX\nskey=s\nhost=h\nfailmode=safe\nbogus=1\n", 0o600, login.FailClosed, "unknown key"},
		{"bad boolean, failmode safe", "ikey=DIX\nskey=s\nhost=h\nfailmode=safe\nautopush=maybe\n", 0o600, login.FailClosed, "autopush"},
		{"readable by others, failmode safe", "ikey=DIX\nskey=s\nhost=h\nfailmode=safe\n", 0o644, login.FailClosed, "chmod 600"},
		{"readable by others", "ikey=DIX\nskey=s\nhost=h\nfailmode=secure\n", 0o644, login.FailClosed, "chmod 600"},
		{"missing file", "", 0, login.FailClosed, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := t.TempDir() + "/pam_duo.conf"
			if tt.mode != 0 {
				require.NoError(t, writeFileMode(path, tt.text, tt.mode))
			}
			log := &logRecorder{}
			res := login.Authenticate(context.Background(), login.Params{ConfigFile: path, User: "alice", UID: -1,
				Conv: &conv{}, Log: log, LookupUser: lookup})
			assert.Equal(t, tt.want, res.Outcome, res.Reason)
			assert.Contains(t, strings.ToLower(log.Text()), tt.reason)
		})
	}
}

// TestSu: su to root asks Duo for the user who ran su (root has no phone),
// su to anyone else asks for the target, as in duo_unix. uid 1 is the
// system's "daemon" account.
func TestSu(t *testing.T) {
	daemon, err := user.LookupId("1")
	if err != nil {
		t.Skipf("no uid 1 on this system: %v", err)
	}
	caller := daemon.Username
	su := func(service string, uid int) func(*login.Params) {
		return func(p *login.Params) { p.Service, p.UID = service, uid }
	}
	askedFor := func(name string) func(*testing.T, *duotest.Server, *conv, string) {
		return func(t *testing.T, s *duotest.Server, _ *conv, log string) {
			for _, r := range s.Requests() {
				assert.Equal(t, name, r.Params.Get("username"), "%s %s", r.Method, r.Path)
			}
			assert.Contains(t, log, "user="+name+" ")
		}
	}
	users := []duotest.User{
		{Name: caller, Passcodes: []string{"123456"}},
		{Name: "alice", Passcodes: []string{"654321"}},
	}
	tests := []tcase{
		{name: "su root: the invoking user", user: "root", users: users, params: su("su", 1), answers: []string{"123456"},
			want: login.Allow, seen: []string{"PROMPT: Duo two-factor login for " + caller}, check: askedFor(caller)},
		{name: "su-l root: the invoking user", user: "root", users: users, params: su("su-l", 1), answers: []string{"123456"},
			want: login.Allow, check: askedFor(caller)},
		{name: "su alice: the target", user: "alice", users: users, params: su("su", 1), answers: []string{"654321"},
			want: login.Allow, seen: []string{"PROMPT: Duo two-factor login for alice"}, check: askedFor("alice")},
		{name: "root runs su root: root", user: "root", users: append(users, duotest.User{Name: "root", Passcodes: []string{"111111"}}),
			params: su("su", 0), answers: []string{"111111"}, want: login.Allow, check: askedFor("root")},
		{name: "another service as root: root", user: "root", users: append(users, duotest.User{Name: "root", Passcodes: []string{"111111"}}),
			params: su("sudo", 1), answers: []string{"111111"}, want: login.Allow, check: askedFor("root")},
		{name: "su root from an unknown uid", user: "root", users: users, params: su("su", 2147483000), want: login.UserUnknown,
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) { assert.Empty(t, s.Requests()) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
