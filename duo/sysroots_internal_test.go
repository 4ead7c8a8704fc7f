package duo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testRoot makes a self-signed CA certificate named cn, as PEM.
func testRoot(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestLoadRoots: the bundle and the directory's certificates all end up
// in the pool, as crypto/x509 loads them, but a certificate that several
// files hold is parsed once, and hash links are not read.
func TestLoadRoots(t *testing.T) {
	a, b, c := testRoot(t, "A"), testRoot(t, "B"), testRoot(t, "C")
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.crt")
	require.NoError(t, os.WriteFile(bundle, append(append([]byte{}, a...), b...), 0o644))
	certs := filepath.Join(dir, "certs")
	require.NoError(t, os.Mkdir(certs, 0o755))
	for name, data := range map[string][]byte{
		"A.pem":      a, // the bundle's, a second time (Debian's /etc/ssl/certs)
		"C.pem":      c, // only here
		"README":     []byte("not a certificate\n"),
		"header.pem": []byte("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END CERTIFICATE-----\n"),
	} {
		require.NoError(t, os.WriteFile(filepath.Join(certs, name), data, 0o644))
	}
	require.NoError(t, os.Symlink("C.pem", filepath.Join(certs, "1a2b3c4d.0")))   // a hash link: skipped
	require.NoError(t, os.Symlink(bundle, filepath.Join(certs, "elsewhere.pem"))) // another directory: read

	parsed := 0
	parse := func(der []byte) (*x509.Certificate, error) {
		parsed++
		return x509.ParseCertificate(der)
	}
	pool, n := loadRoots([]string{filepath.Join(dir, "missing.crt"), bundle}, []string{filepath.Join(dir, "nodir"), certs}, parse)
	assert.Equal(t, 3, n)
	assert.Equal(t, 3, parsed, "each distinct certificate parsed once")

	want := x509.NewCertPool()
	for _, p := range [][]byte{a, b, c} {
		require.True(t, want.AppendCertsFromPEM(p))
	}
	assert.True(t, pool.Equal(want), "the pool holds A, B and C")
}

// TestSystemRootsMatch: on this machine, systemRoots holds exactly the
// certificates of x509.SystemCertPool.
func TestSystemRootsMatch(t *testing.T) {
	want, err := x509.SystemCertPool()
	if err != nil {
		t.Skipf("no system store: %v", err)
	}
	got, err := systemRoots()
	require.NoError(t, err)
	assert.True(t, got.Equal(want))
}
