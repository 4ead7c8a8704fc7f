/*
 * pamclient: a small libpam application for test/compat. It runs
 * pam_authenticate for one user through a service file in a private
 * directory (pam_start_confdir) and answers each prompt from its
 * arguments, in order:
 *
 *   pamclient CONFDIR SERVICE USER [ANSWER...]
 *
 * The answer "<EOF>" is what libpam_misc's misc_conv returns when the user
 * types Ctrl-D: PAM_SUCCESS with a NULL response. A prompt beyond the
 * answers fails the conversation (PAM_CONV_ERR). Every message goes to
 * stdout as "PROMPT: ", "INFO: " or "ERROR: " plus the text, and the last
 * line is "RESULT: <number> <pam_strerror>". PAM_RHOST is set from
 * $PAMCLIENT_RHOST when present.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct script {
	char **answers;
	int n, next;
};

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	struct script *s = appdata;
	struct pam_response *r;
	int i;

	if (num <= 0 || num > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
		case PAM_PROMPT_ECHO_OFF:
			printf("PROMPT: %s\n", msg[i]->msg);
			if (s->next >= s->n) {
				printf("(no answer left)\n");
				goto fail;
			}
			if (strcmp(s->answers[s->next], "<EOF>") == 0) {
				printf("ANSWER: <Ctrl-D>\n");
				r[i].resp = NULL;
			} else {
				printf("ANSWER: %s\n", s->answers[s->next]);
				if ((r[i].resp = strdup(s->answers[s->next])) == NULL)
					goto fail;
			}
			s->next++;
			break;
		case PAM_TEXT_INFO:
			printf("INFO: %s\n", msg[i]->msg);
			break;
		case PAM_ERROR_MSG:
			printf("ERROR: %s\n", msg[i]->msg);
			break;
		default:
			goto fail;
		}
	}
	fflush(stdout);
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < num; i++)
		free(r[i].resp);
	free(r);
	fflush(stdout);
	return PAM_CONV_ERR;
}

int main(int argc, char **argv)
{
	struct script s;
	struct pam_conv pc;
	pam_handle_t *pamh = NULL;
	const char *rhost;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: pamclient CONFDIR SERVICE USER [ANSWER...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	s.answers = argv + 4;
	s.n = argc - 4;
	s.next = 0;
	pc.conv = conv;
	pc.appdata_ptr = &s;
	rc = pam_start_confdir(argv[2], argv[3], &pc, argv[1], &pamh);
	if (rc != PAM_SUCCESS) {
		printf("RESULT: %d pam_start_confdir failed\n", rc);
		return 2;
	}
	if ((rhost = getenv("PAMCLIENT_RHOST")) != NULL)
		pam_set_item(pamh, PAM_RHOST, rhost);
	rc = pam_authenticate(pamh, 0);
	printf("RESULT: %d %s\n", rc, pam_strerror(pamh, rc));
	pam_end(pamh, rc);
	return 0;
}
