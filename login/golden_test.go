package login_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
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
	last := ""
	for _, r := range s.Requests() {
		line := r.Method + " " + r.Path
		keys := make([]string, 0, len(r.Params))
		for k := range r.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range r.Params[k] {
				line += " " + k + "=" + quoteIfNeeded(v)
			}
		}
		if tc.pollsVary && line == last && r.Path == "/auth/v2/auth_status" {
			continue
		}
		last = line
		writeIndented(&b, line)
	}
	b.WriteString("syslog:\n")
	for _, l := range log.Lines() {
		writeIndented(&b, l)
	}
	return normalize(b.String(), s)
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

// quoteIfNeeded quotes a request parameter's value unless it is plain.
func quoteIfNeeded(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:/@%+-", r))
	}) < 0 {
		return v
	}
	return strconv.Quote(v)
}

var (
	// tempDir is a directory of t.TempDir, also as it appears
	// percent-encoded in a pushinfo.
	tempDir = regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(os.TempDir()), "/", "(?:/|%2F)") +
		`(?:/|%2F)Test[A-Za-z0-9_]*?[0-9]+(?:/|%2F)[0-9]{3}`)
	loopbackPort = regexp.MustCompile(`(127\.0\.0\.1|\[::1\]|localhost):[0-9]+`)
	duoID        = regexp.MustCompile(`\b(vp-[0-9A-F]{16}|[0-9A-F]{32})\b`)
	portalCode   = regexp.MustCompile(`code=[0-9A-F]{16}\b`)
	elapsed      = regexp.MustCompile(`elapsed_ms=[0-9]+`)
	openFDs      = regexp.MustCompile(`with [0-9]+ descriptors open`)
	qrLines      = regexp.MustCompile(`(?m)(^  \| [ █▀▄]*[█▀▄][ █▀▄]*\n)+`)
)

// normalize replaces what varies between runs: the mock's and the
// client's ports, the mock's transaction ids (numbered in order of
// appearance), enrollment codes and their QR code, elapsed times, the
// count of open descriptors and the test's temporary directory.
func normalize(text string, s *duotest.Server) string {
	text = tempDir.ReplaceAllString(text, "TMPDIR")
	text = strings.ReplaceAll(text, s.Host, "DUO_HOST")
	text = loopbackPort.ReplaceAllString(text, "${1}:PORT")
	ids := map[string]string{}
	text = duoID.ReplaceAllStringFunc(text, func(id string) string {
		if _, ok := ids[id]; !ok {
			ids[id] = fmt.Sprintf("TXID%d", len(ids)+1)
		}
		return ids[id]
	})
	text = portalCode.ReplaceAllString(text, "code=CODE")
	text = elapsed.ReplaceAllString(text, "elapsed_ms=N")
	text = openFDs.ReplaceAllString(text, "with N descriptors open")
	return qrLines.ReplaceAllString(text, "  | [QR code]\n")
}

var outcomeNames = map[login.Outcome]string{
	login.Allow: "Allow", login.Deny: "Deny", login.Bypass: "Bypass", login.UserUnknown: "UserUnknown",
	login.MaxTries: "MaxTries", login.FailOpen: "FailOpen", login.FailClosed: "FailClosed", login.Aborted: "Aborted",
}

var causeNamesTest = map[login.Cause]string{
	login.CauseNone: "none", login.CauseConfig: "config", login.CauseLocal: "local", login.CauseDuoRefused: "duo_refused",
	login.CauseDuoUnavailable: "duo_unavailable", login.CauseDuoFailedLater: "duo_failed_later", login.CauseUnconfirmed: "unconfirmed",
}
