package conf

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRememberKey(t *testing.T) {
	tests := []struct {
		line string
		want time.Duration
		warn string
	}{
		{"", 0, ""},
		{"remember = 0", 0, ""},
		{"remember = off", 0, ""},
		{"remember = no", 0, ""},
		{"remember = 900", 15 * time.Minute, ""},
		{"remember = 900s", 15 * time.Minute, ""},
		{"remember = 15m", 15 * time.Minute, ""},
		{"remember = 8h", 8 * time.Hour, ""},
		{"remember = 12h", 12 * time.Hour, ""},
		{"remember = 13h", 12 * time.Hour, "remember = 13h is lowered to 12h0m0s"},
		{"remember = 999999h", 12 * time.Hour, "lowered"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c := parseOK(t, base+tt.line+"\n")
			assert.Equal(t, tt.want, c.Remember)
			if tt.warn != "" {
				assert.Contains(t, c.Warnings[len(c.Warnings)-1], tt.warn)
			}
		})
	}
	for _, bad := range []string{"remember = yes", "remember = -5", "remember = 1d", "remember = 1.5h", "remember = 8 h",
		"remember = h", "remember = 99999999999", "remember = 0x10", "remember ="} {
		_, err := Parse([]byte(base+bad+"\n"), "pam_duo.conf")
		require.Error(t, err, bad)
		assert.True(t, errors.Is(err, ErrInvalidValue), "%s: %v", bad, err)
	}
}

func TestEnrollQRKey(t *testing.T) {
	tests := []struct{ line, want string }{
		{"", QRDark},
		{"enroll_qr = yes", QRDark},
		{"enroll_qr = dark", QRDark},
		{"enroll_qr = Light", QRLight},
		{"enroll_qr = no", QROff},
		{"enroll_qr = off", QROff},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, parseOK(t, base+tt.line+"\n").EnrollQR, tt.line)
	}
	_, err := Parse([]byte(base+"enroll_qr = sometimes\n"), "pam_duo.conf")
	assert.ErrorIs(t, err, ErrInvalidValue)
}
