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
	"github.com/pam-duo-go/pam_duo_go/internal/pamstack"
)

// Exit statuses of `login_duo_go check`.
const (
	checkOK          = 0  // config valid, Duo answered; or a PAM stack without errors
	checkBadConfig   = 1  // the config file is missing, unreadable or invalid
	checkUnreachable = 2  // Duo could not be reached or failed (network, TLS, proxy, 5xx)
	checkRefused     = 3  // Duo refused the credentials (4xx: ikey, skey, host)
	checkPAMStack    = 4  // --pam-stack: a finding of severity error, or the directory could not be read
	checkUsage       = 64 // bad command line
)

// checkTimeout bounds the whole check.
const checkTimeout = 2 * time.Minute

// defaultPAMDir is what --pam-stack reads without DIR.
const defaultPAMDir = "/etc/pam.d"

// checkArgs is check's command line.
type checkArgs struct {
	configFile string
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
	if err := dropToReal(); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: couldn't drop privileges: %v\n", err)
		return checkBadConfig
	}
	sanitizeEnv()
	a, err := parseCheckArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n%s", err, usageText)
		return checkUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	var rep *checkReport
	if a.pamStack {
		rep = checkPAM(a.pamDir, pamstack.Options{})
	} else {
		rep = check(ctx, a.configFile, a.user)
	}
	if err := rep.write(os.Stdout, a.json); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n", err)
	}
	return rep.Exit
}

// parseCheckArgs parses check's options (-c FILE, -u USER, attached or
// not; --json; --pam-stack with an optional directory).
func parseCheckArgs(args []string) (checkArgs, error) {
	a := checkArgs{configFile: defaultConfig, pamDir: defaultPAMDir}
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
			return checkArgs{}, fmt.Errorf("unexpected argument %q", sanitize(clipText(arg, 64), false))
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

// checkReport is every result of one check. Its JSON form (--json) is the
// stable interface documented in login_duo_go(8): fields are only added,
// never renamed or removed, within a schema version.
type checkReport struct {
	Schema   int               `json:"schema"` // 1
	Exit     int               `json:"exit"`
	Config   *configReport     `json:"config,omitempty"`
	Duo      *duoReport        `json:"duo,omitempty"`
	User     *userReport       `json:"user,omitempty"`
	PAMStack *pamStackReport   `json:"pam_stack,omitempty"`
	skey     string            // redacted from the output, whatever carries it
	lines    func(*lineWriter) // the text form
}

type configReport struct {
	File     string   `json:"file"`
	Valid    bool     `json:"valid"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

type duoReport struct {
	Host string `json:"host"`
	// Proxy is http_proxy when one is configured.
	Proxy   string `json:"proxy,omitempty"`
	CheckOK bool   `json:"check_ok"`
	// Error and Failure ("unreachable", "local", "refused") say why not.
	Error              string   `json:"error,omitempty"`
	Failure            string   `json:"failure,omitempty"`
	Advice             string   `json:"advice,omitempty"`
	ClockOffsetSeconds *float64 `json:"clock_offset_seconds,omitempty"`
	ClockWarning       string   `json:"clock_warning,omitempty"`
}

type userReport struct {
	Name      string `json:"name"`
	PreauthOK bool   `json:"preauth_ok"`
	Error     string `json:"error,omitempty"`
	Failure   string `json:"failure,omitempty"`
	Advice    string `json:"advice,omitempty"`
	// Result is preauth's result: auth, allow, deny, enroll.
	Result          string            `json:"result,omitempty"`
	StatusMsg       string            `json:"status_msg,omitempty"`
	Note            string            `json:"note,omitempty"`
	EnrollPortalURL string            `json:"enroll_portal_url,omitempty"`
	Devices         []deviceReport    `json:"devices"`
	VerifiedPush    bool              `json:"verified_push"`
	Menu            []string          `json:"menu,omitempty"`
	Factors         map[string]string `json:"factors,omitempty"`
	err             error             // the preauth failure, for the exit status
}

type deviceReport struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	Name         string   `json:"name"`
	Capabilities []string `json:"capabilities"`
}

type pamStackReport struct {
	Dir      string             `json:"dir"`
	Error    string             `json:"error,omitempty"`
	Errors   int                `json:"errors"`
	Warnings int                `json:"warnings"`
	Findings []pamstack.Finding `json:"findings"`
}

// lineWriter prints the text form, sanitizing every value.
type lineWriter struct{ w io.Writer }

func (l *lineWriter) printf(format string, a ...any) { fmt.Fprintf(l.w, format, a...) }

// write prints the report as text or as one JSON document.
func (r *checkReport) write(w io.Writer, asJSON bool) error {
	var buf bytes.Buffer
	if asJSON {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
	} else if r.lines != nil {
		r.lines(&lineWriter{&buf})
	}
	out := buf.Bytes()
	if r.skey != "" {
		out = bytes.ReplaceAll(out, []byte(r.skey), []byte("[skey]"))
	}
	_, err := w.Write(out)
	return err
}

// check validates configFile, calls /auth/v2/check and, with user, preauth.
func check(ctx context.Context, configFile, user string) *checkReport {
	rep := &checkReport{Schema: 1}
	cfg, err := conf.LoadOwned(configFile, configOwners()...)
	c := &configReport{File: sanitize(configFile, false), Errors: []string{}, Warnings: []string{}}
	rep.Config = c
	if cfg != nil {
		rep.skey = cfg.SKey
		for _, warning := range cfg.Warnings {
			c.Warnings = append(c.Warnings, sanitize(warning, false))
		}
	}
	if err != nil {
		for _, line := range errorLines(err) {
			c.Errors = append(c.Errors, sanitize(line, false))
		}
		rep.Exit = checkBadConfig
		rep.lines = rep.text
		return rep
	}
	c.Valid = true
	rep.lines = rep.text
	d := &duoReport{Host: sanitize(cfg.Host, false), Proxy: sanitize(cfg.HTTPProxy, false)}
	rep.Duo = d
	client, err := duo.New(duo.Options{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host,
		CAFile: cfg.CAFile, Proxy: cfg.HTTPProxy, Timeout: cfg.HTTPSTimeout,
		UserAgent: userAgent(),
	})
	if err != nil {
		d.Error, d.Failure = sanitize(err.Error(), false), "setup"
		rep.Exit = checkBadConfig
		return rep
	}
	defer client.Close()
	if _, err := client.Check(ctx); err != nil {
		d.Error = sanitize(err.Error(), false)
		rep.Exit, d.Failure, d.Advice = classifyDuoFailure(err)
		return rep
	}
	d.CheckOK = true
	off := client.ClockOffset().Round(100 * time.Millisecond).Seconds()
	d.ClockOffsetSeconds = &off
	if off > 60 || off < -60 {
		d.ClockWarning = "Duo rejects requests whose date is off by more than a few minutes; fix this host's clock"
	}
	if user == "" {
		return rep
	}
	rep.User = checkUser(ctx, client, cfg, user)
	if !rep.User.PreauthOK {
		rep.Exit, _, _ = classifyDuoFailure(rep.User.err)
	}
	return rep
}

// text prints the config check as check always has.
func (r *checkReport) text(l *lineWriter) {
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
	}
	l.printf("server clock offset: %+.1fs%s\n", *d.ClockOffsetSeconds, note)
	if u := r.User; u != nil {
		u.text(l)
	}
}

// checkUser runs preauth for user and reports what they would be offered.
func checkUser(ctx context.Context, client *duo.Client, cfg *conf.Config, user string) *userReport {
	failmode := "open"
	if cfg.Failmode == conf.FailSecure {
		failmode = "closed"
	}
	hostname, _ := os.Hostname()
	pre, err := client.Preauth(ctx, duo.PreauthRequest{
		Username: user, Hostname: hostname, TextPrompt: true, Failmode: failmode,
		ClientSupportsVerifiedPush: cfg.VerifiedPush,
	})
	u := &userReport{Name: sanitize(user, false), Devices: []deviceReport{}}
	if err != nil {
		u.err = err
		u.Error = sanitize(err.Error(), false)
		_, u.Failure, u.Advice = classifyDuoFailure(err)
		return u
	}
	u.PreauthOK = true
	u.Result = sanitize(pre.Result, false)
	u.StatusMsg = sanitize(pre.StatusMsg, false)
	switch pre.Result {
	case duo.ResultAllow:
		u.Note = "the user would be let in without a second factor (bypass)"
	case duo.ResultDeny:
		u.Note = "the user would be denied"
	case duo.ResultEnroll:
		u.Note = "the user is not enrolled"
		u.EnrollPortalURL = sanitize(pre.EnrollPortalURL, false)
	}
	for _, d := range pre.Devices {
		name := d.DisplayName
		if name == "" {
			name = d.Name
		}
		caps := make([]string, 0, len(d.Capabilities))
		for _, c := range d.Capabilities {
			caps = append(caps, sanitize(c, false))
		}
		u.Devices = append(u.Devices, deviceReport{ID: sanitize(d.Device, false), Type: sanitize(d.Type, false),
			Name: sanitize(name, false), Capabilities: caps})
	}
	u.VerifiedPush = pre.VerificationCode != ""
	if pre.Prompt != nil {
		for _, line := range strings.Split(strings.TrimRight(pre.Prompt.Text, "\n"), "\n") {
			u.Menu = append(u.Menu, sanitize(line, false))
		}
		u.Factors = map[string]string{}
		for k, v := range pre.Prompt.Factors {
			u.Factors[sanitize(k, false)] = sanitize(v, false)
		}
	}
	return u
}

func (u *userReport) text(l *lineWriter) {
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

// classifyDuoFailure classifies a Duo error as the login does
// (duo.Classify): refused (something answered and said no) or
// unreachable. It returns the exit status, the failure's name and the
// advice.
func classifyDuoFailure(err error) (int, string, string) {
	switch duo.Classify(err) {
	case duo.KindOutage:
		return checkUnreachable, "unreachable", "Duo could not be reached or failed: check host, http_proxy, cafile, the network and DNS"
	case duo.KindLocal:
		return checkUnreachable, "local", "this machine could not make the call (file descriptors, memory, permissions): check the limits of this process"
	}
	return checkRefused, "refused", "Duo refused the request (or a proxy in front of it did): check ikey, skey, host and http_proxy"
}

// checkPAM lints the PAM configuration directory dir.
func checkPAM(dir string, opt pamstack.Options) *checkReport {
	rep := &checkReport{Schema: 1}
	p := &pamStackReport{Dir: sanitize(dir, false), Findings: []pamstack.Finding{}}
	rep.PAMStack = p
	rep.lines = p.text
	found, err := pamstack.Lint(dir, opt)
	if err != nil {
		p.Error = sanitize(err.Error(), false)
		rep.Exit = checkPAMStack
		return rep
	}
	for _, f := range found {
		f.File, f.Message, f.Fix = sanitize(f.File, false), sanitize(f.Message, false), sanitize(f.Fix, false)
		for i, s := range f.Services {
			f.Services[i] = sanitize(s, false)
		}
		p.Findings = append(p.Findings, f)
		if f.Severity == pamstack.SevError {
			p.Errors++
		} else {
			p.Warnings++
		}
	}
	if p.Errors > 0 {
		rep.Exit = checkPAMStack
	}
	return rep
}

func (p *pamStackReport) text(l *lineWriter) {
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

// errorLines splits a (possibly joined) error into its lines.
func errorLines(err error) []string {
	var lines []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		for _, l := range strings.Split(e.Error(), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	walk(err)
	return lines
}
