package main

import (
	"context"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// PAM message styles (Linux-PAM's _pam_types.h; checked against libpam's
// in protocol.go).
const (
	stylePromptEchoOff = 1 // PAM_PROMPT_ECHO_OFF
	stylePromptEchoOn  = 2 // PAM_PROMPT_ECHO_ON
	styleErrorMsg      = 3 // PAM_ERROR_MSG
	styleTextInfo      = 4 // PAM_TEXT_INFO
)

// pamConv is the login's conversation in process: one message at a time
// through converse, the application's conversation function (pam_conv(3))
// on the live handle. Every text is escaped here, where it is written out
// (escape.Terminal), as the worker and the terminal escape theirs: the
// login hands its conversation Duo's text raw, so it is escaped exactly
// once.
type pamConv struct {
	converse func(style int, msg string) (string, error)
}

// Prompt asks through the application's conversation.
func (c pamConv) Prompt(_ context.Context, msg string, echo bool) (string, error) {
	style := stylePromptEchoOff
	if echo {
		style = stylePromptEchoOn
	}
	return c.converse(style, escape.Terminal(msg))
}

// Info shows PAM_TEXT_INFO. PAM_SILENT is handled by the flow, as quiet
// (see pamhandler).
func (c pamConv) Info(_ context.Context, msg string) error {
	_, err := c.converse(styleTextInfo, escape.Terminal(msg))
	return err
}

// Error shows PAM_ERROR_MSG.
func (c pamConv) Error(_ context.Context, msg string) error {
	_, err := c.converse(styleErrorMsg, escape.Terminal(msg))
	return err
}
