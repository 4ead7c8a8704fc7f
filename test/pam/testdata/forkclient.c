/* forkclient: authenticates once, forks, and authenticates again in the
 * child on the same PAM handle, the way sshd runs keyboard-interactive in
 * a fork of the process that ran the password step.
 * usage: forkclient CONFDIR SERVICE USER ANSWER */
#define _GNU_SOURCE
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *answer)
{
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON || msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup((const char *)answer);
	*resp = r;
	return PAM_SUCCESS;
}

int main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *h = NULL;
	int rc, status;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr, "usage: forkclient CONFDIR SERVICE USER ANSWER\n");
		return 64;
	}
	c.appdata_ptr = argv[4];
	if (pam_start_confdir(argv[2], argv[3], &c, argv[1], &h) != PAM_SUCCESS)
		return 70;
	rc = pam_authenticate(h, 0);
	printf("parent %d\n", rc);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		rc = pam_authenticate(h, 0);
		printf("child %d\n", rc);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	pam_end(h, PAM_SUCCESS);
	return 0;
}
