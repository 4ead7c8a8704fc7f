package duotest

import (
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// Step is one answer of auth_status for a pending push or phone call.
type Step struct {
	Status    string        // e.g. "pushed", "calling", "answered", "allow", "deny", "timeout", "fraud"
	StatusMsg string        // shown to the user
	Result    string        // "waiting", "allow" or "deny"
	Delay     time.Duration // how long auth_status waits before giving this answer
}

// PushApproved is a push that the user approves.
func PushApproved() []Step {
	return []Step{
		{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: duo.ResultWaiting},
		{Status: "allow", StatusMsg: "Success. Logging you in...", Result: duo.ResultAllow, Delay: 50 * time.Millisecond},
	}
}

// PushDenied is a push that the user denies.
func PushDenied() []Step {
	return []Step{
		{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: duo.ResultWaiting},
		{Status: "deny", StatusMsg: "Login request denied.", Result: duo.ResultDeny, Delay: 50 * time.Millisecond},
	}
}

// PushTimeout is a push that nobody answers before Duo gives up.
func PushTimeout() []Step {
	return []Step{
		{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: duo.ResultWaiting},
		{Status: "timeout", StatusMsg: "Login timed out.", Result: duo.ResultDeny, Delay: 50 * time.Millisecond},
	}
}

// PushFraud is a push the user reports as fraudulent.
func PushFraud() []Step {
	return []Step{
		{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: duo.ResultWaiting},
		{Status: "fraud", StatusMsg: "Your request was marked fraudulent.", Result: duo.ResultDeny, Delay: 50 * time.Millisecond},
	}
}

// phoneAnswered is a phone call the user answers and approves.
func phoneAnswered() []Step {
	return []Step{
		{Status: "calling", StatusMsg: "Dialing XXX-XXX-0100...", Result: duo.ResultWaiting},
		{Status: "answered", StatusMsg: "Answered. Press any key on your phone to log in.", Result: duo.ResultWaiting, Delay: 20 * time.Millisecond},
		{Status: "allow", StatusMsg: "Success. Logging you in...", Result: duo.ResultAllow, Delay: 20 * time.Millisecond},
	}
}

// DefaultPhone is the device a User gets when Devices is nil (a phone
// with every capability), for tests that script a variant of it.
var DefaultPhone = duo.Device{
	Device:       "DPFZRS9FB0D46QFTM891",
	Type:         "phone",
	DisplayName:  "iOS (XXX-XXX-0100)",
	Number:       "XXX-XXX-0100",
	Capabilities: []string{duo.CapAuto, duo.CapPush, duo.CapSMS, duo.CapPhone, duo.CapMobileOTP},
}

// User scripts what Duo answers for one username.
type User struct {
	Name      string
	Preauth   string // "auth" (default), "allow", "deny" or "enroll"
	StatusMsg string // preauth status_msg
	// OmitStatusMsg leaves status_msg out of an allow, deny or enroll
	// preauth answer: a malformed answer to Duo's Unix clients.
	OmitStatusMsg bool
	Devices       []duo.Device
	Passcodes     []string // accepted passcodes
	Push          []Step   // auth_status sequence of a push (default PushApproved)
	Phone         []Step   // auth_status sequence of a phone call (default phoneAnswered)

	// VerifiedPushCode, when set, puts the user under a Verified Push
	// policy: a preauth with client_supports_verified_push=1 returns a
	// txid, and a push is denied unless auth carries that txid; each txid
	// is good for one push. As at Duo, the code reaches the user in the
	// push's first status message ("Please enter verification code 417
	// into Duo Mobile...").
	VerifiedPushCode string
	// SendVerificationCode also puts the code in preauth's
	// verification_code field, which Duo's service does not send.
	SendVerificationCode bool
	// LockedOut makes every auth a deny with status locked_out.
	LockedOut bool
	// NoDevicesInPrompt leaves devices out of a text_prompt preauth
	// response, as Duo's Unix integration may.
	NoDevicesInPrompt bool
	// TrustedDeviceToken puts the user under a Remembered Devices
	// policy: every allow of auth (synchronous, or the final auth_status
	// of an async auth) carries this trusted_device_token, and a preauth
	// that sends it answers allow ("Remembered device"), as Duo does for
	// the token's lifetime. Change it (AddUser again) to expire the token.
	TrustedDeviceToken string
}

func (u *User) devices() []duo.Device {
	if u.Devices == nil {
		return []duo.Device{DefaultPhone}
	}
	return u.Devices
}

// AddUser adds or replaces a scripted user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Name] = &u
}
