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
