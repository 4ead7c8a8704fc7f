// Package fips reports whether this process runs its cryptography in FIPS
// 140-3 mode, and with which Go Cryptographic Module: what `login_duo_go
// check` prints, so that an administrator can see that a FIPS build
// (make FIPS=1) is what runs.
//
// In FIPS 140-3 mode Go's crypto/tls negotiates only approved protocol
// versions, cipher suites, key exchanges and signature algorithms; the
// Duo client needs no setting of its own for that.
package fips

import (
	"crypto/fips140"
	"fmt"
	"runtime/debug"
)

// Status is the FIPS 140-3 state of this process. Its JSON form is part
// of `login_duo_go check --json` (the "fips" object): fields are only
// added, never renamed or removed.
type Status struct {
	// Enabled: the Go Cryptographic Module runs in FIPS 140-3 mode
	// (GODEBUG=fips140=on or only; a build with GOFIPS140 defaults to on).
	Enabled bool `json:"enabled"`
	// Enforced: GODEBUG=fips140=only, non-approved algorithms fail.
	Enforced bool `json:"enforced"`
	// Module is the module's version: a frozen one (v1.0.0) for a build
	// with GOFIPS140, "latest" for the toolchain's own copy.
	Module string `json:"module"`
	// Build is the binary's GOFIPS140 build setting ("" when built
	// without it, i.e. off).
	Build string `json:"build"`
}

// Check returns this process's FIPS 140-3 status.
func Check() *Status {
	return &Status{
		Enabled:  fips140.Enabled(),
		Enforced: fips140.Enforced(),
		Module:   fips140.Version(),
		Build:    buildSetting(),
	}
}

// String is the status in one line of text, e.g. "on (Go Cryptographic
// Module v1.0.0, built with GOFIPS140=v1.0.0-c2097c7c)".
func (s *Status) String() string {
	state := "off"
	switch {
	case s.Enforced:
		state = "on, enforced"
	case s.Enabled:
		state = "on"
	}
	build := "built without GOFIPS140"
	if s.Build != "" && s.Build != "off" {
		build = "built with GOFIPS140=" + s.Build
	}
	return fmt.Sprintf("%s (Go Cryptographic Module %s, %s)", state, s.Module, build)
}

// buildSetting is the GOFIPS140 build setting recorded in the binary.
func buildSetting() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "GOFIPS140" {
			return s.Value
		}
	}
	return ""
}
