package login_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// TestDebugLineBounded: a debug line carries the user name and Duo's
// answers; however long they are, the line is escaped and cut.
func TestDebugLineBounded(t *testing.T) {
	longName := strings.Repeat("u\x1b", 300) // 1500 bytes escaped
	run(t, tcase{name: "long user name, debug on", user: longName,
		users:   []duotest.User{{Name: longName, Passcodes: []string{"123456"}}},
		answers: []string{"123456"}, want: login.Allow,
		params: func(p *login.Params) { p.Debug = true },
		check: func(t *testing.T, _ *duotest.Server, _ *conv, log string) {
			cut := 0
			for _, l := range strings.Split(log, "\n") {
				if !strings.HasPrefix(l, "debug: ") {
					continue
				}
				assert.LessOrEqual(t, len(l), len("debug: ")+1024+len("...[cut]"), "debug line not bounded: %.80q...", l)
				assert.NotContains(t, l, "\x1b")
				if strings.HasSuffix(l, "...[cut]") {
					cut++
				}
			}
			assert.Positive(t, cut, "no debug line was cut: %.300q", log)
		}})
}
