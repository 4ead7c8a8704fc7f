package login

import (
	"fmt"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"log/syslog"
	"strings"
	"time"
)

// maxDebugLine bounds a debug line's text (after escaping): its arguments
// include Duo's answers and the user name.
const maxDebugLine = 1024

// debugf writes a debug line (the module argument debug, login_duo_go -d).
func (s *session) debugf(format string, args ...any) {
	if s.p.Debug {
		s.p.Log.Log(syslog.LOG_DEBUG, "debug: "+escape.Clip(escape.LogText(fmt.Sprintf(format, args...)), maxDebugLine, "...[cut]"))
	}
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
		duoUser = " duo_user=" + logField(l.DuoUser)
	}
	cause := l.Cause
	if cause == "" {
		cause = "none"
	}
	f := func(v string) string { return logField(orDash(v)) }
	return fmt.Sprintf("user=%s rhost=%s service=%s%s ipaddr=%s factor=%s txid=%s elapsed_ms=%d cause=%s reason=%s",
		f(l.User), f(l.RemoteHost), f(l.Service), duoUser, f(l.IPAddr), f(l.Factor), f(l.TxID),
		l.Elapsed.Milliseconds(), f(cause), logReason(l.Reason))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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

// maxLogField bounds each field of a syslog line (after escaping), so that
// a 10 kB user name or server message cannot flood the log.
const maxLogField = 512

// logField is s as one syslog field: escaped (escape.LogField: only
// printable ASCII other than space, "=" and "\" is kept, so a value can
// neither end the line nor fake another field) and cut to maxLogField
// bytes, the cut marked.
func logField(s string) string { return escape.Clip(escape.LogField(s), maxLogField, "...[cut]") }

// logReason is s as the last field of a line, where spaces are harmless
// (escape.LogText), cut as logField is.
func logReason(s string) string { return escape.Clip(escape.LogText(s), maxLogField, "...[cut]") }
