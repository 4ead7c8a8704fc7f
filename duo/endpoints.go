package duo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// setIf adds key=value when value is not empty.
func setIf(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// Ping calls GET /auth/v2/ping (unsigned): Duo is up. It learns the
// server's clock.
func (c *Client) Ping(ctx context.Context) (*TimeResponse, error) {
	return c.timeCall(ctx, endpoint{op: "ping", method: http.MethodGet, path: "/auth/v2/ping", unsigned: true})
}

// Check calls GET /auth/v2/check: the keys and host are valid. It learns
// the server's clock.
func (c *Client) Check(ctx context.Context) (*TimeResponse, error) {
	return c.timeCall(ctx, endpoint{op: "check", method: http.MethodGet, path: "/auth/v2/check"})
}

func (c *Client) timeCall(ctx context.Context, ep endpoint) (*TimeResponse, error) {
	var r TimeResponse
	if err := c.call(ctx, ep, nil, &r); err != nil {
		return nil, err
	}
	if r.Time <= 0 {
		return nil, &ResponseError{Op: ep.op, StatusCode: http.StatusOK, Err: errors.New(`missing "time"`)}
	}
	c.learnServerTime(time.Unix(r.Time, 0), c.now())
	return &r, nil
}

// Logo calls GET /auth/v2/logo and returns the PNG image.
func (c *Client) Logo(ctx context.Context) ([]byte, error) {
	ep := endpoint{op: "logo", method: http.MethodGet, path: "/auth/v2/logo"}
	resp, err := c.roundTrip(ctx, ep, nil)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type"))
	if resp.status == http.StatusOK && strings.HasPrefix(mt, "image/") {
		return resp.body, nil
	}
	var ignored json.RawMessage
	if err := decodeEnvelope(ep.op, resp, &ignored); err != nil {
		return nil, err
	}
	return nil, &ResponseError{Op: ep.op, StatusCode: resp.status, Err: fmt.Errorf("expected an image, got Content-Type %q", truncate(mt, 60))}
}

// Enroll calls POST /auth/v2/enroll.
func (c *Client) Enroll(ctx context.Context, r EnrollRequest) (*EnrollResponse, error) {
	if r.ValidSecs < 0 {
		return nil, fmt.Errorf("duo: enroll: negative valid_secs: %w", ErrInvalidRequest)
	}
	p := url.Values{}
	setIf(p, "username", r.Username)
	if r.ValidSecs > 0 {
		p.Set("valid_secs", strconv.Itoa(r.ValidSecs))
	}
	var out EnrollResponse
	if err := c.call(ctx, endpoint{op: "enroll", method: http.MethodPost, path: "/auth/v2/enroll"}, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnrollStatus calls POST /auth/v2/enroll_status and returns
// EnrollSuccess, EnrollWaiting or EnrollInvalid.
func (c *Client) EnrollStatus(ctx context.Context, userID, activationCode string) (string, error) {
	if userID == "" || activationCode == "" {
		return "", fmt.Errorf("duo: enroll_status: user_id and activation_code are required: %w", ErrInvalidRequest)
	}
	p := url.Values{"user_id": {userID}, "activation_code": {activationCode}}
	var out string
	if err := c.call(ctx, endpoint{op: "enroll_status", method: http.MethodPost, path: "/auth/v2/enroll_status"}, p, &out); err != nil {
		return "", err
	}
	return out, nil
}

// userParam sets user_id or username, requiring exactly one.
func userParam(op string, p url.Values, userID, username string) error {
	if (userID == "") == (username == "") {
		return fmt.Errorf("duo: %s: exactly one of user_id and username must be set: %w", op, ErrInvalidRequest)
	}
	setIf(p, "user_id", userID)
	setIf(p, "username", username)
	return nil
}

// Preauth calls POST /auth/v2/preauth.
func (c *Client) Preauth(ctx context.Context, r PreauthRequest) (*PreauthResponse, error) {
	p := url.Values{}
	if err := userParam("preauth", p, r.UserID, r.Username); err != nil {
		return nil, err
	}
	switch r.Failmode {
	case "", "open", "closed":
	default:
		return nil, fmt.Errorf("duo: preauth: failmode %q: want open or closed: %w", truncate(r.Failmode, 20), ErrInvalidRequest)
	}
	setIf(p, "ipaddr", r.IPAddr)
	setIf(p, "hostname", r.Hostname)
	setIf(p, "trusted_device_token", r.TrustedDeviceToken)
	if r.ClientSupportsVerifiedPush {
		p.Set("client_supports_verified_push", "1")
	}
	if r.TextPrompt {
		p.Set("text_prompt", "1")
	}
	setIf(p, "failmode", r.Failmode)
	// The outer status_msg shadows the embedded one, so a missing one
	// can be told from an empty one.
	var out struct {
		PreauthResponse
		StatusMsg *string `json:"status_msg"`
	}
	if err := c.call(ctx, endpoint{op: "preauth", method: http.MethodPost, path: "/auth/v2/preauth"}, p, &out); err != nil {
		return nil, err
	}
	if out.Result == "" {
		return nil, &ResponseError{Op: "preauth", StatusCode: http.StatusOK, Err: errors.New(`missing "result"`)}
	}
	if out.StatusMsg != nil {
		out.PreauthResponse.StatusMsg = *out.StatusMsg
	} else if out.Result == ResultAllow {
		// duo_unix takes an allow without status_msg for a malformed
		// answer (failmode applies), never for a bypass.
		return nil, &ResponseError{Op: "preauth", StatusCode: http.StatusOK, Err: errors.New(`"allow" without "status_msg"`)}
	}
	return &out.PreauthResponse, nil
}

// Auth calls POST /auth/v2/auth. With Async it returns the txid to poll
// with AuthStatus; otherwise Duo answers when the factor completes, so
// push, phone, auto and prompt get LongPollTimeout.
func (c *Client) Auth(ctx context.Context, r AuthRequest) (*AuthResponse, error) {
	p := url.Values{}
	if err := userParam("auth", p, r.UserID, r.Username); err != nil {
		return nil, err
	}
	if r.Factor == "" {
		return nil, fmt.Errorf("duo: auth: missing factor: %w", ErrInvalidRequest)
	}
	if len(r.PushInfo) > MaxPushInfoLen {
		return nil, fmt.Errorf("duo: auth: pushinfo is %d bytes, over the %d-byte limit: %w", len(r.PushInfo), MaxPushInfoLen, ErrInvalidRequest)
	}
	if r.Factor == FactorPasscode && r.Passcode == "" {
		return nil, fmt.Errorf("duo: auth: factor passcode without a passcode: %w", ErrInvalidRequest)
	}
	if r.Factor == FactorPrompt && r.Prompt == "" {
		return nil, fmt.Errorf("duo: auth: factor prompt without a prompt key: %w", ErrInvalidRequest)
	}
	p.Set("factor", r.Factor)
	setIf(p, "device", r.Device)
	setIf(p, "type", r.Type)
	setIf(p, "display_username", r.DisplayUsername)
	setIf(p, "pushinfo", r.PushInfo)
	setIf(p, "passcode", r.Passcode)
	setIf(p, "prompt", r.Prompt)
	if r.Async {
		p.Set("async", "1")
	}
	setIf(p, "txid", r.TxID)
	setIf(p, "ipaddr", r.IPAddr)
	setIf(p, "hostname", r.Hostname)

	ep := endpoint{op: "auth", method: http.MethodPost, path: "/auth/v2/auth"}
	if !r.Async {
		switch r.Factor {
		case FactorPush, FactorPhone, FactorAuto, FactorPrompt:
			ep.longPoll = true
		}
	}
	var out AuthResponse
	if err := c.call(ctx, ep, p, &out); err != nil {
		return nil, err
	}
	if r.Async && out.TxID == "" {
		if out.Result == ResultDeny {
			// Duo decided at once (a policy such as "Verified Duo Push
			// is required"): a deny, with nothing to poll.
			return &out, nil
		}
		return nil, &ResponseError{Op: "auth", StatusCode: http.StatusOK, Err: errors.New(`async auth without "txid"`)}
	}
	if !r.Async && out.Result == "" {
		return nil, &ResponseError{Op: "auth", StatusCode: http.StatusOK, Err: errors.New(`missing "result"`)}
	}
	return &out, nil
}

// AuthStatus calls GET /auth/v2/auth_status, which long-polls: Duo answers
// when the transaction's status changes.
func (c *Client) AuthStatus(ctx context.Context, txid string) (*AuthStatusResponse, error) {
	if txid == "" {
		return nil, fmt.Errorf("duo: auth_status: missing txid: %w", ErrInvalidRequest)
	}
	var out AuthStatusResponse
	ep := endpoint{op: "auth_status", method: http.MethodGet, path: "/auth/v2/auth_status", longPoll: true}
	if err := c.call(ctx, ep, url.Values{"txid": {txid}}, &out); err != nil {
		return nil, err
	}
	if out.Result == "" {
		return nil, &ResponseError{Op: "auth_status", StatusCode: http.StatusOK, Err: errors.New(`missing "result"`)}
	}
	return &out, nil
}
