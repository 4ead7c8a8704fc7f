// Package conf loads and validates pam_duo_go's configuration: duo_unix's
// ini format (/etc/duo/pam_duo.conf, /etc/duo/login_duo.conf) with the same
// keys, defaults and meanings, and the PAM module's arguments.
package conf

import "time"

// Failmode values.
const (
	FailSafe   = "safe"   // allow the login when Duo cannot be reached
	FailSecure = "secure" // deny the login when Duo cannot be reached
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
	SKey string
	Host string // api-XXXXXXXX.duosecurity.com, optionally host:port

	Failmode         string        // FailSafe (default) or FailSecure
	Groups           []string      // pattern lists; empty means every user
	PushInfo         bool          // send the command (SUDO_COMMAND) with the push
	HTTPProxy        string        // proxy URL or host:port
	HTTPSTimeout     time.Duration // per request; DefaultHTTPSTimeout when unset or 0
	CAFile           string        // PEM bundle replacing Duo's embedded roots
	AutoPush         bool
	Prompts          int // 1 to 3, default 3
	AcceptEnvFactor  bool
	FallbackLocalIP  bool
	SendGecos        bool
	GecosDelim       string // one character, default ","
	GecosUsernamePos int    // 1-based, default 1
	Motd             bool   // login_duo_go only
	VerifiedPush     bool
	PushType         string // push notification text (auth `type`); "" = Duo's default
	DisplayUsername  string // name shown in Duo Mobile instead of the Duo username; "" = none

	// Warnings lists accepted but ignored or deprecated keys, with lines.
	Warnings []string
}
