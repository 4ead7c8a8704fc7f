/*
 * protocol.h: the constants the C module (pam_duo_go.c) shares with the
 * Go side: the worker protocol of ARCHITECTURE.md (message types, the
 * payload limit, exit statuses) and the bounds of login_timeout=.
 *
 * Go has its own copy of each (internal/wire, internal/pamhandler);
 * pam_module/core/protocol.go includes this header and fails to compile
 * when a value differs. The PAM return codes are libpam's
 * (<security/_pam_types.h>): the same file checks Go's copy
 * (internal/pamhandler) against them.
 */
#ifndef PAM_DUO_GO_PROTOCOL_H
#define PAM_DUO_GO_PROTOCOL_H

/* A message is 1 type byte, a 4-byte big-endian payload length, the
 * payload. */
#define PDG_HEADER_LEN 5
#define PDG_MAX_PAYLOAD 65536

/* Message types: module -> worker */
#define PDG_MSG_START 'S'      /* NUL-separated key=value fields */
#define PDG_MSG_ANSWER 'A'     /* the user's answer */
#define PDG_MSG_CONV_FAILED 'X' /* the conversation failed; empty */
/* Message types: worker -> module */
#define PDG_MSG_PROMPT_ECHO_OFF 'P' /* prompt text, answer hidden */
#define PDG_MSG_PROMPT_ECHO_ON 'p'  /* prompt text, answer shown */
#define PDG_MSG_INFO 'I'            /* PAM_TEXT_INFO text */
#define PDG_MSG_ERROR 'E'           /* PAM_ERROR_MSG text */
#define PDG_MSG_UNPROMPTED 'M'      /* allowed with an automatic push; empty */
#define PDG_MSG_RESULT 'R'          /* 4-byte big-endian PAM code, then the reason */

/* Exit statuses of the worker: the module's fallback when no result
 * message came (DENIED gives PAM_AUTH_ERR, any other PAM_SERVICE_ERR). */
#define PDG_WORKER_EXIT_ALLOWED 0
#define PDG_WORKER_EXIT_DENIED 1
#define PDG_WORKER_EXIT_FAILED 2
/* ... and of the worker child before the exec (the module logs them;
 * Go never sees them). */
#define PDG_WORKER_EXIT_SETUP 126
#define PDG_WORKER_EXIT_EXEC 127

/* login_timeout=SECONDS: the most a whole login may take (the worker's
 * own bound); the module waits this much longer for the worker to start
 * and report. */
#define PDG_LOGIN_TIMEOUT_DEFAULT 300
#define PDG_LOGIN_TIMEOUT_MIN 5
#define PDG_LOGIN_TIMEOUT_MAX 3600
#define PDG_WORKER_SLACK_SECONDS 30 /* C only */

#endif
