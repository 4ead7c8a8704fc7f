package login

import (
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo"

	"github.com/stretchr/testify/assert"
)

func TestEnrollMessage(t *testing.T) {
	tests := []struct {
		name string
		pre  duo.PreauthResponse
		want string
	}{
		{"portal URL", duo.PreauthResponse{EnrollPortalURL: "https://api-x.duosecurity.com/portal?code=1", StatusMsg: "Enroll an authentication device to proceed"},
			"Your account is not enrolled in Duo. Enroll at: https://api-x.duosecurity.com/portal?code=1"},
		{"no URL: Duo's own words", duo.PreauthResponse{StatusMsg: "Enroll an authentication device to proceed"},
			"Enroll an authentication device to proceed"},
		{"neither", duo.PreauthResponse{}, "Your account is not enrolled in Duo."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := enrollMessage(&tt.pre)
			assert.Equal(t, tt.want, got, "enrollMessage = %q, want %q", got, tt.want)
		})
	}
}
