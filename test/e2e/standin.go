package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// standInSource is a small prompting PAM module the harness controls.
// Arguments, in any order:
//
//	info=TEXT     show TEXT (PAM_TEXT_INFO) first; may repeat
//	sleep_ms=N    then wait N ms
//	prompt=TEXT   the prompt (default "Stand-in code: "; use [prompt=A B] for spaces)
//	echo          prompt with echo on
//	want=ANSWER   prompt and succeed only on ANSWER; without it, no prompt
//	result=ignore return PAM_IGNORE instead of PAM_SUCCESS
//
// setcred and acct_mgmt succeed.
const standInSource = `
#include <security/pam_modules.h>
#include <security/pam_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	const char *want = NULL, *prompt = "Stand-in code: ";
	int echo = 0, ignore = 0;
	long sleep_ms = 0;
	(void)flags;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "info=", 5) == 0) pam_info(pamh, "%s", argv[i] + 5);
		else if (strncmp(argv[i], "sleep_ms=", 9) == 0) sleep_ms = strtol(argv[i] + 9, NULL, 10);
		else if (strncmp(argv[i], "prompt=", 7) == 0) prompt = argv[i] + 7;
		else if (strncmp(argv[i], "want=", 5) == 0) want = argv[i] + 5;
		else if (strcmp(argv[i], "echo") == 0) echo = 1;
		else if (strcmp(argv[i], "result=ignore") == 0) ignore = 1;
	}
	if (sleep_ms > 0) {
		struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0) {}
	}
	if (want != NULL) {
		char *resp = NULL;
		int ok;
		if (pam_prompt(pamh, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt) != PAM_SUCCESS)
			return PAM_CONV_ERR;
		ok = resp != NULL && strcmp(resp, want) == 0;
		free(resp);
		if (!ok) {
			pam_error(pamh, "stand-in: wrong answer");
			return PAM_AUTH_ERR;
		}
	}
	return ignore ? PAM_IGNORE : PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_SUCCESS;
}
`

// BuildStandInModule compiles a small prompting PAM module the harness
// controls (see standInSource for its arguments) into a test directory
// and returns its absolute path. It proves the harness without the real
// module, and lets a stack show what the module before it returned.
func BuildStandInModule(t testing.TB) string {
	t.Helper()
	cc := RequireBinary(t, "gcc")
	if _, err := os.Stat("/usr/include/security/pam_modules.h"); err != nil {
		t.Skip("skipping: the PAM headers are missing (install libpam0g-dev)")
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	src := filepath.Join(dir, "pam_standin.c")
	so := filepath.Join(dir, "pam_standin.so")
	require.NoError(t, os.WriteFile(src, []byte(standInSource), 0o644))
	out, err := runBounded(2*time.Minute, cc, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Werror",
		"-shared", "-fPIC", "-o", so, src, "-lpam")
	require.NoError(t, err, "compiling the stand-in PAM module\n%s", out)
	return so
}
