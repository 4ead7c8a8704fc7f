package duotest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// user finds the request's user; nil and an answer sent when it is bad.
func (s *Server) user(w http.ResponseWriter, p url.Values) (*User, string, bool) {
	name, id := p.Get("username"), p.Get("user_id")
	if (name == "") == (id == "") {
		s.badParam(w, "exactly one of username and user_id is required")
		return nil, "", false
	}
	if name == "" {
		name = id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[name], name, true
}

// preauth answers /auth/v2/preauth: enroll for an unknown user, allow
// for a remembered device, else the user's scripted result.
func (s *Server) preauth(w http.ResponseWriter, _ *http.Request, p url.Values) {
	u, name, ok := s.user(w, p)
	if !ok {
		return
	}
	if u == nil {
		s.ok(w, duo.PreauthResponse{
			Result:          duo.ResultEnroll,
			StatusMsg:       "Enroll an authentication device to proceed",
			EnrollPortalURL: "https://" + s.Host + "/portal?code=" + randomHex(8),
		})
		return
	}
	if tdt := p.Get("trusted_device_token"); tdt != "" && tdt == u.TrustedDeviceToken && u.Preauth != duo.ResultDeny && !u.LockedOut {
		// Remembered Devices: allow for the token's lifetime.
		s.ok(w, duo.PreauthResponse{Result: duo.ResultAllow, StatusMsg: "Remembered device"})
		return
	}
	switch u.Preauth {
	case duo.ResultAllow, duo.ResultDeny, duo.ResultEnroll:
		s.preauthDecided(w, u)
	default:
		s.preauthAuth(w, p, u, name)
	}
}

// preauthDecided answers a user scripted to allow, deny or enroll, with
// the scripted status_msg, a default one, or none (OmitStatusMsg).
func (s *Server) preauthDecided(w http.ResponseWriter, u *User) {
	resp := duo.PreauthResponse{Result: u.Preauth, StatusMsg: u.StatusMsg}
	if u.Preauth == duo.ResultEnroll {
		resp.EnrollPortalURL = "https://" + s.Host + "/portal?code=" + randomHex(8)
	}
	if resp.StatusMsg == "" && !u.OmitStatusMsg {
		resp.StatusMsg = map[string]string{
			duo.ResultAllow: "Allowing unknown user", duo.ResultDeny: "Login denied by policy",
			duo.ResultEnroll: "Enroll an authentication device to proceed",
		}[u.Preauth]
	}
	if u.OmitStatusMsg {
		bare := map[string]any{"result": resp.Result}
		if resp.EnrollPortalURL != "" {
			bare["enroll_portal_url"] = resp.EnrollPortalURL
		}
		s.ok(w, bare)
		return
	}
	s.ok(w, resp)
}

// preauthAuth answers "auth" with the user's devices, a Verified Push
// txid when the user is under that policy and the client supports it, and
// the menu when the client asks for text_prompt.
func (s *Server) preauthAuth(w http.ResponseWriter, p url.Values, u *User, name string) {
	resp := duo.PreauthResponse{Result: duo.ResultAuth, StatusMsg: "Account is active", Devices: u.devices()}
	verified := u.VerifiedPushCode != "" && p.Get("client_supports_verified_push") == "1"
	if verified {
		txid := "vp-" + randomHex(8)
		s.mu.Lock()
		s.vpTxids[txid] = name
		s.mu.Unlock()
		resp.TxID = txid
		if u.SendVerificationCode {
			resp.VerificationCode = u.VerifiedPushCode
		}
		resp.Expiration = s.now().Add(60 * time.Second).Unix()
	}
	if p.Get("text_prompt") == "1" {
		resp.Prompt = textPrompt(name, u.devices(), verified)
		if u.NoDevicesInPrompt {
			resp.Devices = nil
		}
	}
	s.ok(w, resp)
}

// textPrompt builds the Unix-integration menu the way Duo's service does.
func textPrompt(name string, devices []duo.Device, verified bool) *duo.Prompt {
	var lines []string
	factors := map[string]string{}
	push := "push"
	if verified {
		push = "verified_push"
	}
	for i, d := range devices {
		label := d.DisplayName
		if label == "" {
			label = d.Number
		}
		n := strconv.Itoa(i + 1)
		add := func(key, text string) {
			opt := strconv.Itoa(len(lines) + 1)
			lines = append(lines, fmt.Sprintf(" %s. %s", opt, text))
			factors[opt] = key
			if _, ok := factors["default"]; !ok {
				factors["default"] = key
			}
		}
		if d.Can(duo.CapPush) {
			add(push+n, "Duo Push to "+label)
		}
		if d.Can(duo.CapPhone) {
			add("phone"+n, "Phone call to "+label)
		}
		if d.Can(duo.CapSMS) {
			add("sms"+n, "SMS passcodes to "+label)
		}
	}
	text := fmt.Sprintf("Duo two-factor login for %s\n\nEnter a passcode or select one of the following options:\n\n%s\n\nPasscode or option (1-%d): ",
		name, strings.Join(lines, "\n"), len(lines))
	return &duo.Prompt{Text: text, Factors: factors}
}
