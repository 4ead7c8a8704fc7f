package duo

import (
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The places crypto/x509 reads the system's roots from on Linux
// (root_linux.go), and the variables that replace them.
var (
	systemCertFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu
		"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
		"/etc/ssl/ca-bundle.pem",                            // openSUSE
		"/etc/pki/tls/cacert.pem",                           // OpenELEC
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7+
		"/etc/ssl/cert.pem",                                 // Alpine
	}
	systemCertDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

const (
	certFileEnv = "SSL_CERT_FILE"
	certDirEnv  = "SSL_CERT_DIR"
)

// systemRoots is the system's certificate store (disable_ca_pinning),
// loaded once per process: the same certificates as
// x509.SystemCertPool, in a fraction of its time. crypto/x509 parses the
// bundle and then every file of /etc/ssl/certs, which on Debian holds the
// bundle's certificates a second time, one file each (151 more parses,
// about 35 ms of CPU per login on a small VM); here a certificate is
// parsed once however many files hold it. It falls back to
// x509.SystemCertPool when the files give nothing.
var systemRoots = sync.OnceValues(func() (*x509.CertPool, error) {
	files, dirs := systemCertFiles, systemCertDirs
	if f := os.Getenv(certFileEnv); f != "" {
		files = []string{f}
	}
	if d := os.Getenv(certDirEnv); d != "" {
		dirs = strings.Split(d, ":")
	}
	if pool, n := loadRoots(files, dirs, x509.ParseCertificate); n > 0 {
		return pool, nil
	}
	return x509.SystemCertPool()
})

// loadRoots reads the roots as crypto/x509's loadSystemRoots does: the
// first readable file of files, then every file of each directory of
// dirs except symbolic links to a name in the same directory (the hash
// links). Each distinct certificate (DER) is parsed once, by parse; n
// counts the certificates added.
func loadRoots(files, dirs []string, parse func([]byte) (*x509.Certificate, error)) (pool *x509.CertPool, n int) {
	pool = x509.NewCertPool()
	seen := map[string]bool{}
	add := func(data []byte) {
		for len(data) > 0 {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				return
			}
			// As CertPool.AppendCertsFromPEM: CERTIFICATE blocks without headers.
			if block.Type != "CERTIFICATE" || len(block.Headers) != 0 || seen[string(block.Bytes)] {
				continue
			}
			seen[string(block.Bytes)] = true
			cert, err := parse(block.Bytes)
			if err != nil {
				continue
			}
			pool.AddCert(cert)
			n++
		}
	}
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			add(data)
			break
		}
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if sameDirSymlink(dir, e) {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				add(data)
			}
		}
	}
	return pool, n
}

// sameDirSymlink reports whether e is a symbolic link to a name in dir
// itself (a c_rehash link), which crypto/x509 skips too.
func sameDirSymlink(dir string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := os.Readlink(filepath.Join(dir, e.Name()))
	return err == nil && !strings.Contains(target, "/")
}
