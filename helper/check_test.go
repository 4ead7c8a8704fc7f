package main

import (
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/check"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkCase is one run of `login_duo_go check`, shared by the text and
// the JSON tests.
type checkCase struct {
	name     string
	setup    func(t *testing.T) (conf string, env *mockEnv)
	args     []string // after "check -c CONF"
	wantExit int
	wantOut  []string // substrings of stdout
	// wantJSON checks the --json document of the same run.
	wantJSON func(t *testing.T, r jsonReport)
}

func checkCases() []checkCase {
	return []checkCase{
		{
			name: "ok",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				return e.conf, e
			},
			wantExit: check.ExitOK,
			wantOut:  []string{": ok\n", "check ok", "server clock offset: "},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Config)
				assert.True(t, r.Config.Valid)
				require.NotNil(t, r.Duo)
				assert.True(t, r.Duo.CheckOK)
				require.NotNil(t, r.Duo.ClockOffsetSeconds)
				assert.Nil(t, r.User)
			},
		},
		{
			name: "ok with user",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				e.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
				return e.conf, e
			},
			// -u names a local account, as the login's user is one.
			args:     []string{"-u", "root"},
			wantExit: check.ExitOK,
			wantOut:  []string{"check ok", `user root: preauth result "auth"`},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.User)
				assert.Equal(t, "root", r.User.Name)
				assert.Equal(t, "duo", r.User.Local)
				assert.True(t, r.User.PreauthOK)
				assert.Equal(t, "auth", r.User.Result)
				assert.NotEmpty(t, r.User.Devices)
			},
		},
		{
			// The module reads pam_duo.conf as root and accepts only
			// root's; sshd (duo_unix's owner of login_duo.conf) is not.
			name: "pam_duo.conf owned by sshd",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				e.conf = writeConfNamed(t, e, "pam_duo.conf", sshdUID(t))
				return e.conf, e
			},
			wantExit: check.ExitBadConfig,
			wantOut:  []string{"INVALID", "(sshd), not root"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Config)
				assert.False(t, r.Config.Valid)
				assert.Equal(t, "pam_duo_go", r.Config.UsedBy)
				assert.Nil(t, r.Duo)
			},
		},
		{
			name: "login_duo.conf owned by sshd",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				e.conf = writeConfNamed(t, e, "login_duo.conf", sshdUID(t))
				return e.conf, e
			},
			wantExit: check.ExitOK,
			wantOut:  []string{": ok\n", "check ok"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Config)
				assert.True(t, r.Config.Valid)
				assert.Equal(t, "login_duo_go", r.Config.UsedBy)
			},
		},
		{
			// group = *,!root: root's group vetoes the list, so the login
			// bypasses root; check must not show root's devices.
			name: "user outside groups",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, map[string]string{"groups": "*,!root"})
				e.mock.AddUser(duotest.User{Name: "root", Passcodes: []string{goodPasscode}})
				return e.conf, e
			},
			args:     []string{"-u", "root"},
			wantExit: check.ExitOK,
			wantOut:  []string{"user root: outside groups", "PAM_IGNORE"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.User)
				assert.Equal(t, "bypass-groups", r.User.Local)
				assert.False(t, r.User.PreauthOK)
				assert.Empty(t, r.User.Devices)
			},
		},
		{
			name: "unknown local user",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				e.mock.AddUser(duotest.User{Name: "no-such-user-pdg", Passcodes: []string{goodPasscode}})
				return e.conf, e
			},
			args:     []string{"-u", "no-such-user-pdg"},
			wantExit: check.ExitBadUser,
			wantOut:  []string{"no such local user", "PAM_USER_UNKNOWN"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.User)
				assert.Equal(t, "unknown-user", r.User.Local)
			},
		},
		{
			name: "clock 1 hour off",
			setup: func(t *testing.T) (string, *mockEnv) {
				return newClockEnv(t, time.Hour)
			},
			wantExit: check.ExitClock,
			wantOut:  []string{"check ok", "server clock offset: +3", "ERROR: this host's clock"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Duo)
				assert.True(t, r.Duo.ClockTooFar)
				require.NotNil(t, r.Duo.ClockOffsetSeconds)
				assert.InDelta(t, 3600, *r.Duo.ClockOffsetSeconds, 5)
			},
		},
		{
			name: "clock 2 minutes off",
			setup: func(t *testing.T) (string, *mockEnv) {
				return newClockEnv(t, -2*time.Minute)
			},
			wantExit: check.ExitOK,
			wantOut:  []string{"server clock offset: -1", "WARNING: "},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Duo)
				assert.False(t, r.Duo.ClockTooFar)
				assert.NotEmpty(t, r.Duo.ClockWarning)
			},
		},
		{
			name: "bad skey",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, map[string]string{"skey": strings.Repeat("Z", 40)})
				return e.conf, e
			},
			wantExit: check.ExitRefused,
			wantOut:  []string{"check FAILED", "Duo refused the request"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Duo)
				assert.False(t, r.Duo.CheckOK)
				assert.Equal(t, "refused", r.Duo.Failure)
				assert.NotEmpty(t, r.Duo.Error)
			},
		},
		{
			name: "duo down",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				e.mock.Close()
				return e.conf, e
			},
			wantExit: check.ExitUnreachable,
			wantOut:  []string{"check FAILED", "could not be reached"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Duo)
				assert.Equal(t, "unreachable", r.Duo.Failure)
			},
		},
		{
			name: "bad config",
			setup: func(t *testing.T) (string, *mockEnv) {
				conf := filepath.Join(t.TempDir(), "bad.conf")
				require.NoError(t, os.WriteFile(conf, []byte("[duo]\nikey = DIXXXXXXXXXXXXXXXXXX\nnot a key value line\nfailmode = maybe\n"), 0o600))
				return conf, nil
			},
			wantExit: check.ExitBadConfig,
			wantOut:  []string{"INVALID", "bad.conf:3: ", "bad.conf:4: "},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Config)
				assert.False(t, r.Config.Valid)
				assert.GreaterOrEqual(t, len(r.Config.Errors), 2)
				assert.Nil(t, r.Duo)
			},
		},
		{
			name: "missing config",
			setup: func(t *testing.T) (string, *mockEnv) {
				return filepath.Join(t.TempDir(), "none.conf"), nil
			},
			wantExit: check.ExitBadConfig,
			wantOut:  []string{"INVALID", "no such file"},
			wantJSON: func(t *testing.T, r jsonReport) {
				require.NotNil(t, r.Config)
				assert.False(t, r.Config.Valid)
				require.NotEmpty(t, r.Config.Errors)
				assert.Contains(t, r.Config.Errors[0], "no such file")
			},
		},
	}
}

func TestCheckCommand(t *testing.T) {
	for _, tt := range checkCases() {
		t.Run(tt.name, func(t *testing.T) {
			conf, env := tt.setup(t)
			args := append([]string{"check", "-c", conf}, tt.args...)
			out, errOut, exit := runHeadless(t, nil, args...)
			out = normalizeScreen(out, env)
			assert.Equal(t, tt.wantExit, exit, "exit %d, want %d; stdout:\n%s\nstderr:\n%s", exit, tt.wantExit, out, errOut)
			for _, w := range tt.wantOut {
				assert.Contains(t, out, w, "stdout lacks %q:\n%s", w, out)
			}
			if env != nil && strings.Contains(out, "skey") {
				assert.NotContains(t, out, strings.Repeat("Z", 40), "the secret key leaked into the output")
			}
			t.Logf("login_duo_go %s:\n%s", strings.Join(args, " "), out)
		})
	}
}

func TestCheckUsage(t *testing.T) {
	for _, args := range [][]string{{"check", "-x"}, {"check", "extra"}, {"check", "-c"}} {
		_, errOut, exit := runHeadless(t, nil, args...)
		assert.Equal(t, checkUsage, exit, "%q: exit %d, stderr %q; want %d and the usage", args, exit, errOut, checkUsage)
		assert.Contains(t, errOut, "Usage:", "%q: exit %d, stderr %q; want %d and the usage", args, exit, errOut, checkUsage)
	}
}

// jsonReport is the --json document as a script reads it: the field names
// here are the documented, stable ones (login_duo_go.8), spelled out again
// rather than taken from the code's own types.
type jsonReport struct {
	Schema int         `json:"schema"`
	Exit   int         `json:"exit"`
	Config *jsonConfig `json:"config"`
	Duo    *jsonDuo    `json:"duo"`
	User   *jsonUser   `json:"user"`
	// Configs: one entry per checked file.
	Configs []struct {
		Exit   int         `json:"exit"`
		Config *jsonConfig `json:"config"`
		Duo    *jsonDuo    `json:"duo"`
		User   *jsonUser   `json:"user"`
	} `json:"configs"`
	PAMStack *struct {
		Dir      string `json:"dir"`
		Error    string `json:"error"`
		Errors   int    `json:"errors"`
		Warnings int    `json:"warnings"`
		Findings []struct {
			File     string   `json:"file"`
			Line     int      `json:"line"`
			Severity string   `json:"severity"`
			Code     string   `json:"code"`
			Message  string   `json:"message"`
			Fix      string   `json:"fix"`
			Services []string `json:"services"`
		} `json:"findings"`
	} `json:"pam_stack"`
	FIPS *struct {
		Enabled  bool   `json:"enabled"`
		Enforced bool   `json:"enforced"`
		Module   string `json:"module"`
		Build    string `json:"build"`
	} `json:"fips"`
}

type jsonConfig struct {
	File     string   `json:"file"`
	UsedBy   string   `json:"used_by"`
	Valid    bool     `json:"valid"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

type (
	jsonDuo = struct {
		Host               string   `json:"host"`
		Proxy              string   `json:"proxy"`
		CheckOK            bool     `json:"check_ok"`
		Error              string   `json:"error"`
		Failure            string   `json:"failure"`
		Advice             string   `json:"advice"`
		ClockOffsetSeconds *float64 `json:"clock_offset_seconds"`
		ClockWarning       string   `json:"clock_warning"`
		ClockTooFar        bool     `json:"clock_too_far"`
	}
	jsonUser = struct {
		Name            string `json:"name"`
		Local           string `json:"local"`
		DuoUser         string `json:"duo_user"`
		PreauthOK       bool   `json:"preauth_ok"`
		Error           string `json:"error"`
		Failure         string `json:"failure"`
		Advice          string `json:"advice"`
		Result          string `json:"result"`
		StatusMsg       string `json:"status_msg"`
		Note            string `json:"note"`
		EnrollPortalURL string `json:"enroll_portal_url"`
		Devices         []struct {
			ID           string   `json:"id"`
			Type         string   `json:"type"`
			Name         string   `json:"name"`
			Capabilities []string `json:"capabilities"`
		} `json:"devices"`
		VerifiedPush bool              `json:"verified_push"`
		Menu         []string          `json:"menu"`
		Factors      map[string]string `json:"factors"`
	}
)

// parseJSONReport parses stdout as exactly one JSON document with only
// known fields.
func parseJSONReport(t *testing.T, out string) jsonReport {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var r jsonReport
	require.NoError(t, dec.Decode(&r), "stdout is not the documented JSON document:\n%s", out)
	assert.False(t, dec.More(), "more than one JSON document on stdout")
	assert.Equal(t, 1, r.Schema)
	return r
}

// TestCheckJSON runs every check case with --json: one JSON document, the
// same exit status as the text form, the same results, no secret key.
func TestCheckJSON(t *testing.T) {
	for _, tt := range checkCases() {
		t.Run(tt.name, func(t *testing.T) {
			conf, env := tt.setup(t)
			args := append([]string{"check", "--json", "-c", conf}, tt.args...)
			out, errOut, exit := runHeadless(t, nil, args...)
			assert.Equal(t, tt.wantExit, exit, "stderr: %s", errOut)
			r := parseJSONReport(t, out)
			assert.Equal(t, exit, r.Exit, "the document's exit differs from the exit status")
			assert.NotContains(t, out, strings.Repeat("Z", 40), "the secret key leaked")
			if skey := confSKey(conf); env != nil && skey != "" {
				assert.NotContains(t, out, skey, "the secret key leaked")
			}
			tt.wantJSON(t, r)
		})
	}
}

// TestCheckPAMStack runs check --pam-stack, text and JSON, on stacks
// that use only modules every Debian system has, and on corpus traps.
func TestCheckPAMStack(t *testing.T) {
	dir := func(t *testing.T, files map[string]string) string {
		d := t.TempDir()
		for name, text := range files {
			require.NoError(t, os.WriteFile(filepath.Join(d, name), []byte(text), 0o644))
		}
		return d
	}
	corpus := func(name string) func(t *testing.T) string {
		return func(t *testing.T) string {
			return filepath.Join("..", "internal", "pamstack", "testdata", "stacks", name, "etc", "pam.d")
		}
	}
	tests := []struct {
		name      string
		dir       func(t *testing.T) string
		wantExit  int
		wantCodes []string
		wantOut   []string
	}{
		{"clean", func(t *testing.T) string {
			return dir(t, map[string]string{"sshd": "auth requisite pam_unix.so\nauth required pam_permit.so\n"})
		}, check.ExitOK, nil, []string{": ok (0 errors, 0 warnings)"}},
		{"warning only", func(t *testing.T) string {
			return dir(t, map[string]string{"sshd": "auth required pam_permit.so\nsession optional pam_nonexistent_pdg.so\n"})
		}, check.ExitOK, []string{"missing-module"}, []string{"sshd:2: warning: ", "fix: "}},
		{"twice", corpus("trap-twice"), check.ExitPAMStack, []string{"duo-twice"}, []string{"sshd:2: error: ", "ERRORS"}},
		{"bypass denied", corpus("trap-required-only"), check.ExitPAMStack, []string{"bypass-denied"}, []string{"sshd:3: error: "}},
		{"missing dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, check.ExitPAMStack, nil,
			[]string{"cannot be read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.dir(t)
			out, errOut, exit := runHeadless(t, nil, "check", "--pam-stack", d)
			assert.Equal(t, tt.wantExit, exit, "stdout:\n%s\nstderr:\n%s", out, errOut)
			for _, w := range tt.wantOut {
				assert.Contains(t, out, w)
			}
			jout, _, jexit := runHeadless(t, nil, "check", "--json", "--pam-stack", d)
			assert.Equal(t, exit, jexit)
			r := parseJSONReport(t, jout)
			require.NotNil(t, r.PAMStack)
			assert.Equal(t, exit, r.Exit)
			assert.Nil(t, r.Config)
			var codes []string
			for _, f := range r.PAMStack.Findings {
				codes = append(codes, f.Code)
				assert.Positive(t, f.Line)
				assert.NotEmpty(t, f.Fix)
			}
			for _, c := range tt.wantCodes {
				assert.Contains(t, codes, c)
			}
		})
	}
}

// confSKey reads the skey line of a config file ("" if none).
func confSKey(conf string) string {
	data, err := os.ReadFile(conf)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "skey" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// writeConfNamed writes e's config again as NAME in a new directory,
// owned by uid, mode 0600, and returns its path.
func writeConfNamed(t *testing.T, e *mockEnv, name string, uid int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, e.mock.WriteConfig(p, nil))
	require.NoError(t, os.Chown(p, uid, 0))
	return p
}

// sshdUID is the uid of the sshd account (skips without one).
func sshdUID(t *testing.T) int {
	t.Helper()
	u, err := user.Lookup("sshd")
	if err != nil {
		t.Skip("no sshd account:", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	require.NoError(t, err)
	return uid
}

// newClockEnv is a mock whose clock is this host's plus off.
func newClockEnv(t *testing.T, off time.Duration) (string, *mockEnv) {
	t.Helper()
	mock := duotest.NewServer(duotest.WithClockOffset(off))
	t.Cleanup(mock.Close)
	conf := filepath.Join(t.TempDir(), "login_duo.conf")
	require.NoError(t, mock.WriteConfig(conf, nil))
	return conf, &mockEnv{mock: mock, conf: conf}
}

// TestCheckFIPS: check reports FIPS 140-3 mode in one text line and in
// the JSON document's "fips" object, as the running binary has it.
func TestCheckFIPS(t *testing.T) {
	conf, _ := checkCases()[0].setup(t)
	for _, tt := range []struct {
		godebug string
		want    bool
		line    string
	}{
		{"GODEBUG=fips140=on", true, "fips: on ("},
		{"GODEBUG=fips140=only", true, "fips: on, enforced ("},
	} {
		t.Run(tt.godebug, func(t *testing.T) {
			out, errOut, _ := runHeadless(t, []string{tt.godebug}, "check", "--json", "-c", conf)
			r := parseJSONReport(t, out)
			require.NotNil(t, r.FIPS, "stderr: %s", errOut)
			assert.Equal(t, tt.want, r.FIPS.Enabled)
			assert.NotEmpty(t, r.FIPS.Module)
			out, _, _ = runHeadless(t, []string{tt.godebug}, "check", "-c", conf)
			assert.Contains(t, out, "\n"+tt.line, "text form")
		})
	}
	out, _, _ := runHeadless(t, nil, "check", "--json", "-c", conf)
	r := parseJSONReport(t, out)
	require.NotNil(t, r.FIPS)
	if r.FIPS.Build == "" || r.FIPS.Build == "off" {
		assert.False(t, r.FIPS.Enabled, "a build without GOFIPS140 runs with FIPS mode off by default")
		assert.Equal(t, "latest", r.FIPS.Module)
	} else {
		assert.True(t, r.FIPS.Enabled, "a GOFIPS140=%s build runs in FIPS mode by default", r.FIPS.Build)
	}
}
