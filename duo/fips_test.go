package duo_test

import (
	"bufio"
	"context"
	"crypto/fips140"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

// The FIPS tests run the mock server and the client in child processes
// (this test binary again, os/exec's helper-process pattern): FIPS 140-3
// mode is per process and fixed at start, and a server in FIPS mode would
// itself refuse what the test wants the client to refuse.
const (
	helperEnv = "PAM_DUO_GO_FIPS_HELPER" // "server" or "client"
	tweakEnv  = "PAM_DUO_GO_FIPS_TWEAK"  // the server's TLS limitation
	hostEnv   = "PAM_DUO_GO_FIPS_HOST"   // the client's host
	caEnv     = "PAM_DUO_GO_FIPS_CA"     // the CA file: written by the server, read by the client
)

// serverTweaks are the TLS limitations of the mock server, by name.
var serverTweaks = map[string]func(*tls.Config){
	"default": func(*tls.Config) {},
	// TLS 1.2 with ChaCha20-Poly1305 only: not an approved cipher.
	"chacha20 only": func(c *tls.Config) {
		c.MaxVersion = tls.VersionTLS12
		c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
	},
	// X25519 alone: not an approved key exchange.
	"x25519 only": func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519} },
}

// TestFIPSHelperProcess is the child's entry point; it does nothing in a
// normal test run.
func TestFIPSHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "server":
		tweak := serverTweaks[os.Getenv(tweakEnv)]
		require.NotNil(t, tweak)
		s := duotest.NewServer(duotest.WithTLS(func(c *tls.Config) {
			tweak(c)
			verify := c.VerifyConnection
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				fmt.Printf("handshake %#04x %s %s\n", cs.Version, tls.CipherSuiteName(cs.CipherSuite), cs.CurveID)
				return verify(cs)
			}
		}))
		defer s.Close()
		require.NoError(t, s.WriteCAFile(os.Getenv(caEnv)))
		fmt.Printf("host %s\n", s.Host)
		_, _ = io.Copy(io.Discard, os.Stdin) // serve until the parent closes stdin
	case "client":
		c, err := duo.New(duo.Options{IKey: "DIXXXXXXXXXXXXXXXXXX", SKey: "unused", Host: os.Getenv(hostEnv),
			CAFile: os.Getenv(caEnv), Timeout: 10 * time.Second})
		require.NoError(t, err)
		_, err = c.Ping(context.Background())
		fmt.Printf("fips=%t ", fips140.Enabled())
		if err != nil {
			fmt.Printf("error %v\n", err)
		} else {
			fmt.Printf("ok\n")
		}
	}
}

// helper starts this test binary as a helper with env.
func helper(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// TestTLSUnderFIPS: a client in FIPS 140-3 mode (GODEBUG=fips140=on)
// refuses a server that offers only a non-approved cipher suite or key
// exchange, which a client outside FIPS mode accepts, and negotiates
// only approved parameters with a server that offers both.
func TestTLSUnderFIPS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	approvedSuites := []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}
	approvedCurves := []string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "CurveP256", "CurveP384", "CurveP521"}
	for _, tt := range []struct {
		tweak      string
		fipsRefuse bool
	}{
		{"default", false},
		{"chacha20 only", true},
		{"x25519 only", true},
	} {
		t.Run(tt.tweak, func(t *testing.T) {
			ca := filepath.Join(t.TempDir(), "ca.pem")
			srv := helper(t, helperEnv+"=server", tweakEnv+"="+tt.tweak, caEnv+"="+ca, "GODEBUG=fips140=off")
			stdin, err := srv.StdinPipe()
			require.NoError(t, err)
			stdout, err := srv.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, srv.Start())
			defer func() { stdin.Close(); _ = srv.Wait() }()
			lines := make(chan string, 16)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			next := func() string {
				select {
				case l := <-lines:
					return l
				case <-time.After(30 * time.Second):
					require.FailNow(t, "the server helper said nothing for 30 s")
					return ""
				}
			}
			host, ok := strings.CutPrefix(next(), "host ")
			require.True(t, ok, "the server did not start")
			for _, mode := range []string{"off", "on"} {
				out, err := helper(t, helperEnv+"=client", hostEnv+"="+host, caEnv+"="+ca, "GODEBUG=fips140="+mode).Output()
				require.NoError(t, err, "client helper: %s", out)
				got := string(out)
				assert.Contains(t, got, "fips="+map[string]string{"on": "true", "off": "false"}[mode])
				if mode == "on" && tt.fipsRefuse {
					assert.Contains(t, got, "error ", "FIPS mode accepted a server with %s", tt.tweak)
					continue
				}
				assert.Contains(t, got, "ok\n", "fips140=%s refused a server with %s", mode, tt.tweak)
				hs := strings.Fields(next()) // handshake VERSION SUITE CURVE
				require.Len(t, hs, 4, "%v", hs)
				if mode == "on" {
					assert.Contains(t, []string{"0x0303", "0x0304"}, hs[1], "FIPS mode negotiated a version other than TLS 1.2 or 1.3")
					assert.True(t, slices.Contains(approvedSuites, hs[2]), "FIPS mode negotiated %s", hs[2])
					assert.True(t, slices.Contains(approvedCurves, hs[3]), "FIPS mode negotiated %s", hs[3])
				}
				t.Logf("fips140=%s, server %s: %s", mode, tt.tweak, strings.Join(hs[1:], " "))
			}
		})
	}
}
