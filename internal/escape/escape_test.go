package escape_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// hostile is text an attacker can put in a Duo answer, a PAM item or a
// config file, with each policy's expected output.
var hostile = []struct {
	name                              string
	in                                string
	terminal, line, logText, logField string
}{
	{"plain", "plain text", "plain text", "plain text", "plain text", `plain\x20text`},
	{"empty", "", "", "", "", ""},
	{"word", "alice", "alice", "alice", "alice", "alice"},
	{"punctuation", "a-b_c.d@e:f/g", "a-b_c.d@e:f/g", "a-b_c.d@e:f/g", "a-b_c.d@e:f/g", "a-b_c.d@e:f/g"},
	{"unicode", "ünïcode ✓", "ünïcode ✓", "ünïcode ✓", "ünïcode ✓", `\xc3\xbcn\xc3\xafcode\x20\xe2\x9c\x93`},
	{"homoglyph", "rооt", "rооt", "rооt", "rооt", `r\xd0\xbe\xd0\xbet`},
	{"replacement char", "x\uFFFD", "x\uFFFD", "x\uFFFD", "x\uFFFD", `x\xef\xbf\xbd`},
	{"ESC sequence", "a\x1b[2Jb", `a\x1b[2Jb`, `a\x1b[2Jb`, `a\x1b[2Jb`, `a\x1b[2Jb`},
	{"OSC title", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`, `\x1b]0;pwned\x07`, `\x1b]0;pwned\x07`, `\x1b]0;pwned\x07`},
	{"C1 CSI", "c1 \u009b2J", `c1 \xc2\x9b2J`, `c1 \xc2\x9b2J`, `c1 \xc2\x9b2J`, `c1\x20\xc2\x9b2J`},
	{"DEL", "del\x7f", `del\x7f`, `del\x7f`, `del\x7f`, `del\x7f`},
	{"NUL", "a\x00b", `a\x00b`, `a\x00b`, `a\x00b`, `a\x00b`},
	{"newline", "l1\nl2", "l1\nl2", `l1\x0al2`, `l1\x0al2`, `l1\x0al2`},
	{"CRLF", "x\r\n", `x\x0d` + "\n", `x\x0d\x0a`, `x\x0d\x0a`, `x\x0d\x0a`},
	{"tab", "a\tb", "a b", `a\x09b`, `a\x09b`, `a\x09b`},
	{"backslash", `C:\x1b`, `C:\x1b`, `C:\x1b`, `C:\x5cx1b`, `C:\x5cx1b`},
	{"fake field", "bob rhost=evil", "bob rhost=evil", "bob rhost=evil", "bob rhost=evil", `bob\x20rhost\x3devil`},
	{"invalid UTF-8", "bad\xff\xc3", `bad\xff\xc3`, `bad\xff\xc3`, `bad\xff\xc3`, `bad\xff\xc3`},
	{"overlong NUL", "\xc0\x80", `\xc0\x80`, `\xc0\x80`, `\xc0\x80`, `\xc0\x80`},
	{"surrogate", "\xed\xa0\x80", `\xed\xa0\x80`, `\xed\xa0\x80`, `\xed\xa0\x80`, `\xed\xa0\x80`},
	{"bidi override", "txt\u202Eexe.sh", `txt\xe2\x80\xaeexe.sh`, `txt\xe2\x80\xaeexe.sh`, `txt\xe2\x80\xaeexe.sh`, `txt\xe2\x80\xaeexe.sh`},
	{"bidi isolate", "\u2066x\u2069", `\xe2\x81\xa6x\xe2\x81\xa9`, `\xe2\x81\xa6x\xe2\x81\xa9`, `\xe2\x81\xa6x\xe2\x81\xa9`, `\xe2\x81\xa6x\xe2\x81\xa9`},
	{"zero width", "a\u200Bb\uFEFF", `a\xe2\x80\x8bb\xef\xbb\xbf`, `a\xe2\x80\x8bb\xef\xbb\xbf`, `a\xe2\x80\x8bb\xef\xbb\xbf`, `a\xe2\x80\x8bb\xef\xbb\xbf`},
	{"line separator", "a\u2028b", `a\xe2\x80\xa8b`, `a\xe2\x80\xa8b`, `a\xe2\x80\xa8b`, `a\xe2\x80\xa8b`},
	{"no-break space", "a\u00a0b", `a\xc2\xa0b`, `a\xc2\xa0b`, `a\xc2\xa0b`, `a\xc2\xa0b`},
}

func TestPolicies(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.terminal, escape.Terminal(tt.in), "Terminal")
			assert.Equal(t, tt.line, escape.Line(tt.in), "Line")
			assert.Equal(t, tt.logText, escape.LogText(tt.in), "LogText")
			assert.Equal(t, tt.logField, escape.LogField(tt.in), "LogField")
			checkProperties(t, tt.in)
		})
	}
}

func TestLongText(t *testing.T) {
	long := strings.Repeat("\x1bé", 100_000)
	for name, f := range policies {
		out := f(long)
		assert.LessOrEqual(t, len(out), 4*len(long), name)
		clipped := escape.Clip(out, 512, "...[cut]")
		assert.LessOrEqual(t, len(clipped), 512+len("...[cut]"), name)
		assert.True(t, utf8.ValidString(clipped), name)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		mark string
		want string
	}{
		{"short", 10, "...", "short"},
		{"exactly10!", 10, "...", "exactly10!"},
		{"0123456789abc", 10, "...", "0123456789..."},
		{"0123456789abc", 10, "", "0123456789"},
		{"aaaaaaaaaé", 10, "", "aaaaaaaaa"}, // é is bytes 9 and 10: not split
		{"éééé", 3, "[cut]", "é[cut]"},
		{"✓✓", 2, "", ""},
		{"abc", 0, "...", "..."},
		{"abc", -1, "", ""},
	}
	for _, tt := range tests {
		got := escape.Clip(tt.in, tt.n, tt.mark)
		assert.Equal(t, tt.want, got, "Clip(%q, %d, %q)", tt.in, tt.n, tt.mark)
		require.True(t, utf8.ValidString(got))
	}
}

// policies are the escapers by name.
var policies = map[string]func(string) string{
	"Terminal": escape.Terminal, "Line": escape.Line, "LogText": escape.LogText, "LogField": escape.LogField,
}

// checkProperties asserts what every policy promises for any input.
func checkProperties(t *testing.T, in string) {
	t.Helper()
	for name, f := range policies {
		out := f(in)
		require.True(t, utf8.ValidString(out), "%s(%q) = %q: invalid UTF-8", name, in, out)
		require.LessOrEqual(t, len(out), 4*len(in), "%s(%q) = %q: longer than 4 bytes per byte", name, in, out)
		for _, r := range out {
			if r == '\n' && name == "Terminal" {
				continue
			}
			require.False(t, r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || isFormat(r),
				"%s(%q) = %q: control or format character %U", name, in, out, r)
		}
		if in == out || name == "Terminal" && strings.Contains(in, "\t") {
			continue
		}
		require.Contains(t, out, `\x`, "%s(%q) = %q: changed without an escape", name, in, out)
	}
	// Terminal and Line are idempotent: text escaped twice reads the same.
	require.Equal(t, escape.Terminal(in), escape.Terminal(escape.Terminal(in)), "Terminal not idempotent")
	require.Equal(t, escape.Line(in), escape.Line(escape.Line(in)), "Line not idempotent")
	// A log field is printable ASCII without space or "=".
	field := escape.LogField(in)
	for i := 0; i < len(field); i++ {
		require.False(t, field[i] <= ' ' || field[i] >= 0x7f || field[i] == '=', "LogField(%q) = %q: byte %#x", in, field, field[i])
	}
	// In the log policies every backslash starts an escape \xNN.
	for _, out := range []string{field, escape.LogText(in)} {
		for rest := out; ; {
			i := strings.IndexByte(rest, '\\')
			if i < 0 {
				break
			}
			require.False(t, len(rest) < i+4 || rest[i+1] != 'x' || !isHex(rest[i+2]) || !isHex(rest[i+3]),
				"%q from %q: a backslash that is not an escape", out, in)
			rest = rest[i+4:]
		}
	}
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// isFormat reports the invisible runes that reorder or hide text.
func isFormat(r rune) bool {
	switch r {
	case '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069',
		'\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2028', '\u2029', '\ufeff', '\u00ad':
		return true
	}
	return false
}

func FuzzEscape(f *testing.F) {
	for _, tt := range hostile {
		f.Add(tt.in, 40)
	}
	f.Fuzz(func(t *testing.T, in string, n int) {
		checkProperties(t, in)
		n %= 1024
		for name, p := range policies {
			out := escape.Clip(p(in), n, "...")
			require.True(t, utf8.ValidString(out), name)
			require.LessOrEqual(t, len(out), max(n, 0)+3, name)
		}
	})
}
