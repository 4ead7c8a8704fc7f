/*
 * promptonly: the smallest PAM module that behaves like a second-factor
 * prompt, the baseline of the sshd benchmark. pam_sm_authenticate asks
 * one echo-on question and returns PAM_SUCCESS whatever the answer
 * (PAM_CONV_ERR when the conversation fails); setcred and acct_mgmt
 * succeed.
 *
 *   gcc -O2 -Wall -Wextra -fPIC -shared -o promptonly.so promptonly.c -lpam
 */
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdlib.h>

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	char *resp = NULL;
	(void)flags;
	(void)argc;
	(void)argv;
	if (pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &resp, "Bench code: ") != PAM_SUCCESS)
		return PAM_CONV_ERR;
	free(resp);
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
