package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// httpsTimeout is the https_timeout of every config in the matrix.
const httpsTimeout = 2 * time.Second

// loginTimeout is the login_timeout= of every login in the matrix.
const loginTimeout = 5 * time.Second

// outageBound is how long a login that fails open may take: the failed
// request, then the fresh probe (bounded by https_timeout here) that
// confirms the outage.
const outageBound = 2 * httpsTimeout

// Reasons of the syslog lines, as regular expressions.
const (
	confirmedOutage = `outage confirmed: a fresh probe failed too`
	probeReachedDuo = `not an outage: a fresh probe reached Duo`
	refusedReason   = `Duo refused the request \(failmode does not apply\)`
	failedLater     = `Duo failed after it had answered this login \(failmode applies only before\)`
)

// outcome is what a login must end with: the PAM result (nil = success)
// and the event word of its syslog line.
type outcome struct {
	err   error
	event string
}

var (
	failOpen   = outcome{nil, "failopen"}
	failClosed = outcome{pam.ErrService, "failclosed"}
	allowed    = outcome{nil, "allow"}
	denied     = outcome{pam.ErrAuth, "deny"}
	maxTries   = outcome{pam.ErrMaxtries, "maxtries"}
)

// fault is one row of the matrix.
type fault struct {
	name string
	// setup prepares the fault and returns the host the config names
	// ("" = the mock's).
	setup func(t *testing.T, mock *duotest.Server) string
	// mockOpts configure the mock Duo server.
	mockOpts []duotest.Option
	// answer is typed at the menu; "" = the passcode.
	answer string
	// atPrompt runs when the menu is shown (after preauth, before auth).
	atPrompt func(t *testing.T, confPath string)
	// extra are more config keys; prepare runs after the config is written.
	extra   map[string]string
	prepare func(t *testing.T, confPath string)
	// safe and secure are the expected outcomes in each failmode.
	safe, secure outcome
	// reason is a regular expression the syslog line must match;
	// safeReason one it must also match under failmode=safe.
	reason, safeReason string
	// deadline is the configured bound the login must end within (plus a
	// second): https_timeout for one failed request, login_timeout for a
	// login that waits on Duo.
	deadline time.Duration
}

const passcode = "123456"

// faultRun is one login of the matrix: a fault row, in one module mode
// and one failmode, with what it must end with.
type faultRun struct {
	fault
	art      e2e.Artifacts // the built module
	logs     *syslogSink   // the namespace's /dev/log
	args     string        // more module arguments: the mode ("" = in process)
	failmode string        // failmode= of the config
	want     outcome       // the row's safe or secure outcome
}

// faults is the matrix; the README's fault table is this, run.
var faults = []fault{
	{name: "Duo down (connection refused)", safe: failOpen, secure: failClosed, reason: "connection refused", deadline: outageBound,
		setup: func(t *testing.T, _ *duotest.Server) string { return refusedAddr(t) }},
	{name: "DNS failure", safe: failOpen, secure: failClosed, reason: "lookup api-pdgfault.invalid", deadline: outageBound,
		setup: func(t *testing.T, _ *duotest.Server) string {
			if os.Getenv("PAM_DUO_GO_FAULTS_DNS") != "1" {
				t.Skip("/etc/resolv.conf is a symbolic link here: cannot point DNS at a dead loopback resolver")
			}
			return "api-pdgfault.invalid"
		}},
	{name: "connect timeout", safe: failOpen, secure: failClosed, reason: "no answer within 2s|dial tcp .*: i/o timeout", deadline: outageBound,
		setup: func(t *testing.T, _ *duotest.Server) string { return blackholeAddr(t) }},
	{name: "TLS handshake stall", safe: failOpen, secure: failClosed, reason: "no answer within 2s|TLS handshake timeout", deadline: outageBound,
		setup: func(t *testing.T, _ *duotest.Server) string { return stallAddr(t) }},
	{name: "wrong certificate (another CA)", safe: failOpen, secure: failClosed, reason: "certificate", deadline: outageBound,
		setup: func(t *testing.T, _ *duotest.Server) string {
			other := duotest.NewServer()
			t.Cleanup(other.Close)
			return other.Host
		}},
	// Duo down in every way a server can be: every endpoint fails, so
	// the probe that confirms an outage fails too.
	{name: "server closes mid-response", safe: failOpen, secure: failClosed, reason: "truncated body", deadline: outageBound,
		setup: inject("", duotest.Fault{Truncate: true, Times: -1})},
	{name: "connection closed without an answer", safe: failOpen, secure: failClosed, reason: "EOF", deadline: outageBound,
		setup: inject("", duotest.Fault{CloseConnection: true, Times: -1})},
	{name: "HTTP 500", safe: failOpen, secure: failClosed, reason: "500", deadline: outageBound,
		setup: inject("", duotest.Fault{Status: 500, Times: -1})},
	{name: "HTTP 503", safe: failOpen, secure: failClosed, reason: "503", deadline: outageBound,
		setup: inject("", duotest.Fault{Status: 503, Times: -1})},
	// Only preauth fails while Duo answers a fresh probe: a proxy, a
	// forged answer, a fault of one endpoint. Not an outage.
	{name: "HTTP 503 on preauth only, Duo answers a probe", safe: failClosed, secure: failClosed, reason: "HTTP 503", safeReason: probeReachedDuo, deadline: outageBound,
		setup: inject("/auth/v2/preauth", duotest.Fault{Status: 503, Times: -1})},
	{name: "preauth never answers, Duo answers a probe", safe: failClosed, secure: failClosed, reason: "no answer within 2s", safeReason: probeReachedDuo, deadline: outageBound,
		setup: inject("/auth/v2/preauth", duotest.Fault{Hang: true, Times: -1})},
	{name: "HTML 502 on preauth only, Duo answers a probe", safe: failClosed, secure: failClosed, reason: "not JSON", safeReason: probeReachedDuo, deadline: outageBound,
		setup: inject("/auth/v2/preauth", duotest.Fault{HTML: true, Times: -1})},
	// After Duo answered preauth, any failure is closed in both modes.
	{name: "HTTP 503 on auth, after preauth", safe: failClosed, secure: failClosed, reason: failedLater + `: duo: auth: 50300 .*\(HTTP 503\)`, deadline: httpsTimeout,
		setup: inject("/auth/v2/auth", duotest.Fault{Status: 503, Times: -1})},
	{name: "auth never answers, after preauth", safe: failClosed, secure: failClosed, reason: failedLater + `: .*no answer within 2s`, deadline: httpsTimeout,
		setup: inject("/auth/v2/auth", duotest.Fault{Hang: true, Times: -1})},
	{name: "malformed auth, after preauth", safe: failClosed, secure: failClosed, reason: failedLater + `: .*malformed JSON`, deadline: httpsTimeout,
		setup: inject("/auth/v2/auth", duotest.Fault{Malformed: true, Times: -1})},
	{name: "HTTP 503 on auth_status, after preauth", answer: "1", safe: failClosed, secure: failClosed, reason: failedLater + `: duo: auth_status: 50300`, deadline: httpsTimeout,
		setup: inject("/auth/v2/auth_status", duotest.Fault{Status: 503, Times: -1})},
	{name: "malformed auth_status, after preauth", answer: "1", safe: failClosed, secure: failClosed, reason: failedLater + `: .*malformed JSON`, deadline: httpsTimeout,
		setup: inject("/auth/v2/auth_status", duotest.Fault{Malformed: true, Times: -1})},
	{name: "auth_status connection closed, after preauth", answer: "1", safe: failClosed, secure: failClosed, reason: failedLater + `: .*EOF`, deadline: httpsTimeout,
		setup: inject("/auth/v2/auth_status", duotest.Fault{CloseConnection: true, Times: -1})},
	// An explicit deny is a deny, whatever is missing from it.
	{name: "async auth denied without a txid", answer: "1", extra: map[string]string{"prompts": "1"}, safe: maxTries, secure: maxTries, reason: "deny on the last attempt", deadline: httpsTimeout,
		setup: inject("/auth/v2/auth", duotest.Fault{Body: []byte(`{"stat":"OK","response":{"result":"deny","status":"deny","status_msg":"Verified Duo Push is required."}}`), Times: -1})},
	// A cafile that cannot be trusted is a config error.
	{name: "cafile missing", safe: failClosed, secure: failClosed, reason: `cafile .*: no such file`, deadline: httpsTimeout,
		prepare: func(t *testing.T, confPath string) { os.Remove(confPath + ".ca.pem") }},
	{name: "cafile writable by others", safe: failClosed, secure: failClosed, reason: `cafile .*: mode 0666 lets group or others write it`, deadline: httpsTimeout,
		prepare: func(t *testing.T, confPath string) { os.Chmod(confPath+".ca.pem", 0o666) }},
	{name: "cafile unreadable (a directory)", safe: failClosed, secure: failClosed, reason: `cafile .*: is not a regular file`, deadline: httpsTimeout,
		prepare: func(t *testing.T, confPath string) {
			os.Remove(confPath + ".ca.pem")
			os.Mkdir(confPath+".ca.pem", 0o755)
		}},
	{name: "HTTP 429 with Retry-After: 1, then OK", safe: allowed, secure: allowed, reason: "passcode", deadline: httpsTimeout + time.Second,
		setup: inject("/auth/v2/preauth", duotest.Fault{Status: 429, RetryAfter: "1"})},
	{name: "HTTP 429 without Retry-After, then OK", safe: allowed, secure: allowed, reason: "passcode", deadline: httpsTimeout + 2*time.Second,
		setup: inject("/auth/v2/preauth", duotest.Fault{Status: 429})},
	// Duo answering with an error is Duo up and refusing: closed in both
	// modes (duo_unix denied too), never failmode's "Duo is down".
	{name: "HTTP 429 storm, Retry-After beyond the retry budget", safe: failClosed, secure: failClosed, reason: `Duo refused the request \(failmode does not apply\): .*42900 Too Many Requests \(HTTP 429\)`, deadline: httpsTimeout,
		setup: inject("/auth/v2/preauth", duotest.Fault{Status: 429, RetryAfter: "3600", Times: -1})},
	{name: "HTTP 400 on preauth", safe: failClosed, secure: failClosed, reason: `preauth: Duo refused the request \(failmode does not apply\): .*\(HTTP 400\)`, deadline: httpsTimeout,
		setup: inject("/auth/v2/preauth", duotest.Fault{Status: 400, Code: 40002, Message: "Invalid request parameters", Times: -1})},
	{name: "HTTP 401 (keys refused)", safe: failClosed, secure: failClosed, reason: `preauth: Duo refused the request \(failmode does not apply\): .*\(HTTP 401\)`, deadline: httpsTimeout,
		setup: inject("/auth/v2/preauth", duotest.Fault{Status: 401, Code: 40103, Message: "Invalid signature in request credentials", Times: -1})},
	{name: "HTTP 400 on auth, after preauth", safe: failClosed, secure: failClosed, reason: `reason=auth: Duo refused the request \(failmode does not apply\): .*\(HTTP 400\)`, deadline: httpsTimeout,
		setup: inject("/auth/v2/auth", duotest.Fault{Status: 400, Code: 40002, Message: "Invalid request parameters", Times: -1})},
	{name: "malformed JSON", safe: failOpen, secure: failClosed, reason: "malformed JSON", deadline: outageBound,
		setup: inject("", duotest.Fault{Malformed: true, Times: -1})},
	{name: "HTML error page", safe: failOpen, secure: failClosed, reason: "not JSON", deadline: outageBound,
		setup: inject("", duotest.Fault{HTML: true, Times: -1})},
	{name: "huge response (100 MiB)", safe: failOpen, secure: failClosed, reason: "too large", deadline: outageBound,
		setup: inject("", duotest.Fault{HugeBytes: 100 << 20, Times: -1})},
	{name: "response slower than https_timeout", safe: failOpen, secure: failClosed, reason: "no answer within 2s", deadline: outageBound,
		setup: inject("", duotest.Fault{Delay: httpsTimeout + 3*time.Second, Times: -1})},
	{name: "server never answers", safe: failOpen, secure: failClosed, reason: "no answer within 2s", deadline: outageBound,
		setup: inject("", duotest.Fault{Hang: true, Times: -1})},
	{name: "push that never resolves", answer: "1", safe: denied, secure: denied, reason: "past its deadline", deadline: loginTimeout,
		setup: func(t *testing.T, mock *duotest.Server) string {
			mock.AddUser(duotest.User{Name: "root", Push: []duotest.Step{
				{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: duo.ResultWaiting, Delay: 500 * time.Millisecond}}})
			return ""
		}},
	{name: "clock 1 hour ahead of Duo", safe: allowed, secure: allowed, reason: "passcode", deadline: httpsTimeout,
		mockOpts: []duotest.Option{duotest.WithClockOffset(-time.Hour)}},
	{name: "clock 1 hour behind Duo", safe: allowed, secure: allowed, reason: "passcode", deadline: httpsTimeout,
		mockOpts: []duotest.Option{duotest.WithClockOffset(time.Hour)}},
	{name: "config changed between preauth and auth", safe: allowed, secure: allowed, reason: "passcode", deadline: httpsTimeout,
		atPrompt: func(t *testing.T, confPath string) {
			// A broken, world-readable file with other keys: the login
			// in progress keeps the config it started with.
			assert.NoError(t, os.WriteFile(confPath, []byte("[duo]\nikey = DIXXXXXXXXXXXXXXXXXX\nskey = changed\nhost = 127.0.0.1:1\nfailmode = safe\nbogus = 1\n"), 0o644))
			os.Chmod(confPath, 0o644)
		}},
}

// refusals are the answers of Duo, or of a proxy, firewall or load
// balancer in front of it, with the bodies such middleboxes send: closed
// in both failmodes, at preauth and at auth.
func refusals() []fault {
	var rows []fault
	bodies := []struct {
		name  string
		fault func(status int) duotest.Fault
	}{
		{"empty body", func(status int) duotest.Fault { return duotest.Fault{Status: status, Body: []byte{}, Times: -1} }},
		{"HTML", func(status int) duotest.Fault { return duotest.Fault{Status: status, HTML: true, Times: -1} }},
		{"JSON", func(status int) duotest.Fault { return duotest.Fault{Status: status, Times: -1} }},
	}
	for _, status := range []int{400, 401, 403, 404, 429} {
		for _, b := range bodies {
			for _, at := range []struct{ name, path, answer string }{{"preauth", "", ""}, {"auth", "/auth/v2/auth", ""}} {
				f := b.fault(status)
				if status == 429 {
					f.RetryAfter = "3600" // beyond the retry budget
				}
				rows = append(rows, fault{
					name: fmt.Sprintf("HTTP %d with %s at %s", status, b.name, at.name), answer: at.answer,
					safe: failClosed, secure: failClosed, reason: "reason=" + at.name + ": " + refusedReason, deadline: httpsTimeout,
					setup: inject(at.path, f),
				})
			}
		}
	}
	return rows
}

// inject returns a setup that injects f on path of the mock.
func inject(path string, f duotest.Fault) func(*testing.T, *duotest.Server) string {
	return func(_ *testing.T, mock *duotest.Server) string {
		mock.Inject(path, f)
		return ""
	}
}

// rootUser is the scripted Duo user for the local account root.
var rootUser = duotest.User{Name: "root", Passcodes: []string{passcode}, Push: duotest.PushApproved()}

func TestFaultMatrix(t *testing.T) {
	art := artifacts(t)
	logs := syslog(t)
	for _, mode := range []struct{ name, args string }{{"in process", ""}, {"mode=exec", "mode=exec"}} {
		for _, f := range append(faults, refusals()...) {
			for _, failmode := range []string{"safe", "secure"} {
				want := f.safe
				if failmode == "secure" {
					want = f.secure
				}
				t.Run(fmt.Sprintf("%s/%s/failmode=%s", mode.name, f.name, failmode), func(t *testing.T) {
					runFault(t, faultRun{fault: f, art: art, logs: logs, args: mode.args, failmode: failmode, want: want})
				})
			}
		}
	}
}

// runFault runs one login of the matrix and checks its outcome.
func runFault(t *testing.T, r faultRun) {
	f, art, logs, args, failmode, want := r.fault, r.art, r.logs, r.args, r.failmode, r.want
	mock := duotest.NewServer(f.mockOpts...)
	defer mock.Close()
	mock.AddUser(rootUser)
	host := ""
	if f.setup != nil {
		host = f.setup(t, mock)
	}
	dir := t.TempDir()
	confPath := filepath.Join(dir, "pam_duo.conf")
	keys := map[string]string{"failmode": failmode, "https_timeout": fmt.Sprint(int(httpsTimeout.Seconds()))}
	for k, v := range f.extra {
		keys[k] = v
	}
	writeConfig(t, confPath, mock, host, keys)
	if f.prepare != nil {
		f.prepare(t, confPath)
	}
	stack := art.AuthLine("required", confPath, e2e.Mode{}, fmt.Sprintf("login_timeout=%d", int(loginTimeout.Seconds())), args) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "duo-faults"), []byte(stack), 0o644))

	answer := f.answer
	if answer == "" {
		answer = passcode
	}
	var seen []string
	prompted := false
	conv := pam.ConversationFunc(func(style pam.Style, msg string) (string, error) {
		seen = append(seen, fmt.Sprintf("%v: %s", style, msg))
		switch style {
		case pam.PromptEchoOn, pam.PromptEchoOff:
			if prompted {
				return "", fmt.Errorf("a second prompt: %q", msg)
			}
			prompted = true
			if f.atPrompt != nil {
				f.atPrompt(t, confPath)
			}
			return answer, nil
		}
		return "", nil
	})
	tx, err := pam.StartConfDir("duo-faults", "root", conv, dir)
	require.NoError(t, err)
	defer tx.End()

	mark := logs.count()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- tx.Authenticate(0) }()
	bound := f.deadline + time.Second
	select {
	case err = <-done:
	case <-time.After(bound + 30*time.Second):
		require.FailNow(t, "a hang", "login still running after %v (bound %v); saw %q", bound+30*time.Second, bound, seen)
	}
	elapsed := time.Since(start)

	if want.err == nil {
		assert.NoError(t, err, "PAM result; saw %q", seen)
	} else {
		assert.ErrorIs(t, err, want.err, "PAM result; saw %q", seen)
	}
	assert.LessOrEqual(t, elapsed, bound, "the login took %v, more than its deadline %v plus a second", elapsed.Round(time.Millisecond), f.deadline)
	line, ok := logs.waitFor(mark, 2*time.Second, " "+want.event+" user=root ")
	require.True(t, ok, "no %q syslog line; got:\n%s", want.event, strings.Join(logs.since(mark), "\n"))
	assert.Regexp(t, f.reason, line, "syslog line")
	if want.event == "failopen" {
		assert.Regexp(t, confirmedOutage, line, "syslog line %q: a failopen must say how the outage was confirmed", line)
	}
	if f.safeReason != "" && failmode == "safe" {
		assert.Regexp(t, f.safeReason, line, "syslog line")
	}
	assert.NotContains(t, line, mock.SKey, "the secret key is in the syslog line")
	t.Logf("%v in %v; syslog: %s", err, elapsed.Round(time.Millisecond), line)
}
