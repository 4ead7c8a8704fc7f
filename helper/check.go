package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	osuser "os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/pamstack"
	"github.com/pam-duo-go/pam_duo_go/internal/sanitize"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// Exit statuses of `login_duo_go check`.
const (
	checkOK          = 0  // config valid, Duo answered; or a PAM stack without errors
	checkBadConfig   = 1  // the config file is missing, unreadable or invalid
	checkUnreachable = 2  // Duo could not be reached or failed (network, TLS, proxy, 5xx)
	checkRefused     = 3  // Duo refused the credentials (4xx: ikey, skey, host)
	checkPAMStack    = 4  // --pam-stack: a finding of severity error, or the directory could not be read
	checkBadUser     = 5  // -u: no such local account, or its groups could not be read (the login refuses it)
	checkClock       = 6  // this host's clock is further from Duo's than Duo accepts
	checkUsage       = 64 // bad command line
)

// clockLimit is how far a request's date may be from Duo's clock (Duo
// answers 40105 beyond it; duotest.DateWindow is the same). The login
// re-dates a request refused for it once, with the offset Duo's answer
// shows, so logins still pass; a clock this far off is still an error to
// fix, and check says so with its own exit status.
const clockLimit = 300 * time.Second

// clockWarnAt is the offset from which check warns (exit 0).
const clockWarnAt = 60 * time.Second

// checkTimeout bounds the whole check.
const checkTimeout = 2 * time.Minute

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
		return checkBadConfig
	}
	setuid.SanitizeEnv()
	a, err := parseCheckArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n%s", err, usageText)
		return checkUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	var rep *checkReport
	switch {
	case a.pamStack:
		rep = checkPAM(a.pamDir, pamstack.Options{})
	case a.configFile != "":
		rep = check(ctx, []string{a.configFile}, a.user)
	default:
		rep = check(ctx, defaultCheckConfigs(defaultPAMDir), a.user)
	}
	if err := rep.write(os.Stdout, a.json); err != nil {
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

// checkReport is every result of one check. Its JSON form (--json) is the
// stable interface documented in login_duo_go(8): fields are only added,
// never renamed or removed, within a schema version.
type checkReport struct {
	Schema int `json:"schema"` // 1
	Exit   int `json:"exit"`
	// Config, Duo and User are the first checked file's (Configs[0]),
	// as before check looked at more than one file.
	Config *configReport `json:"config,omitempty"`
	Duo    *duoReport    `json:"duo,omitempty"`
	User   *userReport   `json:"user,omitempty"`
	// Configs has one entry per checked config file, in order.
	Configs  []*fileCheck      `json:"configs,omitempty"`
	PAMStack *pamStackReport   `json:"pam_stack,omitempty"`
	skeys    []string          // redacted from the output, whatever carries them
	lines    func(*lineWriter) // the text form
}

// fileCheck is the check of one config file.
type fileCheck struct {
	Exit   int           `json:"exit"`
	Config *configReport `json:"config"`
	Duo    *duoReport    `json:"duo,omitempty"`
	User   *userReport   `json:"user,omitempty"`
	skey   string
}

type configReport struct {
	File string `json:"file"`
	// UsedBy is whose rules the file was checked against: "pam_duo_go"
	// (the PAM module: owned by root) or "login_duo_go" (a file named
	// login_duo.conf: root or sshd, as duo_unix documented it, and mode
	// 0640 for a group when root's).
	UsedBy   string   `json:"used_by"`
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
	// ClockTooFar: the offset is beyond what Duo accepts (exit 6).
	ClockTooFar bool `json:"clock_too_far,omitempty"`
}

type userReport struct {
	Name string `json:"name"`
	// Local is what the login decides before asking Duo: "duo" (Duo
	// applies), "bypass-groups" (outside groups: PAM_IGNORE, Duo is not
	// asked), "unknown-user" (PAM_USER_UNKNOWN), "lookup-failed" (groups
	// unreadable: PAM_SERVICE_ERR).
	Local string `json:"local"`
	// DuoUser is the username sent to Duo when GECOS maps the user to
	// another one.
	DuoUser   string `json:"duo_user,omitempty"`
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
	for _, skey := range r.skeys {
		if skey != "" {
			out = bytes.ReplaceAll(out, []byte(skey), []byte("[skey]"))
		}
	}
	_, err := w.Write(out)
	return err
}

// defaultCheckConfigs lists what a plain `check` looks at: every config
// file present among the PAM module's default (/etc/duo/pam_duo.conf),
// login_duo_go's (/etc/duo/login_duo.conf) and each conf= of a
// pam_duo_go.so line in pamDir; both defaults when none is present, so
// that the report says they are missing.
func defaultCheckConfigs(pamDir string) []string {
	return presentConfigs([]string{conf.DefaultPAMConfig, defaultConfig}, pamDir)
}

// presentConfigs is defaultCheckConfigs with the defaults given.
func presentConfigs(defaults []string, pamDir string) []string {
	seen := map[string]bool{}
	var all []string
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			all = append(all, p)
		}
	}
	for _, p := range defaults {
		add(p)
	}
	for _, p := range pamConfFiles(pamDir) {
		add(p)
	}
	var present []string
	for _, p := range all {
		if _, err := os.Lstat(p); err == nil {
			present = append(present, p)
		}
	}
	if len(present) == 0 {
		return defaults
	}
	return present
}

// pamConfFiles lists the conf= arguments of pam_duo_go.so lines in the
// files of pamDir (absolute paths only: the module refuses others).
func pamConfFiles(pamDir string) []string {
	entries, err := os.ReadDir(pamDir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		f, err := pamstack.ReadFile(pamDir, e.Name(), "")
		if err != nil {
			continue
		}
		for _, r := range f.Rules {
			if r.ModuleName() != "pam_duo_go.so" {
				continue
			}
			if c, ok := r.Arg("conf"); ok && filepath.IsAbs(c) {
				out = append(out, filepath.Clean(c))
			}
		}
	}
	sort.Strings(out)
	return out
}

// check checks each config file in files (checkFile); the exit status is
// the first file's that is not 0.
func check(ctx context.Context, files []string, user string) *checkReport {
	rep := &checkReport{Schema: 1}
	for _, f := range files {
		fc := checkFile(ctx, f, user)
		rep.Configs = append(rep.Configs, fc)
		rep.skeys = append(rep.skeys, fc.skey)
		if rep.Exit == checkOK {
			rep.Exit = fc.Exit
		}
	}
	first := rep.Configs[0]
	rep.Config, rep.Duo, rep.User = first.Config, first.Duo, first.User
	rep.lines = rep.text
	return rep
}

// configRule returns whose owner rule applies to path and the uids
// besides root that may own it: login_duo_go's for a file named
// login_duo.conf (sshd too, as duo_unix documented it), the PAM module's
// (root only) for any other name.
func configRule(path string) (usedBy string, owners []int) {
	if filepath.Base(path) == conf.LoginConfigName {
		return "login_duo_go", configOwners()
	}
	return "pam_duo_go", nil
}

// checkFile validates configFile under the owner rule of the program that
// reads it, calls /auth/v2/check and, with user, decides what the login
// would (account, groups) and runs preauth.
func checkFile(ctx context.Context, configFile, user string) *fileCheck {
	fc := &fileCheck{}
	usedBy, owners := configRule(configFile)
	cfg, err := conf.LoadOwned(configFile, owners...)
	c := &configReport{File: sanitize.String(configFile, false), UsedBy: usedBy, Errors: []string{}, Warnings: []string{}}
	fc.Config = c
	if cfg != nil {
		fc.skey = cfg.SKey
		for _, warning := range cfg.Warnings {
			c.Warnings = append(c.Warnings, sanitize.String(warning, false))
		}
	}
	if err == nil && usedBy == "pam_duo_go" {
		// conf accepts the file of the process's own uid too; the
		// module runs as root, so only root's is the module's.
		err = rootOwned(configFile)
	}
	if err != nil {
		for _, line := range errorLines(err) {
			c.Errors = append(c.Errors, sanitize.String(line, false))
		}
		fc.Exit = checkBadConfig
		return fc
	}
	c.Valid = true
	d := &duoReport{Host: sanitize.String(cfg.Host, false), Proxy: sanitize.String(cfg.HTTPProxy, false)}
	fc.Duo = d
	client, err := duo.New(duo.Options{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host,
		CAFile: cfg.CAFile, Proxy: cfg.HTTPProxy, Timeout: cfg.HTTPSTimeout,
		UserAgent: userAgent(),
	})
	if err != nil {
		d.Error, d.Failure = sanitize.String(err.Error(), false), "setup"
		fc.Exit = checkBadConfig
		return fc
	}
	defer client.Close()
	if _, err := client.Check(ctx); err != nil {
		d.Error = sanitize.String(err.Error(), false)
		fc.Exit, d.Failure, d.Advice = classifyDuoFailure(err)
		return fc
	}
	d.CheckOK = true
	offset := client.ClockOffset()
	off := offset.Round(100 * time.Millisecond).Seconds()
	d.ClockOffsetSeconds = &off
	switch {
	case offset > clockLimit || offset < -clockLimit:
		d.ClockWarning = fmt.Sprintf("this host's clock is further from Duo's than the %.0f minutes Duo accepts: "+
			"each login's first request is refused and sent again with a corrected date; fix this host's clock (NTP)", clockLimit.Minutes())
		fc.Exit, d.ClockTooFar = checkClock, true
	case offset > clockWarnAt || offset < -clockWarnAt:
		d.ClockWarning = fmt.Sprintf("Duo refuses requests dated more than %.0f minutes from its clock; fix this host's clock (NTP)", clockLimit.Minutes())
	}
	if user == "" {
		return fc
	}
	fc.User = checkUser(ctx, client, cfg, user)
	if exit := fc.User.exit(); exit != checkOK {
		fc.Exit = exit
	}
	return fc
}

// rootOwned refuses a file not owned by root, naming its owner.
func rootOwned(path string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fmt.Errorf("%s: cannot stat: %w", path, err)
	}
	if st.Uid == 0 {
		return nil
	}
	owner := fmt.Sprintf("uid %d", st.Uid)
	if u, err := osuser.LookupId(strconv.Itoa(int(st.Uid))); err == nil {
		owner += " (" + u.Username + ")"
	}
	return fmt.Errorf("%s: owned by %s, not root: the PAM module (root) refuses it; run chown root", path, owner)
}

// text prints each file's check, one after the other.
func (r *checkReport) text(l *lineWriter) {
	for i, fc := range r.Configs {
		if i > 0 {
			l.printf("\n")
		}
		fc.text(l)
	}
}

// text prints one file's check as check always has.
func (r *fileCheck) text(l *lineWriter) {
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
		u.text(l)
	}
}

// exit is the check's exit status for the user's part.
func (u *userReport) exit() int {
	switch {
	case u.Local == localUnknown || u.Local == localLookupFailed:
		return checkBadUser
	case u.Local == localBypass:
		return checkOK
	case !u.PreauthOK:
		exit, _, _ := classifyDuoFailure(u.err)
		return exit
	}
	return checkOK
}

// What the login decides about a user before it asks Duo (userReport.Local).
const (
	localDuo          = "duo"
	localBypass       = "bypass-groups"
	localUnknown      = "unknown-user"
	localLookupFailed = "lookup-failed"
)

// checkUser decides what the login would for the local user (account,
// groups, GECOS: the login's own functions) and, when Duo applies, runs
// preauth and reports what they would be offered.
func checkUser(ctx context.Context, client *duo.Client, cfg *conf.Config, user string) *userReport {
	u := &userReport{Name: sanitize.String(user, false), Devices: []deviceReport{}}
	info, err := login.LookupUser(user)
	if err != nil {
		if login.IsUnknownUser(err) {
			u.Local, u.Note = localUnknown, "no such local user: the login refuses it (PAM_USER_UNKNOWN) without asking Duo"
		} else {
			u.Local, u.Note = localLookupFailed, "the account could not be looked up: the login refuses (PAM_SERVICE_ERR): "+sanitize.String(err.Error(), false)
		}
		return u
	}
	applies, err := login.DuoApplies(cfg, info)
	switch {
	case err != nil:
		u.Local, u.Note = localLookupFailed, "the user's groups could not be read and groups is set: the login refuses (PAM_SERVICE_ERR): "+sanitize.String(err.Error(), false)
		return u
	case !applies:
		u.Local, u.Note = localBypass, "outside groups: Duo does not apply; the module returns PAM_IGNORE (PAM_SUCCESS with bypass=success) and login_duo_go lets the user in, without asking Duo"
		return u
	}
	u.Local = localDuo
	duoUser := user
	if name, ok := login.DuoUsername(cfg, info); ok {
		duoUser = name
		if name != user {
			u.DuoUser = sanitize.String(name, false)
		}
	}
	failmode := "open"
	if cfg.Failmode == conf.FailSecure {
		failmode = "closed"
	}
	hostname, _ := os.Hostname()
	pre, err := client.Preauth(ctx, duo.PreauthRequest{
		Username: duoUser, Hostname: hostname, TextPrompt: true, Failmode: failmode,
		ClientSupportsVerifiedPush: cfg.VerifiedPush,
	})
	if err != nil {
		u.err = err
		u.Error = sanitize.String(err.Error(), false)
		_, u.Failure, u.Advice = classifyDuoFailure(err)
		return u
	}
	u.PreauthOK = true
	u.Result = sanitize.String(pre.Result, false)
	u.StatusMsg = sanitize.String(pre.StatusMsg, false)
	switch pre.Result {
	case duo.ResultAllow:
		u.Note = "the user would be let in without a second factor (bypass)"
	case duo.ResultDeny:
		u.Note = "the user would be denied"
	case duo.ResultEnroll:
		u.Note = "the user is not enrolled"
		u.EnrollPortalURL = sanitize.String(pre.EnrollPortalURL, false)
	}
	for _, d := range pre.Devices {
		name := d.DisplayName
		if name == "" {
			name = d.Name
		}
		caps := make([]string, 0, len(d.Capabilities))
		for _, c := range d.Capabilities {
			caps = append(caps, sanitize.String(c, false))
		}
		u.Devices = append(u.Devices, deviceReport{ID: sanitize.String(d.Device, false), Type: sanitize.String(d.Type, false),
			Name: sanitize.String(name, false), Capabilities: caps})
	}
	u.VerifiedPush = pre.VerificationCode != ""
	if pre.Prompt != nil {
		for _, line := range strings.Split(strings.TrimRight(pre.Prompt.Text, "\n"), "\n") {
			u.Menu = append(u.Menu, sanitize.String(line, false))
		}
		u.Factors = map[string]string{}
		for k, v := range pre.Prompt.Factors {
			u.Factors[sanitize.String(k, false)] = sanitize.String(v, false)
		}
	}
	return u
}

func (u *userReport) text(l *lineWriter) {
	if u.Local != localDuo {
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
	p := &pamStackReport{Dir: sanitize.String(dir, false), Findings: []pamstack.Finding{}}
	rep.PAMStack = p
	rep.lines = p.text
	found, err := pamstack.Lint(dir, opt)
	if err != nil {
		p.Error = sanitize.String(err.Error(), false)
		rep.Exit = checkPAMStack
		return rep
	}
	for _, f := range found {
		f.File, f.Message, f.Fix = sanitize.String(f.File, false), sanitize.String(f.Message, false), sanitize.String(f.Fix, false)
		for i, s := range f.Services {
			f.Services[i] = sanitize.String(s, false)
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
