package duotest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// ClientOptions returns duo.Options that talk to this server.
func (s *Server) ClientOptions() duo.Options {
	return duo.Options{IKey: s.IKey, SKey: s.SKey, Host: s.Host, RootCAs: s.CertPool()}
}

// WriteConfig writes a duo_unix-format configuration for this server to
// path (mode 0600), with the CA beside it as path + ".ca.pem", plus the
// extra keys in key order.
func (s *Server) WriteConfig(path string, extra map[string]string) error {
	caPath := path + ".ca.pem"
	if err := s.WriteCAFile(caPath); err != nil {
		return err
	}
	abs, err := filepath.Abs(caPath)
	if err != nil {
		return fmt.Errorf("duotest: %w", err)
	}
	if err := os.WriteFile(path, []byte(ConfigText(s.IKey, s.SKey, s.Host, abs, extra)), 0o600); err != nil {
		return fmt.Errorf("duotest: write config: %w", err)
	}
	return os.Chmod(path, 0o600)
}

// ConfigText is a duo_unix-format configuration with these keys, host and
// cafile, plus the extra keys in key order.
func ConfigText(ikey, skey, host, cafile string, extra map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[duo]\nikey = %s\nskey = %s\nhost = %s\ncafile = %s\n", ikey, skey, host, cafile)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, extra[k])
	}
	return b.String()
}
