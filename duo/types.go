package duo

// Preauth results.
const (
	ResultAuth   = "auth"   // the user must complete a second factor
	ResultAllow  = "allow"  // the user is allowed without a second factor (bypass)
	ResultDeny   = "deny"   // the user is denied
	ResultEnroll = "enroll" // the user is not enrolled; see EnrollPortalURL
)

// Auth and auth_status results.
const (
	ResultWaiting = "waiting" // auth_status: still pending
)

// Factors accepted by /auth/v2/auth.
const (
	FactorAuto     = "auto"
	FactorPush     = "push"
	FactorPasscode = "passcode"
	FactorSMS      = "sms"
	FactorPhone    = "phone"
	// FactorPrompt is the Unix-integration factor: Prompt names a key of
	// the preauth prompt's factor map (e.g. "push1", "verified_push1").
	FactorPrompt = "prompt"
)

// Device capabilities.
const (
	CapAuto      = "auto"
	CapPush      = "push"
	CapSMS       = "sms"
	CapPhone     = "phone"
	CapMobileOTP = "mobile_otp"
)

// MaxPushInfoLen is the bound Duo puts on the URL-encoded pushinfo string.
const MaxPushInfoLen = 20000

// Device is one of a user's devices in a preauth response.
type Device struct {
	Device       string   `json:"device"`
	Type         string   `json:"type"` // "phone" or "token"
	DisplayName  string   `json:"display_name,omitempty"`
	Name         string   `json:"name,omitempty"`
	Number       string   `json:"number,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	SMSNextcode  string   `json:"sms_nextcode,omitempty"`
}

// Can reports whether the device has capability c.
func (d Device) Can(c string) bool {
	for _, x := range d.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// Prompt is the Unix-integration ready-made menu returned by preauth when
// the request carried text_prompt=1: Text is shown as is, and an answer is
// mapped through Factors ("default" for an empty answer; anything not in
// the map is a passcode).
type Prompt struct {
	Text    string            `json:"text"`
	Factors map[string]string `json:"factors"`
}

// PreauthRequest holds the parameters of /auth/v2/preauth. Exactly one of
// UserID and Username must be set.
type PreauthRequest struct {
	UserID                     string
	Username                   string
	IPAddr                     string
	Hostname                   string
	TrustedDeviceToken         string
	ClientSupportsVerifiedPush bool
	// TextPrompt asks for the Unix-integration menu (text_prompt=1).
	TextPrompt bool
	// Failmode is sent as failmode=open or failmode=closed ("" omits it);
	// any other value is an error.
	Failmode string
}

// PreauthResponse is the response of /auth/v2/preauth.
type PreauthResponse struct {
	Result          string   `json:"result"`
	StatusMsg       string   `json:"status_msg"`
	Devices         []Device `json:"devices,omitempty"`
	EnrollPortalURL string   `json:"enroll_portal_url,omitempty"`
	Prompt          *Prompt  `json:"prompt,omitempty"`
	// Verified Push: the code to show the user and the txid to pass to auth.
	TxID             string `json:"txid,omitempty"`
	VerificationCode string `json:"verification_code,omitempty"`
	Expiration       int64  `json:"expiration,omitempty"`
}

// AuthRequest holds the parameters of /auth/v2/auth. Exactly one of UserID
// and Username must be set.
type AuthRequest struct {
	UserID   string
	Username string
	Factor   string
	Device   string // device id or "auto"
	// Push-only parameters.
	Type            string // notification text
	DisplayUsername string
	PushInfo        string // URL-encoded k=v pairs, under MaxPushInfoLen bytes
	// Passcode for FactorPasscode.
	Passcode string
	// Prompt is the factor key for FactorPrompt.
	Prompt   string
	Async    bool
	TxID     string // Verified Push txid from preauth
	IPAddr   string
	Hostname string
}

// AuthResponse is the response of /auth/v2/auth: TxID alone when Async,
// else the final result.
type AuthResponse struct {
	TxID               string `json:"txid,omitempty"`
	Result             string `json:"result,omitempty"`
	Status             string `json:"status,omitempty"`
	StatusMsg          string `json:"status_msg,omitempty"`
	TrustedDeviceToken string `json:"trusted_device_token,omitempty"`
}

// AuthStatusResponse is the response of /auth/v2/auth_status.
type AuthStatusResponse struct {
	Result             string `json:"result"`
	Status             string `json:"status"`
	StatusMsg          string `json:"status_msg"`
	TrustedDeviceToken string `json:"trusted_device_token,omitempty"`
}

// TimeResponse is the response of /auth/v2/ping and /auth/v2/check:
// the server's clock in Unix seconds.
type TimeResponse struct {
	Time int64 `json:"time"`
}

// EnrollRequest holds the parameters of /auth/v2/enroll (all optional).
type EnrollRequest struct {
	Username  string
	ValidSecs int
}

// EnrollResponse is the response of /auth/v2/enroll.
type EnrollResponse struct {
	ActivationBarcode string `json:"activation_barcode"`
	ActivationCode    string `json:"activation_code"`
	ActivationURL     string `json:"activation_url"`
	Expiration        int64  `json:"expiration"`
	UserID            string `json:"user_id"`
	Username          string `json:"username"`
}

// Enroll status values returned by /auth/v2/enroll_status.
const (
	EnrollSuccess = "success"
	EnrollWaiting = "waiting"
	EnrollInvalid = "invalid"
)
