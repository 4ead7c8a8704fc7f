package login_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// rawControl reports the first raw control character in s (0x00-0x1f and
// 0x7f, and C1 controls), except the newlines allowed when keepNewlines.
func rawControl(s string, keepNewlines bool) (rune, bool) {
	for _, r := range s {
		if r == '\n' && keepNewlines {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return r, true
		}
	}
	return 0, false
}

// TestHostileInput feeds hostile text from every side (the user name, the
// user's answers, the command being authorized, the server's messages,
// menu and device names) and checks that nothing reaches syslog
// unescaped, nothing is sent to Duo unencoded, every login ends with a
// defined outcome, and the text shown reaches the conversation as it
// came, not escaped: each transport escapes what it writes out, so that
// it is escaped exactly once (tested per transport: internal/pamworker,
// pam_module/core, internal/tty).
func TestHostileInput(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	escapes := "\x1b[2J\x1b]0;owned\x07\r\x00\x7f\u009b31m"
	longName := strings.Repeat("u", 10<<10)
	tests := []tcase{
		{name: "control characters in the user name", user: "eve" + escapes + "\nfake=1", raw: []string{"eve" + escapes + "\nfake=1"},
			users: []duotest.User{{Name: "eve" + escapes + "\nfake=1", Passcodes: []string{"123456"}}}, answers: []string{"123456"}, want: login.Allow},
		{name: "10 kB user name", user: longName, users: []duotest.User{{Name: longName, Passcodes: []string{"123456"}}},
			answers: []string{"123456"}, want: login.Allow,
			check: func(t *testing.T, _ *duotest.Server, _ *conv, log string) {
				assert.Less(t, len(log), 2048, "the syslog line is bounded")
				assert.Contains(t, log, "...[cut]")
			}},
		{name: "1 MB answer is refused before Duo", user: "alice", users: []duotest.User{{Name: "alice", Passcodes: []string{"123456"}}},
			answers: []string{strings.Repeat("1", 1<<20), "123456"}, want: login.Allow, seen: []string{"ERROR: Invalid passcode or option."},
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				auths := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auths, 1, "the long answer never reached Duo")
				assert.Equal(t, "123456", auths[0].Params.Get("passcode"))
			}},
		{name: "answers with escapes and shell syntax are not passcodes", user: "alice",
			users:   []duotest.User{{Name: "alice", Passcodes: []string{"123456"}}},
			answers: []string{"$(touch " + marker + ")", "123456\x1b[A"}, want: login.MaxTries,
			extra: map[string]string{"prompts": "2"},
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				assert.Empty(t, s.RequestsTo("/auth/v2/auth"), "nothing sent to Duo")
			}},
		{name: "shell metacharacters in the sudo command travel encoded", user: "alice",
			users: []duotest.User{{Name: "alice", Push: duotest.PushApproved()}}, answers: []string{"1"}, want: login.Allow,
			extra: map[string]string{"pushinfo": "yes"},
			params: func(p *login.Params) {
				p.Command = "/usr/bin/id $(touch " + marker + ") `touch " + marker + "`; touch " + marker + "\n" + escapes
			},
			check: func(t *testing.T, s *duotest.Server, _ *conv, _ string) {
				auths := s.RequestsTo("/auth/v2/auth")
				require.Len(t, auths, 1)
				raw := auths[0].Params.Get("pushinfo")
				info, err := url.ParseQuery(raw)
				require.NoError(t, err)
				assert.Contains(t, info.Get("command"), "$(touch "+marker+")")
				_, bad := rawControl(raw, false)
				assert.False(t, bad, "pushinfo not URL-encoded: %q", raw)
				assert.False(t, strings.ContainsAny(raw, " ;`$()"), "pushinfo not URL-encoded: %q", raw)
			}},
		{name: "escapes in the server's status, menu and device names", user: "alice", raw: []string{"evil" + escapes, "wait" + escapes, "ok" + escapes},
			users: []duotest.User{{Name: "alice", StatusMsg: "Hi" + escapes,
				Devices: []duo.Device{{Device: "D1", Type: "phone", DisplayName: "evil" + escapes, Capabilities: []string{duo.CapPush}}},
				Push: []duotest.Step{{Status: "pushed", StatusMsg: "wait" + escapes, Result: duo.ResultWaiting},
					{Status: "allow", StatusMsg: "ok" + escapes, Result: duo.ResultAllow}}}},
			answers: []string{"1"}, want: login.Allow},
		{name: "escapes in a denial message", user: "alice", raw: []string{"no" + escapes}, users: []duotest.User{{Name: "alice", Preauth: duo.ResultDeny, StatusMsg: "no" + escapes}},
			want: login.Deny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := tc.check
			tc.check = func(t *testing.T, s *duotest.Server, c *conv, log string) {
				for _, raw := range tc.raw {
					assert.Contains(t, c.transcript(), raw, "the flow altered text for its conversation, which escapes it")
				}
				assert.NotContains(t, c.transcript(), `\x1b`, "the flow escaped text its conversation escapes again")
				r, bad := rawControl(log, true)
				assert.False(t, bad, "raw %U or a line break in syslog: %q", r, log)
				assert.Equal(t, 0, strings.Count(log, "\n"), "raw %U or a line break in syslog: %q", r, log)
				if check != nil {
					check(t, s, c, log)
				}
			}
			run(t, tc)
			_, err := os.Stat(marker)
			require.Error(t, err, "something ran a shell: %s exists", marker)
		})
	}
}
