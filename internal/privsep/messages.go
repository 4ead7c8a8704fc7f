package privsep

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// childInit is the first call: what the child needs to reach Duo. The CA
// bundle travels as PEM: the parent reads cafile as root, so a bundle only
// root can read works as it does for the PAM module.
type childInit struct {
	IKey, SKey, Host string
	CAPEM            []byte // cafile's contents; nil = Duo's embedded roots
	Proxy            string
	Timeout          time.Duration
	Debug            bool
}

// childCall is one message from the parent.
type childCall struct {
	Method    string // "init", "preauth", "auth", "auth_status", "probe"
	TimeoutMS int64  // how long the child may take; 0 = childLifetime
	Init      *childInit
	Preauth   *duo.PreauthRequest
	Auth      *duo.AuthRequest
	TxID      string
}

// childReply is the child's answer to one call.
type childReply struct {
	Preauth    *duo.PreauthResponse
	Auth       *duo.AuthResponse
	AuthStatus *duo.AuthStatusResponse
	Err        *wireError
}

// wireError carries a duo error across the pipe, keeping its type.
type wireError struct {
	Kind       string // api, transport, response, deadline, canceled, other
	Op         string
	StatusCode int
	Code       int
	Message    string
	Detail     string
	Local      bool // a TransportError of KindLocal
	Deny       bool // a ResponseError that says deny
}

func toWireError(err error) *wireError {
	if err == nil {
		return nil
	}
	var api *duo.APIError
	var te *duo.TransportError
	var re *duo.ResponseError
	switch {
	case errors.As(err, &api):
		return &wireError{Kind: "api", Op: api.Op, StatusCode: api.StatusCode, Code: api.Code, Message: api.Message, Detail: api.MessageDetail}
	case errors.As(err, &te):
		return &wireError{Kind: "transport", Op: te.Op, Message: te.Err.Error(), Local: duo.Classify(err) == duo.KindLocal}
	case errors.As(err, &re):
		return &wireError{Kind: "response", Op: re.Op, StatusCode: re.StatusCode, Message: re.Err.Error(), Deny: re.Deny}
	case errors.Is(err, context.DeadlineExceeded):
		return &wireError{Kind: "deadline", Message: err.Error()}
	case errors.Is(err, context.Canceled):
		return &wireError{Kind: "canceled", Message: err.Error()}
	}
	return &wireError{Kind: "other", Message: err.Error()}
}

func (w *wireError) toError() error {
	switch w.Kind {
	case "api":
		return &duo.APIError{Op: w.Op, StatusCode: w.StatusCode, Code: w.Code, Message: w.Message, MessageDetail: w.Detail}
	case "transport":
		if w.Local {
			return &duo.TransportError{Op: w.Op, Err: fmt.Errorf("%w: %s", duo.ErrLocalResource, w.Message)}
		}
		return &duo.TransportError{Op: w.Op, Err: errors.New(w.Message)}
	case "response":
		return &duo.ResponseError{Op: w.Op, StatusCode: w.StatusCode, Err: errors.New(w.Message), Deny: w.Deny}
	case "deadline":
		return fmt.Errorf("duo child: %s: %w", w.Message, context.DeadlineExceeded)
	case "canceled":
		return fmt.Errorf("duo child: %s: %w", w.Message, context.Canceled)
	}
	return fmt.Errorf("duo child: %s", w.Message)
}
