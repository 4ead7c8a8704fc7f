package login

import (
	"context"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/qr"
)

// showEnroll tells an unenrolled user where to enroll: the portal URL
// and, after it, the URL as a QR code (enroll_qr), so that it need not be
// typed on a phone. Under sshd, which shows text only with a prompt, the
// whole message goes in a prompt whose answer is ignored. Headless
// login_duo_go (scp, rsync) gets the text only.
func (s *session) showEnroll(ctx context.Context, pre *duo.PreauthResponse) {
	msg := enrollMessage(pre)
	if code := s.enrollQR(pre.EnrollPortalURL); code != "" {
		msg += "\n\n" + code + "Scan the code with your phone's camera to enroll."
	}
	if s.talk.statusPrompt {
		if _, err := s.p.Conv.Prompt(ctx, msg+"\nPress Enter to continue: ", true); err == nil {
			s.answered = true
			return
		}
	}
	s.p.Conv.Error(ctx, msg)
}

// enrollQR is the terminal rendering of url as a QR code, or "" when it
// is off, the login shows no progress (headless), or url is not a
// printable https URL that fits.
func (s *session) enrollQR(url string) string {
	if s.cfg.EnrollQR == conf.QROff || !s.talk.progress || !strings.HasPrefix(url, "https://") {
		return ""
	}
	for _, r := range url {
		if r <= ' ' || r > '~' {
			return ""
		}
	}
	code, err := qr.Encode([]byte(url))
	if err != nil {
		s.debugf("enrollment URL not shown as a QR code: %v", err)
		return ""
	}
	bg := qr.Dark
	if s.cfg.EnrollQR == conf.QRLight {
		bg = qr.Light
	}
	return code.Terminal(bg)
}
