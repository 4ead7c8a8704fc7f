package login

import (
	"context"
	"errors"
	"fmt"
	"log/syslog"
	"net"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/liveness"
	"github.com/pam-duo-go/pam_duo_go/internal/passwd"
)

// Passcode bounds: Duo passcodes are digits (6 to 8 from Duo Mobile,
// hardware tokens, SMS batches); we accept up to MaxPasscodeLen letters
// and digits and refuse anything else before it reaches Duo.
const MaxPasscodeLen = 32

// maxSMSRounds bounds how often a login may ask for new SMS passcodes.
const maxSMSRounds = 3

// minPollInterval is the least time between two auth_status calls.
const minPollInterval = 250 * time.Millisecond

// resolveTimeout bounds finding this host's address towards Duo
// (fallback_local_ip).
const resolveTimeout = 3 * time.Second

// errConversation marks a failed Prompt/Info/Error.
var errConversation = errors.New("conversation failed")

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
	s := &session{p: p, user: p.User, live: liveness.Start(), start: time.Now()}
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
}

func (s *session) debugf(format string, args ...any) {
	if s.p.Debug {
		s.p.Log.Log(syslog.LOG_DEBUG, "debug: "+escapeReason(fmt.Sprintf(format, args...)))
	}
}

func (s *session) run(ctx context.Context) Result {
	if s.p.ArgError != nil {
		return Result{Outcome: FailClosed, Cause: CauseConfig, Reason: "module arguments: " + s.p.ArgError.Error()}
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
		return Result{Outcome: FailClosed, Cause: CauseConfig, Reason: "config: " + err.Error()}
	}
	s.cfg = cfg
	s.debugf("config %s loaded: host %s, failmode %s, %d groups lists, prompts %d, autopush %t", path, cfg.Host,
		cfg.Failmode, len(cfg.Groups), cfg.Prompts, cfg.AutoPush)
	for _, w := range cfg.Warnings {
		s.debugf("config warning: %s", w)
	}

	if s.user == "" {
		return Result{Outcome: UserUnknown, Reason: "no user name"}
	}
	lookup := s.p.LookupUser
	if lookup == nil {
		lookup = lookupUser
	}
	info, err := lookup(s.user)
	if err != nil {
		if isUnknownUser(err) {
			return Result{Outcome: UserUnknown, Reason: "no such local user"}
		}
		// Not "Duo is down": an NSS source failing must not switch Duo
		// off under failmode=safe.
		return Result{Outcome: FailClosed, Cause: CauseLocal, Reason: "user lookup: " + err.Error()}
	}
	// su to root: root has no phone, so Duo asks the user who ran su, as
	// duo_unix does. su to anyone else asks for the target user.
	if (s.p.Service == "su" || s.p.Service == "su-l") && info.UID == 0 && s.p.UID > 0 {
		caller, err := passwd.LookupUID(s.p.UID)
		if err == nil {
			info, err = lookup(caller.Name)
		}
		if err != nil {
			return Result{Outcome: UserUnknown, Reason: fmt.Sprintf("su to %s: the invoking user (uid %d) is unknown: %v", s.user, s.p.UID, err)}
		}
		s.debugf("su to %s: asking Duo for the invoking user %s", s.user, info.Name)
		s.user = info.Name
	}
	s.debugf("user %s: uid %d, groups %s", info.Name, info.UID, strings.Join(info.Groups, ","))
	applies, err := DuoApplies(cfg, info)
	if err != nil {
		return Result{Outcome: FailClosed, Cause: CauseLocal, Reason: "user lookup: " + err.Error()}
	}
	if !applies {
		return Result{Outcome: Bypass, Reason: "user not in groups"}
	}
	if len(cfg.Groups) > 0 {
		s.debugf("user %s is in groups: Duo applies", info.Name)
	}
	s.duoID = s.user
	if name, ok := DuoUsername(cfg, info); ok {
		s.duoID = name
	} else if cfg.SendGecos || cfg.GecosUsernamePosSet {
		s.debugf("GECOS of %s gives no Duo username; sending the user name", s.user)
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

	newClient := s.p.NewClient
	if newClient == nil {
		newClient = newDuoClient
	}
	s.api, err = newClient(cfg)
	if err != nil {
		// A cafile or proxy the client cannot use is the config's fault,
		// not Duo's: never failmode.
		return Result{Outcome: FailClosed, Cause: CauseConfig, Reason: "duo client: " + err.Error()}
	}
	defer s.api.Close()
	// A rate-limited request waits before its retry: say so, in one line,
	// as login_duo does.
	ctx = duo.WithRetryNotice(ctx, func(wait time.Duration) {
		if !s.p.Quiet && !s.p.NoProgress {
			s.p.Conv.Info(ctx, duo.RetryNoticeText(wait))
		}
	})

	if r, done := s.preauth(ctx); done {
		return r
	}
	return s.secondFactor(ctx)
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

// isUnknownUser reports whether a user lookup error means there is no such
// account (rather than that the lookup failed).
func isUnknownUser(err error) bool {
	var unknown user.UnknownUserError
	return errors.Is(err, passwd.ErrNotFound) || errors.As(err, &unknown)
}

// choice is one thing a user can pick: a Unix-integration prompt key, or
// a factor on a device, or a passcode.
type choice struct {
	promptKey string
	factor    string
	device    string
	passcode  string
}

func (c choice) isSMS() bool {
	return c.factor == duo.FactorSMS || strings.HasPrefix(c.promptKey, "sms")
}

func (c choice) isPush() bool {
	return c.factor == duo.FactorPush || strings.HasPrefix(c.promptKey, "push") || strings.HasPrefix(c.promptKey, "verified_push")
}

// menu is what the user is offered: its text, the numbered options and
// the default for an empty answer.
type menu struct {
	text    string
	options map[string]choice
	def     *choice
	// factorNames are the server menu's factor names (the values of
	// prompt.factors), which may be typed instead of an option's key.
	factorNames map[string]bool
}

// parseAnswer reads what the user typed at the menu: Enter takes the
// default (a push), an option key takes that option, else it must be a
// passcode (ASCII letters and digits, at most MaxPasscodeLen). Surrounding
// white space is ignored. ok is false for anything else.
func (m menu) parseAnswer(answer string) (c choice, ok bool) {
	answer = strings.TrimSpace(answer)
	if answer == "" && m.def != nil {
		return *m.def, true
	}
	if opt, found := m.options[answer]; found {
		return opt, true
	}
	if m.factorNames[answer] {
		// A factor's own name from the server's menu ("push1", "phone2"):
		// duo_unix passed such answers to Duo as the factor, and users
		// and scripts type them.
		return choice{promptKey: answer}, true
	}
	if validPasscode(answer) {
		return choice{passcode: answer}, true
	}
	return choice{}, false
}

// buildMenu uses the server's ready-made menu when preauth carried one,
// else builds one from the devices.
func buildMenu(name string, pre *duo.PreauthResponse) menu {
	if pre.Prompt != nil && pre.Prompt.Text != "" {
		m := menu{text: pre.Prompt.Text, options: map[string]choice{}, factorNames: map[string]bool{}}
		for k, v := range pre.Prompt.Factors {
			if validPasscode(v) && !isDigits(v) {
				m.factorNames[v] = true
			}
			if k == "default" {
				c := choice{promptKey: v}
				m.def = &c
				continue
			}
			m.options[k] = choice{promptKey: v}
		}
		return m
	}
	m := menu{options: map[string]choice{}}
	var lines []string
	var firstPhone *choice
	for _, d := range pre.Devices {
		label := d.DisplayName
		if label == "" {
			label = d.Number
		}
		if label == "" {
			label = d.Device
		}
		for _, f := range []struct{ cap, factor, text string }{
			{duo.CapPush, duo.FactorPush, "Duo Push to "},
			{duo.CapPhone, duo.FactorPhone, "Phone call to "},
			{duo.CapSMS, duo.FactorSMS, "SMS passcodes to "},
		} {
			if !d.Can(f.cap) {
				continue
			}
			c := choice{factor: f.factor, device: d.Device}
			n := strconv.Itoa(len(lines) + 1)
			lines = append(lines, fmt.Sprintf(" %s. %s%s", n, f.text, label))
			m.options[n] = c
			if f.factor == duo.FactorPush && m.def == nil {
				m.def = &c
			}
			if f.factor == duo.FactorPhone && firstPhone == nil {
				firstPhone = &c
			}
		}
	}
	if m.def == nil {
		m.def = firstPhone
	}
	if len(lines) == 0 {
		m.text = fmt.Sprintf("Duo two-factor login for %s\n\nPasscode: ", name)
		return m
	}
	m.text = fmt.Sprintf("Duo two-factor login for %s\n\nEnter a passcode or select one of the following options:\n\n%s\n\nPasscode or option (1-%d): ",
		name, strings.Join(lines, "\n"), len(lines))
	return m
}

// isDigits reports whether s is all ASCII digits (a passcode, never a
// factor name).
func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// validPasscode reports whether an answer can be a passcode.
func validPasscode(s string) bool {
	if s == "" || len(s) > MaxPasscodeLen {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsDigit(r) || unicode.IsLetter(r)) {
			return false
		}
	}
	return true
}

// secondFactor runs the menu, autopush and the attempts.
func (s *session) secondFactor(ctx context.Context) Result {
	m := buildMenu(s.duoID, s.pre)
	attempts := s.cfg.Prompts
	if attempts < 1 {
		attempts = conf.DefaultPrompts
	}
	autopush := s.cfg.AutoPush || s.p.Headless
	if s.p.Headless {
		attempts = 1
	}
	if s.p.EnvPasscode != "" {
		autopush = false
		// Like duo_unix, $DUO_PASSCODE may also name a factor.
		c := choice{passcode: strings.TrimSpace(s.p.EnvPasscode)}
		switch c.passcode {
		case duo.FactorPush, duo.FactorPhone, duo.FactorSMS, duo.FactorAuto:
			c = choice{factor: c.passcode, device: "auto"}
		default:
			if m.factorNames[c.passcode] { // "push1", "phone2": a factor of the server's menu
				c = choice{promptKey: c.passcode}
			}
		}
		r, done := s.attempt(ctx, c, &attempts)
		if done || s.p.Headless {
			return r
		}
	}
	smsRounds := 0
	// stale: an attempt went to Duo since the last preauth. Before the
	// next one preauth runs again, as duo_unix does on every attempt: a
	// Verified Push txid and code are good for one push only, and the
	// user's devices or Duo's policy may have changed meanwhile.
	stale := s.p.EnvPasscode != ""
	for attempts > 0 {
		if stale {
			if r, done := s.preauth(ctx); done {
				return r
			}
			m, stale = buildMenu(s.duoID, s.pre), false
		}
		var c choice
		switch {
		case autopush && m.def != nil:
			autopush = false
			if !s.p.Quiet && !s.p.NoProgress {
				if err := s.p.Conv.Info(ctx, autopushMessage(*m.def)); err != nil {
					return Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}
				}
			}
			c = *m.def
		case s.p.Headless:
			return Result{Outcome: Deny, Reason: "headless login and no push-capable device"}
		default:
			autopush = false
			answer, err := s.p.Conv.Prompt(ctx, SanitizeTerminal(m.text), true)
			if err != nil && ctx.Err() == nil && s.p.HeadlessFallback && !s.answered && m.def != nil {
				// A conversation that cannot prompt at all (sshd's password
				// step answers only the password prompt): go on headless,
				// with one automatic push, as login_duo_go does without a
				// terminal. Never is anything typed there sent to Duo.
				s.goHeadless(err)
				attempts, autopush = 1, true
				continue
			}
			if err != nil {
				return s.conversationFailed(ctx, err)
			}
			s.answered = true
			var ok bool
			if c, ok = m.parseAnswer(answer); !ok {
				attempts--
				s.showError(ctx, "Invalid passcode or option.")
				continue
			}
		}
		if c.isSMS() {
			smsRounds++
			if smsRounds > maxSMSRounds {
				attempts--
			}
		}
		r, done := s.attempt(ctx, c, &attempts)
		if done {
			return r
		}
		stale = true
	}
	return Result{Outcome: MaxTries, Reason: fmt.Sprintf("%d failed attempts", s.cfg.Prompts)}
}

// autopushMessage announces the automatic attempt with the default
// factor, in duo_unix's words: a call is not a push.
func autopushMessage(def choice) string {
	switch {
	case def.isPush():
		return "Autopushing login request to phone..."
	case def.factor == duo.FactorPhone || strings.HasPrefix(def.promptKey, "phone"):
		return "Calling your phone..."
	}
	return "Using default second-factor authentication."
}

// goHeadless switches the login to headless after the conversation
// refused a prompt: no more prompts, status as informational messages.
func (s *session) goHeadless(err error) {
	s.debugf("the conversation cannot prompt (%v); going on without prompts", err)
	s.unprompted = !s.answered
	s.p.Headless = true
	s.p.StatusPrompt = false
}

// conversationFailed is the answer to a broken conversation; a deadline
// that ran out while the user was being asked is a deny.
func (s *session) conversationFailed(ctx context.Context, err error) Result {
	if ctx.Err() != nil {
		return Result{Outcome: Deny, Reason: "no answer before the login deadline"}
	}
	return Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}
}

// attempt runs one factor; done says the login is decided.
func (s *session) attempt(ctx context.Context, c choice, attempts *int) (Result, bool) {
	req := duo.AuthRequest{Username: s.duoID, IPAddr: s.ipaddr, Hostname: s.host}
	switch {
	case c.passcode != "":
		req.Factor, req.Passcode = duo.FactorPasscode, c.passcode
	case c.promptKey != "":
		req.Factor, req.Prompt = duo.FactorPrompt, c.promptKey
	default:
		req.Factor, req.Device = c.factor, c.device
	}
	if c.isPush() {
		req.Type, req.DisplayUsername = s.cfg.PushType, s.cfg.DisplayUsername
		if s.cfg.PushInfo {
			req.PushInfo = s.pushInfo()
		}
		if s.pre.TxID != "" {
			req.TxID = s.pre.TxID
			// Duo's service sends the code in the push's first status
			// message ("Please enter verification code 376 into Duo
			// Mobile..."), which poll shows (under sshd in the status
			// prompt, before the user must approve). A code in preauth
			// is shown first only when a server sent one.
			code := strings.TrimSpace(SanitizeTerminal(s.pre.VerificationCode))
			if code != "" {
				if err := s.notify(ctx, "Verification code: "+code+" (enter it in Duo Mobile to approve)"); err != nil {
					return Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}, true
				}
			}
			s.vpCodeInStatus = code == ""
		}
	}
	pending := c.passcode == "" && !c.isSMS()
	req.Async = pending
	s.factor = factorName(req)
	s.debugf("auth: factor %s, async %t", s.factor, req.Async)
	resp, err := s.api.Auth(ctx, req)
	if err != nil {
		return s.duoFailed(ctx, "auth", err), true
	}
	if resp.TxID != "" {
		s.txid = resp.TxID
	}
	s.debugf("auth: result %s, status %s, txid %s", orDash(resp.Result), orDash(resp.Status), orDash(resp.TxID))
	result, status, msg, token := resp.Result, resp.Status, resp.StatusMsg, resp.TrustedDeviceToken
	if pending && resp.TxID == "" {
		pending = false // Duo denied at once (the client accepts only a deny without txid)
	}
	if pending {
		st, err := s.poll(ctx, resp.TxID)
		if err != nil {
			if errors.Is(err, errConversation) {
				return Result{Outcome: Aborted, Reason: err.Error()}, true
			}
			return s.duoFailed(ctx, "auth_status", err), true
		}
		result, status, msg, token = st.Result, st.Status, st.StatusMsg, st.TrustedDeviceToken
	}
	if result == duo.ResultAllow {
		s.rem.approved, s.rem.newToken = true, token
		if !pending && msg != "" && !s.p.Quiet && !s.p.NoProgress {
			s.p.Conv.Info(ctx, SanitizeTerminal(msg))
		}
		return Result{Outcome: Allow, Reason: "second factor " + factorName(req) + ": " + status}, true
	}
	if status == "sent" { // SMS: new passcodes were texted; ask again
		if err := s.p.Conv.Info(ctx, SanitizeTerminal(msg)); err != nil {
			return Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}, true
		}
		return Result{}, false
	}
	*attempts--
	if !pending || s.p.NoProgress {
		// A pending push's final status was already shown as progress,
		// unless progress lines are off: a refusal is always shown.
		s.showError(ctx, msg)
	}
	if status == "fraud" || status == "locked_out" {
		return Result{Outcome: Deny, Reason: factorName(req) + ": " + status}, true
	}
	if *attempts <= 0 {
		return Result{Outcome: MaxTries, Reason: factorName(req) + ": " + status + " on the last attempt"}, true
	}
	return Result{Outcome: Deny, Reason: factorName(req) + ": " + status}, false
}

func factorName(r duo.AuthRequest) string {
	if r.Factor == duo.FactorPrompt {
		return r.Prompt
	}
	return r.Factor
}

// poll follows a pending push or call, showing each new status message as
// it arrives.
func (s *session) poll(ctx context.Context, txid string) (*duo.AuthStatusResponse, error) {
	last, lastStatus, shownPrompt := "", "", false
	showCode := s.vpCodeInStatus
	s.vpCodeInStatus = false
	for {
		asked := time.Now()
		st, err := s.api.AuthStatus(ctx, txid)
		if err != nil {
			return nil, err
		}
		s.debugf("auth_status %s: result %s, status %s", txid, st.Result, st.Status)
		mustShow := showCode && st.StatusMsg != ""
		if mustShow {
			showCode = false
		}
		if st.StatusMsg != "" && st.StatusMsg != last && (!s.p.NoProgress || mustShow) {
			last = st.StatusMsg
			msg := SanitizeTerminal(st.StatusMsg)
			if st.Result == duo.ResultWaiting && s.p.StatusPrompt && !shownPrompt {
				shownPrompt = true
				_, err := s.p.Conv.Prompt(ctx, msg+"\nPress Enter after you answer on your device: ", true)
				if err == nil {
					s.answered = true
				} else if ctx.Err() == nil && s.p.HeadlessFallback {
					// The answer is ignored anyway: carry on without prompts.
					s.goHeadless(err)
					err = s.p.Conv.Info(ctx, msg)
				}
				if err != nil {
					return nil, fmt.Errorf("%w: %v", errConversation, err)
				}
			} else if err := s.p.Conv.Info(ctx, msg); err != nil {
				return nil, fmt.Errorf("%w: %v", errConversation, err)
			}
		}
		if st.Result != duo.ResultWaiting {
			return st, nil
		}
		// Duo's auth_status long-polls; a server that answers the same
		// "waiting" at once is not hammered. A push that never resolves
		// ends at the login deadline, as a deny (duoFailed sees the
		// expired context).
		unchanged := st.Status == lastStatus
		lastStatus = st.Status
		if wait := minPollInterval - time.Since(asked); unchanged && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("auth_status: still waiting: %w", ctx.Err())
			case <-t.C:
			}
		}
	}
}

// notify shows a message that must be seen before the user acts.
func (s *session) notify(ctx context.Context, msg string) error {
	if s.p.StatusPrompt {
		_, err := s.p.Conv.Prompt(ctx, msg+"\nPress Enter to send the push: ", true)
		if err == nil {
			s.answered = true
		}
		if err == nil || ctx.Err() != nil || !s.p.HeadlessFallback {
			return err
		}
		s.goHeadless(err)
	}
	return s.p.Conv.Info(ctx, msg)
}

func (s *session) showError(ctx context.Context, msg string) {
	if msg != "" {
		s.p.Conv.Error(ctx, SanitizeTerminal(msg))
	}
}

// pushInfo is the URL-encoded context sent with a push: the command being
// authorized and this host, within Duo's size bound.
func (s *session) pushInfo() string {
	v := url.Values{}
	if s.host != "" {
		v.Set("hostname", s.host)
	}
	if s.p.Command != "" {
		v.Set("command", s.p.Command)
	}
	// Percent-encoded as Duo documents and duo_unix sends it: a space is
	// %20, never url.Values' '+'.
	out := duo.EncodeParams(v)
	for len(out) >= duo.MaxPushInfoLen && len(v.Get("command")) > 0 {
		cmd := v.Get("command")
		v.Set("command", cmd[:len(cmd)/2]+"...")
		out = duo.EncodeParams(v)
	}
	return out
}

// remoteAddress is the address sent as ipaddr: the remote host when it is
// an IP address literal (IPv4, or IPv6 without brackets or a zone, as
// net.ParseIP reads it), else with fallback_local_ip this host's address
// towards Duo, else none. A host name is never resolved: whoever controls
// the reverse DNS of their address (sshd's UseDNS) would choose the
// address Duo sees, for example one in a trusted network. duo_unix sends
// the value as given; the syslog line shows it as given too.
func (s *session) remoteAddress(ctx context.Context) string {
	rhost := strings.TrimSpace(s.p.RemoteHost)
	if ip := net.ParseIP(rhost); ip != nil {
		return ip.String()
	}
	if rhost != "" {
		s.debugf("remote host %s is not an IP address: no ipaddr sent (names are never resolved)", rhost)
	}
	if !s.cfg.FallbackLocalIP {
		return ""
	}
	host := s.cfg.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "443")
	}
	d := net.Dialer{Timeout: resolveTimeout}
	c, err := d.DialContext(ctx, "udp", host) // no packet is sent
	if err != nil {
		return ""
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// logOutcome writes the one syslog line of the login.
func (s *session) logOutcome(r Result) {
	events := map[Outcome]struct {
		name string
		sev  syslog.Priority
	}{
		Allow: {"allow", syslog.LOG_INFO}, Deny: {"deny", syslog.LOG_WARNING},
		Bypass: {"bypass", syslog.LOG_INFO}, UserUnknown: {"unknown-user", syslog.LOG_WARNING},
		MaxTries: {"maxtries", syslog.LOG_WARNING}, FailOpen: {"failopen", syslog.LOG_ERR},
		FailClosed: {"failclosed", syslog.LOG_ERR}, Aborted: {"aborted", syslog.LOG_WARNING},
	}
	e := events[r.Outcome]
	duoUser := ""
	if s.duoID != "" && s.duoID != s.user {
		duoUser = s.duoID
	}
	line := e.name + " " + LogFields(LogLine{
		User: s.user, RemoteHost: s.p.RemoteHost, Service: s.p.Service, DuoUser: duoUser, IPAddr: s.ipaddr,
		Factor: s.factor, TxID: s.txid, Elapsed: time.Since(s.start), Cause: causeNames[r.Cause], Reason: r.Reason,
	})
	if s.cfg != nil && s.cfg.SKey != "" {
		line = strings.ReplaceAll(line, s.cfg.SKey, "[skey]")
	}
	s.p.Log.Log(e.sev, line)
	s.recordMetrics(e.name, r)
}

// LogLine is the field set of a login's syslog line, the stable schema
// documented in pam_duo_go(8). Empty fields are written as "-".
type LogLine struct {
	User       string        // the Unix user
	RemoteHost string        // PAM_RHOST or the client's address
	Service    string        // the PAM service
	DuoUser    string        // the name sent to Duo, only when GECOS mapped the user to another
	IPAddr     string        // the ipaddr sent to Duo
	Factor     string        // the last factor tried (passcode, push1, phone, ...)
	TxID       string        // the last auth transaction's id
	Elapsed    time.Duration // since the login began
	Cause      string        // why a failclosed failed closed; "none" otherwise
	Reason     string        // free text, always last
}

// LogFields formats l after the event word: "user=... rhost=...
// service=... [duo_user=...] ipaddr=... factor=... txid=... elapsed_ms=...
// cause=... reason=...", every value escaped and clipped.
func LogFields(l LogLine) string {
	duoUser := ""
	if l.DuoUser != "" {
		duoUser = " duo_user=" + clipLog(EscapeLog(l.DuoUser))
	}
	cause := l.Cause
	if cause == "" {
		cause = "none"
	}
	f := func(v string) string { return clipLog(EscapeLog(orDash(v))) }
	return fmt.Sprintf("user=%s rhost=%s service=%s%s ipaddr=%s factor=%s txid=%s elapsed_ms=%d cause=%s reason=%s",
		f(l.User), f(l.RemoteHost), f(l.Service), duoUser, f(l.IPAddr), f(l.Factor), f(l.TxID),
		l.Elapsed.Milliseconds(), f(cause), clipLog(escapeReason(l.Reason)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newDuoClient(cfg *conf.Config) (DuoAPI, error) {
	return duo.New(duo.Options{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host, CAFile: cfg.CAFile,
		Proxy: cfg.HTTPProxy, Timeout: cfg.HTTPSTimeout,
		SystemRoots: cfg.SystemRoots, MinTLSVersion: cfg.MinTLS,
	})
}

// DuoApplies reports whether Duo applies to the local user info under
// cfg's groups, as the login decides it (login_duo_go check -u uses it
// too). An error means the user's groups could not be read while cfg has
// groups to check: a group that could not be read might be the one that
// puts the user in (or out of) Duo's scope, so the login refuses rather
// than guess.
func DuoApplies(cfg *conf.Config, info *UserInfo) (bool, error) {
	if len(cfg.Groups) == 0 {
		return true, nil
	}
	if info.GroupsErr != nil {
		return false, info.GroupsErr
	}
	return cfg.GroupsMatch(info.Groups), nil
}

// DuoUsername is the username GECOS gives for info (send_gecos,
// gecos_username_pos); ok is false when it gives none, and the login then
// sends the user name.
func DuoUsername(cfg *conf.Config, info *UserInfo) (name string, ok bool) {
	return cfg.GecosUsername(info.Gecos)
}

// LookupUser looks up a local account and its groups as the login does.
func LookupUser(name string) (*UserInfo, error) { return lookupUser(name) }

// IsUnknownUser reports whether err from LookupUser means that no such
// account exists (rather than a failing lookup).
func IsUnknownUser(err error) bool { return isUnknownUser(err) }

// lookupUser finds a local account, its whole GECOS field and the names of
// all its groups.
func lookupUser(name string) (*UserInfo, error) {
	pw, err := passwd.LookupName(name)
	if err != nil {
		return nil, err
	}
	info := &UserInfo{Name: pw.Name, UID: pw.UID, Gecos: pw.Gecos}
	info.Groups, info.GroupsErr = GroupNames(pw.Name, pw.GID)
	return info, nil
}

// GroupNames lists the names of the primary group gid and the
// supplementary groups of the account name. A group id without a name is
// skipped; any other failure is an error, since a group missing from the
// list may change whether Duo applies.
func GroupNames(name string, gid int) ([]string, error) {
	u := &user.User{Username: name, Gid: strconv.Itoa(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", name, err)
	}
	var names []string
	for _, id := range gids {
		g, err := user.LookupGroupId(id)
		var unknown user.UnknownGroupIdError
		switch {
		case errors.As(err, &unknown):
			continue
		case err != nil:
			return nil, fmt.Errorf("groups of %s: %w", name, err)
		}
		names = append(names, g.Name)
	}
	return names, nil
}

// syslogLogger writes to syslog with facility LOG_AUTHPRIV; if syslog is
// unavailable the lines are dropped rather than failing the login.
type syslogLogger struct{ w *syslog.Writer }

// NewSyslog returns the Logger every front end of the PAM module uses
// (the core in process and the worker alike): facility LOG_AUTHPRIV,
// tag (the program, "pam_duo_go") and this process's pid, so that both
// modes log "pam_duo_go[PID]: ..." and `journalctl -t pam_duo_go` finds
// every line. Close it when done.
func NewSyslog(tag string) *SyslogLogger {
	w, _ := syslog.New(syslog.LOG_AUTHPRIV|syslog.LOG_INFO, tag)
	return &SyslogLogger{syslogLogger{w}}
}

// SyslogLogger is NewSyslog's Logger.
type SyslogLogger struct{ syslogLogger }

// Close closes the connection to syslog.
func (l *SyslogLogger) Close() {
	if l.w != nil {
		l.w.Close()
	}
}

func newSyslog(tag string) *SyslogLogger { return NewSyslog(tag) }

func (l syslogLogger) Log(sev syslog.Priority, line string) {
	if l.w == nil {
		return
	}
	switch sev {
	case syslog.LOG_DEBUG:
		l.w.Debug(line)
	case syslog.LOG_ERR:
		l.w.Err(line)
	case syslog.LOG_WARNING:
		l.w.Warning(line)
	default:
		l.w.Info(line)
	}
}
