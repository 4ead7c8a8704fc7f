package loginopts

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args    string
		want    Options
		wantErr bool
	}{
		{args: "", want: Options{}},
		{args: "-v", want: Options{Version: true}},
		{args: "-d -c /etc/x.conf -f alice -h 192.0.2.7", want: Options{Debug: true, Config: "/etc/x.conf", DuoUser: "alice", Host: "192.0.2.7"}},
		{args: "-dv -calt.conf -fbob", want: Options{Debug: true, Version: true, Config: "alt.conf", DuoUser: "bob"}},
		{args: "-df alice ls -l", want: Options{Debug: true, DuoUser: "alice", Command: []string{"ls", "-l"}}},
		{args: "-- -d", want: Options{Command: []string{"-d"}}},
		{args: "-d -- check", want: Options{Debug: true, Command: []string{"check"}}},
		{args: "id -u", want: Options{Command: []string{"id", "-u"}}},
		{args: "- x", want: Options{Command: []string{"-", "x"}}},
		{args: "-f", wantErr: true},
		{args: "-x", wantErr: true},
		{args: "-?", wantErr: true},
		{args: "-dq", wantErr: true},
		{args: "-d\x1b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			got, err := Parse(strings.Fields(tt.args))
			if tt.wantErr {
				require.ErrorIs(t, err, ErrUsage)
				assert.NotContains(t, err.Error(), "\x1b", "the option is escaped in the error")
				return
			}
			require.NoError(t, err)
			if len(got.Command) == 0 {
				got.Command = nil
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRemoteAddress(t *testing.T) {
	tests := []struct{ conn, host, want string }{
		{"192.0.2.10 51234 192.0.2.1 22", "", "192.0.2.10"},
		{"2001:db8::5 51234 2001:db8::1 22", "198.51.100.1", "2001:db8::5"},
		{"", "198.51.100.1", "198.51.100.1"},
		{"garbage here", "198.51.100.1", "198.51.100.1"},
		{"", " host.example ", "host.example"},
		{"", strings.Repeat("h", 300), strings.Repeat("h", 255)},
		{"", "", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Options{Host: tt.host}.RemoteAddress(tt.conn), "conn %q host %q", tt.conn, tt.host)
	}
}
