// Package check is what `login_duo_go check` checks and the verdicts it
// reaches: a config file under the owner rule of the program that reads
// it, Duo's /auth/v2/check with the keys, host, proxy and TLS trust, the
// clock offset, what the login would decide for a local user and what Duo
// would offer them, and the PAM stacks of a directory (internal/pamstack).
// The results are a Report whose JSON form is login_duo_go(8)'s stable
// interface; login_duo_go's main parses the command line and prints it.
// Every value from a file, the network or the user is escaped before it
// enters a Report; Report.Write takes the secret keys out of the output.
package check

import (
	"bytes"
	"context"
	"fmt"
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
	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"github.com/pam-duo-go/pam_duo_go/internal/fips"
	"github.com/pam-duo-go/pam_duo_go/internal/pamstack"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// Exit statuses of `login_duo_go check` (its usage error, 64, is the
// command line's).
const (
	ExitOK          = 0  // config valid, Duo answered; or a PAM stack without errors
	ExitBadConfig   = 1  // the config file is missing, unreadable or invalid
	ExitUnreachable = 2  // Duo could not be reached or failed (network, TLS, proxy, 5xx)
	ExitRefused     = 3  // Duo refused the credentials (4xx: ikey, skey, host)
	ExitPAMStack    = 4  // --pam-stack: a finding of severity error, or the directory could not be read
	ExitBadUser     = 5  // -u: no such local account, or its groups could not be read (the login refuses it)
	ExitClock       = 6  // this host's clock is further from Duo's than Duo accepts
	checkUsage      = 64 // bad command line
)

// clockLimit is how far a request's date may be from Duo's clock (Duo
// answers 40105 beyond it; duotest.DateWindow is the same). The login
// re-dates a request refused for it once, with the offset Duo's answer
// shows, so logins still pass; a clock this far off is still an error to
// fix, and check says so with its own exit status.
const clockLimit = 300 * time.Second

// clockWarnAt is the offset from which check warns (exit 0).
const clockWarnAt = 60 * time.Second

// Report is every result of one check. Its JSON form (--json) is the
// stable interface documented in login_duo_go(8): fields are only added,
// never renamed or removed, within a schema version.
type Report struct {
	Schema int `json:"schema"` // 1
	Exit   int `json:"exit"`
	// Config, Duo and User are the first checked file's (Configs[0]),
	// as before check looked at more than one file.
	Config *ConfigReport `json:"config,omitempty"`
	Duo    *DuoReport    `json:"duo,omitempty"`
	User   *UserReport   `json:"user,omitempty"`
	// Configs has one entry per checked config file, in order.
	Configs  []*FileCheck    `json:"configs,omitempty"`
	PAMStack *PAMStackReport `json:"pam_stack,omitempty"`
	FIPS     *fips.Status    `json:"fips,omitempty"` // FIPS 140-3 mode of login_duo_go (internal/fips)
	skeys    []string        // redacted from the output, whatever carries them
}

// redact replaces every secret key the checked files hold with "[skey]"
// in out, the report printed in any form: whatever carries a key (an
// error quoting a line, a proxy URL) never shows it.
func (r *Report) redact(out []byte) []byte {
	for _, skey := range r.skeys {
		if skey != "" {
			out = bytes.ReplaceAll(out, []byte(skey), []byte("[skey]"))
		}
	}
	return out
}

// FileCheck is the check of one config file.
type FileCheck struct {
	Exit   int           `json:"exit"`
	Config *ConfigReport `json:"config"`
	Duo    *DuoReport    `json:"duo,omitempty"`
	User   *UserReport   `json:"user,omitempty"`
	skey   string
}

type ConfigReport struct {
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

type DuoReport struct {
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

type UserReport struct {
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
	Devices         []DeviceReport    `json:"devices"`
	VerifiedPush    bool              `json:"verified_push"`
	Menu            []string          `json:"menu,omitempty"`
	Factors         map[string]string `json:"factors,omitempty"`
	err             error             // the preauth failure, for the exit status
}

type DeviceReport struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	Name         string   `json:"name"`
	Capabilities []string `json:"capabilities"`
}

type PAMStackReport struct {
	Dir      string             `json:"dir"`
	Error    string             `json:"error,omitempty"`
	Errors   int                `json:"errors"`
	Warnings int                `json:"warnings"`
	Findings []pamstack.Finding `json:"findings"`
}

// PresentConfigs lists what a plain `check` looks at: every config file
// present among defaults and each conf= of a pam_duo_go.so line in
// pamDir; defaults when none is present, so that the report says they are
// missing.
func PresentConfigs(defaults []string, pamDir string) []string {
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

// Options is what the checks need from the program that runs them.
type Options struct {
	// UserAgent is sent to Duo.
	UserAgent string
	// LoginConfigOwners lists the uids besides root that may own a file
	// named login_duo.conf (login_duo_go's rule); nil means none.
	LoginConfigOwners func() []int
	// PAMDir is the PAM configuration directory (/etc/pam.d): a file that
	// a pam_duo_go.so line there names with conf= is read by the module,
	// so it gets the module's rule whatever its name. "" reads none.
	PAMDir string
}

// Configs checks each config file in files (checkFile); with user, it
// also decides what the login would for that local user. The exit status
// is the first file's that is not 0.
func Configs(ctx context.Context, files []string, user string, opt Options) *Report {
	rep := &Report{Schema: 1, FIPS: fips.Check()}
	moduleReads := moduleConfigs(opt.PAMDir)
	for _, f := range files {
		fc := checkFile(ctx, f, user, opt, moduleReads)
		rep.Configs = append(rep.Configs, fc)
		rep.skeys = append(rep.skeys, fc.skey)
		if rep.Exit == ExitOK {
			rep.Exit = fc.Exit
		}
	}
	first := rep.Configs[0]
	rep.Config, rep.Duo, rep.User = first.Config, first.Duo, first.User
	return rep
}

// configRule returns whose owner rule applies to path and the uids
// besides root that may own it: the PAM module's (root only) for its
// default file and for any file in moduleReads (moduleConfigs: the module
// reads it, so the strictest rule decides); otherwise login_duo_go's for a
// file named login_duo.conf (sshd too, as duo_unix documented it), and the
// module's for any other name.
func configRule(path string, opt Options, moduleReads map[string]bool) (usedBy string, owners []int) {
	if path = filepath.Clean(path); path == conf.DefaultPAMConfig || moduleReads[path] {
		return "pam_duo_go", nil
	}
	if filepath.Base(path) == conf.LoginConfigName {
		if opt.LoginConfigOwners == nil {
			return "login_duo_go", nil
		}
		return "login_duo_go", opt.LoginConfigOwners()
	}
	return "pam_duo_go", nil
}

// moduleConfigs is the set of files a pam_duo_go.so line in pamDir names
// with conf=, read once per check ("" reads none).
func moduleConfigs(pamDir string) map[string]bool {
	set := map[string]bool{}
	if pamDir == "" {
		return set
	}
	for _, p := range pamConfFiles(pamDir) {
		set[p] = true
	}
	return set
}

// checkFile validates configFile under the owner rule of the program that
// reads it, calls /auth/v2/check and, with user, decides what the login
// would (account, groups) and runs preauth.
// moduleReads is moduleConfigs(opt.PAMDir).
func checkFile(ctx context.Context, configFile, user string, opt Options, moduleReads map[string]bool) *FileCheck {
	fc := &FileCheck{}
	usedBy, owners := configRule(configFile, opt, moduleReads)
	cfg, err := conf.LoadOwned(configFile, owners...)
	c := &ConfigReport{File: escape.Line(configFile), UsedBy: usedBy, Errors: []string{}, Warnings: []string{}}
	fc.Config = c
	if cfg != nil {
		fc.skey = cfg.SKey
		for _, warning := range cfg.Warnings {
			c.Warnings = append(c.Warnings, escape.Line(warning))
		}
	}
	if err == nil && usedBy == "pam_duo_go" {
		// conf accepts the file of the process's own uid too; the
		// module runs as root, so only root's is the module's.
		err = rootOwned(configFile)
	}
	if err != nil {
		for _, line := range errorLines(err) {
			c.Errors = append(c.Errors, escape.Line(line))
		}
		fc.Exit = ExitBadConfig
		return fc
	}
	c.Valid = true
	d := &DuoReport{Host: escape.Line(cfg.Host), Proxy: escape.Line(cfg.HTTPProxy)}
	fc.Duo = d
	client, err := duo.New(duo.Options{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host,
		CAFile: cfg.CAFile, Proxy: cfg.HTTPProxy, Timeout: cfg.HTTPSTimeout,
		UserAgent: opt.UserAgent,
	})
	if err != nil {
		d.Error, d.Failure = escape.Line(err.Error()), "setup"
		fc.Exit = ExitBadConfig
		return fc
	}
	defer client.Close()
	if _, err := client.Check(ctx); err != nil {
		d.Error = escape.Line(err.Error())
		fc.Exit, d.Failure, d.Advice = classifyDuoFailure(err)
		return fc
	}
	d.CheckOK = true
	if d.setClock(client.ClockOffset()); d.ClockTooFar {
		fc.Exit = ExitClock
	}
	if user == "" {
		return fc
	}
	fc.User = checkUser(ctx, client, cfg, user)
	if exit := fc.User.exit(); exit != ExitOK {
		fc.Exit = exit
	}
	return fc
}

// setClock reports the offset of this host's clock from Duo's, with a
// warning when it is close to or beyond what Duo accepts.
func (d *DuoReport) setClock(offset time.Duration) {
	off := offset.Round(100 * time.Millisecond).Seconds()
	d.ClockOffsetSeconds = &off
	switch {
	case offset > clockLimit || offset < -clockLimit:
		d.ClockWarning = fmt.Sprintf("this host's clock is further from Duo's than the %.0f minutes Duo accepts: "+
			"each login's first request is refused and sent again with a corrected date; fix this host's clock (NTP)", clockLimit.Minutes())
		d.ClockTooFar = true
	case offset > clockWarnAt || offset < -clockWarnAt:
		d.ClockWarning = fmt.Sprintf("Duo refuses requests dated more than %.0f minutes from its clock; fix this host's clock (NTP)", clockLimit.Minutes())
	}
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

// exit is the check's exit status for the user's part.
func (u *UserReport) exit() int {
	switch {
	case u.Local == LocalUnknown || u.Local == LocalLookupFailed:
		return ExitBadUser
	case u.Local == LocalBypass:
		return ExitOK
	case !u.PreauthOK:
		exit, _, _ := classifyDuoFailure(u.err)
		return exit
	}
	return ExitOK
}

// What the login decides about a user before it asks Duo (UserReport.Local).
const (
	LocalDuo          = "duo"
	LocalBypass       = "bypass-groups"
	LocalUnknown      = "unknown-user"
	LocalLookupFailed = "lookup-failed"
)

// checkUser decides what the login would for the local user (account,
// groups, GECOS: the login's own functions) and, when Duo applies, runs
// preauth and reports what they would be offered.
func checkUser(ctx context.Context, client *duo.Client, cfg *conf.Config, user string) *UserReport {
	u := &UserReport{Name: escape.Line(user), Devices: []DeviceReport{}}
	info, ok := u.decideLocally(cfg, user)
	if !ok {
		return u
	}
	u.Local = LocalDuo
	duoUser := user
	if name, ok := login.DuoUsername(cfg, info); ok {
		duoUser = name
		if name != user {
			u.DuoUser = escape.Line(name)
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
		u.Error = escape.Line(err.Error())
		_, u.Failure, u.Advice = classifyDuoFailure(err)
		return u
	}
	u.setPreauth(pre)
	return u
}

// decideLocally looks the user up and decides, as the login does, whether
// Duo applies; when it does not (or cannot tell) it fills in Local and
// Note and returns false.
func (u *UserReport) decideLocally(cfg *conf.Config, user string) (*login.UserInfo, bool) {
	info, err := login.LookupUser(user)
	if err != nil {
		if login.IsUnknownUser(err) {
			u.Local, u.Note = LocalUnknown, "no such local user: the login refuses it (PAM_USER_UNKNOWN) without asking Duo"
		} else {
			u.Local, u.Note = LocalLookupFailed, "the account could not be looked up: the login refuses (PAM_SERVICE_ERR): "+escape.Line(err.Error())
		}
		return nil, false
	}
	applies, err := login.DuoApplies(cfg, info)
	switch {
	case err != nil:
		u.Local, u.Note = LocalLookupFailed, "the user's groups could not be read and groups is set: the login refuses (PAM_SERVICE_ERR): "+escape.Line(err.Error())
		return nil, false
	case !applies:
		u.Local, u.Note = LocalBypass, "outside groups: Duo does not apply; the module returns PAM_IGNORE (PAM_SUCCESS with bypass=success) and login_duo_go lets the user in, without asking Duo"
		return nil, false
	}
	return info, true
}

// setPreauth reports Duo's preauth answer: the result, the user's devices
// and the menu they would be shown, every text escaped.
func (u *UserReport) setPreauth(pre *duo.PreauthResponse) {
	u.PreauthOK = true
	u.Result = escape.Line(pre.Result)
	u.StatusMsg = escape.Line(pre.StatusMsg)
	switch pre.Result {
	case duo.ResultAllow:
		u.Note = "the user would be let in without a second factor (bypass)"
	case duo.ResultDeny:
		u.Note = "the user would be denied"
	case duo.ResultEnroll:
		u.Note = "the user is not enrolled"
		u.EnrollPortalURL = escape.Line(pre.EnrollPortalURL)
	}
	for _, d := range pre.Devices {
		u.Devices = append(u.Devices, deviceReport(d))
	}
	u.VerifiedPush = pre.VerificationCode != ""
	if pre.Prompt != nil {
		for _, line := range strings.Split(strings.TrimRight(pre.Prompt.Text, "\n"), "\n") {
			u.Menu = append(u.Menu, escape.Line(line))
		}
		u.Factors = map[string]string{}
		for k, v := range pre.Prompt.Factors {
			u.Factors[escape.Line(k)] = escape.Line(v)
		}
	}
}

// deviceReport is one device of a preauth answer, escaped.
func deviceReport(d duo.Device) DeviceReport {
	name := d.DisplayName
	if name == "" {
		name = d.Name
	}
	caps := make([]string, 0, len(d.Capabilities))
	for _, c := range d.Capabilities {
		caps = append(caps, escape.Line(c))
	}
	return DeviceReport{ID: escape.Line(d.Device), Type: escape.Line(d.Type),
		Name: escape.Line(name), Capabilities: caps}
}

// classifyDuoFailure classifies a Duo error as the login does
// (duo.Classify): refused (something answered and said no) or
// unreachable. It returns the exit status, the failure's name and the
// advice.
func classifyDuoFailure(err error) (int, string, string) {
	switch duo.Classify(err) {
	case duo.KindOutage:
		return ExitUnreachable, "unreachable", "Duo could not be reached or failed: check host, http_proxy, cafile, the network and DNS"
	case duo.KindLocal:
		return ExitUnreachable, "local", "this machine could not make the call (file descriptors, memory, permissions): check the limits of this process"
	}
	return ExitRefused, "refused", "Duo refused the request (or a proxy in front of it did): check ikey, skey, host and http_proxy"
}

// PAMStack lints the PAM configuration directory dir (--pam-stack).
func PAMStack(dir string, opt pamstack.Options) *Report {
	rep := &Report{Schema: 1}
	p := &PAMStackReport{Dir: escape.Line(dir), Findings: []pamstack.Finding{}}
	rep.PAMStack = p
	found, err := pamstack.Lint(dir, opt)
	if err != nil {
		p.Error = escape.Line(err.Error())
		rep.Exit = ExitPAMStack
		return rep
	}
	for _, f := range found {
		f.File, f.Message, f.Fix = escape.Line(f.File), escape.Line(f.Message), escape.Line(f.Fix)
		for i, s := range f.Services {
			f.Services[i] = escape.Line(s)
		}
		p.Findings = append(p.Findings, f)
		if f.Severity == pamstack.SevError {
			p.Errors++
		} else {
			p.Warnings++
		}
	}
	if p.Errors > 0 {
		rep.Exit = ExitPAMStack
	}
	return rep
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
