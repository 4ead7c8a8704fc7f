package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// syslogHeader is a datagram's start as every line of the module must
// have it, in process and in the worker alike: facility LOG_AUTHPRIV
// (10 << 3) with a severity, a timestamp, the tag pam_duo_go and a pid.
const syslogHeader = `^<(8[0-7])>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d pam_duo_go\[\d+\]: `

// TestLogSchema logs in through the real module, in process and with
// mode=exec, with and without debug, and checks every syslog line it
// wrote: one tag, facility authpriv, the documented field set
// (pam_duo_go(8)) on the outcome line, and with debug a line for each
// step; never the secret key or the passcode.
func TestLogSchema(t *testing.T) {
	art := artifacts(t)
	logs := syslog(t)
	tests := []struct {
		name    string
		args    string
		answer  string
		outcome string   // the outcome line after the header
		steps   []string // with debug: these debug lines, in order
	}{
		{name: "passcode", answer: "123456",
			outcome: `allow user=root rhost=203\.0\.113\.9 service=duo-log ipaddr=203\.0\.113\.9 factor=passcode txid=- elapsed_ms=\d+ cause=none reason=second factor passcode: allow$`},
		{name: "push", answer: "1",
			outcome: `allow user=root rhost=203\.0\.113\.9 service=duo-log ipaddr=203\.0\.113\.9 factor=push1 txid=[^- ]\S* elapsed_ms=\d+ cause=none reason=second factor push1: allow$`},
		{name: "bypassed by groups", args: "", answer: "",
			outcome: `bypass user=root rhost=203\.0\.113\.9 service=duo-log ipaddr=- factor=- txid=- elapsed_ms=\d+ cause=none reason=user not in groups$`},
		{name: "config refused", answer: "",
			outcome: `failclosed user=root rhost=203\.0\.113\.9 service=duo-log ipaddr=- factor=- txid=- elapsed_ms=\d+ cause=config reason=config: .*mode 0644`},
	}
	for _, mode := range []string{"in process", "mode=exec"} {
		for _, debug := range []bool{false, true} {
			for _, tt := range tests {
				name := fmt.Sprintf("%s/debug=%t/%s", mode, debug, tt.name)
				t.Run(name, func(t *testing.T) {
					mock := duotest.NewServer()
					defer mock.Close()
					mock.AddUser(duotest.User{Name: "root", Passcodes: []string{"123456"}, Push: duotest.PushApproved()})
					dir := t.TempDir()
					conf := filepath.Join(dir, "pam_duo.conf")
					extra := map[string]string{"https_timeout": "2"}
					if tt.name == "bypassed by groups" {
						extra["groups"] = "no-such-group-pdg"
					}
					writeConfig(t, conf, mock, "", extra)
					if tt.name == "config refused" {
						require.NoError(t, os.Chmod(conf, 0o644))
					}
					var args []string
					if mode == "mode=exec" {
						args = append(args, "mode=exec")
					}
					if debug {
						args = append(args, "debug")
					}
					stack := art.AuthLine("required", conf, e2e.Mode{}, args...) + "\n"
					require.NoError(t, os.WriteFile(filepath.Join(dir, "duo-log"), []byte(stack), 0o644))
					conv := pam.ConversationFunc(func(style pam.Style, msg string) (string, error) {
						if style == pam.PromptEchoOn || style == pam.PromptEchoOff {
							return tt.answer, nil
						}
						return "", nil
					})
					tx, err := pam.StartConfDir("duo-log", "root", conv, dir)
					require.NoError(t, err)
					require.NoError(t, tx.SetItem(pam.Rhost, "203.0.113.9"))
					mark := logs.count()
					_ = tx.Authenticate(0)
					require.NoError(t, tx.End())
					event, _, _ := strings.Cut(tt.outcome, " ")
					_, ok := logs.waitFor(mark, 2*time.Second, "pam_duo_go[", "]: "+event+" user=root ")
					lines := logs.since(mark)
					require.True(t, ok, "no %s line; got:\n%s", event, strings.Join(lines, "\n"))

					header := regexp.MustCompile(syslogHeader)
					outcome := regexp.MustCompile(syslogHeader + tt.outcome)
					outcomes, debugs := 0, []string{}
					for _, l := range lines {
						if strings.Contains(l, ": PAM ") {
							continue // libpam's own lines, under the application's name
						}
						l = strings.TrimSuffix(l, "\n")
						assert.Regexp(t, header, l, "every line has the one tag and facility authpriv")
						assert.NotContains(t, l, mock.SKey)
						assert.NotContains(t, l, "123456", "a passcode in the log")
						if outcome.MatchString(l) {
							outcomes++
						}
						if _, msg, ok := strings.Cut(l, "]: debug: "); ok {
							debugs = append(debugs, msg)
						}
					}
					assert.Equal(t, 1, outcomes, "one outcome line matching %s; got:\n%s", tt.outcome, strings.Join(lines, "\n"))
					if !debug {
						assert.Empty(t, debugs, "debug lines without debug")
						return
					}
					// debug: each step of the login has its line.
					want := []string{"login of root: service duo-log, rhost 203.0.113.9"}
					switch tt.name {
					case "passcode", "push":
						want = append(want, "config ", "user root: uid 0", "asking Duo about root", "preauth: result auth",
							"auth: factor ", "auth: result ")
					case "bypassed by groups":
						want = append(want, "config ", "user root: uid 0")
					}
					if tt.name == "push" {
						want = append(want, "auth_status ")
					}
					all := strings.Join(debugs, "\n")
					pos := 0
					for _, w := range want {
						i := strings.Index(all[pos:], w)
						if !assert.True(t, i >= 0, "no debug line %q (in order) in:\n%s", w, all) {
							break
						}
						pos += i + len(w)
					}
				})
			}
		}
	}
}
