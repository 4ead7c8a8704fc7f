package conf

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits.
const (
	// MaxFileSize is the largest configuration file Load reads.
	MaxFileSize = 64 << 10
	// MaxGroupLists is the most pattern lists groups may hold (duo_unix's
	// MAX_GROUPS).
	MaxGroupLists = 256
	// MaxPatternLen is the longest single group pattern; OpenSSH's matcher,
	// which duo_unix uses, never matches longer ones.
	MaxPatternLen = 1022
	// MaxHTTPSTimeout is the longest https_timeout honoured; longer values
	// are lowered to it with a warning (a whole login is bounded anyway).
	MaxHTTPSTimeout = 5 * time.Minute
	// MaxRemember is the longest remember honoured.
	MaxRemember = 12 * time.Hour
	// MaxPrompts is the most prompts duo_unix allows.
	MaxPrompts = 3
)

// Parse reads a configuration from data, without any check of file
// permissions; name is used in messages (usually the file's path).
//
// On success the Config has every key's value or its default. On error
// the Config is still non-nil, but holds only File, Warnings and Failmode
// (the last valid failmode of the file, else FailSafe), so that a caller
// can apply the administrator's failmode to a broken file; the error is an
// *Error, or an errors.Join of several, one per problem, in line order.
func Parse(data []byte, name string) (*Config, error) {
	p := &parser{name: name, cfg: defaults(name)}
	sc := scanLines(data)
	p.secrets = sc.secrets
	slices.SortFunc(p.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, le := range sc.errs {
		p.fail(le.line, "", le.kind, le.msg)
	}
	if len(sc.errs) == 0 {
		line, err := crossCheck(data, sc.entries)
		switch {
		case err != nil:
			p.fail(0, "", errParserMismatch, err.Error())
		case line > 0:
			p.fail(line, "", errParserMismatch,
				"this line is read differently by different ini parsers; write it as a plain key = value line")
		}
	}
	p.apply(sc.entries)
	return p.result()
}

// parser turns entries into a Config, collecting errors and warnings.
type parser struct {
	name     string
	cfg      *Config
	errs     []*Error
	warnings []located
	secrets  []string // longest first

	last map[string]entry // the effective entry of each scalar key
}

type located struct {
	line int
	msg  string
}

// fail records a problem; msg must not contain the skey (redact makes sure).
func (p *parser) fail(line int, key string, kind error, msg string) {
	p.errs = append(p.errs, &Error{File: p.name, Line: line, Key: p.redact(key), Err: newDetail(kind, p.redact(msg))})
}

// warn records a warning.
func (p *parser) warn(line int, msg string) {
	p.warnings = append(p.warnings, located{line, p.redact(msg)})
}

// redact removes every skey value from s.
func (p *parser) redact(s string) string {
	for _, secret := range p.secrets {
		s = strings.ReplaceAll(s, secret, "<skey>")
	}
	if p.showsSecret(s) {
		// The replacement made a new occurrence (overlapping "<skey>").
		if s = "(withheld: it would show the skey)"; p.showsSecret(s) {
			s = "?"
		}
	}
	return s
}

func (p *parser) showsSecret(s string) bool {
	for _, secret := range p.secrets {
		if strings.Contains(s, secret) {
			return true
		}
	}
	return false
}

// result sorts what was found and builds Parse's return values.
func (p *parser) result() (*Config, error) {
	slices.SortStableFunc(p.warnings, func(a, b located) int { return cmp.Compare(a.line, b.line) })
	for _, w := range p.warnings {
		loc := printable(p.name)
		if w.line > 0 {
			loc += ":" + strconv.Itoa(w.line)
		}
		p.cfg.Warnings = append(p.cfg.Warnings, loc+": "+w.msg)
	}
	if len(p.errs) == 0 {
		return p.cfg, nil
	}
	// Line-less problems (missing keys) after the located ones.
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	stub := &Config{File: p.cfg.File, Failmode: p.cfg.Failmode, Warnings: p.cfg.Warnings}
	return stub, joinErrors(errs)
}

// apply checks every entry and sets the Config from them; for a key given
// more than once the last one wins, as in duo_unix, except groups (and
// group), whose lists add up, also as in duo_unix.
func (p *parser) apply(entries []entry) {
	p.last = map[string]entry{}
	lastIndex := map[string]int{}
	for i, e := range entries {
		lastIndex[e.key] = i
	}
	for i, e := range entries {
		spec, ok := lookupKey(e.key)
		if !ok {
			p.unknownKey(e)
			continue
		}
		if spec.kind == kindPatterns {
			p.setGroups(e)
			continue
		}
		if j := lastIndex[e.key]; j != i {
			p.warn(e.line, fmt.Sprintf("%s is set again on line %d; the last setting wins", e.key, entries[j].line))
		}
		value, ok := p.singleValue(e)
		if !ok {
			continue
		}
		p.last[e.key] = e
		spec.set(p, e, value)
	}
	p.checkRequired()
	p.checkCombinations()
}

// isKnown reports whether name is a key of the table.
func isKnown(name string) bool { _, ok := lookupKey(name); return ok }

// unknownKey reports e's key, with a suggestion when one is close.
func (p *parser) unknownKey(e entry) {
	shown := e.key
	if i := strings.IndexAny(shown, " \t"); i >= 0 {
		shown = shown[:i] + " ..."
	}
	msg := fmt.Sprintf("unknown key %q", clip(shown, 40))
	if lower := strings.ToLower(e.key); lower != e.key && isKnown(lower) {
		msg += fmt.Sprintf(" (key names are lower case: %q)", lower)
	} else if s := closestKey(e.key); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	p.fail(e.line, e.key, ErrUnknownKey, msg)
}

// singleValue returns e's value for a key that takes one line: its only
// non-empty part. A second non-empty part is an indented line that ini
// reads as the continuation of e.
func (p *parser) singleValue(e entry) (string, bool) {
	value := ""
	seen := false
	for i, part := range e.parts {
		if part == "" {
			continue
		}
		if seen {
			p.fail(e.lines[i], e.key, ErrSyntax, fmt.Sprintf(
				"this indented line continues the value of %s from line %d (only groups may span lines); remove the indentation",
				e.key, e.line))
			return "", false
		}
		value, seen = part, true
	}
	return value, true
}

// invalid reports value as wrong for e's key; value is quoted in the
// message (never for skey).
func (p *parser) invalid(e entry, value, why string) {
	msg := fmt.Sprintf("%s = %q: %s", e.key, clip(value, 64), why)
	if strings.Contains(value, " #") || strings.HasPrefix(value, "#") {
		msg += ` (comments after a value start with " ;"; "#" only starts a comment line)`
	}
	p.fail(e.line, e.key, ErrInvalidValue, msg)
}

// checkRequired reports a missing or empty ikey, skey or host.
func (p *parser) checkRequired() {
	for _, k := range []struct{ key, what string }{
		{"ikey", "the Duo integration key"},
		{"skey", "the Duo secret key"},
		{"host", "the Duo API host name"},
	} {
		if p.reported(k.key) {
			continue // present but invalid
		}
		e, ok := p.last[k.key]
		switch {
		case !ok:
			p.fail(0, k.key, ErrMissingKey, fmt.Sprintf("missing %s (%s)", k.key, k.what))
		case p.value(k.key) == "":
			p.fail(e.line, k.key, ErrMissingKey, fmt.Sprintf("%s is empty (it must hold %s)", k.key, k.what))
		case isPlaceholder(k.key, p.value(k.key)):
			p.fail(e.line, k.key, ErrInvalidValue, fmt.Sprintf("%s is still the example from the package (set %s of your Duo UNIX application)", k.key, k.what))
		}
	}
}

// Placeholder values in the configuration files the packages install
// (debian/pam_duo.conf, debian/login_duo.conf). A file that still holds
// one was never filled in. That is a configuration error, so the login
// fails closed instead of reaching for the example host and, with
// failmode=safe, letting everyone in. The ikey placeholder is Duo's own
// documentation example, which other files use too, so it is not one.
const (
	PlaceholderSKeyPrefix = "CHANGE-ME"
	PlaceholderHost       = "api-XXXXXXXX.duosecurity.com"
)

func isPlaceholder(key, value string) bool {
	switch key {
	case "skey":
		return strings.HasPrefix(value, PlaceholderSKeyPrefix)
	case "host":
		return value == PlaceholderHost
	}
	return false
}

// reported says whether an error about key was already recorded.
func (p *parser) reported(key string) bool {
	for _, e := range p.errs {
		if e.Key == key {
			return true
		}
	}
	return false
}

// value returns the Config's value for a required key.
func (p *parser) value(key string) string {
	switch key {
	case "ikey":
		return p.cfg.IKey
	case "skey":
		return p.cfg.SKey
	}
	return p.cfg.Host
}

// checkCombinations reports settings that cannot go together and warns
// about ones that do nothing or weaken security.
func (p *parser) checkCombinations() {
	c := p.cfg
	if c.VerifiedPush && c.AutoPush {
		vp, ap := p.last["verified_push"], p.last["autopush"]
		p.fail(vp.line, "verified_push", ErrInvalidValue, fmt.Sprintf(
			"verified_push = yes cannot be combined with autopush = yes (line %d): with Verified Push the user must type the code shown at login, so the push cannot go out unasked; turn one off",
			ap.line))
	}
	if c.SendGecos {
		p.warn(p.last["send_gecos"].line, gecosWarning)
	} else if c.GecosUsernamePosSet {
		p.warn(p.last["gecos_username_pos"].line, gecosWarning)
	}
	if e, ok := p.last["gecos_delim"]; ok && !c.GecosUsernamePosSet {
		p.warn(e.line, "gecos_delim has no effect without gecos_username_pos")
	}
	if len(c.Groups) > 0 {
		negatedOnly := 0
		for _, list := range c.Groups {
			if allNegated(list) {
				negatedOnly++
			}
		}
		line := p.last["groups"].line
		switch {
		case negatedOnly == len(c.Groups):
			p.warn(line, `groups: every pattern is negated, so no user matches and Duo is skipped for everyone; to require Duo for everyone but a group, write "*,!wheel"`)
		case negatedOnly > 0:
			p.warn(line, `groups: a pattern list with only negated patterns never matches anyone; to exclude a group, add "!group" to the other lists instead`)
		}
	}
}

const gecosWarning = "the GECOS field is used as the Duo username, but users can often change their own GECOS (chfn) and so choose whose Duo login they answer; prefer Duo username aliases, or restrict chfn (CHFN_RESTRICT in login.defs)"

// closestKey returns the known key nearest to k (at most two edits away),
// or "".
func closestKey(k string) string {
	best, bestDist := "", 3
	for _, known := range keys {
		if d := editDistance(strings.ToLower(k), known.name, bestDist); d < bestDist {
			best, bestDist = known.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit.
func editDistance(a, b string, limit int) int {
	if len(a)-len(b) >= limit || len(b)-len(a) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
