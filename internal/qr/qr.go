// Package qr encodes short text (an enrollment URL) as a QR code and
// renders it for a terminal with Unicode half blocks. It is a small
// encoder written from ISO/IEC 18004: byte mode, error correction level M,
// versions 1 to 10 (up to 213 bytes), every mask tried and the one with
// the lowest penalty kept.
package qr

import (
	"errors"
	"fmt"
	"strings"
)

// maxVersion is the largest symbol made (57 x 57 modules).
const maxVersion = 10

// MaxBytes is the most data Encode takes (byte mode, level M, version 10).
const MaxBytes = 213

// ErrTooLong is returned for data beyond MaxBytes.
var ErrTooLong = errors.New("qr: data too long")

// Level M, per version (index 0 unused): error correction codewords per
// block, and the number of blocks.
var (
	eccPerBlock = [maxVersion + 1]int{-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26}
	numBlocks   = [maxVersion + 1]int{-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5}
)

// formatECL is level M's two format bits.
const formatECL = 0

// Code is an encoded symbol.
type Code struct {
	Version int
	Size    int // modules per side
	Mask    int
	dark    [][]bool // [y][x]
	fn      [][]bool // function modules (not data)
}

// Dark reports whether the module at column x, row y is dark; outside the
// symbol (the quiet zone) every module is light.
func (c *Code) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= c.Size || y >= c.Size {
		return false
	}
	return c.dark[y][x]
}

// rawDataModules is the number of data and error correction bits of a
// version: the area minus every function pattern.
func rawDataModules(ver int) int {
	n := (16*ver+128)*ver + 64
	if ver >= 2 {
		align := ver/7 + 2
		n -= (25*align-10)*align - 55
		if ver >= 7 {
			n -= 36
		}
	}
	return n
}

// dataCodewords is the number of data codewords of a version at level M.
func dataCodewords(ver int) int {
	return rawDataModules(ver)/8 - eccPerBlock[ver]*numBlocks[ver]
}

// Encode makes the smallest symbol (version 1 to maxVersion) that holds
// data in byte mode at level M.
func Encode(data []byte) (*Code, error) {
	ver := 0
	for v := 1; v <= maxVersion; v++ {
		countBits := 8
		if v >= 10 {
			countBits = 16
		}
		if 4+countBits+8*len(data) <= 8*dataCodewords(v) {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLong, len(data), MaxBytes)
	}
	// Segment: mode 0100 (byte), the count, the bytes; then a terminator,
	// zero bits to a byte, and the pad bytes 0xEC 0x11.
	var bb bitBuffer
	bb.add(4, 4)
	if ver >= 10 {
		bb.add(len(data), 16)
	} else {
		bb.add(len(data), 8)
	}
	for _, b := range data {
		bb.add(int(b), 8)
	}
	capBits := 8 * dataCodewords(ver)
	bb.add(0, min(4, capBits-bb.n))
	bb.add(0, (8-bb.n%8)%8)
	for pad := 0xEC; bb.n < capBits; pad ^= 0xEC ^ 0x11 {
		bb.add(pad, 8)
	}
	c := newCode(ver)
	c.drawCodewords(interleave(ver, bb.bytes()))
	best, bestPenalty := 0, -1
	for m := range 8 {
		c.applyMask(m)
		c.drawFormat(m)
		if p := c.penalty(); bestPenalty < 0 || p < bestPenalty {
			best, bestPenalty = m, p
		}
		c.applyMask(m) // XOR again: undone
	}
	c.applyMask(best)
	c.drawFormat(best)
	c.Mask = best
	c.fn = nil
	return c, nil
}

// bitBuffer is a big-endian bit string.
type bitBuffer struct {
	b []byte
	n int
}

func (bb *bitBuffer) add(v, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if bb.n%8 == 0 {
			bb.b = append(bb.b, 0)
		}
		if v>>i&1 == 1 {
			bb.b[bb.n/8] |= 0x80 >> (bb.n % 8)
		}
		bb.n++
	}
}

func (bb *bitBuffer) bytes() []byte { return bb.b }

// interleave splits the data codewords into the version's blocks, adds
// each block's Reed-Solomon codewords, and interleaves them all.
func interleave(ver int, data []byte) []byte {
	nb, eccLen := numBlocks[ver], eccPerBlock[ver]
	raw := rawDataModules(ver) / 8
	short := nb - raw%nb
	shortLen := raw / nb
	div := rsDivisor(eccLen)
	blocks := make([][]byte, nb)
	k := 0
	for i := range nb {
		n := shortLen - eccLen
		if i >= short {
			n++
		}
		dat := append([]byte(nil), data[k:k+n]...)
		k += n
		ecc := rsRemainder(dat, div)
		if i < short {
			dat = append(dat, 0) // a placeholder, skipped below
		}
		blocks[i] = append(dat, ecc...)
	}
	out := make([]byte, 0, raw)
	for i := range blocks[0] {
		for j, blk := range blocks {
			if i != shortLen-eccLen || j >= short {
				out = append(out, blk[i])
			}
		}
	}
	return out
}

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
func gfMul(x, y byte) byte {
	z := 0
	for i := 7; i >= 0; i-- {
		z = (z << 1) ^ ((z >> 7) * 0x11D)
		z ^= int(y>>i&1) * int(x)
	}
	return byte(z)
}

// rsDivisor is the generator polynomial of the given degree, without its
// leading 1, highest power first.
func rsDivisor(degree int) []byte {
	r := make([]byte, degree)
	r[degree-1] = 1
	root := byte(1)
	for range degree {
		for j := range r {
			r[j] = gfMul(r[j], root)
			if j+1 < len(r) {
				r[j] ^= r[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return r
}

// rsRemainder is the error correction codewords of data.
func rsRemainder(data, div []byte) []byte {
	r := make([]byte, len(div))
	for _, b := range data {
		f := b ^ r[0]
		copy(r, r[1:])
		r[len(r)-1] = 0
		for i := range r {
			r[i] ^= gfMul(div[i], f)
		}
	}
	return r
}

// newCode draws the function patterns of a version; format bits are
// reserved (drawn with mask 0) until the mask is chosen.
func newCode(ver int) *Code {
	size := 4*ver + 17
	c := &Code{Version: ver, Size: size, dark: make([][]bool, size), fn: make([][]bool, size)}
	for y := range size {
		c.dark[y], c.fn[y] = make([]bool, size), make([]bool, size)
	}
	for i := range size {
		c.set(6, i, i%2 == 0)
		c.set(i, 6, i%2 == 0)
	}
	c.finder(3, 3)
	c.finder(size-4, 3)
	c.finder(3, size-4)
	pos := alignmentPositions(ver)
	n := len(pos)
	for i := range n {
		for j := range n {
			if i == 0 && j == 0 || i == 0 && j == n-1 || i == n-1 && j == 0 {
				continue // the finders' corners
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					c.set(pos[i]+dx, pos[j]+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	c.drawFormat(0)
	if ver >= 7 {
		rem := ver
		for range 12 {
			rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
		}
		bits := ver<<12 | rem
		for i := range 18 {
			dark := bits>>i&1 == 1
			a, b := size-11+i%3, i/3
			c.set(a, b, dark)
			c.set(b, a, dark)
		}
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// set draws a function module.
func (c *Code) set(x, y int, dark bool) {
	c.dark[y][x] = dark
	c.fn[y][x] = true
}

// finder draws a finder pattern centred on (x, y) with its separator.
func (c *Code) finder(x, y int) {
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			xx, yy := x+dx, y+dy
			if xx >= 0 && xx < c.Size && yy >= 0 && yy < c.Size {
				d := max(abs(dx), abs(dy))
				c.set(xx, yy, d != 2 && d != 4)
			}
		}
	}
}

// alignmentPositions is the centre coordinates of a version's alignment
// patterns, in ascending order.
func alignmentPositions(ver int) []int {
	if ver == 1 {
		return nil
	}
	n := ver/7 + 2
	step := (ver*8 + n*3 + 5) / (n*4 - 4) * 2
	pos := make([]int, n)
	pos[0] = 6
	for i, p := n-1, 4*ver+17-7; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

// drawFormat draws both copies of the format bits for level M and mask,
// and the dark module.
func (c *Code) drawFormat(mask int) {
	data := formatECL<<3 | mask
	rem := data
	for range 10 {
		rem = (rem << 1) ^ ((rem >> 9) * 0x537)
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return bits>>i&1 == 1 }
	for i := 0; i <= 5; i++ {
		c.set(8, i, bit(i))
	}
	c.set(8, 7, bit(6))
	c.set(8, 8, bit(7))
	c.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		c.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		c.set(c.Size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		c.set(8, c.Size-15+i, bit(i))
	}
	c.set(8, c.Size-8, true)
}

// drawCodewords places the codewords in the zigzag of two-module columns
// from the bottom right, skipping function modules.
func (c *Code) drawCodewords(data []byte) {
	i := 0
	for right := c.Size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5 // the vertical timing pattern
		}
		for vert := range c.Size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = c.Size - 1 - vert // upwards
				}
				if !c.fn[y][x] && i < len(data)*8 {
					c.dark[y][x] = data[i>>3]>>(7-i&7)&1 == 1
					i++
				}
			}
		}
	}
}

// maskBit reports whether mask m inverts the module at (x, y).
func maskBit(m, x, y int) bool {
	switch m {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	}
	return ((x+y)%2+x*y%3)%2 == 0
}

// applyMask inverts the data modules selected by mask m (applying it
// twice undoes it).
func (c *Code) applyMask(m int) {
	for y := range c.Size {
		for x := range c.Size {
			if !c.fn[y][x] && maskBit(m, x, y) {
				c.dark[y][x] = !c.dark[y][x]
			}
		}
	}
}

// penalty scores the symbol by the standard's four rules (lower is
// better): runs of five or more, 2x2 blocks, finder-like patterns, and
// the balance of dark and light.
func (c *Code) penalty() int {
	n := c.Size
	p := 0
	line := func(get func(i int) bool) {
		run := 0
		for i := range n {
			if i > 0 && get(i) == get(i-1) {
				run++
			} else {
				run = 1
			}
			if run == 5 {
				p += 3
			} else if run > 5 {
				p++
			}
		}
		// 1:1:3:1:1 with four light modules on one side (off the symbol
		// counts as light).
		pat := []bool{true, false, true, true, true, false, true}
		for i := -4; i < n; i++ {
			match := true
			for k, want := range pat {
				if i+k < 0 || i+k >= n || get(i+k) != want {
					match = false
					break
				}
			}
			if !match {
				continue
			}
			light := func(from, to int) bool {
				for j := from; j < to; j++ {
					if j >= 0 && j < n && get(j) {
						return false
					}
				}
				return true
			}
			if light(i-4, i) || light(i+7, i+11) {
				p += 40
			}
		}
	}
	for y := range n {
		line(func(i int) bool { return c.dark[y][i] })
	}
	for x := range n {
		line(func(i int) bool { return c.dark[i][x] })
	}
	dark := 0
	for y := range n {
		for x := range n {
			if c.dark[y][x] {
				dark++
			}
			if x+1 < n && y+1 < n {
				d := c.dark[y][x]
				if c.dark[y][x+1] == d && c.dark[y+1][x] == d && c.dark[y+1][x+1] == d {
					p += 3
				}
			}
		}
	}
	total := n * n
	k := (abs(dark*20-total*10)+total-1)/total - 1
	return p + max(k, 0)*10
}

// quietZone is the light margin drawn around the symbol, in modules.
const quietZone = 2

// Background is the terminal background a rendering is made for.
type Background int

// Backgrounds.
const (
	// Dark: light modules and the quiet zone are drawn as blocks (in the
	// terminal's light foreground), dark modules left blank. On a light
	// background this shows inverted inside a dark frame, which many
	// phone cameras read too.
	Dark Background = iota
	// Light: dark modules are drawn as blocks (in the terminal's dark
	// foreground), light ones and the quiet zone left blank.
	Light
)

// Terminal renders the code as text for a terminal with the given
// background: two rows of modules per line with the half blocks U+2580
// and U+2584, the full block U+2588 and spaces, the quiet zone included.
// Every line ends with a newline; there is no other control character.
func (c *Code) Terminal(bg Background) string {
	var b strings.Builder
	lo, hi := -quietZone, c.Size+quietZone
	block := func(x, y int) bool {
		if y >= hi {
			return bg == Light // below the last row: nothing drawn
		}
		return c.Dark(x, y) == (bg == Light)
	}
	for y := lo; y < hi; y += 2 {
		for x := lo; x < hi; x++ {
			top, bottom := block(x, y), block(x, y+1) && y+1 < hi
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
