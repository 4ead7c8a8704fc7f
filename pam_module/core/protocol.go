package main

// The constants pam_module/protocol.h shares with the C module, checked
// against Go's at compile time: each line below overflows uint, and the
// core fails to build, when the two sides differ.

/*
#cgo CFLAGS: -I${SRCDIR}/..
#include <security/pam_appl.h>
#include "protocol.h"
*/
import "C"

import (
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/pamhandler"
	"github.com/pam-duo-go/pam_duo_go/internal/wire"
)

// The worker protocol (internal/wire).
const (
	_ = uint(C.PDG_HEADER_LEN-wire.HeaderLen) + uint(wire.HeaderLen-C.PDG_HEADER_LEN)
	_ = uint(C.PDG_MAX_PAYLOAD-wire.MaxPayload) + uint(wire.MaxPayload-C.PDG_MAX_PAYLOAD)
	_ = uint(C.PDG_MSG_START-int(wire.Start)) + uint(int(wire.Start)-C.PDG_MSG_START)
	_ = uint(C.PDG_MSG_ANSWER-int(wire.Answer)) + uint(int(wire.Answer)-C.PDG_MSG_ANSWER)
	_ = uint(C.PDG_MSG_CONV_FAILED-int(wire.ConvFailed)) + uint(int(wire.ConvFailed)-C.PDG_MSG_CONV_FAILED)
	_ = uint(C.PDG_MSG_PROMPT_ECHO_OFF-int(wire.PromptEchoOff)) + uint(int(wire.PromptEchoOff)-C.PDG_MSG_PROMPT_ECHO_OFF)
	_ = uint(C.PDG_MSG_PROMPT_ECHO_ON-int(wire.PromptEchoOn)) + uint(int(wire.PromptEchoOn)-C.PDG_MSG_PROMPT_ECHO_ON)
	_ = uint(C.PDG_MSG_INFO-int(wire.Info)) + uint(int(wire.Info)-C.PDG_MSG_INFO)
	_ = uint(C.PDG_MSG_ERROR-int(wire.Error)) + uint(int(wire.Error)-C.PDG_MSG_ERROR)
	_ = uint(C.PDG_MSG_UNPROMPTED-int(wire.Unprompted)) + uint(int(wire.Unprompted)-C.PDG_MSG_UNPROMPTED)
	_ = uint(C.PDG_MSG_RESULT-int(wire.Result)) + uint(int(wire.Result)-C.PDG_MSG_RESULT)
)

// The worker's exit statuses and the bounds of login_timeout=
// (internal/pamhandler).
const (
	_ = uint(C.PDG_WORKER_EXIT_ALLOWED-pamhandler.ExitAllowed) + uint(pamhandler.ExitAllowed-C.PDG_WORKER_EXIT_ALLOWED)
	_ = uint(C.PDG_WORKER_EXIT_DENIED-pamhandler.ExitDenied) + uint(pamhandler.ExitDenied-C.PDG_WORKER_EXIT_DENIED)
	_ = uint(C.PDG_WORKER_EXIT_FAILED-pamhandler.ExitFailed) + uint(pamhandler.ExitFailed-C.PDG_WORKER_EXIT_FAILED)
	_ = uint(C.PDG_LOGIN_TIMEOUT_DEFAULT-int(pamhandler.DefaultLoginTimeout/time.Second)) + uint(int(pamhandler.DefaultLoginTimeout/time.Second)-C.PDG_LOGIN_TIMEOUT_DEFAULT)
	_ = uint(C.PDG_LOGIN_TIMEOUT_MIN-int(pamhandler.MinLoginTimeout/time.Second)) + uint(int(pamhandler.MinLoginTimeout/time.Second)-C.PDG_LOGIN_TIMEOUT_MIN)
	_ = uint(C.PDG_LOGIN_TIMEOUT_MAX-int(pamhandler.MaxLoginTimeout/time.Second)) + uint(int(pamhandler.MaxLoginTimeout/time.Second)-C.PDG_LOGIN_TIMEOUT_MAX)
)

// The PAM return codes and items of internal/pamhandler are libpam's.
const (
	_ = uint(C.PAM_SUCCESS-pamhandler.Success) + uint(pamhandler.Success-C.PAM_SUCCESS)
	_ = uint(C.PAM_SERVICE_ERR-pamhandler.ServiceErr) + uint(pamhandler.ServiceErr-C.PAM_SERVICE_ERR)
	_ = uint(C.PAM_AUTH_ERR-pamhandler.AuthErr) + uint(pamhandler.AuthErr-C.PAM_AUTH_ERR)
	_ = uint(C.PAM_USER_UNKNOWN-pamhandler.UserUnknown) + uint(pamhandler.UserUnknown-C.PAM_USER_UNKNOWN)
	_ = uint(C.PAM_MAXTRIES-pamhandler.MaxTries) + uint(pamhandler.MaxTries-C.PAM_MAXTRIES)
	_ = uint(C.PAM_IGNORE-pamhandler.Ignore) + uint(pamhandler.Ignore-C.PAM_IGNORE)
	_ = uint(C.PAM_ABORT-pamhandler.Abort) + uint(pamhandler.Abort-C.PAM_ABORT)
	_ = uint(C.PAM_SERVICE-int(pamhandler.Service)) + uint(int(pamhandler.Service)-C.PAM_SERVICE)
	_ = uint(C.PAM_TTY-int(pamhandler.TTY)) + uint(int(pamhandler.TTY)-C.PAM_TTY)
	_ = uint(C.PAM_RHOST-int(pamhandler.RemoteHost)) + uint(int(pamhandler.RemoteHost)-C.PAM_RHOST)
)

// The message styles of the core's conversation (conv.go) are libpam's.
const (
	_ = uint(C.PAM_PROMPT_ECHO_OFF-stylePromptEchoOff) + uint(stylePromptEchoOff-C.PAM_PROMPT_ECHO_OFF)
	_ = uint(C.PAM_PROMPT_ECHO_ON-stylePromptEchoOn) + uint(stylePromptEchoOn-C.PAM_PROMPT_ECHO_ON)
	_ = uint(C.PAM_ERROR_MSG-styleErrorMsg) + uint(styleErrorMsg-C.PAM_ERROR_MSG)
	_ = uint(C.PAM_TEXT_INFO-styleTextInfo) + uint(styleTextInfo-C.PAM_TEXT_INFO)
)
