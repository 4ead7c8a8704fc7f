package pamstack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Severities of a Finding.
const (
	SevError   = "error"   // locks people out, lets them past Duo, or pushes twice
	SevWarning = "warning" // works today but is fragile or will be undone
)

// Codes of findings; stable, for scripts.
const (
	CodeBypassDenied   = "bypass-denied"          // PAM_IGNORE from pam_duo_go ends in a denial
	CodeBypassSkipsPW  = "bypass-skips-password"  // bypass=success before the password module skips it
	CodeDoubleDuo      = "duo-twice"              // two Duo modules run on one path: two pushes
	CodeBothModules    = "both-duo-modules"       // pam_duo.so and pam_duo_go.so in one stack
	CodeMissingModule  = "missing-module"         // the module file does not exist
	CodeMissingInclude = "missing-include"        // an include that cannot be followed
	CodePamAuthUpdate  = "pam-auth-update-edited" // hand edit inside pam-auth-update's block
	CodeAuthselect     = "authselect-edited"      // hand edit of a file authselect manages
)

// Finding is one problem, at a line of a file.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Severity string   `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
	Services []string `json:"services,omitempty"` // the services whose stack reaches the line
}

// defaultModuleDirs are where libpam looks for a module given by bare
// name: Debian's multiarch dir for this machine first, then the RHEL and
// legacy dirs.
var defaultModuleDirs = moduleDirs(multiarch[runtime.GOARCH])

// multiarch is Debian's multiarch triplet for each GOARCH.
var multiarch = map[string]string{
	"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu",
	"arm": "arm-linux-gnueabihf", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
	"riscv64": "riscv64-linux-gnu", "mips64le": "mips64el-linux-gnuabi64", "loong64": "loongarch64-linux-gnu",
}

func moduleDirs(triplet string) []string {
	var dirs []string
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet+"/security", "/usr/lib/"+triplet+"/security")
	}
	return append(dirs, "/lib/security", "/lib64/security", "/usr/lib64/security", "/usr/lib/security")
}

// Options tune Lint; the zero value checks the running host.
type Options struct {
	// Root is prepended to the absolute paths the checks read besides the
	// PAM files: /usr/share/pam-configs, /var/lib/pam, /etc/authselect and
	// authselect's symlink targets. "" is "/".
	Root string
	// ModuleDirs are searched for a module given by bare name
	// (defaultModuleDirs when nil).
	ModuleDirs []string
	// ModuleExists says whether a module file exists (os.Stat when nil).
	ModuleExists func(path string) bool
}

// passwordModules ask for or check the user's password (the first factor).
var passwordModules = []string{
	"pam_unix.so", "pam_sss.so", "pam_ldap.so", "pam_krb5.so", "pam_winbind.so",
	"pam_userdb.so", "pam_radius_auth.so", "pam_tacplus.so", "pam_pwdfile.so",
}

const (
	duoGo  = "pam_duo_go.so"
	duoOld = "pam_duo.so"
)

// Lint reads every file of the PAM directory dir and returns the findings,
// sorted by file and line.
func Lint(dir string, opt Options) ([]Finding, error) {
	if opt.Root == "" {
		opt.Root = "/"
	}
	if opt.ModuleDirs == nil {
		opt.ModuleDirs = defaultModuleDirs
	}
	if opt.ModuleExists == nil {
		opt.ModuleExists = func(p string) bool {
			fi, err := os.Stat(p)
			return err == nil && fi.Mode().IsRegular()
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("pam directory: %w", err)
	}
	d := OpenDir(dir, opt.Root)
	l := &linter{d: d, opt: opt, found: map[string]*Finding{}}
	var names []string
	included := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") || strings.HasSuffix(n, ".dpkg-old") ||
			strings.HasSuffix(n, ".dpkg-dist") || strings.HasSuffix(n, ".rpmnew") || strings.HasSuffix(n, ".rpmsave") {
			continue
		}
		f, err := d.File(n)
		if err != nil {
			continue // a directory or an unreadable entry: not a PAM file
		}
		names = append(names, n)
		for _, r := range f.Rules {
			if r.IsInclude() {
				included[r.Module] = true
			}
		}
		l.checkModules(f)
		l.checkManaged(f)
	}
	for _, n := range names {
		if !included[n] {
			l.checkService(n)
		}
	}
	out := make([]Finding, 0, len(l.found))
	for _, f := range l.found {
		sort.Strings(f.Services)
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Code < b.Code
	})
	return out, nil
}

type linter struct {
	d     *Dir
	opt   Options
	found map[string]*Finding
}

// add records a finding once per file, line and code, collecting the
// services that reach it.
func (l *linter) add(r Rule, sev, code, service, msg, fix string) {
	k := r.Key() + " " + code
	f, ok := l.found[k]
	if !ok {
		f = &Finding{File: r.File, Line: r.Line, Severity: sev, Code: code, Message: msg, Fix: fix}
		l.found[k] = f
	}
	if service != "" {
		for _, s := range f.Services {
			if s == service {
				return
			}
		}
		f.Services = append(f.Services, service)
	}
}

func (l *linter) checkModules(f *File) {
	for _, r := range f.Rules {
		if r.IsInclude() || r.Dash {
			continue
		}
		// Only an explicit module_unknown=ignore (pam_selinux's lines)
		// makes a missing module harmless: with default=ignore it still
		// drops the line, which can lock users out or skip Duo.
		if parseControl(r.Control)["module_unknown"] == "ignore" {
			continue
		}
		if l.moduleFound(r.Module) {
			continue
		}
		sev := SevError
		if r.Control == "optional" {
			sev = SevWarning
		}
		l.add(r, sev, CodeMissingModule, "",
			fmt.Sprintf("module %s does not exist (searched %s): libpam fails this %s line with PAM_MODULE_UNKNOWN",
				r.Module, l.where(r.Module), r.Type),
			"install the module's package, correct the path, or remove the line")
	}
}

func (l *linter) where(module string) string {
	if filepath.IsAbs(module) {
		return module
	}
	return strings.Join(l.opt.ModuleDirs, ", ")
}

func (l *linter) moduleFound(module string) bool {
	if filepath.IsAbs(module) {
		return l.opt.ModuleExists(module)
	}
	for _, dir := range l.opt.ModuleDirs {
		if l.opt.ModuleExists(filepath.Join(dir, module)) {
			return true
		}
	}
	return false
}

// checkService simulates the auth stack of one service.
func (l *linter) checkService(service string) {
	for _, typ := range []string{"auth", "account", "password", "session"} {
		_, ierrs := l.d.Expand(service, typ)
		for _, e := range ierrs {
			why := "cannot be read"
			switch {
			case errors.Is(e.Err, fs.ErrNotExist):
				why = "does not exist"
			case !errors.Is(e.Err, fs.ErrPermission):
				why = e.Err.Error()
				if i := strings.LastIndex(why, ": "); i >= 0 && strings.HasPrefix(why, "pam file") {
					why = why[i+2:]
				}
			}
			l.add(e.Rule, SevError, CodeMissingInclude, service,
				fmt.Sprintf("%s %s: %s; libpam cannot load this configuration and every %s call through it fails", e.Rule.Control, e.Rule.Module, why, typ),
				"create the included file or correct the name")
		}
	}
	nodes, _ := l.d.Expand(service, "auth")
	rules := Flatten(nodes)
	var goRules, oldRules []Rule
	for _, r := range rules {
		switch {
		case isModule(r, duoGo):
			goRules = append(goRules, r)
		case isModule(r, duoOld):
			oldRules = append(oldRules, r)
		}
	}
	if len(goRules)+len(oldRules) == 0 {
		return
	}
	if len(goRules) > 0 && len(oldRules) > 0 {
		l.add(oldRules[0], SevWarning, CodeBothModules, service,
			fmt.Sprintf("both pam_duo.so (duo_unix) and pam_duo_go.so are in the auth stack of %s (pam_duo_go.so at %s)",
				service, goRules[0].Key()),
			"remove the pam_duo.so line: pam_duo_go.so reads the same /etc/duo/pam_duo.conf")
	}
	// The first factor and every other module pass; pam_deny fails.
	base := func(r Rule) string {
		if isModule(r, "pam_deny.so") {
			return "auth_err"
		}
		return "success"
	}
	allow := simulate(nodes, base)
	// A user Duo allows: two Duo modules running means two pushes.
	l.checkTwice(service, rules, allow)
	// A user Duo does not apply to: pam_duo_go returns PAM_IGNORE, or
	// PAM_SUCCESS with bypass=success.
	bypass := simulate(nodes, func(r Rule) string {
		if isModule(r, duoGo) {
			if v, _ := r.Arg("bypass"); v == "success" {
				return "success"
			}
			return "ignore"
		}
		return base(r)
	})
	l.checkTwice(service, rules, bypass)
	if allow.Success && !bypass.Success {
		r := goRules[0]
		for _, g := range goRules {
			if v, _ := g.Arg("bypass"); v != "success" && bypass.Ran[g.Key()] {
				r = g
				break
			}
		}
		l.add(r, SevError, CodeBypassDenied, service,
			fmt.Sprintf("users Duo does not apply to (outside groups, bypassed by Duo) are denied by %s: pam_duo_go returns PAM_IGNORE for them and the stack then ends in %s",
				service, strings.ToUpper("PAM_"+bypass.Status)),
			"add bypass=success to this line (duo_unix's behaviour), or end the stack with a module that grants (pam_permit.so after a jump over pam_deny.so)")
	}
	for i, g := range rules {
		if !isModule(g, duoGo) {
			continue
		}
		if v, _ := g.Arg("bypass"); v != "success" || !bypass.Ran[g.Key()] || !bypass.Success {
			continue
		}
		for _, p := range rules[i+1:] {
			if isPasswordModule(p) && !bypass.Ran[p.Key()] && noPasswordRan(rules[:i], bypass) {
				l.add(g, SevError, CodeBypassSkipsPW, service,
					fmt.Sprintf("with bypass=success this line ends the stack of %s for users Duo does not apply to, before %s at %s: they log in without a password",
						service, p.ModuleName(), p.Key()),
					"move the pam_duo_go.so line after the password module (auth requisite pam_unix.so, then pam_duo_go.so), or drop bypass=success")
				break
			}
		}
	}
}

// noPasswordRan is true when no password module before the Duo line ran
// (the password was not checked before Duo's line ended the stack).
func noPasswordRan(before []Rule, o outcome) bool {
	for _, r := range before {
		if isPasswordModule(r) && o.Ran[r.Key()] {
			return false
		}
	}
	return true
}

func isPasswordModule(r Rule) bool {
	for _, m := range passwordModules {
		if isModule(r, m) {
			return true
		}
	}
	return false
}

func (l *linter) checkTwice(service string, rules []Rule, o outcome) {
	var ran []Rule
	for _, r := range rules {
		if (isModule(r, duoGo) || isModule(r, duoOld)) && o.Ran[r.Key()] {
			ran = append(ran, r)
		}
	}
	if len(ran) < 2 {
		return
	}
	l.add(ran[1], SevError, CodeDoubleDuo, service,
		fmt.Sprintf("a second Duo module runs in the auth stack of %s after %s at %s: every login asks for two second factors (two pushes)",
			service, ran[0].ModuleName(), ran[0].Key()),
		"keep one Duo line per stack: remove this one or the one in the included file")
}
