package duotest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// transaction is a pending async auth, polled with auth_status.
type transaction struct {
	steps []Step
	next  int
	token string // trusted_device_token of a final allow
}

// auth answers /auth/v2/auth: a passcode or an SMS at once, a push or a
// phone call with the user's scripted steps.
func (s *Server) auth(w http.ResponseWriter, r *http.Request, p url.Values) {
	u, name, ok := s.user(w, p)
	if !ok {
		return
	}
	if u == nil {
		s.fail(w, http.StatusBadRequest, 40002, "Invalid request parameters", "username: no such user")
		return
	}
	// async is 1 or absent (0); Duo's Unix clients send async=1 for every
	// factor, passcodes too, and then poll auth_status.
	if a := p.Get("async"); a != "" && a != "0" && a != "1" {
		s.badParam(w, "async")
		return
	}
	c := &authCall{s: s, w: w, r: r, p: p, u: u, name: name, async: p.Get("async") == "1"}
	factor, device, passcode, ok := c.factor()
	if !ok {
		return
	}
	if u.LockedOut {
		c.final(duo.AuthResponse{Result: duo.ResultDeny, Status: "locked_out", StatusMsg: "Your account is locked out."})
		return
	}
	switch factor {
	case duo.FactorPasscode:
		c.passcode(passcode)
	case duo.FactorSMS:
		if _, ok := pickDevice(u.devices(), device, duo.CapSMS); !ok {
			s.badParam(w, "device")
			return
		}
		c.final(duo.AuthResponse{Result: duo.ResultDeny, Status: "sent", StatusMsg: "New SMS passcodes sent."})
	case duo.FactorAuto:
		factor = duo.FactorPush
		if _, ok := pickDevice(u.devices(), device, duo.CapPush); !ok {
			factor = duo.FactorPhone
		}
		c.outOfBand(factor, device)
	case duo.FactorPush, duo.FactorPhone:
		c.outOfBand(factor, device)
	default:
		s.badParam(w, "factor")
	}
}

// authCall is one auth request of a known user being answered.
type authCall struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	p     url.Values
	u     *User
	name  string
	async bool
}

// factor reads the request's factor, device and passcode; the prompt
// factor becomes the menu entry's factor and device, or a passcode. false
// when the request was bad and has been answered.
func (c *authCall) factor() (factor, device, passcode string, ok bool) {
	factor, device, passcode = c.p.Get("factor"), c.p.Get("device"), c.p.Get("passcode")
	if factor != duo.FactorPrompt {
		return factor, device, passcode, true
	}
	key := c.p.Get("prompt")
	if key == "" {
		c.s.badParam(c.w, "prompt")
		return "", "", "", false
	}
	if factor, device, ok = promptFactor(key, c.u.devices()); !ok {
		// Not a factor key of the menu: a typed passcode, which is
		// how duo_unix sends every answer it cannot map.
		factor, passcode = duo.FactorPasscode, key
	}
	return factor, device, passcode, true
}

// final answers a factor that ends at once, synchronously or, with
// async=1, as a transaction of one step.
func (c *authCall) final(resp duo.AuthResponse) {
	if c.async {
		c.s.ok(c.w, duo.AuthResponse{TxID: c.s.newTransaction([]Step{{Status: resp.Status, StatusMsg: resp.StatusMsg, Result: resp.Result}}, resp.TrustedDeviceToken)})
		return
	}
	c.s.ok(c.w, resp)
}

// passcode answers a typed passcode: allow for one of the user's, else deny.
func (c *authCall) passcode(passcode string) {
	if passcode == "" {
		c.s.badParam(c.w, "passcode")
		return
	}
	for _, code := range c.u.Passcodes {
		if code == passcode {
			c.final(duo.AuthResponse{Result: duo.ResultAllow, Status: "allow", StatusMsg: "Success. Logging you in...", TrustedDeviceToken: c.u.TrustedDeviceToken})
			return
		}
	}
	c.final(duo.AuthResponse{Result: duo.ResultDeny, Status: "deny", StatusMsg: "Incorrect passcode. Please try again."})
}

// outOfBand answers a push or a phone call: with async=1 a transaction of
// the user's steps to poll with auth_status, otherwise the last step once
// every step's delay has passed.
func (c *authCall) outOfBand(factor, device string) {
	steps, ok := c.steps(factor, device)
	if !ok {
		return
	}
	if c.async {
		c.s.ok(c.w, duo.AuthResponse{TxID: c.s.newTransaction(steps, c.u.TrustedDeviceToken)})
		return
	}
	var last Step
	for _, st := range steps {
		c.s.pause(c.r, st.Delay)
		last = st
	}
	resp := duo.AuthResponse{Result: last.Result, Status: last.Status, StatusMsg: last.StatusMsg}
	if resp.Result == duo.ResultAllow {
		resp.TrustedDeviceToken = c.u.TrustedDeviceToken
	}
	c.s.ok(c.w, resp)
}

// steps returns the auth_status answers of a push or a phone call, with a
// Verified Push's code first. false when the request has been answered
// instead: no device for the factor, or a Verified Push without the txid
// of the user's preauth.
func (c *authCall) steps(factor, device string) ([]Step, bool) {
	steps, capability := c.u.Push, duo.CapPush
	if len(steps) == 0 {
		steps = PushApproved()
	}
	if factor == duo.FactorPhone {
		steps, capability = c.u.Phone, duo.CapPhone
		if len(steps) == 0 {
			steps = phoneAnswered()
		}
	}
	if _, ok := pickDevice(c.u.devices(), device, capability); !ok {
		c.s.badParam(c.w, "device")
		return nil, false
	}
	if factor != duo.FactorPush || c.u.VerifiedPushCode == "" {
		return steps, true
	}
	txid := c.p.Get("txid")
	c.s.mu.Lock()
	owner := c.s.vpTxids[txid]
	delete(c.s.vpTxids, txid) // good for one push, as at Duo
	c.s.mu.Unlock()
	if owner != c.name {
		c.final(duo.AuthResponse{Result: duo.ResultDeny, Status: "deny", StatusMsg: "Verified Duo Push is required."})
		return nil, false
	}
	// Duo sends the code in the push's first status message, not in
	// preauth: that is the only place Duo's Unix clients read it.
	return append([]Step{{Status: "pushed", Result: duo.ResultWaiting,
		StatusMsg: "Please enter verification code " + c.u.VerifiedPushCode + " into Duo Mobile..."}}, steps...), true
}

// newTransaction records a pending async auth and returns its txid; a
// final allow carries token (Remembered Devices), when set.
func (s *Server) newTransaction(steps []Step, token string) string {
	txid := randomHex(16)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txs[txid] = &transaction{steps: steps, token: token}
	return txid
}

// promptFactor maps a Unix-integration factor key ("push1", "phone2",
// "sms1", "verified_push1") to a factor and device id.
func promptFactor(key string, devices []duo.Device) (factor, device string, ok bool) {
	for _, f := range []struct{ prefix, factor string }{
		{"verified_push", duo.FactorPush}, {"push", duo.FactorPush},
		{"phone", duo.FactorPhone}, {"sms", duo.FactorSMS},
	} {
		rest, found := strings.CutPrefix(key, f.prefix)
		if !found {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > len(devices) {
			return "", "", false
		}
		return f.factor, devices[n-1].Device, true
	}
	return "", "", false
}

// pickDevice returns the device id names ("" or "auto": the first) if it
// has the capability.
func pickDevice(devices []duo.Device, id, capability string) (duo.Device, bool) {
	for _, d := range devices {
		if (id == "" || id == "auto" || id == d.Device) && d.Can(capability) {
			return d, true
		}
	}
	return duo.Device{}, false
}

// authStatus answers /auth/v2/auth_status with the transaction's next
// step (its last one, again and again, once they are all given).
func (s *Server) authStatus(w http.ResponseWriter, r *http.Request, p url.Values) {
	txid := p.Get("txid")
	s.mu.Lock()
	tx := s.txs[txid]
	var st Step
	token := ""
	if tx != nil {
		st = tx.steps[min(tx.next, len(tx.steps)-1)]
		tx.next++
		token = tx.token
	}
	s.mu.Unlock()
	if tx == nil {
		s.badParam(w, "txid")
		return
	}
	s.pause(r, st.Delay)
	resp := duo.AuthStatusResponse{Result: st.Result, Status: st.Status, StatusMsg: st.StatusMsg}
	if st.Result == duo.ResultAllow {
		resp.TrustedDeviceToken = token
	}
	s.ok(w, resp)
}
