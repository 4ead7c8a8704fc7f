package fips_test

import (
	"crypto/fips140"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pam-duo-go/pam_duo_go/internal/fips"
)

// TestStatusFollowsTheRuntime: the report says what crypto/fips140 says,
// under whatever GODEBUG the test runs with (make test runs it both ways:
// test-unit without, test-fips with GODEBUG=fips140=on).
func TestStatusFollowsTheRuntime(t *testing.T) {
	s := fips.Check()
	assert.Equal(t, fips140.Enabled(), s.Enabled)
	assert.Equal(t, fips140.Version(), s.Module)
	assert.NotEmpty(t, s.Module)
	if strings.Contains(os.Getenv("GODEBUG"), "fips140=on") {
		assert.True(t, s.Enabled, "GODEBUG=fips140=on")
		assert.True(t, strings.HasPrefix(s.String(), "on ("), s.String())
	}
	if strings.Contains(os.Getenv("GODEBUG"), "fips140=off") {
		assert.False(t, s.Enabled)
		assert.True(t, strings.HasPrefix(s.String(), "off ("), s.String())
	}
	if v := os.Getenv("GOFIPS140"); v != "" && v != "off" {
		assert.NotEqual(t, "latest", s.Module, "a GOFIPS140=%s build reports its frozen module", v)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name string
		s    fips.Status
		want string
	}{
		{"off", fips.Status{Module: "latest"}, "off (Go Cryptographic Module latest, built without GOFIPS140)"},
		{"off, build setting off", fips.Status{Module: "latest", Build: "off"}, "off (Go Cryptographic Module latest, built without GOFIPS140)"},
		{"on at run time", fips.Status{Enabled: true, Module: "latest"}, "on (Go Cryptographic Module latest, built without GOFIPS140)"},
		{"FIPS build", fips.Status{Enabled: true, Module: "v1.0.0", Build: "v1.0.0-c2097c7c"},
			"on (Go Cryptographic Module v1.0.0, built with GOFIPS140=v1.0.0-c2097c7c)"},
		{"enforced", fips.Status{Enabled: true, Enforced: true, Module: "v1.0.0", Build: "v1.0.0-c2097c7c"},
			"on, enforced (Go Cryptographic Module v1.0.0, built with GOFIPS140=v1.0.0-c2097c7c)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.s.String()) })
	}
}
