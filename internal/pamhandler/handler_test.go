package pamhandler

import (
	"context"
	"errors"
	"fmt"
	"log/syslog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// fakeTx is a Transaction that records what the handler asked.
type fakeTx struct {
	user     string // "" = pam_get_user fails
	items    map[Item]string
	env      map[string]string
	uid      int
	command  string
	asked    []string // "command" when Command was called
	messages []string // "INFO: ...", "ERROR: ...", "PROMPT: ..."
}

func (f *fakeTx) User() (string, error) {
	if f.user == "" {
		return "", errors.New("no user")
	}
	return f.user, nil
}
func (f *fakeTx) Item(i Item) string     { return f.items[i] }
func (f *fakeTx) Env(name string) string { return f.env[name] }
func (f *fakeTx) UID() int               { return f.uid }
func (f *fakeTx) Command() string        { f.asked = append(f.asked, "command"); return f.command }
func (f *fakeTx) Info(_ context.Context, m string) error {
	f.messages = append(f.messages, "INFO: "+m)
	return nil
}
func (f *fakeTx) Error(_ context.Context, m string) error {
	f.messages = append(f.messages, "ERROR: "+m)
	return nil
}
func (f *fakeTx) Prompt(_ context.Context, m string, _ bool) (string, error) {
	f.messages = append(f.messages, "PROMPT: "+m)
	return "", errors.New("no answers here")
}

// lines is a login.Logger that keeps the lines.
type lines []string

func (l *lines) Log(sev syslog.Priority, line string) {
	*l = append(*l, fmt.Sprintf("%d %s", sev, line))
}

func TestLoginParams(t *testing.T) {
	tests := []struct {
		name   string
		tx     fakeTx
		argv   []string
		silent bool
		check  func(t *testing.T, p login.Params, a Args, tx *fakeTx)
	}{
		{"arguments applied", fakeTx{items: map[Item]string{Service: "sudo"}},
			[]string{"conf=/etc/duo/x.conf", "debug", "login_timeout=30", "bypass=success"}, false,
			func(t *testing.T, p login.Params, a Args, _ *fakeTx) {
				assert.Equal(t, "/etc/duo/x.conf", p.ConfigFile)
				assert.True(t, p.Debug)
				assert.Equal(t, 30*time.Second, p.Deadline)
				assert.Equal(t, BypassSuccess, a.Bypass)
				assert.NoError(t, p.ArgError)
				assert.True(t, p.ExplainRefusal)
				assert.Equal(t, login.UI{Mode: login.Interactive}, p.UI, "sshd behaviours outside sshd, or quiet")
			}},
		{"PAM_SILENT is quiet", fakeTx{items: map[Item]string{Service: "sudo"}}, nil, true,
			func(t *testing.T, p login.Params, _ Args, _ *fakeTx) { assert.True(t, p.UI.Quiet) }},
		{"quiet argument", fakeTx{items: map[Item]string{Service: "sudo"}}, []string{"quiet"}, false,
			func(t *testing.T, p login.Params, _ Args, _ *fakeTx) { assert.True(t, p.UI.Quiet) }},
		{"a bad argument refuses the login", fakeTx{}, []string{"config=/etc/duo/x.conf"}, false,
			func(t *testing.T, p login.Params, _ Args, _ *fakeTx) {
				assert.ErrorIs(t, p.ArgError, ErrArgument)
				assert.Equal(t, conf.DefaultPAMConfig, p.ConfigFile)
			}},
		{"sshd services and the items",
			fakeTx{items: map[Item]string{Service: "sshd-pamtest", RemoteHost: "192.0.2.1", TTY: "ssh"}, uid: 0,
				env: map[string]string{"SSH_AUTH_INFO_0": "publickey ssh-ed25519 AAAA"}}, nil, false,
			func(t *testing.T, p login.Params, _ Args, _ *fakeTx) {
				assert.Equal(t, login.UI{Mode: login.HeldInfo}, p.UI)
				assert.Equal(t, "alice", p.User)
				assert.Equal(t, 0, p.UID)
				assert.Equal(t, "sshd-pamtest", p.Service)
				assert.Equal(t, "192.0.2.1", p.RemoteHost)
				assert.Equal(t, "ssh", p.TTY)
				assert.Equal(t, "publickey ssh-ed25519 AAAA", p.AuthInfo)
				assert.Equal(t, "pam_duo_go", p.Program)
			}},
		{"uid of su's caller", fakeTx{items: map[Item]string{Service: "su"}, uid: 1000}, nil, false,
			func(t *testing.T, p login.Params, _ Args, _ *fakeTx) { assert.Equal(t, 1000, p.UID) }},
		{"SUDO_COMMAND under sudo is the command", fakeTx{items: map[Item]string{Service: "sudo"}, command: "/usr/bin/id -u"}, nil, false,
			func(t *testing.T, p login.Params, _ Args, _ *fakeTx) { assert.Equal(t, "/usr/bin/id -u", p.Command) }},
		{"SUDO_COMMAND under a sudoers pam_service", fakeTx{items: map[Item]string{Service: "sudo-i"}, command: "/bin/sh"}, nil, false,
			func(t *testing.T, p login.Params, _ Args, _ *fakeTx) { assert.Equal(t, "/bin/sh", p.Command) }},
		{"SUDO_COMMAND under su is the caller's: not read", fakeTx{items: map[Item]string{Service: "su"}, command: "/usr/bin/apt-get update"}, nil, false,
			func(t *testing.T, p login.Params, _ Args, tx *fakeTx) {
				assert.Empty(t, p.Command)
				assert.Empty(t, tx.asked)
			}},
		{"SUDO_COMMAND under sshd is not read", fakeTx{items: map[Item]string{Service: "sshd"}, command: "/usr/bin/apt-get update"}, nil, false,
			func(t *testing.T, p login.Params, _ Args, tx *fakeTx) {
				assert.Empty(t, p.Command)
				assert.Empty(t, tx.asked)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, a := loginParams(&tt.tx, tt.argv, tt.silent, tt.tx.items[Service], "alice")
			tt.check(t, p, a, &tt.tx)
		})
	}
}

func TestAuthenticateWithoutDuo(t *testing.T) {
	tests := []struct {
		name     string
		tx       fakeTx
		argv     []string
		want     Result
		messages []string
		logged   string
	}{
		{"no user from PAM", fakeTx{items: map[Item]string{Service: "sudo", RemoteHost: "192.0.2.1"}}, nil,
			Result{Code: UserUnknown, Reason: "no user name from PAM"}, nil,
			"4 unknown-user user=- rhost=192.0.2.1 service=sudo ipaddr=- factor=- txid=- elapsed_ms=0 cause=none reason=no user name from PAM"},
		{"a bad argument fails closed and says why", fakeTx{user: "alice", items: map[Item]string{Service: "sudo"}}, []string{"config=/x"},
			Result{Code: ServiceErr, Reason: `module arguments: module argument "config=/x": unknown (known: conf=FILE, debug, quiet, mode=auto|exec, core=PATH, helper=PATH, bypass=ignore|success, login_timeout=SECONDS, remember_dir=PATH)`},
			[]string{"ERROR: " + login.FailClosedMessage(login.CauseConfig)}, "failclosed user=alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged lines
			got := Authenticate(context.Background(), &tt.tx, tt.argv, false, &logged)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.messages, tt.tx.messages)
			require.NotEmpty(t, logged)
			assert.Contains(t, logged[len(logged)-1], tt.logged)
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		o             login.Outcome
		bypassSuccess bool
		want, exit    int
	}{
		{login.Allow, false, Success, ExitAllowed},
		{login.FailOpen, false, Success, ExitAllowed},
		{login.Bypass, false, Ignore, ExitAllowed},
		{login.Bypass, true, Success, ExitAllowed},
		{login.Deny, true, AuthErr, ExitDenied},
		{login.UserUnknown, false, UserUnknown, ExitDenied},
		{login.MaxTries, false, MaxTries, ExitDenied},
		{login.Aborted, false, Abort, ExitFailed},
		{login.FailClosed, true, ServiceErr, ExitFailed},
		{login.Outcome(99), false, ServiceErr, ExitFailed},
	}
	for _, tt := range tests {
		code := Code(tt.o, tt.bypassSuccess)
		assert.Equal(t, tt.want, code, "outcome %d bypass=success %v", tt.o, tt.bypassSuccess)
		assert.Equal(t, tt.exit, ExitStatus(code), "code %d", code)
	}
}
