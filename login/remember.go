package login

import (
	"fmt"
	"log/syslog"
	"net"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/remember"
)

// rememberState is what a login knows about remembered approvals
// (the remember key; internal/remember).
type rememberState struct {
	on    bool           // remember is set and the scope is complete enough to bind
	scope remember.Scope // this login's scope
	token string         // a remembered trusted_device_token, sent with the first preauth
	// approved: Duo allowed a second factor in this login (not a bypass,
	// a failopen or a remembered approval); newToken is the token it
	// gave, if any.
	approved bool
	newToken string
}

func (s *session) rememberStore() *remember.Store {
	return &remember.Store{Dir: s.p.RememberDir, Now: s.p.Now}
}

func (s *session) now() time.Time {
	if s.p.Now != nil {
		return s.p.Now()
	}
	return time.Now()
}

// rememberBefore runs before the first call to Duo. With remember set,
// it works out the login's scope and looks it up: an entry without a Duo
// token that is at most remember old decides the login (done, Allow, no
// request to Duo); an entry with a token puts the token in the first
// preauth. Anything that goes wrong (unreadable, corrupt or untrusted
// state) is logged and means nothing is remembered: a full Duo login.
func (s *session) rememberBefore() (Result, bool) {
	if s.cfg.Remember <= 0 {
		return Result{}, false
	}
	rhost := strings.TrimSpace(s.p.RemoteHost)
	if rhost != "" {
		ip := net.ParseIP(rhost)
		if ip == nil {
			// A name is whatever the reverse DNS of the client says: it
			// cannot bind an approval.
			s.rememberLog("not used: the remote host %q is not an IP address", rhost)
			return Result{}, false
		}
		rhost = ip.String()
	}
	key, ok := remember.KeyFingerprints(s.p.AuthInfo)
	if !ok {
		s.rememberLog("not used: SSH_AUTH_INFO_0 cannot be read: %q", s.p.AuthInfo)
		return Result{}, false
	}
	sc := remember.Scope{User: s.user, Service: s.p.Service, RHost: rhost, Key: key}
	if s.p.User != s.user {
		sc.Target = s.p.User
	}
	s.rem = rememberState{on: true, scope: sc}
	s.debugf("remember: scope (%s)", sc)
	e, ok, err := s.rememberStore().Lookup(sc, s.cfg.Remember)
	if err != nil {
		s.rememberLog("state ignored, full Duo login: %v", err)
		return Result{}, false
	}
	if !ok {
		return Result{}, false
	}
	if e.Token != "" {
		s.rem.token = e.Token
		return Result{}, false
	}
	age := max(s.now().Sub(time.Unix(e.ApprovedAt, 0)), 0)
	return Result{Outcome: Allow, Reason: fmt.Sprintf("remembered: approved %d s ago (%s)", int64(age/time.Second), sc)}, true
}

// rememberedByDuo is a preauth allow answered to a remembered token:
// Duo's Remembered Devices policy let the login through.
func (s *session) rememberedByDuo(pre *duo.PreauthResponse) Result {
	return Result{Outcome: Allow, Reason: fmt.Sprintf("remembered by Duo: preauth allow for the trusted device token (%s): %s", s.rem.scope, pre.StatusMsg)}
}

// rememberAfter saves the approval of a login that Duo allowed with a
// second factor. A failed write is logged and changes nothing.
func (s *session) rememberAfter(res Result) {
	if !s.rem.on || !s.rem.approved || res.Outcome != Allow {
		return
	}
	save := s.p.RememberSave
	if save == nil {
		save = s.rememberStore().Save
	}
	if err := save(s.rem.scope, s.rem.newToken, s.cfg.Remember); err != nil {
		s.rememberLog("approval not saved: %v", err)
	}
}

// rememberLog writes a warning line about remembered approvals.
func (s *session) rememberLog(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	line := fmt.Sprintf("remember user=%s service=%s reason=%s", logField(orDash(s.user)),
		logField(orDash(s.p.Service)), logReason(msg))
	s.p.Log.Log(syslog.LOG_WARNING, line)
}
