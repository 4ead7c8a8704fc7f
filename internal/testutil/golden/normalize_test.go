package golden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNormalize(t *testing.T) {
	n := Normalizer{Words: map[string]string{"u4217": "USER", "u42": "SHORT", "box": "HOST"}, DuoHost: "127.0.0.1:9443"}
	tests := []struct {
		name, in, want string
	}{
		{"words whole, longer first", "u4217@box boxes u42", "USER@HOST boxes SHORT"},
		{"duo host before ports", "https://127.0.0.1:9443/auth", "https://DUO_HOST/auth"},
		{"loopback ports, both forms", "from 127.0.0.1 port 51234 to [::1]:22 and localhost:80", "from 127.0.0.1 port PORT to [::1]:PORT and localhost:PORT"},
		{"txids numbered in order", "vp-0123456789ABCDEF 0123456789ABCDEF0123456789ABCDEF vp-0123456789ABCDEF", "TXID1 TXID2 TXID1"},
		{"codes, times, descriptors", "code=0123456789ABCDEF elapsed_ms=1234 with 17 descriptors open", "code=CODE elapsed_ms=N with N descriptors open"},
		{"descriptor limit", "too few local resources: RLIMIT_NOFILE 16 with 10 descriptors open", "too few local resources: RLIMIT_NOFILE N with N descriptors open"},
		{"temp dir, plain and encoded", filepath.Join(os.TempDir(), "TestX123", "001") + "/f " + "%2Ftmp", "TMPDIR/f %2Ftmp"},
		{"qr code", "  scan:\n  | █▀▄ █\n  | ▄▄█▀ \nend\n", "  scan:\n  | [QR code]\nend\n"},
		{"nothing to replace", "plain text", "plain text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, n.Normalize(tt.in))
		})
	}
	assert.Equal(t, "a 127.0.0.1:PORT", Normalizer{}.Normalize("a 127.0.0.1:1"), "the zero Normalizer still normalizes what always varies")
}
