package duo

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedRoots(t *testing.T) {
	want := []string{
		"Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4",
		"Starfield Services Root Certificate Authority - G2",
		"Starfield Root Certificate Authority - G2",
		"DigiCert High Assurance EV Root CA",
		"DigiCert TLS ECC P384 Root G5",
		"DigiCert TLS RSA4096 Root G5",
		"GlobalSign Root R46", "GlobalSign Root E46",
		"GTS Root R2", "GTS Root R4",
		"IdenTrust Commercial Root CA 1",
		"IdenTrust Commercial Root TLS ECC CA 2",
	}
	var got []string
	rest := rootsPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		require.EqualValues(t, "CERTIFICATE", block.Type, "roots.pem: unexpected PEM block %q", block.Type)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err, "roots.pem")
		assert.True(t, cert.IsCA, "%s is not a self-issued CA", cert.Subject)
		assert.Equal(t, cert.Issuer.String(), cert.Subject.String(), "%s is not a self-issued CA", cert.Subject)
		assert.False(t, time.Now().After(cert.NotAfter), "%s expired on %v", cert.Subject, cert.NotAfter)
		got = append(got, cert.Subject.CommonName)
	}
	assert.EqualValues(t, "", strings.TrimSpace(string(rest)), "roots.pem: %d bytes of trailing garbage", len(rest))
	sort.Strings(got)
	sort.Strings(want)
	assert.EqualValues(t, strings.Join(want, "\n"), strings.Join(got, "\n"), "embedded roots:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	_, err := DuoRoots()
	require.NoError(t, err)
}

func TestCAFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pem")
	empty := filepath.Join(dir, "empty.pem")
	junk := filepath.Join(dir, "junk.pem")
	must(t, os.WriteFile(good, rootsPEM, 0o644))
	must(t, os.WriteFile(empty, nil, 0o644))
	must(t, os.WriteFile(junk, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), 0o644))
	tests := []struct {
		name    string
		file    string
		wantErr string
	}{
		{"good", good, ""},
		{"missing", filepath.Join(dir, "nope.pem"), "no such file"},
		{"empty", empty, "no PEM certificate"},
		{"junk", junk, "no PEM certificate"},
		{"directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		c, err := New(Options{IKey: "DIXXXXXXXXXXXXXXXXXX", SKey: "secretsecret", Host: "api-x.duosecurity.com", CAFile: tt.file})
		if tt.wantErr == "" {
			assert.NoError(t, err, "%s: New", tt.name)
		} else {
			assert.ErrorContains(t, err, tt.wantErr, "%s: New error, want one containing %q", tt.name, tt.wantErr)
		}
		if c != nil {
			c.Close()
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	require.NoError(t, err)
}
