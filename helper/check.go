package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/check"
	"github.com/pam-duo-go/pam_duo_go/internal/pamstack"
	"github.com/pam-duo-go/pam_duo_go/internal/sanitize"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
)

// checkTimeout bounds the whole check.
const checkTimeout = 2 * time.Minute

// checkUsage is check's exit status for a bad command line; the others
// are internal/check's.
const checkUsage = 64

// defaultPAMDir is what --pam-stack reads without DIR.
const defaultPAMDir = "/etc/pam.d"

// checkArgs is check's command line.
type checkArgs struct {
	configFile string // "" = every config present (defaultCheckConfigs)
	user       string
	json       bool
	pamStack   bool
	pamDir     string
}

// runCheck is `login_duo_go check [--json] [-c CONFIG] [-u USER]` and
// `login_duo_go check [--json] --pam-stack [DIR]`.
func runCheck(args []string) int {
	// Setuid root must not let anyone read files they could not read:
	// normal file permissions decide.
	if err := setuid.DropToReal(); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: couldn't drop privileges: %v\n", err)
		return check.ExitBadConfig
	}
	setuid.SanitizeEnv()
	a, err := parseCheckArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n%s", err, usageText)
		return checkUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	opt := check.Options{UserAgent: userAgent(), LoginConfigOwners: configOwners}
	var rep *check.Report
	switch {
	case a.pamStack:
		rep = check.PAMStack(a.pamDir, pamstack.Options{})
	case a.configFile != "":
		rep = check.Configs(ctx, []string{a.configFile}, a.user, opt)
	default:
		rep = check.Configs(ctx, defaultCheckConfigs(defaultPAMDir), a.user, opt)
	}
	if err := writeReport(os.Stdout, rep, a.json); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n", err)
	}
	return rep.Exit
}

// parseCheckArgs parses check's options (-c FILE, -u USER, attached or
// not; --json; --pam-stack with an optional directory).
func parseCheckArgs(args []string) (checkArgs, error) {
	a := checkArgs{pamDir: defaultPAMDir}
	configGiven := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var opt, val string
		switch {
		case arg == "--json":
			a.json = true
			continue
		case arg == "--pam-stack":
			a.pamStack = true
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				a.pamDir = args[i+1]
				i++
			}
			continue
		case arg == "-c" || arg == "-u":
			if i+1 >= len(args) {
				return checkArgs{}, fmt.Errorf("option requires an argument -- '%c'", arg[1])
			}
			opt, val = arg, args[i+1]
			i++
		case strings.HasPrefix(arg, "-c") || strings.HasPrefix(arg, "-u"):
			opt, val = arg[:2], arg[2:]
		default:
			return checkArgs{}, fmt.Errorf("unexpected argument %q", sanitize.String(sanitize.Clip(arg, 64), false))
		}
		if opt == "-c" {
			a.configFile, configGiven = val, true
		} else {
			a.user = val
		}
	}
	if a.pamStack && (configGiven || a.user != "") {
		return checkArgs{}, fmt.Errorf("--pam-stack takes no -c or -u")
	}
	return a, nil
}

// lineWriter prints the text form, sanitizing every value.
type lineWriter struct{ w io.Writer }

func (l *lineWriter) printf(format string, a ...any) { fmt.Fprintf(l.w, format, a...) }

// writeReport prints the report as text or as one JSON document.
func writeReport(w io.Writer, r *check.Report, asJSON bool) error {
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
	_, err := w.Write(r.Redact(buf.Bytes()))
	return err
}

// defaultCheckConfigs lists what a plain `check` looks at: every config
// file present among the PAM module's default (/etc/duo/pam_duo.conf),
// login_duo_go's (/etc/duo/login_duo.conf) and each conf= of a
// pam_duo_go.so line in pamDir; both defaults when none is present, so
// that the report says they are missing.
func defaultCheckConfigs(pamDir string) []string {
	return check.PresentConfigs([]string{conf.DefaultPAMConfig, defaultConfig}, pamDir)
}

// reportText prints each file's check, one after the other.
func reportText(l *lineWriter, r *check.Report) {
	for i, fc := range r.Configs {
		if i > 0 {
			l.printf("\n")
		}
		fileText(l, fc)
	}
}

// fileText prints one file's check as check always has.
func fileText(l *lineWriter, r *check.FileCheck) {
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
func userText(l *lineWriter, u *check.UserReport) {
	if u.Local != check.LocalDuo {
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
func pamStackText(l *lineWriter, p *check.PAMStackReport) {
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
