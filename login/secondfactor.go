package login

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
)

// maxSMSRounds bounds how often a login may ask for new SMS passcodes.
const maxSMSRounds = 3

// minPollInterval is the least time between two auth_status calls.
const minPollInterval = 250 * time.Millisecond

// errConversation marks a failed Prompt/Info/Error.
var errConversation = errors.New("conversation failed")

// secondFactor runs $DUO_PASSCODE, autopush, the menu and the attempts,
// until Duo decides or the attempts (the prompts key) run out.
func (s *session) secondFactor(ctx context.Context) Result {
	m := buildMenu(s.duoID, s.pre)
	left := newBudget(s.cfg.Prompts, s.talk.headless)
	autopush := s.cfg.AutoPush || s.talk.headless
	if s.p.EnvPasscode != "" {
		autopush = false
		if r, done := s.envAttempt(ctx, m, left); done {
			return r
		}
	}
	smsRounds := 0
	// stale: an attempt went to Duo since the last preauth. Before the
	// next one preauth runs again, as duo_unix does on every attempt: a
	// Verified Push txid and code are good for one push only, and the
	// user's devices or Duo's policy may have changed meanwhile.
	stale := s.p.EnvPasscode != ""
	for left.n > 0 {
		if stale {
			if r, done := s.preauth(ctx); done {
				return r
			}
			m, stale = buildMenu(s.duoID, s.pre), false
		}
		c, p, r := s.choose(ctx, m, autopush)
		autopush = false
		switch p {
		case pickedEnd:
			return r
		case pickedHeadless:
			left.n, autopush = 1, true
			continue
		case pickedInvalid:
			left.n--
			continue
		}
		if c.isSMS() {
			smsRounds++
			if smsRounds > maxSMSRounds {
				left.n--
			}
		}
		if r, done := left.spend(s.attempt(ctx, c)); done {
			return r
		}
		stale = true
	}
	return Result{Outcome: MaxTries, Reason: fmt.Sprintf("%d failed attempts", s.cfg.Prompts)}
}

// budget is the number of attempts a login has left.
type budget struct{ n int }

// newBudget is the prompts key's attempts (conf.DefaultPrompts when
// unset), or one for a login without prompts.
func newBudget(prompts int, headless bool) *budget {
	switch {
	case headless:
		return &budget{1}
	case prompts < 1:
		return &budget{conf.DefaultPrompts}
	}
	return &budget{prompts}
}

// spend applies what an attempt came to: done when the login is decided,
// by Duo or because that was the last attempt.
func (b *budget) spend(r Result, t tried) (Result, bool) {
	switch t {
	case triedDecided:
		return r, true
	case triedFailed:
		if b.n--; b.n <= 0 {
			return Result{Outcome: MaxTries, Reason: r.Reason + " on the last attempt"}, true
		}
	}
	return r, false
}

// envAttempt is the first attempt, with $DUO_PASSCODE (accept_env_factor);
// done when it decides the login.
func (s *session) envAttempt(ctx context.Context, m menu, left *budget) (Result, bool) {
	if r, done := left.spend(s.attempt(ctx, m.envChoice(s.p.EnvPasscode))); done {
		return r, true
	}
	if s.talk.headless {
		// Its one attempt is not used up, so it was an SMS factor: new
		// passcodes were texted, and nothing can ask for one.
		return Result{Outcome: Deny, Reason: "sms: new passcodes sent, and a login without prompts cannot ask for one"}, true
	}
	return Result{}, false
}

// picked is what choose came to.
type picked int

const (
	pickedChoice   picked = iota // a factor to try
	pickedInvalid                // an answer that is neither an option nor a passcode: one attempt used
	pickedHeadless               // the conversation cannot prompt: go on with one automatic push
	pickedEnd                    // the login is decided
)

// choose picks the factor of the next attempt: the default one when
// autopush is due, else what the user answers at the menu.
func (s *session) choose(ctx context.Context, m menu, autopush bool) (choice, picked, Result) {
	switch {
	case autopush && m.def != nil:
		if s.talk.courtesy {
			if err := s.p.Conv.Info(ctx, autopushMessage(*m.def)); err != nil {
				return choice{}, pickedEnd, Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}
			}
		}
		return *m.def, pickedChoice, Result{}
	case s.talk.headless:
		return choice{}, pickedEnd, Result{Outcome: Deny, Reason: "headless login and no push-capable device"}
	}
	answer, err := s.p.Conv.Prompt(ctx, m.text, true)
	if err != nil && ctx.Err() == nil && s.talk.fallback && !s.answered && m.def != nil {
		// A conversation that cannot prompt at all (sshd's password
		// step answers only the password prompt): go on headless,
		// with one automatic push, as login_duo_go does without a
		// terminal. Never is anything typed there sent to Duo.
		s.goHeadless(err)
		return choice{}, pickedHeadless, Result{}
	}
	if err != nil {
		return choice{}, pickedEnd, s.conversationFailed(ctx, err)
	}
	s.answered = true
	c, ok := m.parseAnswer(answer)
	if !ok {
		s.showError(ctx, "Invalid passcode or option.")
		return choice{}, pickedInvalid, Result{}
	}
	return c, pickedChoice, Result{}
}

// conversationFailed is the answer to a broken conversation; a deadline
// that ran out while the user was being asked is a deny.
func (s *session) conversationFailed(ctx context.Context, err error) Result {
	if ctx.Err() != nil {
		return Result{Outcome: Deny, Reason: "no answer before the login deadline"}
	}
	return Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}
}

// tried is what one attempt came to.
type tried int

const (
	triedDecided tried = iota // the login is decided: the Result says how
	triedFailed               // the factor failed (the Result says how): one attempt used
	triedResent               // new SMS passcodes were sent: ask again, no attempt used
)

// attempt runs one factor and says what it came to.
func (s *session) attempt(ctx context.Context, c choice) (Result, tried) {
	req := s.authRequest(c)
	if req.TxID != "" {
		if err := s.showVerificationCode(ctx); err != nil {
			return Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}, triedDecided
		}
	}
	pending := c.passcode == "" && !c.isSMS()
	req.Async = pending
	s.factor = factorName(req)
	s.debugf("auth: factor %s, async %t", s.factor, req.Async)
	resp, err := s.api.Auth(ctx, req)
	if err != nil {
		return s.duoFailed(ctx, "auth", err), triedDecided
	}
	if resp.TxID != "" {
		s.txid = resp.TxID
	}
	s.debugf("auth: result %s, status %s, txid %s", orDash(resp.Result), orDash(resp.Status), orDash(resp.TxID))
	ans := authAnswer{resp.Result, resp.Status, resp.StatusMsg, resp.TrustedDeviceToken}
	if pending && resp.TxID == "" {
		pending = false // Duo denied at once (the client accepts only a deny without txid)
	}
	if pending {
		st, err := s.poll(ctx, resp.TxID)
		if err != nil {
			if errors.Is(err, errConversation) {
				return Result{Outcome: Aborted, Reason: err.Error()}, triedDecided
			}
			return s.duoFailed(ctx, "auth_status", err), triedDecided
		}
		ans = authAnswer{st.Result, st.Status, st.StatusMsg, st.TrustedDeviceToken}
	}
	return s.judge(ctx, factorName(req), pending, ans)
}

// authAnswer is Duo's last word on one auth: the auth call's own answer,
// or auth_status's final one after a pending push or call.
type authAnswer struct{ result, status, msg, token string }

// judge says what Duo's answer to the factor means for the login, and
// tells the user: pending says its status was followed (and shown) by
// poll.
func (s *session) judge(ctx context.Context, factor string, pending bool, a authAnswer) (Result, tried) {
	if a.result == duo.ResultAllow {
		s.rem.approved, s.rem.newToken = true, a.token
		if !pending && a.msg != "" {
			s.courtesy(ctx, a.msg)
		}
		return Result{Outcome: Allow, Reason: "second factor " + factor + ": " + a.status}, triedDecided
	}
	if a.status == "sent" { // SMS: new passcodes were texted; ask again
		if err := s.p.Conv.Info(ctx, a.msg); err != nil {
			return Result{Outcome: Aborted, Reason: "conversation: " + err.Error()}, triedDecided
		}
		return Result{}, triedResent
	}
	if !pending || !s.talk.progress {
		// A pending push's final status was already shown as progress,
		// unless progress lines are off: a refusal is always shown.
		s.showError(ctx, a.msg)
	}
	r := Result{Outcome: Deny, Reason: factor + ": " + a.status}
	if a.status == "fraud" || a.status == "locked_out" {
		return r, triedDecided
	}
	return r, triedFailed
}

// authRequest is the auth call for c: its factor, and for a push the
// push's type, display name, pushinfo and any Verified Push txid.
func (s *session) authRequest(c choice) duo.AuthRequest {
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
		req.TxID = s.pre.TxID
	}
	return req
}

// showVerificationCode prepares a Verified Push. Duo's service sends the
// code in the push's first status message ("Please enter verification
// code 376 into Duo Mobile..."), which poll shows (under sshd in the
// status prompt, before the user must approve). A code in preauth is
// shown first only when a server sent one.
func (s *session) showVerificationCode(ctx context.Context) error {
	code := strings.TrimSpace(s.pre.VerificationCode)
	if code != "" {
		if err := s.notify(ctx, "Verification code: "+code+" (enter it in Duo Mobile to approve)"); err != nil {
			return err
		}
	}
	s.vpCodeInStatus = code == ""
	return nil
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
		if st.StatusMsg != "" && st.StatusMsg != last && (s.talk.progress || mustShow) {
			last = st.StatusMsg
			inPrompt := st.Result == duo.ResultWaiting && s.talk.statusPrompt && !shownPrompt
			shownPrompt = shownPrompt || inPrompt
			if err := s.showStatus(ctx, st.StatusMsg, inPrompt); err != nil {
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

// showStatus shows a pending push's status: as an informational message,
// or inPrompt in a prompt whose answer is ignored (HeldInfo), which a
// conversation that cannot prompt turns into headless and a message.
func (s *session) showStatus(ctx context.Context, msg string, inPrompt bool) error {
	if !inPrompt {
		return s.p.Conv.Info(ctx, msg)
	}
	_, err := s.p.Conv.Prompt(ctx, msg+"\nPress Enter after you answer on your device: ", true)
	if err == nil {
		s.answered = true
	} else if ctx.Err() == nil && s.talk.fallback {
		// The answer is ignored anyway: carry on without prompts.
		s.goHeadless(err)
		err = s.p.Conv.Info(ctx, msg)
	}
	return err
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
