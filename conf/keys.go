package conf

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// keySpec is everything about one configuration key. The table keys is
// the one place keys are defined: the set of known keys, the defaults,
// the parsing and the key list of the package doc (TestPackageDoc checks
// doc.go against it) all come from it.
type keySpec struct {
	name   string
	kind   kind
	origin origin
	// def is the default in the file's syntax, "" for none (the zero
	// value). TestKeyDefaults checks that "name = def" gives the same
	// Config as no line at all.
	def string
	// doc is the key's line in the package doc: its values, default and
	// any departure from duo_unix.
	doc string
	// init applies the default to a Config; nil when the zero value is
	// the default.
	init func(c *Config)
	// set checks value and stores it, or records the problem. nil for
	// kindPatterns, whose lines add up (parser.setGroups).
	set func(p *parser, e entry, value string)
}

// kind is the type of a key's value.
type kind int

const (
	kindText     kind = iota // free text or a name
	kindBool                 // parseBool: yes/true/on/1, no/false/off/0
	kindNumber               // a whole number
	kindDuration             // parseDuration
	kindChoice               // one of a few words
	kindPath                 // an absolute path
	kindPatterns             // group pattern lists; repeated lines add up
	kindIgnored              // accepted with a warning, no effect
)

// origin is where a key comes from, and so what it means to duo_unix.
type origin int

const (
	duoUnix      origin = iota // duo_unix 2.2.3's pam_duo and login_duo
	loginDuo                   // duo_unix's login_duo only
	newerDuoUnix               // duo_unix releases after 2.2.3
	deprecated                 // duo_unix accepts it and does nothing with it
	ownKey                     // pam_duo_go's own; duo_unix refuses the file
)

// keys is every key accepted, in the order closestKey tries them.
var keys = []keySpec{
	{name: "ikey", kind: kindText, origin: duoUnix, doc: hostDoc, set: (*parser).setIKey},
	{name: "skey", kind: kindText, origin: duoUnix, doc: hostDoc, set: (*parser).setSKey},
	{name: "host", kind: kindText, origin: duoUnix, doc: hostDoc, set: (*parser).setHost},
	{name: "cafile", kind: kindPath, origin: duoUnix,
		doc: "Duo's built-in roots; an absolute path to a PEM bundle", set: (*parser).setCAFile},
	{name: "http_proxy", kind: kindText, origin: duoUnix,
		doc: "none; http://[user:pass@]host:port or host:port", set: (*parser).setHTTPProxy},
	{name: "groups", kind: kindPatterns, origin: duoUnix, doc: "pattern lists (see GroupsMatch); default: every user"},
	{name: "group", kind: kindPatterns, origin: duoUnix, doc: "pattern lists (see GroupsMatch); default: every user"},
	{name: "failmode", kind: kindChoice, origin: duoUnix, def: FailSafe,
		doc:  "safe (default) or secure, in any case",
		init: func(c *Config) { c.Failmode = FailSafe }, set: (*parser).setFailmode},
	{name: "pushinfo", kind: kindBool, origin: duoUnix, def: "no",
		doc: "no; send the command (sudo) with the push", set: boolSetter(func(c *Config) *bool { return &c.PushInfo })},
	{name: "noverify", kind: kindIgnored, origin: duoUnix, doc: "accepted with a warning; no effect (TLS is always verified)",
		set: (*parser).setNoverify},
	{name: "prompts", kind: kindNumber, origin: duoUnix, def: "3",
		doc:  "3; lower than 1 is raised to 1, over 3 lowered to 3 (warning)",
		init: func(c *Config) { c.Prompts = DefaultPrompts }, set: (*parser).setPrompts},
	{name: "autopush", kind: kindBool, origin: duoUnix, def: "no",
		doc: "no", set: boolSetter(func(c *Config) *bool { return &c.AutoPush })},
	{name: "accept_env_factor", kind: kindBool, origin: duoUnix, def: "no",
		doc: "no; login_duo_go reads $DUO_PASSCODE", set: boolSetter(func(c *Config) *bool { return &c.AcceptEnvFactor })},
	{name: "fallback_local_ip", kind: kindBool, origin: duoUnix, def: "no",
		doc: "no", set: boolSetter(func(c *Config) *bool { return &c.FallbackLocalIP })},
	{name: "https_timeout", kind: kindNumber, origin: duoUnix, def: "15",
		doc:  "15 seconds; 0 or less means the default, over 300 is lowered to 300 (warning)",
		init: func(c *Config) { c.HTTPSTimeout = DefaultHTTPSTimeout }, set: (*parser).setHTTPSTimeout},
	{name: "send_gecos", kind: kindBool, origin: duoUnix, def: "no",
		doc: "no; send the whole GECOS field as the Duo username", set: boolSetter(func(c *Config) *bool { return &c.SendGecos })},
	{name: "gecos_parsed", kind: kindIgnored, origin: deprecated, doc: "accepted with a warning; no effect",
		set: func(p *parser, e entry, _ string) {
			p.warn(e.line, "gecos_parsed is deprecated and has no effect (as in current duo_unix); use gecos_delim and gecos_username_pos")
		}},
	{name: "gecos_delim", kind: kindChoice, origin: duoUnix, def: DefaultGecosDelim,
		doc:  `","; one punctuation character other than ":"`,
		init: func(c *Config) { c.GecosDelim = DefaultGecosDelim }, set: (*parser).setGecosDelim},
	{name: "gecos_username_pos", kind: kindNumber, origin: duoUnix,
		doc:  "none; send this field (from 1) of the GECOS split at gecos_delim",
		init: func(c *Config) { c.GecosUsernamePos = DefaultGecosUserPos }, set: (*parser).setGecosUsernamePos},
	{name: "verified_push", kind: kindBool, origin: duoUnix, def: "no",
		doc: "no; cannot be combined with autopush", set: boolSetter(func(c *Config) *bool { return &c.VerifiedPush })},
	{name: "dev_fips_mode", kind: kindIgnored, origin: duoUnix, doc: "accepted with a warning; no effect",
		set: func(p *parser, e entry, _ string) {
			p.warn(e.line, "dev_fips_mode has no effect in pam_duo_go (duo_unix built without FIPS refused every login when it was on)")
		}},
	{name: "motd", kind: kindBool, origin: loginDuo, def: "no",
		doc: "no; login_duo_go shows /etc/motd", set: boolSetter(func(c *Config) *bool { return &c.Motd })},
	{name: "min_tls", kind: kindChoice, origin: newerDuoUnix,
		doc: "1.2; the lowest TLS version: 1.2 or 1.3 (1.0 and 1.1 mean 1.2, with a warning)", set: (*parser).setMinTLS},
	{name: "disable_ca_pinning", kind: kindBool, origin: newerDuoUnix, def: "no",
		doc: "no; trust the system's certificate store instead of Duo's roots (cafile still wins)",
		set: boolSetter(func(c *Config) *bool { return &c.SystemRoots })},
	{name: "push_type", kind: kindText, origin: ownKey,
		doc: "Duo's default; the text of the push notification (at most 256 bytes)", set: (*parser).setPushType},
	{name: "display_username", kind: kindText, origin: ownKey,
		doc: "none; the name Duo Mobile shows instead of the Duo username (at most 256 bytes)", set: (*parser).setDisplayUsername},
	{name: "remember", kind: kindDuration, origin: ownKey, def: "off",
		doc: "off; a duration (900, 15m, 8h; at most 12h): remembered approvals", set: (*parser).setRemember},
	{name: "enroll_qr", kind: kindChoice, origin: ownKey, def: "yes",
		doc:  "yes; also show the enrollment URL as a QR code (yes = for dark backgrounds, light, no)",
		init: func(c *Config) { c.EnrollQR = QRDark }, set: (*parser).setEnrollQR},
	{name: "metrics_file", kind: kindPath, origin: ownKey,
		doc: "none; a .prom file for node_exporter's textfile collector", set: (*parser).setMetricsFile},
}

// hostDoc is the doc line of the three required keys.
const hostDoc = "required; host is a name or IP address with an optional :port"

// lookupKey returns the spec of a known key.
func lookupKey(name string) (*keySpec, bool) {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i], true
		}
	}
	return nil, false
}

// defaults is a Config holding every default.
func defaults(file string) *Config {
	c := &Config{File: file}
	for _, k := range keys {
		if k.init != nil {
			k.init(c)
		}
	}
	return c
}

// boolSetter returns the setter of a boolean key stored in field.
func boolSetter(field func(*Config) *bool) func(p *parser, e entry, value string) {
	return func(p *parser, e entry, value string) {
		b, ok := parseBool(value)
		if !ok {
			p.invalid(e, value, "want yes or no")
			return
		}
		*field(p.cfg) = b
	}
}

// The lengths of Duo's keys. Another length is accepted (Duo decides) with
// a warning, which login_duo_go check prints.
const (
	ikeyLen = 20
	skeyLen = 40
)

// maxPushText bounds push_type and display_username, which Duo Mobile shows.
const maxPushText = 256

func (p *parser) setIKey(e entry, value string) {
	if p.checkKeyText(e, value, true) {
		p.cfg.IKey = value
		if value != "" && len(value) != ikeyLen {
			p.warn(e.line, fmt.Sprintf("ikey is %d characters long; Duo integration keys have %d: check for a copy-and-paste slip", len(value), ikeyLen))
		}
	}
}

func (p *parser) setSKey(e entry, value string) {
	if p.checkKeyText(e, value, false) {
		p.cfg.SKey = value
		if value != "" && len(value) != skeyLen && !isPlaceholder("skey", value) {
			p.warn(e.line, fmt.Sprintf("skey is %d characters long; Duo secret keys have %d: check for a copy-and-paste slip (value not shown)", len(value), skeyLen))
		}
	}
}

func (p *parser) setHost(e entry, value string) {
	if value == "" {
		p.cfg.Host = ""
	} else if msg := checkHost(value); msg != "" {
		p.invalid(e, value, msg)
	} else {
		p.cfg.Host = value
	}
}

func (p *parser) setFailmode(e entry, value string) {
	switch strings.ToLower(value) {
	case FailSafe:
		p.cfg.Failmode = FailSafe
	case FailSecure:
		p.cfg.Failmode = FailSecure
	default:
		p.invalid(e, value, "want safe or secure")
	}
}

func (p *parser) setCAFile(e entry, value string) {
	switch {
	case value == "":
		p.cfg.CAFile = ""
		p.warn(e.line, "cafile is empty: duo_unix turned TLS certificate checks off for an empty cafile; pam_duo_go keeps them on and trusts Duo's built-in roots")
	case !filepath.IsAbs(value):
		p.invalid(e, value, "want an absolute path")
	default:
		p.cfg.CAFile = filepath.Clean(value)
	}
}

func (p *parser) setHTTPProxy(e entry, value string) {
	if msg := checkProxy(value); msg != "" {
		p.fail(e.line, e.key, ErrInvalidValue, "http_proxy: "+msg)
	} else {
		p.cfg.HTTPProxy = value
	}
}

func (p *parser) setPushType(e entry, value string) {
	if p.checkPushText(e, value) {
		p.cfg.PushType = value
	}
}

func (p *parser) setDisplayUsername(e entry, value string) {
	if p.checkPushText(e, value) {
		p.cfg.DisplayUsername = value
	}
}

// checkPushText checks text Duo Mobile shows (push_type,
// display_username).
func (p *parser) checkPushText(e entry, value string) bool {
	switch {
	case len(value) > maxPushText:
		p.invalid(e, value, fmt.Sprintf("want at most %d bytes", maxPushText))
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		p.invalid(e, value, "control characters are not allowed")
	default:
		return true
	}
	return false
}

func (p *parser) setMetricsFile(e entry, value string) {
	switch {
	case value == "":
		p.cfg.MetricsFile = ""
	case !filepath.IsAbs(value) || !strings.HasSuffix(value, ".prom"):
		p.invalid(e, value, "want an absolute path ending in .prom (node_exporter's textfile collector reads only those)")
	default:
		p.cfg.MetricsFile = filepath.Clean(value)
	}
}

func (p *parser) setGecosDelim(e entry, value string) {
	if len(value) != 1 || !isPunct(value[0]) || value == ":" {
		p.invalid(e, value, `want one punctuation character other than ":"`)
	} else {
		p.cfg.GecosDelim = value
	}
}

func (p *parser) setGecosUsernamePos(e entry, value string) {
	n, err := strconv.Atoi(value)
	switch {
	case err != nil:
		p.invalid(e, value, "want a whole number, 1 for the first field")
	case n < 1:
		p.invalid(e, value, "positions start at 1")
	default:
		p.cfg.GecosUsernamePos = n
		p.cfg.GecosUsernamePosSet = true
	}
}

func (p *parser) setNoverify(e entry, value string) {
	if b, ok := parseBool(value); ok && !b {
		p.warn(e.line, "noverify has no effect: pam_duo_go always verifies Duo's TLS certificate")
	} else {
		p.warn(e.line, "noverify is ignored: pam_duo_go always verifies Duo's TLS certificate")
	}
}

func (p *parser) setEnrollQR(e entry, value string) {
	switch v := strings.ToLower(value); {
	case v == QRDark || v == QRLight:
		p.cfg.EnrollQR = v
	default:
		if b, ok := parseBool(value); ok {
			p.cfg.EnrollQR = map[bool]string{true: QRDark, false: QROff}[b]
		} else {
			p.invalid(e, value, "want yes (dark), light or no")
		}
	}
}

// tlsVersions are min_tls's values, as newer duo_unix reads them.
var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

// setMinTLS reads min_tls: 1.0 to 1.3 (also written TLSv1.2); below 1.2,
// the client's floor, it keeps 1.2 and warns.
func (p *parser) setMinTLS(e entry, value string) {
	v := strings.TrimPrefix(strings.ToLower(value), "tlsv")
	n, ok := tlsVersions[v]
	if !ok {
		p.invalid(e, value, "want 1.0, 1.1, 1.2 or 1.3")
		return
	}
	if n < tls.VersionTLS12 {
		p.warn(e.line, fmt.Sprintf("min_tls = %s is below pam_duo_go's floor: TLS 1.2 is used at least", value))
		n = tls.VersionTLS12
	}
	p.cfg.MinTLS = n
}

// setRemember reads remember: off (0, no, off, false) or a duration, whole
// seconds or a number with the unit s, m or h ("900", "15m", "8h"), at
// most MaxRemember (longer is lowered to it, with a warning).
func (p *parser) setRemember(e entry, value string) {
	if b, ok := parseBool(value); ok && !b {
		p.cfg.Remember = 0
		return
	}
	d, ok := parseDuration(value)
	switch {
	case !ok:
		p.invalid(e, value, "want off or a duration such as 900, 15m or 8h")
	case d > MaxRemember:
		p.cfg.Remember = MaxRemember
		p.warn(e.line, fmt.Sprintf("remember = %s is lowered to %v, the longest allowed", value, MaxRemember))
	default:
		p.cfg.Remember = d
	}
}

// setHTTPSTimeout reads https_timeout: whole seconds. duo_unix read 0 or
// less as "no timeout"; pam_duo_go always bounds requests, so those mean
// DefaultHTTPSTimeout (with a warning).
func (p *parser) setHTTPSTimeout(e entry, value string) {
	n, err := strconv.Atoi(value)
	switch {
	case err != nil:
		p.invalid(e, value, "want a whole number of seconds")
	case n <= 0:
		p.cfg.HTTPSTimeout = DefaultHTTPSTimeout
		p.warn(e.line, fmt.Sprintf("https_timeout = %d: duo_unix read 0 or less as no timeout; pam_duo_go uses the default, %v", n, DefaultHTTPSTimeout))
	case int64(n) > int64(MaxHTTPSTimeout/time.Second):
		p.cfg.HTTPSTimeout = MaxHTTPSTimeout
		p.warn(e.line, fmt.Sprintf("https_timeout = %d is lowered to %v", n, MaxHTTPSTimeout))
	default:
		p.cfg.HTTPSTimeout = time.Duration(n) * time.Second
	}
}

// setPrompts reads prompts, clamped into 1..3 like duo_unix (with a
// warning).
func (p *parser) setPrompts(e entry, value string) {
	n, err := strconv.Atoi(value)
	switch {
	case err != nil:
		p.invalid(e, value, "want 1, 2 or 3")
	case n < 1:
		p.cfg.Prompts = 1
		p.warn(e.line, fmt.Sprintf("prompts = %d is raised to 1", n))
	case n > MaxPrompts:
		p.cfg.Prompts = MaxPrompts
		p.warn(e.line, fmt.Sprintf("prompts = %d is lowered to %d, the most duo_unix allows", n, MaxPrompts))
	default:
		p.cfg.Prompts = n
	}
}
