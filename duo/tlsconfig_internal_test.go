package duo

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLSSettings: min_tls only ever raises the floor of TLS 1.2, and
// disable_ca_pinning trusts the system store (the certificates of
// x509.SystemCertPool) instead of Duo's pinned roots, unless a cafile is
// given.
func TestTLSSettings(t *testing.T) {
	pinned, err := duoRoots()
	require.NoError(t, err)
	system, err := x509.SystemCertPool()
	require.NoError(t, err)
	base := Options{IKey: "DIWJ8X6AEYOR5OMC6TQ1", SKey: "secret", Host: "api-xxxxxxxx.duosecurity.com"}
	for _, tt := range []struct {
		name       string
		opts       func(*Options)
		wantMin    uint16
		wantPinned bool // Duo's embedded roots, not the system store
	}{
		{"defaults", func(*Options) {}, tls.VersionTLS12, true},
		{"min_tls 1.3", func(o *Options) { o.MinTLSVersion = tls.VersionTLS13 }, tls.VersionTLS13, true},
		{"min_tls 1.0 keeps 1.2", func(o *Options) { o.MinTLSVersion = tls.VersionTLS10 }, tls.VersionTLS12, true},
		{"disable_ca_pinning", func(o *Options) { o.SystemRoots = true }, tls.VersionTLS12, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.opts(&o)
			c, err := New(o)
			require.NoError(t, err)
			defer c.Close()
			cfg := c.tr.TLSClientConfig
			assert.Equal(t, tt.wantMin, cfg.MinVersion)
			require.NotNil(t, cfg.RootCAs)
			assert.Equal(t, tt.wantPinned, cfg.RootCAs.Equal(pinned), "Duo's pinned roots")
			assert.Equal(t, !tt.wantPinned, cfg.RootCAs.Equal(system), "the system store")
		})
	}
}
