package login

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/liveness"
)

// Authenticate runs one Duo login and logs its outcome. It never panics
// on bad input and always returns within the deadline.
func Authenticate(ctx context.Context, p Params) Result {
	deadline := p.Deadline
	if deadline <= 0 {
		deadline = DefaultDeadline
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	if p.Program == "" {
		p.Program = "pam_duo_go"
	}
	if p.Log == nil {
		l := newSyslog(p.Program)
		defer l.Close()
		p.Log = l
	}
	s := &session{p: p, talk: newTalk(p.UI), user: p.User, live: liveness.Start(), start: time.Now()}
	s.debugf("login of %s: service %s, rhost %s, tty %s", orDash(p.User), orDash(p.Service), orDash(p.RemoteHost), orDash(p.TTY))
	res := s.run(ctx)
	s.live.Stop()
	s.rememberAfter(res)
	if res.Outcome == Allow && s.unprompted {
		res.Unprompted = true
		res.Reason += " (automatic push: the conversation cannot prompt)"
	}
	s.logOutcome(res)
	if res.Outcome == FailClosed && p.ExplainRefusal && p.Conv != nil {
		// An error message, never a prompt: after a refusal nothing
		// should wait on the user (an askpass or expect script answering
		// sshd would hang or fail on a prompt it does not know).
		p.Conv.Error(ctx, FailClosedMessage(res.Cause))
	}
	return res
}

// session is the state of one login.
type session struct {
	p      Params
	talk   talk // how to talk to the user (ui.go)
	cfg    *conf.Config
	user   string // the Unix user the login is for
	duoID  string // the username sent to Duo
	ipaddr string
	host   string
	api    DuoAPI
	pre    *duo.PreauthResponse

	// live watches that this process keeps running until Duo answers:
	// an outage is believed only if it did (decide.go).
	live *liveness.Monitor
	// duoAnswered: Duo answered this login's preauth; from then on no
	// failure can fail open.
	duoAnswered bool

	// unprompted: the conversation refused a prompt before the user had
	// answered any, and the login went on headless (an automatic push).
	unprompted bool
	answered   bool // the user has answered a prompt
	// rem: remembered approvals (remember.go).
	rem rememberState
	// start is when the login began (elapsed_ms in the log line).
	start time.Time
	// factor and txid are the last factor tried and the last auth
	// transaction's id, for the log line.
	factor, txid string
	// vpCodeInStatus: a Verified Push is pending whose code Duo sends in
	// the first status message; that message is shown even where
	// progress lines are off (headless login_duo_go), as the code is.
	vpCodeInStatus bool
	// rtt: the Duo round trips, for the metrics (metrics.go).
	rtt duoCalls
}

// run is the login: config, account, remembered approvals, preauth,
// second factor. Each step either decides the login or hands on.
func (s *session) run(ctx context.Context) Result {
	if r, done := s.loadConfig(); done {
		return r
	}
	if r, done := s.resolveUser(); done {
		return r
	}
	s.host = s.p.Hostname
	if s.host == "" {
		s.host, _ = os.Hostname()
	}
	s.ipaddr = s.remoteAddress(ctx)
	s.debugf("asking Duo about %s from host %s, ipaddr %s", s.duoID, s.host, orDash(s.ipaddr))
	if r, done := s.rememberBefore(); done {
		return r
	}
	if r, done := s.newClient(); done {
		return r
	}
	defer s.api.Close()
	// A rate-limited request waits before its retry: say so, in one line,
	// as login_duo does.
	ctx = duo.WithRetryNotice(ctx, func(wait time.Duration) {
		s.courtesy(ctx, duo.RetryNoticeText(wait))
	})
	if r, done := s.preauth(ctx); done {
		return r
	}
	return s.secondFactor(ctx)
}

// loadConfig refuses a login with bad module arguments and loads the
// config; done is true when the login ends here.
func (s *session) loadConfig() (r Result, done bool) {
	if s.p.ArgError != nil {
		return Result{Outcome: FailClosed, Cause: CauseConfig, Reason: "module arguments: " + s.p.ArgError.Error()}, true
	}
	path := s.p.ConfigFile
	if path == "" {
		path = conf.DefaultPAMConfig
	}
	cfg, err := s.p.Config, error(nil)
	if cfg == nil {
		cfg, err = conf.LoadOwned(path, s.p.ConfigOwners...)
	}
	if err != nil {
		// failmode is for Duo being unreachable, never for a config that
		// cannot be trusted: a missing, unreadable, world-readable or
		// invalid file fails closed whatever it says. duo_unix applied
		// failmode here, so with its default (safe) a setuid bit lost in
		// an upgrade, a typo or a deleted file turned Duo off unnoticed.
		return Result{Outcome: FailClosed, Cause: CauseConfig, Reason: "config: " + err.Error()}, true
	}
	s.cfg = cfg
	s.debugf("config %s loaded: host %s, failmode %s, %d groups lists, prompts %d, autopush %t", path, cfg.Host,
		cfg.Failmode, len(cfg.Groups), cfg.Prompts, cfg.AutoPush)
	for _, w := range cfg.Warnings {
		s.debugf("config warning: %s", w)
	}
	return Result{}, false
}

// newClient makes the Duo client (s.api); done is true when it cannot be
// made, which fails the login closed.
func (s *session) newClient() (r Result, done bool) {
	newClient := s.p.NewClient
	if newClient == nil {
		newClient = func(cfg *conf.Config) (DuoAPI, error) { return newDuoClient(cfg, s.duoObserver()) }
	}
	api, err := newClient(s.cfg)
	if err != nil {
		// A cafile or proxy the client cannot use is the config's fault,
		// not Duo's: never failmode.
		return Result{Outcome: FailClosed, Cause: CauseConfig, Reason: "duo client: " + err.Error()}, true
	}
	s.api = api
	return Result{}, false
}

func newDuoClient(cfg *conf.Config, observe func(string, int, time.Duration)) (DuoAPI, error) {
	return duo.New(duo.Options{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host, CAFile: cfg.CAFile,
		Proxy: cfg.HTTPProxy, Timeout: cfg.HTTPSTimeout,
		SystemRoots: cfg.SystemRoots, MinTLSVersion: cfg.MinTLS, Observe: observe,
	})
}

// preauth asks Duo what the user must do and decides every answer but
// "auth"; done is false when the second factor is needed (s.pre holds the
// menu, and any Verified Push txid and code).
func (s *session) preauth(ctx context.Context) (r Result, done bool) {
	failmode := "open"
	if s.cfg.Failmode == conf.FailSecure {
		failmode = "closed"
	}
	pre, err := s.api.Preauth(ctx, duo.PreauthRequest{
		Username: s.duoID, IPAddr: s.ipaddr, Hostname: s.host,
		ClientSupportsVerifiedPush: s.cfg.VerifiedPush, TextPrompt: true, Failmode: failmode,
		TrustedDeviceToken: s.rem.token,
	})
	sentToken := s.rem.token != ""
	s.rem.token = "" // good for the first preauth only
	if err != nil {
		return s.duoFailed(ctx, "preauth", err), true
	}
	if !knownPreauthResult(pre.Result) {
		return s.duoFailed(ctx, "preauth", &duo.ResponseError{Op: "preauth", StatusCode: 200,
			Err: errors.New("unknown result " + strconv.Quote(pre.Result))}), true
	}
	s.duoAnswered = true
	s.live.Stop()
	s.pre = pre
	s.debugf("preauth: result %s, %d devices, server menu %t, verified push txid %t", pre.Result, len(pre.Devices),
		pre.Prompt != nil, pre.TxID != "")
	switch pre.Result {
	case duo.ResultAllow:
		if sentToken {
			return s.rememberedByDuo(pre), true
		}
		return Result{Outcome: Bypass, Reason: "preauth allow: " + pre.StatusMsg}, true
	case duo.ResultDeny:
		s.showError(ctx, pre.StatusMsg)
		return Result{Outcome: Deny, Reason: "preauth deny: " + pre.StatusMsg}, true
	case duo.ResultEnroll:
		s.showEnroll(ctx, pre)
		return Result{Outcome: Deny, Reason: "not enrolled"}, true
	}
	return Result{}, false // duo.ResultAuth
}

// knownPreauthResult reports whether r is one of preauth's results.
func knownPreauthResult(r string) bool {
	switch r {
	case duo.ResultAllow, duo.ResultDeny, duo.ResultEnroll, duo.ResultAuth:
		return true
	}
	return false
}

// enrollMessage tells an unenrolled user where to enroll: the portal URL
// when Duo gave one, else Duo's own words.
func enrollMessage(pre *duo.PreauthResponse) string {
	if pre.EnrollPortalURL != "" {
		return "Your account is not enrolled in Duo. Enroll at: " + pre.EnrollPortalURL
	}
	if pre.StatusMsg != "" {
		return pre.StatusMsg
	}
	return "Your account is not enrolled in Duo."
}
