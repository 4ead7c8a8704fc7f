/*
 * converse.h: one PAM conversation message, shared by the C module
 * (pam_duo_go.c) and the Go core's cgo preamble (core/core.go), which are
 * two separate shared objects.
 *
 * Why not libpam's pam_prompt(3): it logs every failed conversation
 * through pam_syslog as an error ("conversation failed", under the
 * application's tag). A refused prompt is not an error here: sshd's
 * password step refuses every prompt but its own (the login then goes on
 * with one automatic push), and Ctrl-D at sudo's or su's prompt is the
 * user cancelling. The login logs its own one line for each outcome
 * (login.LogFields), and it must stay the only one. pam_prompt also reads
 * a prompt answered with no response as success with no answer, where
 * this takes it for a cancel (below).
 */
#ifndef PAM_DUO_GO_CONVERSE_H
#define PAM_DUO_GO_CONVERSE_H

#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

/* converse sends one message; on success *answer (if wanted) is a
 * malloc'd string the caller must wipe and free. A prompt answered with
 * no response at all is a cancel, PAM_CONV_ERR: libpam_misc's misc_conv
 * (su, login, pamtester) answers Ctrl-D so, and it must never read as
 * an empty answer, which would pick the default factor and push. */
static int converse(pam_handle_t *pamh, int style, const char *text, char **answer)
{
	const struct pam_conv *conv = NULL;
	struct pam_message msg;
	const struct pam_message *msgp = &msg;
	struct pam_response *resp = NULL;
	int rc;

	if (answer != NULL)
		*answer = NULL;
	rc = pam_get_item(pamh, PAM_CONV, (const void **)&conv);
	if (rc != PAM_SUCCESS || conv == NULL || conv->conv == NULL)
		return PAM_CONV_ERR;
	msg.msg_style = style;
	msg.msg = text;
	rc = conv->conv(1, &msgp, &resp, conv->appdata_ptr);
	if (rc == PAM_SUCCESS && answer != NULL) {
		if (resp != NULL && resp->resp != NULL) {
			*answer = resp->resp;
			resp->resp = NULL;
		} else if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
			rc = PAM_CONV_ERR;
		}
	}
	if (resp != NULL) {
		if (resp->resp != NULL) {
			explicit_bzero(resp->resp, strlen(resp->resp));
			free(resp->resp);
		}
		free(resp);
	}
	return rc;
}

#endif
