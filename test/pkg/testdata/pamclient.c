/* pamclient: one pam_authenticate through the service file SERVICE of
 * CONFDIR (pam_start_confdir), answering every prompt with ANSWER. It
 * prints each message the modules sent ("PROMPT: ...", "INFO: ...",
 * "ERROR: ...") and then "result CODE NAME". TestQemuArm64Login builds it
 * for arm64 and runs it under qemu-aarch64, so that an arm64 libpam loads
 * the arm64 pam_duo_go.so.
 * usage: pamclient CONFDIR SERVICE USER ANSWER */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *answer)
{
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
		case PAM_PROMPT_ECHO_OFF:
			printf("PROMPT: %s\n", msg[i]->msg);
			r[i].resp = strdup((const char *)answer);
			break;
		case PAM_ERROR_MSG:
			printf("ERROR: %s\n", msg[i]->msg);
			break;
		default:
			printf("INFO: %s\n", msg[i]->msg);
		}
	}
	fflush(stdout);
	*resp = r;
	return PAM_SUCCESS;
}

int main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *h = NULL;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: pamclient CONFDIR SERVICE USER ANSWER\n");
		return 64;
	}
	c.appdata_ptr = argv[4];
	rc = pam_start_confdir(argv[2], argv[3], &c, argv[1], &h);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pam_start_confdir: %d\n", rc);
		return 70;
	}
	rc = pam_authenticate(h, 0);
	printf("result %d %s\n", rc, pam_strerror(h, rc));
	pam_end(h, rc);
	return 0;
}
