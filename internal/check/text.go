package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// lineWriter prints the text form, sanitizing every value.
type lineWriter struct{ w io.Writer }

func (l *lineWriter) printf(format string, a ...any) { fmt.Fprintf(l.w, format, a...) }

// Write prints the report as text (the form check always printed) or as
// one JSON document (login_duo_go(8)'s stable interface), with the secret
// keys redacted.
func (r *Report) Write(w io.Writer, asJSON bool) error {
	var buf bytes.Buffer
	if asJSON {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
	} else if r.PAMStack != nil {
		pamStackText(&lineWriter{&buf}, r.PAMStack)
	} else {
		reportText(&lineWriter{&buf}, r)
	}
	_, err := w.Write(r.redact(buf.Bytes()))
	return err
}

// reportText prints each file's check, one after the other.
func reportText(l *lineWriter, r *Report) {
	for i, fc := range r.Configs {
		if i > 0 {
			l.printf("\n")
		}
		fileText(l, fc)
	}
	l.printf("fips: %s\n", r.FIPS)
}

// fileText prints one file's check as check always has.
func fileText(l *lineWriter, r *FileCheck) {
	c := r.Config
	if !c.Valid {
		l.printf("config %s: INVALID\n", c.File)
		for _, e := range c.Errors {
			l.printf("  error: %s\n", e)
		}
	} else {
		l.printf("config %s: ok\n", c.File)
	}
	for _, w := range c.Warnings {
		l.printf("  warning: %s\n", w)
	}
	d := r.Duo
	if d == nil {
		return
	}
	switch {
	case d.Failure == "setup":
		l.printf("duo %s: cannot set up the client: %s\n", d.Host, d.Error)
		return
	case !d.CheckOK:
		l.printf("duo %s: check FAILED: %s\n", d.Host, d.Error)
		l.printf("  %s\n", d.Advice)
		return
	}
	via := ""
	if d.Proxy != "" {
		via = " via proxy " + d.Proxy
	}
	l.printf("duo %s: check ok%s (integration key, secret key, host and TLS trust verified)\n", d.Host, via)
	note := ""
	if d.ClockWarning != "" {
		note = " (WARNING: " + d.ClockWarning + ")"
		if d.ClockTooFar {
			note = " (ERROR: " + d.ClockWarning + ")"
		}
	}
	l.printf("server clock offset: %+.1fs%s\n", *d.ClockOffsetSeconds, note)
	if u := r.User; u != nil {
		userText(l, u)
	}
}

// userText prints what check found for -u's user.
func userText(l *lineWriter, u *UserReport) {
	if u.Local != LocalDuo {
		l.printf("user %s: %s\n", u.Name, u.Note)
		return
	}
	if u.DuoUser != "" {
		l.printf("user %s: sent to Duo as %s (GECOS)\n", u.Name, u.DuoUser)
	}
	if !u.PreauthOK {
		l.printf("user %s: preauth FAILED: %s\n", u.Name, u.Error)
		l.printf("  %s\n", u.Advice)
		return
	}
	l.printf("user %s: preauth result %q", u.Name, u.Result)
	if u.StatusMsg != "" {
		l.printf(": %s", u.StatusMsg)
	}
	l.printf("\n")
	switch {
	case u.EnrollPortalURL != "" || u.Result == duo.ResultEnroll:
		l.printf("  %s; enrollment portal: %s\n", u.Note, u.EnrollPortalURL)
	case u.Note != "":
		l.printf("  %s\n", u.Note)
	}
	for _, d := range u.Devices {
		l.printf("  device %s (%s) %q: %s\n", d.ID, d.Type, d.Name, strings.Join(d.Capabilities, ", "))
	}
	if u.VerifiedPush {
		l.printf("  Verified Push: a verification code would be shown\n")
	}
	if u.Menu != nil {
		l.printf("  menu:\n")
		for _, line := range u.Menu {
			l.printf("    | %s\n", line)
		}
		keys := make([]string, 0, len(u.Factors))
		for k := range u.Factors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var pairs []string
		for _, k := range keys {
			pairs = append(pairs, k+"="+u.Factors[k])
		}
		l.printf("  factors: %s\n", strings.Join(pairs, " "))
	}
}

// pamStackText prints --pam-stack's findings and verdict.
func pamStackText(l *lineWriter, p *PAMStackReport) {
	if p.Error != "" {
		l.printf("pam stack %s: cannot be read: %s\n", p.Dir, p.Error)
		return
	}
	for _, f := range p.Findings {
		services := ""
		if len(f.Services) > 0 {
			services = " [" + strings.Join(f.Services, ", ") + "]"
		}
		l.printf("%s:%d: %s: %s (%s)%s\n", f.File, f.Line, f.Severity, f.Message, f.Code, services)
		l.printf("  fix: %s\n", f.Fix)
	}
	verdict := "ok"
	if p.Errors > 0 {
		verdict = "ERRORS"
	}
	l.printf("pam stack %s: %s (%d errors, %d warnings)\n", p.Dir, verdict, p.Errors, p.Warnings)
}
