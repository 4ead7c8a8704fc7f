package pamtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/qr"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// fullConv records every message whole, and answers prompts with "".
type fullConv struct{ msgs []string }

func (c *fullConv) RespondPAM(style pam.Style, msg string) (string, error) {
	c.msgs = append(c.msgs, fmt.Sprintf("%d:%s", style, msg))
	return "", nil
}

var enrollURL = regexp.MustCompile(`Enroll at: (https://\S+)`)

// TestEnrollQRThroughPAM: an unenrolled user sees the portal URL and then
// its QR code through the PAM conversation, in process and in the
// worker: an error message for sudo, the status prompt under sshd.
func TestEnrollQRThroughPAM(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the module looks up local users and the configs are root-owned")
	}
	art := e2e.BuildArtifacts(t)
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "root", Preauth: duo.ResultEnroll})
	dir := t.TempDir()
	for _, tt := range []struct {
		mode, service string
		style         pam.Style
		qr            string
	}{
		{"", "sudo", pam.ErrorMsg, ""},
		{"mode=exec", "sudo", pam.ErrorMsg, ""},
		{"", "sshd-qr", pam.PromptEchoOn, ""},
		{"mode=exec", "sshd-qr", pam.PromptEchoOn, ""},
		{"", "sudo", pam.ErrorMsg, "light"},
		{"mode=exec", "sudo", pam.ErrorMsg, "no"},
	} {
		t.Run(tt.service+" "+tt.mode+" "+tt.qr, func(t *testing.T) {
			var extra map[string]string
			if tt.qr != "" {
				extra = map[string]string{"enroll_qr": tt.qr}
			}
			writeConfig(t, s, filepath.Join(dir, "pam_duo.conf"), extra)
			stack := art.AuthLine("required", filepath.Join(dir, "pam_duo.conf"), e2e.Mode{}, tt.mode) + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, tt.service), []byte(stack), 0o644))
			c := &fullConv{}
			tx, err := pam.StartConfDir(tt.service, "root", c, dir)
			require.NoError(t, err)
			err = authenticate(t, tx, 0, func() string { return strings.Join(c.msgs, "\n---\n") })
			require.NoError(t, tx.End())
			assert.True(t, errors.Is(err, pam.ErrAuth), "an unenrolled user is denied: %v", err)
			all := strings.Join(c.msgs, "\n---\n")
			m := enrollURL.FindStringSubmatch(all)
			require.NotNil(t, m, all)
			code, err := qr.Encode([]byte(m[1]))
			require.NoError(t, err)
			bg := qr.Dark
			if tt.qr == "light" {
				bg = qr.Light
			}
			want := fmt.Sprintf("%d:Your account is not enrolled in Duo. Enroll at: %s\n\n%sScan the code", tt.style, m[1], code.Terminal(bg))
			if tt.qr == "no" {
				assert.NotContains(t, all, "Scan the code")
			} else {
				assert.Contains(t, all, want)
			}
			for _, r := range all {
				assert.False(t, unicode.IsControl(r) && r != '\n', "control character %q", r)
			}
		})
	}
}
