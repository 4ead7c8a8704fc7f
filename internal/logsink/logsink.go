// Package logsink is login_duo_go's login.Logger: syslog (authpriv,
// debug lines too) or, with -d for a caller allowed to see them, stderr.
// Every line is escaped (internal/escape) before it is written.
package logsink

import (
	"fmt"
	"io"
	"log/syslog"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"github.com/pam-duo-go/pam_duo_go/login"
)

type syslogLogger struct{ w *syslog.Writer }

// Syslog returns a logger that writes to syslog (facility authpriv) with
// tag, debug lines too; with no syslog it logs nothing.
func Syslog(tag string) login.Logger {
	w, _ := syslog.New(syslog.LOG_AUTHPRIV|syslog.LOG_INFO, tag)
	return syslogLogger{w}
}

// Log writes line at severity.
func (l syslogLogger) Log(severity syslog.Priority, line string) {
	if l.w == nil {
		return
	}
	line = escape.Line(line)
	switch severity {
	case syslog.LOG_DEBUG:
		_ = l.w.Debug(line)
	case syslog.LOG_ERR:
		_ = l.w.Err(line)
	case syslog.LOG_WARNING:
		_ = l.w.Warning(line)
	default:
		_ = l.w.Info(line)
	}
}

type stderrLogger struct{ w io.Writer }

// Stderr returns the -d logger: the lines syslog would get go to w
// instead, as "[priority] line".
func Stderr(w io.Writer) login.Logger { return stderrLogger{w} }

// Log writes "[priority] line".
func (l stderrLogger) Log(severity syslog.Priority, line string) {
	fmt.Fprintf(l.w, "[%d] %s\n", severity, escape.Line(line))
}
