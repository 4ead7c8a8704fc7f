package qr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grid is the symbol's modules.
func grid(c *Code) [][]bool {
	g := make([][]bool, c.Size)
	for y := range g {
		g[y] = make([]bool, c.Size)
		for x := range g[y] {
			g[y][x] = c.Dark(x, y)
		}
	}
	return g
}

// parseTerminal reads Terminal's text back into modules (for Dark, a
// blank is a dark module; for Light, a block), checks the quiet zone is
// light, and returns the symbol without it.
func parseTerminal(t *testing.T, text string, size int, bg Background) [][]bool {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	full := size + 2*quietZone
	require.Len(t, lines, (full+1)/2)
	rows := make([][]bool, 0, full+1)
	for _, line := range lines {
		runes := []rune(line)
		require.Len(t, runes, full)
		top, bottom := make([]bool, full), make([]bool, full)
		for x, r := range runes {
			up, down := false, false // a block in the top, bottom half
			switch r {
			case '█':
				up, down = true, true
			case '▀':
				up = true
			case '▄':
				down = true
			case ' ':
			default:
				require.FailNowf(t, "unexpected rune", "unexpected %q", r)
			}
			top[x], bottom[x] = up == (bg == Light), down == (bg == Light)
		}
		rows = append(rows, top, bottom)
	}
	rows = rows[:full]
	g := make([][]bool, size)
	for y := range full {
		for x := range full {
			inside := y >= quietZone && y < quietZone+size && x >= quietZone && x < quietZone+size
			if !inside {
				require.False(t, rows[y][x], "quiet zone dark at %d,%d", x, y)
			}
		}
		if y >= quietZone && y < quietZone+size {
			g[y-quietZone] = rows[y][quietZone : quietZone+size]
		}
	}
	return g
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		text string
		ver  int
	}{
		{"a", 1},
		{strings.Repeat("x", 14), 1},
		{strings.Repeat("x", 15), 2},
		{"https://api-xxxxxxxx.duosecurity.com/portal?code=48bac5d9393fb2c2&akey=DAKXXXXXXXXXXXXXXXXX", 6},
		{strings.Repeat("u", 180), 9},
		{strings.Repeat("é", 100), 10},
		{string([]byte{0, 0xff, '\n', 0x80}), 1},
		{strings.Repeat("z", MaxBytes), 10},
	}
	for _, tt := range tests {
		t.Run(tt.text[:min(len(tt.text), 20)], func(t *testing.T) {
			c, err := Encode([]byte(tt.text))
			require.NoError(t, err)
			assert.Equal(t, tt.ver, c.Version)
			got, err := decodeGrid(grid(c))
			require.NoError(t, err)
			assert.Equal(t, tt.text, got)
			for _, bg := range []Background{Dark, Light} {
				text := c.Terminal(bg)
				got, err = decodeGrid(parseTerminal(t, text, c.Size, bg))
				require.NoError(t, err)
				assert.Equal(t, tt.text, got, "the terminal rendering decodes back (background %d)", bg)
				for _, r := range text {
					assert.False(t, unicode.IsControl(r) && r != '\n', "control character %q", r)
				}
			}
		})
	}
	for n := 1; n <= MaxBytes; n += 7 {
		text := strings.Repeat("q", n)
		c, err := Encode([]byte(text))
		require.NoError(t, err)
		got, err := decodeGrid(grid(c))
		require.NoError(t, err, "n=%d version %d mask %d", n, c.Version, c.Mask)
		require.Equal(t, text, got)
	}
	_, err := Encode(make([]byte, MaxBytes+1))
	assert.ErrorIs(t, err, ErrTooLong)
}

// Every mask decodes (the penalty picks one; the decoder must read all).
func TestEveryMask(t *testing.T) {
	data := []byte("https://example.com/portal?code=0123456789abcdef")
	for m := range 8 {
		c, err := Encode(data)
		require.NoError(t, err)
		c2 := *c
		c2.dark = grid(c)
		// Re-mask: undo the chosen mask and apply m, with the function
		// modules of a fresh symbol.
		fresh := newCode(c.Version)
		c2.fn = fresh.fn
		c2.applyMask(c.Mask)
		c2.applyMask(m)
		c2.drawFormat(m)
		got, err := decodeGrid(grid(&c2))
		require.NoError(t, err, "mask %d", m)
		assert.Equal(t, string(data), got)
	}
}

// The golden renderings were generated once and decoded with an
// independent decoder (github.com/piglig/go-qr v1.1.0's Decode, in a
// scratch module outside this repository, from an image of the text as a
// terminal shows it: light blocks on a dark background for Dark, dark
// blocks on a light one for Light; each decoded to the URL, and neither
// on the other background); the encoder must keep producing exactly them.
func TestGolden(t *testing.T) {
	const url = "https://api-xxxxxxxx.duosecurity.com/portal?code=48bac5d9393fb2c2&akey=DAKXXXXXXXXXXXXXXXXX"
	c, err := Encode([]byte(url))
	require.NoError(t, err)
	for name, bg := range map[string]Background{"enroll_url.txt": Dark, "enroll_url_light.txt": Light} {
		want, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		assert.Equal(t, string(want), c.Terminal(bg), name)
	}
}
