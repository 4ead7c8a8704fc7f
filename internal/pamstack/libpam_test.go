package pamstack

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/require"
)

// libpamSucceeds runs pam_authenticate through the real libpam on the
// service file svc in dir.
func libpamSucceeds(t *testing.T, dir, svc string) bool {
	t.Helper()
	conv := pam.ConversationFunc(func(pam.Style, string) (string, error) { return "", nil })
	tx, err := pam.StartConfDir(svc, "root", conv, dir)
	require.NoError(t, err)
	defer tx.End()
	return tx.Authenticate(0) == nil
}

// debugReturns is what the modules of these stacks return: pam_permit
// succeeds, pam_deny fails, pam_debug returns its auth= argument.
func debugReturns(r Rule) string {
	switch {
	case isModule(r, "pam_deny.so"):
		return "auth_err"
	case isModule(r, "pam_debug.so"):
		if v, ok := r.Arg("auth"); ok {
			return v
		}
	}
	return "success"
}

// TestSimulateMatchesLibpam: simulate, on which every stack finding
// rests, decides as the real libpam does, on the trap shapes and on
// random stacks. DUO stands for pam_duo_go: pam_debug with its return.
func TestSimulateMatchesLibpam(t *testing.T) {
	if _, err := os.Stat("/usr/include/security/pam_appl.h"); err != nil {
		t.Skip("libpam0g-dev is not installed (run bash .ci/deps)")
	}
	duo := func(rv string) string { return "pam_debug.so auth=" + rv }
	shapes := map[string][]string{
		"required alone":       {"auth required DUO"},
		"ubuntu pattern":       {"auth requisite pam_permit.so", "auth [success=1 default=ignore] DUO", "auth requisite pam_deny.so", "auth required pam_permit.so"},
		"rhel pattern":         {"auth required pam_permit.so", "auth requisite pam_permit.so", "auth sufficient DUO", "auth requisite pam_permit.so", "auth required pam_deny.so"},
		"after common-auth":    {"auth [success=1 default=ignore] pam_permit.so", "auth requisite pam_deny.so", "auth required pam_permit.so", "auth required DUO"},
		"sufficient first":     {"auth sufficient DUO", "auth [success=1 default=ignore] pam_permit.so", "auth requisite pam_deny.so", "auth required pam_permit.so"},
		"optional only":        {"auth optional DUO"},
		"done and die":         {"auth [success=done default=die] DUO", "auth required pam_deny.so"},
		"bad then ok":          {"auth [default=bad] DUO", "auth required pam_permit.so"},
		"reset":                {"auth required pam_deny.so", "auth [success=reset default=ignore] DUO", "auth required pam_permit.so"},
		"substack die inside":  {"auth substack SUB", "auth required pam_permit.so"},
		"substack done inside": {"auth substack SUB", "auth required pam_deny.so"},
		"substack then ok":     {"auth required pam_permit.so", "auth substack SUB", "auth sufficient pam_permit.so"},
		"include die inside":   {"auth include SUB", "auth required pam_permit.so"},
		"include done inside":  {"auth include SUB", "auth required pam_deny.so"},
	}
	sub := "auth [success=ok default=die] DUO\nauth sufficient pam_permit.so\nauth required pam_deny.so\n"
	check := func(t *testing.T, name string, lines []string, rv string) {
		dir := t.TempDir()
		// libpam finds a relative include in /etc/pam.d even with a
		// config dir: name the test's own file absolutely.
		text := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", "DUO", duo(rv))
		text = strings.ReplaceAll(text, "SUB", filepath.Join(dir, "sub"))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "svc"), []byte(text), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "sub"), []byte(strings.ReplaceAll(sub, "DUO", duo(rv))), 0o644))
		nodes, errs := OpenDir(dir, "/").Expand("svc", "auth")
		require.Empty(t, errs)
		got := simulate(nodes, debugReturns).Success
		want := libpamSucceeds(t, dir, "svc")
		require.Equal(t, want, got, "%s with the Duo line returning %s: libpam says success=%v\n%s", name, rv, want, text)
	}
	for name, lines := range shapes {
		for _, rv := range []string{"success", "ignore", "auth_err"} {
			t.Run(name+"/"+rv, func(t *testing.T) { check(t, name, lines, rv) })
		}
	}
	// Random stacks: every control against every return.
	controls := []string{"required", "requisite", "sufficient", "optional", "[success=1 default=ignore]",
		"[success=2 default=bad]", "[success=done ignore=ignore default=die]", "[default=1 ignore=ignore success=ok]",
		"[success=ok ignore=reset default=bad]", "[ignore=ignore success=1 default=die]"}
	modules := []string{"pam_permit.so", "pam_deny.so", duo("ignore"), duo("success"), duo("auth_err"), duo("perm_denied")}
	rng := rand.New(rand.NewPCG(15, 2026))
	for i := range 300 {
		n := 1 + rng.IntN(6)
		lines := make([]string, n)
		for j := range lines {
			lines[j] = fmt.Sprintf("auth %s %s", controls[rng.IntN(len(controls))], modules[rng.IntN(len(modules))])
		}
		check(t, fmt.Sprintf("random %d", i), lines, "success")
	}
}
