package sshd_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/testutil"
	"github.com/pam-duo-go/pam_duo_go/internal/testutil/golden"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// syslogTag is the tag of the module's syslog lines.
const syslogTag = "pam_duo_go"

// goldenLogin is what one ssh login is compared on: what the ssh client
// showed and typed, the requests the mock received and the module's
// syslog lines, each from the marks taken before the login.
type goldenLogin struct {
	user     string
	mock     *duotest.Server
	srv      *e2e.Sshd
	requests int // mock requests before the login
	syslog   int // module syslog lines before the login
}

// markLogin notes where the mock's requests and the server's syslog
// stand before a login by user.
func markLogin(user string, mock *duotest.Server, srv *e2e.Sshd) goldenLogin {
	return goldenLogin{user: user, mock: mock, srv: srv, requests: len(mock.Requests()), syslog: len(srv.Syslog.Lines(syslogTag))}
}

// compare checks the login's transcript against the golden file named
// after the test (go test -update rewrites it). wantSyslog is how many
// module lines the login writes, waited for (bounded) before comparing.
func (g goldenLogin) compare(t *testing.T, res *e2e.SSHResult, wantSyslog int) {
	t.Helper()
	require.NotNil(t, g.srv.Syslog, "the server was started without SshdOptions.Syslog")
	g.srv.Syslog.WaitLines(syslogTag, g.syslog+wantSyslog, 5*time.Second)
	golden.Compare(t, t.Name(), g.transcript(res))
}

// transcript is the text of the login with what varies between runs
// normalized: the user's random name, the host name, ports, transaction
// ids and elapsed times. Repeated auth_status polls are one line, since
// how many a push takes depends on timing.
func (g goldenLogin) transcript(res *e2e.SSHResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "logged in: %t\nexit: %d\n", res.LoggedIn(), res.ExitCode)
	b.WriteString("conversation:\n")
	for _, l := range res.Transcript.Lines() {
		b.WriteString("  " + e2e.EscapeControls(l.Text) + "\n")
	}
	b.WriteString("answers:\n")
	for _, p := range res.Prompts {
		fmt.Fprintf(&b, "  %s -> %q\n", e2e.EscapeControls(p.Text), p.Answer)
	}
	b.WriteString("duo:\n")
	for _, line := range testutil.DuoRequestLines(g.mock.Requests()[g.requests:], true) {
		b.WriteString("  " + line + "\n")
	}
	b.WriteString("syslog:\n")
	for _, l := range g.srv.Syslog.Lines(syslogTag)[g.syslog:] {
		b.WriteString("  " + e2e.EscapeControls(l) + "\n")
	}
	return g.normalize(b.String())
}

// normalize replaces what varies between runs: the user's random name,
// the host name, the mock's host, ports, transaction ids, elapsed times.
func (g goldenLogin) normalize(text string) string {
	n := golden.Normalizer{Words: map[string]string{g.user: "USER"}, DuoHost: g.mock.Host}
	if host, err := os.Hostname(); err == nil && host != "" {
		n.Words[host] = "HOST"
	}
	return n.Normalize(text)
}
