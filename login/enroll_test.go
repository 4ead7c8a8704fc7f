package login_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/qr"
	"github.com/pam-duo-go/pam_duo_go/login"
)

var portalURL = regexp.MustCompile(`Enroll at: (https://\S+)`)

// TestEnrollQR: the enrollment URL is followed by its QR code (decoding
// is proven in internal/qr: here, that exactly the code of this URL is
// shown, where and how).
func TestEnrollQR(t *testing.T) {
	erin := []duotest.User{{Name: "erin", Preauth: duo.ResultEnroll}}
	check := func(bg qr.Background, where string) func(t *testing.T, s *duotest.Server, c *conv, log string) {
		return func(t *testing.T, _ *duotest.Server, c *conv, _ string) {
			tr := c.transcript()
			m := portalURL.FindStringSubmatch(tr)
			require.NotNil(t, m, tr)
			code, err := qr.Encode([]byte(m[1]))
			require.NoError(t, err)
			want := where + "Your account is not enrolled in Duo. Enroll at: " + m[1] + "\n\n" + code.Terminal(bg) +
				"Scan the code with your phone's camera to enroll."
			assert.Contains(t, tr, want)
			for _, r := range tr {
				assert.False(t, unicode.IsControl(r) && r != '\n', "control character %q", r)
			}
		}
	}
	noCode := func(t *testing.T, _ *duotest.Server, c *conv, _ string) {
		tr := c.transcript()
		assert.Regexp(t, portalURL, tr, "the URL is still shown")
		assert.NotContains(t, tr, "█")
		assert.NotContains(t, tr, "Scan the code")
	}
	for _, tt := range []tcase{
		{name: "sudo: an error message with the code", user: "erin", users: erin, want: login.Deny,
			params: func(p *login.Params) { p.Service = "sudo" }, check: check(qr.Dark, "ERROR: ")},
		{name: "sshd: in the status prompt", user: "erin", users: erin, want: login.Deny, answers: []string{""},
			params: sshdUI, check: check(qr.Dark, "PROMPT: ")},
		{name: "sshd password step: cannot prompt, an error message", user: "erin", users: erin, want: login.Deny,
			params: sshdUI, check: check(qr.Dark, "ERROR: ")},
		{name: "light backgrounds", user: "erin", users: erin, want: login.Deny, extra: map[string]string{"enroll_qr": "light"},
			check: check(qr.Light, "ERROR: ")},
		{name: "turned off", user: "erin", users: erin, want: login.Deny, extra: map[string]string{"enroll_qr": "no"}, check: noCode},
		{name: "headless login_duo_go: text only", user: "erin", users: erin, want: login.Deny,
			params: headlessUI, check: noCode},
	} {
		t.Run(tt.name, func(t *testing.T) { run(t, tt) })
	}
}

// enrollAPI answers every preauth with enroll and the given portal URL.
type enrollAPI struct{ url string }

func (a enrollAPI) Preauth(context.Context, duo.PreauthRequest) (*duo.PreauthResponse, error) {
	return &duo.PreauthResponse{Result: duo.ResultEnroll, StatusMsg: "Enroll", EnrollPortalURL: a.url}, nil
}
func (enrollAPI) Auth(context.Context, duo.AuthRequest) (*duo.AuthResponse, error) {
	return nil, errors.New("not used")
}
func (enrollAPI) AuthStatus(context.Context, string) (*duo.AuthStatusResponse, error) {
	return nil, errors.New("not used")
}
func (enrollAPI) Probe(context.Context, time.Duration) error { return nil }
func (enrollAPI) Close()                                     {}

// TestEnrollQRBadURL: a URL that is not https, holds anything but
// printable ASCII, or is too long for a code is shown as text only.
func TestEnrollQRBadURL(t *testing.T) {
	for _, u := range []string{
		"http://example.com/portal", "https://example.com/\x1b[2Jportal", "https://ex ample.com/portal",
		"https://example.com/é", "https://example.com/" + strings.Repeat("a", qr.MaxBytes),
		"https://example.com/portal", // the control: a code is shown
	} {
		t.Run(u[:min(len(u), 40)], func(t *testing.T) {
			run(t, tcase{user: "erin", want: login.Deny,
				params: func(p *login.Params) {
					p.NewClient = func(*conf.Config) (login.DuoAPI, error) { return enrollAPI{u}, nil }
				},
				check: func(t *testing.T, _ *duotest.Server, c *conv, _ string) {
					tr := c.transcript()
					assert.Contains(t, tr, "Enroll at: "+u[:12])
					assert.Equal(t, u == "https://example.com/portal", strings.Contains(tr, "Scan the code"), tr)
				}})
		})
	}
}
