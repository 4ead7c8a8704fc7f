package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

func TestCheckCommand(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T) (conf string, env *mockEnv)
		args     []string // after "check -c CONF"
		wantExit int
		wantOut  []string // substrings of stdout
	}{
		{
			name: "ok",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				return e.conf, e
			},
			wantExit: checkOK,
			wantOut:  []string{": ok\n", "check ok", "server clock offset: "},
		},
		{
			name: "ok with user",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				e.mock.AddUser(duotest.User{Name: "alice", Passcodes: []string{goodPasscode}, Push: duotest.PushApproved()})
				return e.conf, e
			},
			args:     []string{"-u", "alice"},
			wantExit: checkOK,
			wantOut:  []string{"check ok", `user alice: preauth result "auth"`},
		},
		{
			name: "bad skey",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, map[string]string{"skey": strings.Repeat("Z", 40)})
				return e.conf, e
			},
			wantExit: checkRefused,
			wantOut:  []string{"check FAILED", "Duo refused the request"},
		},
		{
			name: "duo down",
			setup: func(t *testing.T) (string, *mockEnv) {
				e := newMockEnv(t, nil)
				e.mock.Close()
				return e.conf, e
			},
			wantExit: checkUnreachable,
			wantOut:  []string{"check FAILED", "could not be reached"},
		},
		{
			name: "bad config",
			setup: func(t *testing.T) (string, *mockEnv) {
				conf := filepath.Join(t.TempDir(), "bad.conf")
				if err := os.WriteFile(conf, []byte("[duo]\nikey = DIXXXXXXXXXXXXXXXXXX\nnot a key value line\nfailmode = maybe\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return conf, nil
			},
			wantExit: checkBadConfig,
			wantOut:  []string{"INVALID", "bad.conf:3: ", "bad.conf:4: "},
		},
		{
			name: "missing config",
			setup: func(t *testing.T) (string, *mockEnv) {
				return filepath.Join(t.TempDir(), "none.conf"), nil
			},
			wantExit: checkBadConfig,
			wantOut:  []string{"INVALID", "no such file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, env := tt.setup(t)
			args := append([]string{"check", "-c", conf}, tt.args...)
			out, errOut, exit := runHeadless(t, nil, args...)
			out = normalizeScreen(out, env)
			if exit != tt.wantExit {
				t.Errorf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", exit, tt.wantExit, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if env != nil && strings.Contains(out, "skey") && strings.Contains(out, strings.Repeat("Z", 40)) {
				t.Errorf("the secret key leaked into the output")
			}
			t.Logf("login_duo_go %s:\n%s", strings.Join(args, " "), out)
		})
	}
}

func TestCheckUsage(t *testing.T) {
	for _, args := range [][]string{{"check", "-x"}, {"check", "extra"}, {"check", "-c"}} {
		_, errOut, exit := runHeadless(t, nil, args...)
		if exit != checkUsage || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%q: exit %d, stderr %q; want %d and the usage", args, exit, errOut, checkUsage)
		}
	}
}
