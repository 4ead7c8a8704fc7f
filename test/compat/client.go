package compat

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/require"
)

// PAM results, as libpam numbers them.
const (
	PAMSuccess     = 0
	PAMServiceErr  = 3
	PAMAuthErr     = 7
	PAMUserUnknown = 10
	PAMMaxTries    = 11
	PAMIgnore      = 25
	PAMAbort       = 26

	pamPermDenied = 6
)

// PAMName names a PAM result for messages.
func PAMName(rc int) string {
	names := map[int]string{
		PAMSuccess: "PAM_SUCCESS", PAMServiceErr: "PAM_SERVICE_ERR", PAMAuthErr: "PAM_AUTH_ERR",
		PAMUserUnknown: "PAM_USER_UNKNOWN", PAMMaxTries: "PAM_MAXTRIES", PAMIgnore: "PAM_IGNORE", PAMAbort: "PAM_ABORT",
	}
	if n, ok := names[rc]; ok {
		return n
	}
	return "PAM " + strconv.Itoa(rc)
}

// EOF is the answer that stands for Ctrl-D at a prompt: what libpam_misc's
// misc_conv (su, login, pamtester) returns then, PAM_SUCCESS with a NULL
// response.
const EOF = "<EOF>"

// Client builds testdata/pamclient.c once per test binary and returns its
// path. It skips the test when gcc or libpam's headers are missing.
func Client(t testing.TB) string {
	t.Helper()
	e2e.RequireBinary(t, "gcc")
	if _, err := os.Stat("/usr/include/security/pam_appl.h"); err != nil {
		t.Skip("skipping: libpam's headers are missing (apt-get install libpam0g-dev, as .ci/deps does)")
	}
	src := filepath.Join(e2e.RepoRoot(t), "test", "compat", "testdata", "pamclient.c")
	return e2e.BuildOnce(t, "building pamclient", func() (string, error) {
		dir, err := os.MkdirTemp("", "pamclient-")
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, "pamclient")
		out, err := exec.Command("gcc", "-Wall", "-o", path, src, "-lpam").CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("gcc: %w\n%s", err, out)
		}
		return path, nil
	})
}

// Login is one run of pam_authenticate through pamclient.
type Login struct {
	Result     int    // the PAM result
	Transcript string // what the conversation showed and answered
}

// Messages returns the text of the lines with this prefix ("PROMPT: ",
// "INFO: ", "ERROR: ").
func (l *Login) Messages(prefix string) []string {
	var out []string
	for _, line := range strings.Split(l.Transcript, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			out = append(out, rest)
		}
	}
	return out
}

var resultRE = regexp.MustCompile(`(?m)^RESULT: (-?\d+) `)

// Run authenticates user through the PAM service whose file is stack,
// answering the prompts with answers. rhost, when set, is PAM_RHOST.
func Run(t testing.TB, client, service, stack, user, rhost string, answers ...string) *Login {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, service), []byte(stack), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, append([]string{dir, service, user}, answers...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	if rhost != "" {
		cmd.Env = append(cmd.Env, "PAMCLIENT_RHOST="+rhost)
	}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	m := resultRE.FindStringSubmatch(string(out))
	require.False(t, err != nil || m == nil, "pamclient %s %s: %v\n%s", service, user, err, out)
	rc, _ := strconv.Atoi(m[1])
	if rc == pamPermDenied {
		// The stack is one module: when it ignores, no module decided
		// and libpam answers PAM_PERM_DENIED. Neither module returns
		// PAM_PERM_DENIED itself.
		rc = PAMIgnore
	}
	return &Login{Result: rc, Transcript: string(out)}
}
