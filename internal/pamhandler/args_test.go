package pamhandler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/conf"
)

func TestParseArgs(t *testing.T) {
	def := Args{Conf: conf.DefaultPAMConfig, Mode: ModeAuto, Bypass: BypassIgnore, LoginTimeout: DefaultLoginTimeout}
	with := func(f func(*Args)) Args {
		a := def
		f(&a)
		return a
	}
	tests := []struct {
		name    string
		argv    []string
		want    Args
		wantErr string // in the error; "" = no error
	}{
		{"none", nil, def, ""},
		{"duo_unix conf", []string{"conf=/etc/duo/other.conf"}, with(func(a *Args) { a.Conf = "/etc/duo/other.conf" }), ""},
		{"conf cleaned", []string{"conf=/etc/duo/../duo//x.conf"}, with(func(a *Args) { a.Conf = "/etc/duo/x.conf" }), ""},
		{"debug", []string{"debug"}, with(func(a *Args) { a.Debug = true }), ""},
		{"quiet", []string{"quiet"}, with(func(a *Args) { a.Quiet = true }), ""},
		{"all of ours", []string{"mode=exec", "core=/usr/lib/x/core.so", "helper=/usr/sbin/login_duo_go", "bypass=success"},
			with(func(a *Args) {
				a.Mode, a.Core, a.Helper, a.Bypass = ModeExec, "/usr/lib/x/core.so", "/usr/sbin/login_duo_go", BypassSuccess
			}), ""},
		{"mode auto", []string{"mode=exec", "mode=auto"}, def, ""},
		{"bypass ignore", []string{"bypass=ignore"}, def, ""},
		{"last wins", []string{"conf=/a", "conf=/b"}, with(func(a *Args) { a.Conf = "/b" }), ""},
		{"unknown", []string{"debug", "use_first_pass", "conf=/x"},
			with(func(a *Args) { a.Debug, a.Conf, a.Unknown = true, "/x", []string{"use_first_pass"} }), `module argument "use_first_pass": unknown`},
		{"relative conf", []string{"conf=pam_duo.conf", "debug"},
			with(func(a *Args) { a.Debug, a.Unknown = true, []string{"conf=pam_duo.conf"} }), "want conf=/absolute/path"},
		{"empty conf", []string{"conf="}, with(func(a *Args) { a.Unknown = []string{"conf="} }), "want conf=/absolute/path"},
		{"relative core", []string{"core=core.so"}, with(func(a *Args) { a.Unknown = []string{"core=core.so"} }), "want core=/absolute/path"},
		{"relative helper", []string{"helper=./login_duo_go"}, with(func(a *Args) { a.Unknown = []string{"helper=./login_duo_go"} }), "want helper=/absolute/path"},
		{"bad mode", []string{"mode=fork"}, with(func(a *Args) { a.Unknown = []string{"mode=fork"} }), "want mode=auto or mode=exec"},
		{"bad bypass", []string{"bypass=allow"}, with(func(a *Args) { a.Unknown = []string{"bypass=allow"} }), "want bypass=ignore or bypass=success"},
		{"case matters", []string{"DEBUG", "Mode=exec"}, with(func(a *Args) { a.Unknown = []string{"DEBUG", "Mode=exec"} }), "unknown"},
		{"debug takes no value", []string{"debug=1"}, with(func(a *Args) { a.Unknown = []string{"debug=1"} }), "unknown"},
		{"mode needs a value", []string{"mode"}, with(func(a *Args) { a.Unknown = []string{"mode"} }), "unknown"},
		{"login_timeout", []string{"login_timeout=30"}, with(func(a *Args) { a.LoginTimeout = 30 * time.Second }), ""},
		{"login_timeout bounds", []string{"login_timeout=5", "login_timeout=3600"}, with(func(a *Args) { a.LoginTimeout = time.Hour }), ""},
		{"login_timeout too short", []string{"login_timeout=4"}, with(func(a *Args) { a.Unknown = []string{"login_timeout=4"} }), "want login_timeout=SECONDS, 5 to 3600"},
		{"login_timeout too long", []string{"login_timeout=3601"}, with(func(a *Args) { a.Unknown = []string{"login_timeout=3601"} }), "5 to 3600"},
		{"login_timeout not a number", []string{"login_timeout=1m"}, with(func(a *Args) { a.Unknown = []string{"login_timeout=1m"} }), "5 to 3600"},
		{"control characters", []string{"conf=/etc/\x1b[2Jx"}, with(func(a *Args) { a.Unknown = []string{"conf=/etc/\x1b[2Jx"} }), `\x1b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs(tt.argv)
			assert.Equal(t, tt.want, got)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrArgument)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "\x1b", "an error carries a control character")
		})
	}
}

func TestParseArgsSeveralBad(t *testing.T) {
	a, err := ParseArgs([]string{"nope", "mode=x", "debug"})
	assert.True(t, a.Debug)
	assert.Len(t, a.Unknown, 2)
	require.ErrorIs(t, err, ErrArgument)
	assert.Contains(t, err.Error(), `"nope"`, "the error names both arguments")
	assert.Contains(t, err.Error(), `"mode=x"`, "the error names both arguments")
}

// TestRememberDirArgument came from conf/remember_test.go with ParseArgs.
func TestRememberDirArgument(t *testing.T) {
	a, err := ParseArgs([]string{"remember_dir=/tmp/x/../state"})
	require.NoError(t, err)
	assert.Equal(t, "/tmp/state", a.RememberDir)
	_, err = ParseArgs([]string{"remember_dir=state"})
	assert.ErrorIs(t, err, ErrArgument)
}

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"short", 200, "short"},
		{"abcdef", 3, "abc..."},
		{"aé", 2, "a..."}, // é is two bytes: never cut inside it
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, clip(tt.s, tt.max), "%q", tt.s)
	}
}
