package conf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	def := Args{Conf: DefaultPAMConfig, Mode: ModeAuto, Bypass: BypassIgnore, LoginTimeout: DefaultLoginTimeout}
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
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrArgument)):
				t.Errorf("error %v, want ErrArgument with %q", err, tt.wantErr)
			case err != nil && strings.ContainsAny(err.Error(), "\x1b"):
				t.Errorf("error %q carries a control character", err)
			}
		})
	}
}

func TestParseArgsSeveralBad(t *testing.T) {
	a, err := ParseArgs([]string{"nope", "mode=x", "debug"})
	if !a.Debug || len(a.Unknown) != 2 {
		t.Errorf("got %+v", a)
	}
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), `"mode=x"`) {
		t.Errorf("error %v must name both arguments", err)
	}
}
