package escape_test

import (
	"bufio"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// cHarness includes the C module's source and runs its escape_log on each
// hex-encoded line of stdin, printing the result.
const cHarness = `#include "pam_duo_go.c"

static int unhex(int c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

int main(void)
{
	static char in[1 << 16], s[1 << 15], out[4 * 64 + 1];

	while (fgets(in, sizeof in, stdin) != NULL) {
		size_t i, n = strcspn(in, "\n") / 2;

		for (i = 0; i < n; i++)
			s[i] = (char)(unhex(in[2 * i]) << 4 | unhex(in[2 * i + 1]));
		s[n] = '\0';
		escape_log(out, sizeof out, s);
		printf("%s\n", out);
	}
	return 0;
}
`

// TestCEscapeLog feeds the hostile table through the C module's
// escape_log and checks it writes what LogField writes: the same policy
// in both languages. C strings end at a NUL, PAM items cannot hold one,
// so the C side sees the text up to it; escape_log writes "-" for an
// empty item and cuts its output at its 257-byte buffer, without a mark.
func TestCEscapeLog(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler:", err)
	}
	if _, err := os.Stat("/usr/include/security/pam_appl.h"); err != nil {
		t.Skip("no libpam headers (libpam0g-dev):", err)
	}
	module, err := filepath.Abs("../../pam_module")
	require.NoError(t, err)
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "harness.c"), filepath.Join(dir, "harness")
	require.NoError(t, os.WriteFile(src, []byte(cHarness), 0o600))
	out, err := exec.Command(cc, "-I", module, "-o", bin, src, "-ldl", "-lpam").CombinedOutput()
	require.NoError(t, err, "%s", out)

	var inputs []string
	for _, tt := range hostile {
		inputs = append(inputs, tt.in)
	}
	inputs = append(inputs, strings.Repeat("a", 300), strings.Repeat("\x1b", 100), strings.Repeat("é=", 80))
	for c := 1; c < 256; c++ {
		inputs = append(inputs, "<"+string([]byte{byte(c)})+">")
	}
	var stdin strings.Builder
	for _, in := range inputs {
		stdin.WriteString(hex.EncodeToString([]byte(in)) + "\n")
	}
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(stdin.String())
	stdout, err := cmd.Output()
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(string(stdout)))
	for _, in := range inputs {
		require.True(t, sc.Scan(), "harness wrote too few lines")
		got := sc.Text()
		if i := strings.IndexByte(in, 0); i >= 0 {
			in = in[:i]
		}
		want := escape.LogField(in)
		if in == "" {
			want = "-"
		}
		if len(want) <= 4*64-4 {
			assert.Equal(t, want, got, "escape_log(%q)", in)
			continue
		}
		assert.True(t, strings.HasPrefix(want, got) && len(got) > 4*64-8, "escape_log(%q) = %q, want a prefix of %q", in, got, want)
	}
	require.False(t, sc.Scan(), "harness wrote too many lines")
}
