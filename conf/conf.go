// Package conf loads and validates pam_duo_go's configuration: duo_unix's
// ini format (/etc/duo/pam_duo.conf, /etc/duo/login_duo.conf) with the same
// keys, defaults and meanings, and the PAM module's arguments.
//
// Keys (section names do not matter; keys are case sensitive, as in
// duo_unix; values are trimmed; booleans are yes/true/on/1 or
// no/false/off/0 in any case, anything else is an error):
//
//	ikey, skey, host    required; host is a name or IP address with an optional :port
//	failmode            safe (default) or secure, in any case
//	groups, group       pattern lists (see GroupsMatch); default: every user
//	pushinfo            no; send the command (sudo) with the push
//	http_proxy          none; http://[user:pass@]host:port or host:port
//	https_timeout       15 seconds; 0 or less means the default, over 300 is lowered to 300 (warning)
//	cafile              Duo's built-in roots; an absolute path to a PEM bundle
//	autopush            no
//	prompts             3; lower than 1 is raised to 1, over 3 lowered to 3 (warning)
//	accept_env_factor   no; login_duo_go reads $DUO_PASSCODE
//	fallback_local_ip   no
//	send_gecos          no; send the whole GECOS field as the Duo username
//	gecos_delim         ","; one punctuation character other than ":"
//	gecos_username_pos  none; send this field (from 1) of the GECOS split at gecos_delim
//	motd                no; login_duo_go shows /etc/motd
//	verified_push       no; cannot be combined with autopush
//	remember            off; a duration (900, 15m, 8h; at most 12h): remembered approvals
//	enroll_qr           yes; also show the enrollment URL as a QR code (yes = for dark backgrounds, light, no)
//	metrics_file        none; a .prom file for node_exporter's textfile collector (pam_duo_go's own)
//	noverify, gecos_parsed, dev_fips_mode
//	                    accepted with a warning; no effect
//
// A key given more than once takes its last value (with a warning), as in
// duo_unix; groups and group lines add up. A line indented under a key
// line continues that key's value, which only groups may use. Comments are
// lines starting with ";" or "#", and " ;" ends a value.
//
// Where pam_duo_go departs from duo_unix, it is stricter or safer: a bad
// boolean or number is an error (duo_unix read it as no or 0); the file's
// owner and group/other write access are checked too; https_timeout 0 means
// 15 seconds, not no timeout; an empty cafile and noverify do not turn TLS
// checks off; failmode is case insensitive; the file must be UTF-8 without
// control characters; and the failmode of a refused or broken file still
// applies (duo_unix fell back to safe).
package conf

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Failmode values.
const (
	FailSafe   = "safe"   // allow the login when Duo cannot be reached
	FailSecure = "secure" // deny the login when Duo cannot be reached
)

// enroll_qr values: the terminal background the QR code is drawn for,
// or none.
const (
	QRDark  = "dark"  // yes: light blocks, for dark backgrounds (the default)
	QRLight = "light" // dark blocks, for light backgrounds
	QROff   = "off"   // no QR code
)

// Defaults.
const (
	DefaultPAMConfig    = "/etc/duo/pam_duo.conf"
	DefaultLoginConfig  = "/etc/duo/login_duo.conf"
	DefaultHTTPSTimeout = 15 * time.Second
	DefaultPrompts      = 3
	DefaultGecosDelim   = ","
	DefaultGecosUserPos = 1
	DefaultPushType     = "Login request" // reserved; see Config.PushType
)

// Config is a loaded configuration file.
type Config struct {
	File string // the path it was loaded from

	IKey string
	SKey string // secret: never log it; String and GoString hide it
	Host string // api-XXXXXXXX.duosecurity.com, optionally host:port

	Failmode            string        // FailSafe (default) or FailSecure
	Groups              []string      // pattern lists; empty means every user
	PushInfo            bool          // send the command (SUDO_COMMAND) with the push
	HTTPProxy           string        // proxy URL or host:port
	HTTPSTimeout        time.Duration // per request; DefaultHTTPSTimeout when unset or 0
	CAFile              string        // PEM bundle replacing Duo's embedded roots
	AutoPush            bool
	Prompts             int // 1 to 3, default 3
	AcceptEnvFactor     bool
	FallbackLocalIP     bool
	SendGecos           bool
	GecosDelim          string // one character, default ","
	GecosUsernamePos    int    // 1-based, default 1
	GecosUsernamePosSet bool   // gecos_username_pos was given: use that field, not the whole GECOS
	Motd                bool   // login_duo_go only
	VerifiedPush        bool
	PushType            string // push notification text (auth `type`); "" = Duo's default
	DisplayUsername     string // name shown in Duo Mobile instead of the Duo username; "" = none
	// MinTLS is the lowest TLS version to use with Duo (min_tls, newer
	// duo_unix), a crypto/tls version number; never below TLS 1.2, the
	// client's own floor.
	MinTLS uint16
	// SystemRoots (disable_ca_pinning, newer duo_unix): trust the system's
	// certificate store instead of Duo's pinned roots (cafile still wins).
	SystemRoots bool
	// Remember is how long a second factor approved by Duo lets later
	// logins of the same scope through without one (remember; 0 = off,
	// at most MaxRemember). See the remember package.
	Remember time.Duration
	// EnrollQR is how an unenrolled user's enrollment URL is also shown as
	// a QR code (enroll_qr): QRDark (default), QRLight or QROff.
	EnrollQR string
	// MetricsFile (metrics_file) is the Prometheus text file each login
	// updates (internal/metrics); "" = no metrics.
	MetricsFile string

	// Warnings lists accepted but ignored or deprecated keys, with lines.
	Warnings []string
}

// GecosUsername returns the Duo username to send instead of the Unix user
// name for an account whose GECOS field is gecos, following duo_unix: with
// gecos_username_pos, that field of the GECOS split at gecos_delim (from
// 1); else, with send_gecos, the whole GECOS. ok is false when the Unix
// name should be sent: neither key is set, the GECOS is empty, or the
// field is missing or empty.
func (c *Config) GecosUsername(gecos string) (name string, ok bool) {
	if !c.SendGecos && !c.GecosUsernamePosSet || gecos == "" {
		return "", false
	}
	if !c.GecosUsernamePosSet {
		return gecos, true
	}
	delim, pos := c.GecosDelim, c.GecosUsernamePos
	if delim == "" {
		delim = DefaultGecosDelim
	}
	fields := strings.Split(gecos, delim)
	if pos < 1 || pos > len(fields) || fields[pos-1] == "" {
		return "", false
	}
	return fields[pos-1], true
}

// String formats the Config for debugging, with the skey and any proxy
// password hidden.
func (c Config) String() string { return fmt.Sprintf("%+v", c.safeCopy()) }

// GoString is String for %#v.
func (c Config) GoString() string { return fmt.Sprintf("%#v", c.safeCopy()) }

// plainConfig is Config without methods, so formatting it does not recurse.
type plainConfig Config

func (c Config) safeCopy() plainConfig {
	p := plainConfig(c)
	if p.SKey != "" {
		p.SKey = "<hidden>"
	}
	if strings.Contains(p.HTTPProxy, "@") {
		proxy := p.HTTPProxy
		if !strings.Contains(proxy, "://") {
			proxy = "http://" + proxy
		}
		if u, err := url.Parse(proxy); err == nil && u.User != nil {
			p.HTTPProxy = u.Redacted()
		} else {
			p.HTTPProxy = "<hidden>"
		}
	}
	return p
}
