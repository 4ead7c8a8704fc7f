package duo

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	esc "github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// envelope is Duo's response wrapper.
type envelope struct {
	Stat          string          `json:"stat"`
	Response      json.RawMessage `json:"response"`
	Code          int             `json:"code"`
	Message       string          `json:"message"`
	MessageDetail string          `json:"message_detail"`
}

// decodeEnvelope turns a response into out or a typed error.
func decodeEnvelope(op string, resp *rawResponse, out any) error {
	var env envelope
	if err := json.Unmarshal(resp.body, &env); err != nil {
		if resp.status == http.StatusTooManyRequests {
			return &APIError{Op: op, StatusCode: resp.status, Code: 42901, Message: "Too Many Requests"}
		}
		return &ResponseError{Op: op, StatusCode: resp.status, Err: notJSON(resp, err)}
	}
	switch env.Stat {
	case "OK":
		if resp.status != http.StatusOK {
			return &ResponseError{Op: op, StatusCode: resp.status, Err: errors.New(`"stat": "OK" with an HTTP error status`)}
		}
		if len(env.Response) == 0 || string(env.Response) == "null" {
			return &ResponseError{Op: op, StatusCode: resp.status, Err: errors.New(`"stat": "OK" without "response"`)}
		}
		if err := json.Unmarshal(env.Response, out); err != nil {
			return &ResponseError{Op: op, StatusCode: resp.status, Err: fmt.Errorf("decoding response: %w", err), Deny: saysDeny(env.Response)}
		}
		return nil
	case "FAIL":
		return &APIError{Op: op, StatusCode: resp.status, Code: env.Code, Message: env.Message, MessageDetail: env.MessageDetail}
	default:
		return &ResponseError{Op: op, StatusCode: resp.status, Err: fmt.Errorf("unexpected stat %q", truncate(env.Stat, 40))}
	}
}

// saysDeny reports whether an invalid response still carries
// "result": "deny".
func saysDeny(response json.RawMessage) bool {
	var r struct {
		Result any `json:"result"`
	}
	return json.Unmarshal(response, &r) == nil && r.Result == ResultDeny
}

// notJSON describes a body that is not a JSON envelope.
func notJSON(resp *rawResponse, err error) error {
	ct := resp.header.Get("Content-Type")
	if mt, _, perr := mime.ParseMediaType(ct); perr == nil && mt != "application/json" {
		return fmt.Errorf("not JSON (Content-Type %s): %w", truncate(mt, 60), err)
	}
	if len(resp.body) == 0 {
		return fmt.Errorf("empty body: %w", err)
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

// truncate cuts untrusted text quoted in an error to n bytes at a rune
// boundary; it is quoted with %q, which escapes it.
func truncate(s string, n int) string { return esc.Clip(s, n, "...") }
