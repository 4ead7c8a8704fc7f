package setuid

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvWithout(t *testing.T) {
	env := []string{"A=1", "DUO_PASSCODE=123456", "B=2", "DUO_PASSCODE_X=keep"}
	got := EnvWithout(env, "DUO_PASSCODE")
	assert.Equal(t, "A=1 B=2 DUO_PASSCODE_X=keep", strings.Join(got, " "))
	assert.Len(t, env, 4, "EnvWithout must not change its argument")
}

func TestSanitizeEnv(t *testing.T) {
	set := map[string]bool{ // name: removed from this process
		"HTTPS_PROXY": true, "http_proxy": true, "SSL_CERT_FILE": true, "GODEBUG": true,
		"TZ": true, "LC_TIME": true, "LANG": true, "NLSPATH": true,
		"HOME": false, "TERM": false, "LCX": false,
	}
	for k := range set {
		t.Setenv(k, "v-"+k)
	}
	orig := SanitizeEnv()
	for k, removed := range set {
		_, present := os.LookupEnv(k)
		assert.Equal(t, !removed, present, "%s left in the environment", k)
		assert.Contains(t, orig, k+"=v-"+k, "the original environment keeps %s for the user's command", k)
	}
}

func TestCurrentAndDropToRealWhenNotSetuid(t *testing.T) {
	c := Current()
	if c.EUID != c.RUID || c.SUID != c.RUID || c.EGID != c.RGID || c.SGID != c.RGID {
		t.Skip("the test process runs with distinct real and effective ids")
	}
	require.NoError(t, DropToReal(), "a process that is not setuid has nothing to drop")
	assert.Equal(t, c, Current())
	assert.Contains(t, c.String(), "uid=")
}

func TestEnsureStdFDsKeepsOpenFDs(t *testing.T) {
	require.NoError(t, EnsureStdFDs())
}
