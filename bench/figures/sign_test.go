package figures_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"

	"github.com/stretchr/testify/require"
)

// benchParams are the parameters of a typical passcode auth request.
var benchParams = url.Values{
	"username": {"alice"},
	"factor":   {"passcode"},
	"passcode": {"123456"},
	"ipaddr":   {"192.0.2.10"},
}

const (
	duoIKey = "DIWJ8X6AEYOR5OMC6TQ1"
	duoSKey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
	duoHost = "api-xxxxxxxx.duosecurity.com"
)

func BenchmarkCanonicalizeAndSign(b *testing.B) {
	date := duo.FormatDate(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for b.Loop() {
		duo.Sign(duoSKey, duo.Canonicalize("POST", duoHost, "/auth/v2/auth", benchParams, date))
	}
}

func BenchmarkAuthorization(b *testing.B) {
	date := duo.FormatDate(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for b.Loop() {
		duo.Authorization(duoIKey, duoSKey, "POST", duoHost, "/auth/v2/auth", benchParams, date)
	}
}

func BenchmarkEncodeParams(b *testing.B) {
	for b.Loop() {
		duo.EncodeParams(benchParams)
	}
}

// BenchmarkClientPasscodeLogin is preauth then a passcode auth through
// one duo.Client (its connection reused) against the in-process mock.
func BenchmarkClientPasscodeLogin(b *testing.B) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice", Passcodes: []string{"123456"}})
	c, err := duo.New(s.ClientOptions())
	require.NoError(b, err)
	defer c.Close()
	ctx := context.Background()
	for b.Loop() {
		_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
		require.NoError(b, err)
		_, err = c.Auth(ctx, duo.AuthRequest{Username: "alice", Factor: duo.FactorPasscode, Passcode: "123456"})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(s.Handshakes())/float64(b.N), "handshakes/op")
}
