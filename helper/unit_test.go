package main

import (
	"strings"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/internal/pamhandler"
	"github.com/pam-duo-go/pam_duo_go/login"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		o       login.Outcome
		allowed bool
		code    int32
		bypass  int32 // with bypass=success
	}{
		{login.Allow, true, pamhandler.Success, pamhandler.Success},
		{login.Deny, false, pamhandler.AuthErr, pamhandler.AuthErr},
		{login.Bypass, true, pamhandler.Ignore, pamhandler.Success},
		{login.UserUnknown, false, pamhandler.UserUnknown, pamhandler.UserUnknown},
		{login.MaxTries, false, pamhandler.MaxTries, pamhandler.MaxTries},
		{login.FailOpen, true, pamhandler.Success, pamhandler.Success},
		{login.FailClosed, false, pamhandler.ServiceErr, pamhandler.ServiceErr},
		{login.Aborted, false, pamhandler.Abort, pamhandler.Abort},
		{login.Outcome(99), false, pamhandler.ServiceErr, pamhandler.ServiceErr},
	}
	for _, tt := range tests {
		d := decide(login.Result{Outcome: tt.o}, false)
		assert.Equal(t, tt.allowed, d.allowed, "decide(%d) = %+v, want allowed=%v with a message when refused", tt.o, d, tt.allowed)
		if !d.allowed {
			assert.NotEmpty(t, d.message, "decide(%d) = %+v, want allowed=%v with a message when refused", tt.o, d, tt.allowed)
		}
		got := int32(pamhandler.Code(tt.o, false))
		assert.Equal(t, tt.code, got, "pamhandler.Code(%d, false) = %d, want %d", tt.o, got, tt.code)
		got = int32(pamhandler.Code(tt.o, true))
		assert.Equal(t, tt.bypass, got, "pamhandler.Code(%d, true) = %d, want %d", tt.o, got, tt.bypass)
	}
}

func TestParseCheckArgs(t *testing.T) {
	tests := []struct {
		args    string
		want    checkArgs
		wantErr bool
	}{
		{"", checkArgs{pamDir: defaultPAMDir}, false},
		{"-c /x.conf", checkArgs{configFile: "/x.conf", pamDir: defaultPAMDir}, false},
		{"-c/x.conf -ualice", checkArgs{configFile: "/x.conf", user: "alice", pamDir: defaultPAMDir}, false},
		{"-u bob", checkArgs{user: "bob", pamDir: defaultPAMDir}, false},
		{"--json -u bob", checkArgs{user: "bob", json: true, pamDir: defaultPAMDir}, false},
		{"--pam-stack", checkArgs{pamStack: true, pamDir: defaultPAMDir}, false},
		{"--pam-stack /tmp/pam.d --json", checkArgs{pamStack: true, pamDir: "/tmp/pam.d", json: true}, false},
		{"--json --pam-stack", checkArgs{pamStack: true, pamDir: defaultPAMDir, json: true}, false},
		{"--pam-stack -u bob", checkArgs{}, true},
		{"--pam-stack /d -c /x.conf", checkArgs{}, true},
		{"--pam-stack /d extra", checkArgs{}, true},
		{"-c", checkArgs{}, true},
		{"-q", checkArgs{}, true},
		{"--jsonx", checkArgs{}, true},
		{"extra", checkArgs{}, true},
	}
	for _, tt := range tests {
		got, err := parseCheckArgs(strings.Fields(tt.args))
		if tt.wantErr {
			assert.Error(t, err, "parseCheckArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		} else if assert.NoError(t, err, "parseCheckArgs(%q) = %+v; want %+v", tt.args, got, tt.want) {
			assert.Equal(t, tt.want, got, "parseCheckArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestFailClosedMessage(t *testing.T) {
	tests := []struct {
		name      string
		res       login.Result
		showCause bool
		want      []string
		notWant   []string
	}{
		{"config error, root sees the cause", login.Result{Outcome: login.FailClosed, Cause: login.CauseConfig,
			Reason: "config: /etc/duo/login_duo.conf: open: no such file or directory"}, true,
			[]string{"configuration cannot be used", "/etc/duo/login_duo.conf: open: no such file"}, []string{"failmode"}},
		{"config error, a setuid caller is sent to check", login.Result{Outcome: login.FailClosed, Cause: login.CauseConfig,
			Reason: "config: /etc/duo/login_duo.conf:3: unknown key \"x\""}, false,
			[]string{"configuration on this host cannot be used", "login_duo_go check"}, []string{"unknown key", "failmode"}},
		{"lookup failure", login.Result{Outcome: login.FailClosed, Cause: login.CauseLocal, Reason: "user lookup: sssd down"}, true,
			[]string{"account could not be looked up: sssd down"}, nil},
		{"Duo refused", login.Result{Outcome: login.FailClosed, Cause: login.CauseDuoRefused, Reason: "preauth: Duo refused"}, true,
			[]string{"Duo refused the request"}, []string{"failmode"}},
		{"Duo down, failmode secure", login.Result{Outcome: login.FailClosed, Cause: login.CauseDuoUnavailable}, true,
			[]string{"could not be reached and failmode is secure"}, nil},
		{"control characters in a cause are escaped", login.Result{Outcome: login.FailClosed, Cause: login.CauseLocal, Reason: "user lookup: a\x1b[2Jb"}, true,
			[]string{`a\x1b[2Jb`}, []string{"\x1b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(tt.res, tt.showCause)
			require.False(t, d.allowed, "allowed")
			for _, w := range tt.want {
				assert.Contains(t, d.message, w, "message %q lacks %q", d.message, w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, d.message, w, "message %q contains %q", d.message, w)
			}
		})
	}
}
