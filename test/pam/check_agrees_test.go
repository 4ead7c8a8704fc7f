package pamtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// Verdicts that `login_duo_go check -c CONF -u USER` and a real login
// through the module must agree on.
const (
	verdictDuo     = "duo"     // the login asks Duo (here: a passcode, allowed)
	verdictBypass  = "bypass"  // Duo does not apply: PAM_IGNORE
	verdictRefused = "refused" // refused before the user's answers count: config, account or Duo's refusal
)

// TestCheckAgreesWithModule runs, for a table of broken and good configs,
// `login_duo_go check --json -c CONF -u root` and a real login through
// the built module and libpam (in process and mode=exec) against the same
// mock, and requires the same verdict from both.
func TestCheckAgreesWithModule(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the module looks up local users and the configs are root-owned")
	}
	art := e2e.BuildArtifacts(t)
	sshd, err := user.Lookup("sshd")
	if err != nil {
		t.Skip("no sshd account:", err)
	}
	sshdUID, err := strconv.Atoi(sshd.Uid)
	require.NoError(t, err)

	tests := []struct {
		name   string
		conf   map[string]string
		mutate func(t *testing.T, conf string) // after the config is written
		user   string
		want   string
	}{
		{name: "good", want: verdictDuo},
		{name: "owned by sshd", mutate: func(t *testing.T, conf string) {
			require.NoError(t, os.Chown(conf, sshdUID, 0))
		}, want: verdictRefused},
		{name: "owned by nobody", mutate: func(t *testing.T, conf string) {
			require.NoError(t, os.Chown(conf, 65534, 65534))
		}, want: verdictRefused},
		{name: "readable by others", mutate: func(t *testing.T, conf string) {
			require.NoError(t, os.Chmod(conf, 0o644))
		}, want: verdictRefused},
		{name: "readable by its group", mutate: func(t *testing.T, conf string) {
			require.NoError(t, os.Chmod(conf, 0o640))
		}, want: verdictRefused},
		{name: "invalid value", conf: map[string]string{"failmode": "maybe"}, want: verdictRefused},
		{name: "cafile missing", mutate: func(t *testing.T, conf string) {
			require.NoError(t, os.Remove(conf+".ca.pem"))
		}, want: verdictRefused},
		{name: "config missing", mutate: func(t *testing.T, conf string) {
			require.NoError(t, os.Remove(conf))
		}, want: verdictRefused},
		{name: "wrong skey", mutate: func(t *testing.T, conf string) {
			data, err := os.ReadFile(conf)
			require.NoError(t, err)
			lines := strings.Split(string(data), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "skey") {
					lines[i] = "skey = " + strings.Repeat("Z", 40)
				}
			}
			require.NoError(t, os.WriteFile(conf, []byte(strings.Join(lines, "\n")), 0o600))
		}, want: verdictRefused},
		{name: "groups: in", conf: map[string]string{"groups": "root"}, want: verdictDuo},
		{name: "groups: negated out", conf: map[string]string{"groups": "*,!root"}, want: verdictBypass},
		{name: "groups: no match", conf: map[string]string{"groups": "no-such-group-pdg"}, want: verdictBypass},
		{name: "groups: second list matches", conf: map[string]string{"groups": "no-such-group-pdg root"}, want: verdictDuo},
		{name: "unknown local user", user: "no-such-user-pdg", want: verdictRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := duotest.NewServer()
			defer s.Close()
			userName := tt.user
			if userName == "" {
				userName = "root"
			}
			s.AddUser(duotest.User{Name: userName, Passcodes: []string{"123456"}, Push: duotest.PushApproved()})
			dir := t.TempDir()
			conf := filepath.Join(dir, "pam_duo.conf")
			writeConfig(t, s, conf, tt.conf)
			if tt.mutate != nil {
				tt.mutate(t, conf)
			}

			checkVerdict, report := checkVerdictOf(t, art.Helper, conf, userName)
			assert.Equal(t, tt.want, checkVerdict, "check's verdict; its report:\n%s", report)
			for _, mode := range []string{"", "mode=exec"} {
				got, seen := moduleVerdict(t, art, dir, conf, userName, mode)
				assert.Equal(t, tt.want, got, "the module's verdict (%s); it showed:\n%s", mode, seen)
				assert.Equal(t, checkVerdict, got, "check and the module disagree (%s); check said:\n%s", mode, report)
			}
		})
	}
}

// checkVerdictOf runs the built login_duo_go check --json and says what it
// predicts for the user's login.
func checkVerdictOf(t *testing.T, helper, conf, userName string) (string, string) {
	t.Helper()
	cmd := exec.Command(helper, "check", "--json", "-c", conf, "-u", userName)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	exit := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		exit = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	var r struct {
		Exit int `json:"exit"`
		User *struct {
			Local string `json:"local"`
		} `json:"user"`
	}
	require.NoError(t, json.Unmarshal(out, &r), "check's output:\n%s", out)
	require.Equal(t, exit, r.Exit)
	report := fmt.Sprintf("exit %d\n%s", exit, out)
	switch {
	case exit != 0:
		return verdictRefused, report
	case r.User != nil && r.User.Local == "bypass-groups":
		return verdictBypass, report
	}
	return verdictDuo, report
}

// moduleVerdict logs userName in through the real module with conf,
// answering the passcode, and says what happened.
func moduleVerdict(t *testing.T, art e2e.Artifacts, dir, conf, userName, mode string) (string, string) {
	t.Helper()
	// PAM_IGNORE falls through to pam_debug's PAM_PERM_DENIED; any other
	// result ends the stack with the module's.
	stack := art.AuthLine("[ignore=ignore default=done]", conf, e2e.Mode{}, mode) + "\n" +
		"auth required pam_debug.so auth=perm_denied\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "duo-agree"), []byte(stack), 0o644))
	conv := &transcript{answers: []string{"123456"}}
	tx, err := pam.StartConfDir("duo-agree", userName, conv, dir)
	require.NoError(t, err)
	err = authenticate(t, tx, 0, func() string { return strings.Join(conv.seen, "\n") })
	require.NoError(t, tx.End())
	seen := fmt.Sprintf("result %v\n%s", err, strings.Join(conv.seen, "\n"))
	switch {
	case err == nil:
		return verdictDuo, seen
	case errors.Is(err, pam.ErrPermDenied):
		return verdictBypass, seen
	case errors.Is(err, pam.ErrService), errors.Is(err, pam.ErrUserUnknown):
		return verdictRefused, seen
	}
	return "unexpected", seen
}
