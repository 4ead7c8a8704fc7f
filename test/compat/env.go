package compat

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"

	"github.com/stretchr/testify/require"
)

// Service is the PAM service name of the runs: neither sshd nor sudo nor
// su, which both modules treat specially.
const Service = "pdgt-compat"

// Mock is a duotest server for one run, with a duo_unix-format config
// for it that both modules read.
type Mock struct {
	*duotest.Server // nil when Duo is down
	Conf            string
}

// StartMock starts a duotest server whose certificate names localhost
// (duo_unix cannot verify a certificate for an IP address), adds the
// users and writes the config with the extra keys. With down, nothing
// listens on the configured port: Duo is unreachable.
func StartMock(t testing.TB, down bool, extra map[string]string, users ...duotest.User) *Mock {
	t.Helper()
	dir := t.TempDir()
	m := &Mock{Conf: filepath.Join(dir, "pam_duo.conf")}
	ikey, skey, host := "DIXYZV6YM8IFYVWBINCA", "yWHSMhWucAcp7qvuH3HWTaSaKABs8Gaddiv1NIRo", ""
	caPath := filepath.Join(dir, "ca.pem")
	srv := duotest.NewServer(duotest.WithCertHosts("localhost"), duotest.WithKeys(ikey, skey))
	t.Cleanup(srv.Close)
	require.NoError(t, srv.WriteCAFile(caPath))
	_, port, _ := net.SplitHostPort(srv.Host)
	if down {
		srv.Close()
		// The port was just closed: nothing listens there (a loopback
		// port is not reused within the run's few seconds).
		time.Sleep(10 * time.Millisecond)
	} else {
		for _, u := range users {
			srv.AddUser(u)
		}
		m.Server = srv
	}
	host = "localhost:" + port
	require.NoError(t, os.WriteFile(m.Conf, []byte(duotest.ConfigText(ikey, skey, host, caPath, extra)), 0o600))
	return m
}

// factorKeyRE matches the factor keys of a Unix-integration menu.
var factorKeyRE = regexp.MustCompile(`^(verified_push|push|phone|sms)\d+$`)

// Requests is the mock's request log in a form both clients can be
// compared by: one line per preauth and auth, with the user, the factor
// (a menu key, or a passcode however it was sent: Duo takes both
// factor=passcode and a typed answer in factor=prompt), ipaddr and
// whether a Verified Push txid went with it. ping, check and
// auth_status are left out (duo_unix pings before each preauth; how often
// a client polls is its own affair); so are hostname and pushinfo, which
// differ on purpose (README, "What Duo sees").
func (m *Mock) Requests() []string {
	if m.Server == nil {
		return nil
	}
	var out []string
	for _, r := range m.Server.Requests() {
		p := r.Params
		switch r.Path {
		case "/auth/v2/preauth":
			out = append(out, fmt.Sprintf("preauth user=%s ipaddr=%s", p.Get("username"), p.Get("ipaddr")))
		case "/auth/v2/auth":
			factor := p.Get("factor")
			switch {
			case factor == "prompt" && factorKeyRE.MatchString(p.Get("prompt")):
				factor = "key:" + p.Get("prompt")
			case factor == "prompt":
				factor = "passcode:" + p.Get("prompt")
			case factor == "passcode":
				factor = "passcode:" + p.Get("passcode")
			}
			line := fmt.Sprintf("auth user=%s factor=%s ipaddr=%s", p.Get("username"), factor, p.Get("ipaddr"))
			if p.Get("txid") != "" {
				line += " txid"
			}
			out = append(out, line)
		}
	}
	return out
}
