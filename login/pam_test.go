package login_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/login"
)

func TestPAMLoginParams(t *testing.T) {
	tests := []struct {
		name  string
		login login.PAMLogin
		check func(t *testing.T, p login.Params, a conf.Args)
	}{
		{"arguments applied", login.PAMLogin{Args: []string{"conf=/etc/duo/x.conf", "debug", "login_timeout=30", "bypass=success"}, Service: "sudo"},
			func(t *testing.T, p login.Params, a conf.Args) {
				assert.Equal(t, "/etc/duo/x.conf", p.ConfigFile)
				assert.True(t, p.Debug)
				assert.Equal(t, 30*time.Second, p.Deadline)
				assert.Equal(t, conf.BypassSuccess, a.Bypass)
				assert.NoError(t, p.ArgError)
				assert.Equal(t, login.UI{Mode: login.Interactive}, p.UI, "sshd behaviours outside sshd, or quiet")
			}},
		{"PAM_SILENT is quiet", login.PAMLogin{Silent: true, Service: "sudo"},
			func(t *testing.T, p login.Params, _ conf.Args) { assert.True(t, p.UI.Quiet) }},
		{"a bad argument refuses the login", login.PAMLogin{Args: []string{"config=/etc/duo/x.conf"}},
			func(t *testing.T, p login.Params, _ conf.Args) {
				assert.ErrorIs(t, p.ArgError, conf.ErrArgument)
				assert.Equal(t, conf.DefaultPAMConfig, p.ConfigFile)
			}},
		{"sshd services", login.PAMLogin{Service: "sshd-pamtest", User: "alice", UID: 0, RemoteHost: "192.0.2.1"},
			func(t *testing.T, p login.Params, _ conf.Args) {
				assert.Equal(t, login.UI{Mode: login.HeldInfo}, p.UI)
				assert.Equal(t, "alice", p.User)
				assert.Equal(t, "192.0.2.1", p.RemoteHost)
				assert.Equal(t, "pam_duo_go", p.Program)
			}},
		{"SUDO_COMMAND under sudo is the command", login.PAMLogin{Service: "sudo", Command: "/usr/bin/id -u"},
			func(t *testing.T, p login.Params, _ conf.Args) { assert.Equal(t, "/usr/bin/id -u", p.Command) }},
		{"SUDO_COMMAND under a sudoers pam_service", login.PAMLogin{Service: "sudo-i", Command: "/bin/sh"},
			func(t *testing.T, p login.Params, _ conf.Args) { assert.Equal(t, "/bin/sh", p.Command) }},
		{"SUDO_COMMAND under su is the caller's: ignored", login.PAMLogin{Service: "su", Command: "/usr/bin/apt-get update"},
			func(t *testing.T, p login.Params, _ conf.Args) { assert.Empty(t, p.Command) }},
		{"SUDO_COMMAND under sshd is ignored", login.PAMLogin{Service: "sshd", Command: "/usr/bin/apt-get update"},
			func(t *testing.T, p login.Params, _ conf.Args) { assert.Empty(t, p.Command) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, a := tt.login.Params()
			tt.check(t, p, a)
		})
	}
}
