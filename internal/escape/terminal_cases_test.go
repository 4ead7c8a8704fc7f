package escape

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTerminalAndLineAsLoginDuoGoUsesThem pins the cases login_duo_go's own
// escaper was tested with before it became Terminal (menus, keeping
// newlines) and Line (one line), and Clip without a marker.
func TestTerminalAndLineAsLoginDuoGoUsesThem(t *testing.T) {
	tests := []struct {
		in   string
		keep bool // Terminal when set, else Line
		want string
	}{
		{"plain text", false, "plain text"},
		{"line1\nline2", true, "line1\nline2"},
		{"line1\nline2", false, `line1\x0aline2`},
		{"\x1b[2J\x07", true, `\x1b[2J\x07`},
		{"tab\there", false, `tab\x09here`}, // one line: a tab is escaped
		{"cr\r", true, `cr\x0d`},
		{"del\x7f", true, `del\x7f`},
		{"c1 \u009b", true, `c1 \xc2\x9b`},
		{"bad \xff utf8", true, `bad \xff utf8`},
		{"accents é ✓", true, "accents é ✓"},
	}
	for _, tt := range tests {
		got := Line(tt.in)
		if tt.keep {
			got = Terminal(tt.in)
		}
		assert.Equal(t, tt.want, got, "in %q, keep newlines %v", tt.in, tt.keep)
	}
}

func TestClipWithoutMarker(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exact", 5, "exact"},
		{"abcdef", 3, "abc"},
		{"é✓", 4, "é"}, // é is 2 bytes, ✓ 3: cutting inside ✓ drops it whole
		{"✓", 2, ""},
		{"", 0, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Clip(tt.in, tt.n, ""), "Clip(%q, %d)", tt.in, tt.n)
	}
}

// TestLogFieldAsTheLogUsesIt pins LogField on what the login's syslog line
// meets: a space, line breaks, a bad byte, non-ASCII (ASCII only, as the C
// module's escape_log), and every single byte.
func TestLogFieldAsTheLogUsesIt(t *testing.T) {
	assert.Equal(t, `x\x20y\x0d\x0a`, LogField("x y\r\n"))
	assert.Equal(t, `\xff`, LogField("\xff"))
	assert.Equal(t, `\xc3\xbcn\xc3\xafcode`, LogField("ünïcode"))
	for i := 0; i < 256; i++ {
		s := LogField(fmt.Sprintf("%c", i))
		for _, r := range s {
			assert.False(t, r < 0x20 || r == 0x7f, "control character left in %q", s)
		}
	}
}
