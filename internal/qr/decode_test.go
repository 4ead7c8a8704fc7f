package qr

import (
	"errors"
	"fmt"
)

// A decoder for the tests, written separately from the encoder from the
// standard's tables (block structure, alignment positions and masks are
// typed in again, not shared): it reads a module grid of a level M symbol
// of versions 1 to 10, checks every block's Reed-Solomon syndromes, and
// returns the byte-mode text.

// blockSpec is one group of the standard's table: count blocks of total
// codewords, data of them data.
type blockSpec struct{ count, total, data int }

var levelM = map[int][]blockSpec{
	1: {{1, 26, 16}}, 2: {{1, 44, 28}}, 3: {{1, 70, 44}}, 4: {{2, 50, 32}}, 5: {{2, 67, 43}},
	6: {{4, 43, 27}}, 7: {{4, 49, 31}}, 8: {{2, 60, 38}, {2, 61, 39}}, 9: {{3, 58, 36}, {2, 59, 37}},
	10: {{4, 69, 43}, {1, 70, 44}},
}

var alignTable = map[int][]int{
	1: nil, 2: {6, 18}, 3: {6, 22}, 4: {6, 26}, 5: {6, 30}, 6: {6, 34},
	7: {6, 22, 38}, 8: {6, 24, 42}, 9: {6, 26, 46}, 10: {6, 28, 50},
}

// GF(256) with exp/log tables (the encoder multiplies bit by bit).
var gfExp, gfLog = func() (e [512]byte, l [256]int) {
	x := 1
	for i := range 255 {
		e[i] = byte(x)
		l[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	for i := 255; i < 512; i++ {
		e[i] = e[i-255]
	}
	return
}()

func mulGF(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[gfLog[a]+gfLog[b]]
}

func decodeGrid(g [][]bool) (string, error) {
	size := len(g)
	ver := (size - 17) / 4
	if size < 21 || (size-17)%4 != 0 || ver > 10 {
		return "", fmt.Errorf("size %d", size)
	}
	at := func(x, y int) bool { return g[y][x] }
	// Format, first copy: bits 0-5 down column 8, then (8,7), (8,8),
	// (7,8), then bits 9-14 leftwards along row 8.
	var f int
	bitAt := []struct{ x, y int }{{8, 0}, {8, 1}, {8, 2}, {8, 3}, {8, 4}, {8, 5}, {8, 7}, {8, 8}, {7, 8}, {5, 8}, {4, 8}, {3, 8}, {2, 8}, {1, 8}, {0, 8}}
	for i, p := range bitAt {
		if at(p.x, p.y) {
			f |= 1 << i
		}
	}
	mask, found := -1, false
	for d := range 32 {
		code := d << 10
		for i := 14; i >= 10; i-- {
			if code>>i&1 == 1 {
				code ^= 0x537 << (i - 10)
			}
		}
		if (d<<10|code)^0x5412 == f {
			if d>>3 != 0 {
				return "", fmt.Errorf("error correction level bits %02b, want M (00)", d>>3)
			}
			mask, found = d&7, true
		}
	}
	if !found {
		return "", errors.New("format bits do not decode")
	}
	if ver >= 7 {
		// Version information: 18 bits, the version and its BCH(18,6)
		// remainder by x^12+x^11+x^10+x^9+x^8+x^5+x^2+1, in the 6x3
		// block above the bottom-left finder and its transpose.
		code := ver << 12
		for i := 17; i >= 12; i-- {
			if code>>i&1 == 1 {
				code ^= 0x1F25 << (i - 12)
			}
		}
		want := ver<<12 | code
		for copyNo := range 2 {
			got := 0
			for i := range 18 {
				x, y := i/3, size-11+i%3 // bottom left
				if copyNo == 1 {
					x, y = y, x // top right
				}
				if at(x, y) {
					got |= 1 << i
				}
			}
			if got != want {
				return "", fmt.Errorf("version information copy %d is %018b, want %018b", copyNo, got, want)
			}
		}
	}
	align := alignTable[ver]
	isFunc := func(x, y int) bool {
		switch {
		case x < 9 && y < 9, x >= size-8 && y < 9, x < 9 && y >= size-8:
			return true // finders, separators, format, the dark module
		case x == 6 || y == 6:
			return true
		case ver >= 7 && (x >= size-11 && x < size-8 && y < 6 || y >= size-11 && y < size-8 && x < 6):
			return true
		}
		for _, cy := range align {
			for _, cx := range align {
				if cx == 6 && cy == 6 || cx == 6 && cy == align[len(align)-1] || cy == 6 && cx == align[len(align)-1] {
					continue
				}
				if x >= cx-2 && x <= cx+2 && y >= cy-2 && y <= cy+2 {
					return true
				}
			}
		}
		return false
	}
	masked := func(x, y int) bool {
		i, j := y, x
		switch mask {
		case 0:
			return (i+j)%2 == 0
		case 1:
			return i%2 == 0
		case 2:
			return j%3 == 0
		case 3:
			return (i+j)%3 == 0
		case 4:
			return (i/2+j/3)%2 == 0
		case 5:
			return (i*j)%2+(i*j)%3 == 0
		case 6:
			return ((i*j)%2+(i*j)%3)%2 == 0
		}
		return ((i+j)%2+(i*j)%3)%2 == 0
	}
	var bits []bool
	up := true
	for col := size - 1; col > 0; col -= 2 {
		if col == 6 {
			col--
		}
		for k := range size {
			y := k
			if up {
				y = size - 1 - k
			}
			for _, x := range []int{col, col - 1} {
				if !isFunc(x, y) {
					bits = append(bits, at(x, y) != masked(x, y))
				}
			}
		}
		up = !up
	}
	var blocks []blockSpec
	total := 0
	for _, s := range levelM[ver] {
		for range s.count {
			blocks = append(blocks, s)
			total += s.total
		}
	}
	if len(bits)/8 != total {
		return "", fmt.Errorf("%d codewords in the grid, the table says %d", len(bits)/8, total)
	}
	cw := make([]byte, total)
	for i := range cw {
		for k := range 8 {
			if bits[8*i+k] {
				cw[i] |= 0x80 >> k
			}
		}
	}
	bufs := make([][]byte, len(blocks))
	n := 0
	for i := 0; i < 44; i++ {
		for b, s := range blocks {
			if i < s.data {
				bufs[b] = append(bufs[b], cw[n])
				n++
			}
		}
	}
	eccLen := blocks[0].total - blocks[0].data
	for range eccLen {
		for b := range blocks {
			bufs[b] = append(bufs[b], cw[n])
			n++
		}
	}
	var data []byte
	for b, s := range blocks {
		for r := range eccLen {
			var syn byte
			for _, c := range bufs[b] {
				syn = mulGF(syn, gfExp[r]) ^ c
			}
			if syn != 0 {
				return "", fmt.Errorf("block %d: syndrome %d is %d", b, r, syn)
			}
		}
		data = append(data, bufs[b][:s.data]...)
	}
	pos := 0
	read := func(k int) int {
		v := 0
		for range k {
			v = v<<1 | int(data[pos/8]>>(7-pos%8)&1)
			pos++
		}
		return v
	}
	if m := read(4); m != 4 {
		return "", fmt.Errorf("mode %04b, want byte mode", m)
	}
	countBits := 8
	if ver >= 10 {
		countBits = 16
	}
	count := read(countBits)
	if 4+countBits+8*count > 8*len(data) {
		return "", fmt.Errorf("count %d beyond the data", count)
	}
	out := make([]byte, count)
	for i := range out {
		out[i] = byte(read(8))
	}
	return string(out), nil
}
