package login_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/testutil"
	"github.com/pam-duo-go/pam_duo_go/internal/testutil/golden"
	"github.com/pam-duo-go/pam_duo_go/login"
)

// goldenRuns counts the runs of run per test, so that a test that logs in
// more than once gets one golden file per login.
var goldenRuns sync.Map // test name -> *int

// compareGolden pins the whole of one login run by run: its result, what
// the user saw, the requests Duo received and the syslog lines, in
// testdata/golden/<test name>.golden (go test -update rewrites them).
func compareGolden(t *testing.T, tc tcase, s *duotest.Server, res login.Result, c *conv, log *logRecorder) {
	t.Helper()
	n, _ := goldenRuns.LoadOrStore(t.Name(), new(int))
	*n.(*int)++
	name := t.Name()
	if *n.(*int) > 1 {
		name += fmt.Sprintf("#%d", *n.(*int))
	}
	golden.Compare(t, name, goldenTranscript(tc, s, res, c, log))
}

// goldenTranscript is the text of one login with what varies between runs
// (ports, random ids, timings, the temporary directory) normalized.
func goldenTranscript(tc tcase, s *duotest.Server, res login.Result, c *conv, log *logRecorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "outcome: %s\n", outcomeNames[res.Outcome])
	fmt.Fprintf(&b, "cause: %s\n", causeNamesTest[res.Cause])
	fmt.Fprintf(&b, "unprompted: %t\n", res.Unprompted)
	fmt.Fprintf(&b, "error: %t\n", res.Err != nil)
	fmt.Fprintf(&b, "reason: %s\n", res.Reason)
	b.WriteString("conversation:\n")
	c.mu.Lock()
	for _, m := range c.seen {
		writeIndented(&b, visible(m))
	}
	c.mu.Unlock()
	b.WriteString("duo:\n")
	for _, line := range testutil.DuoRequestLines(s.Requests(), tc.pollsVary) {
		writeIndented(&b, line)
	}
	b.WriteString("syslog:\n")
	for _, l := range log.Lines() {
		writeIndented(&b, l)
	}
	return golden.Normalizer{DuoHost: s.Host}.Normalize(b.String())
}

// writeIndented writes one entry: its first line indented by two spaces,
// any further line by "  | ".
func writeIndented(b *strings.Builder, entry string) {
	for i, l := range strings.Split(entry, "\n") {
		if i == 0 {
			b.WriteString("  " + l + "\n")
		} else {
			b.WriteString("  | " + l + "\n")
		}
	}
}

// visible shows what the flow handed its conversation with every rune
// that is not printable (but a newline) as <U+XXXX> and every invalid byte
// as <0xXX>: the flow hands text raw and each transport escapes it once
// (as \xNN), so a golden file shows which of the two a text was.
func visible(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "<0x%02X>", s[i])
		case r == '\n' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "<U+%04X>", r)
		}
		i += size
	}
	return b.String()
}

var outcomeNames = map[login.Outcome]string{
	login.Allow: "Allow", login.Deny: "Deny", login.Bypass: "Bypass", login.UserUnknown: "UserUnknown",
	login.MaxTries: "MaxTries", login.FailOpen: "FailOpen", login.FailClosed: "FailClosed", login.Aborted: "Aborted",
}

var causeNamesTest = map[login.Cause]string{
	login.CauseNone: "none", login.CauseConfig: "config", login.CauseLocal: "local", login.CauseDuoRefused: "duo_refused",
	login.CauseDuoUnavailable: "duo_unavailable", login.CauseDuoFailedLater: "duo_failed_later", login.CauseUnconfirmed: "unconfirmed",
}
