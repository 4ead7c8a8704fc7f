package e2e

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Line is one line of terminal output and the moment its text was complete
// on the terminal (when its last character, not its line ending, arrived).
type Line struct {
	At   time.Time
	Text string // without the line ending; carriage returns removed
}

// Transcript records everything a program wrote to its terminal, split into
// timestamped lines. It is safe for concurrent use.
type Transcript struct {
	mu         sync.Mutex
	start      time.Time
	lines      []Line        // complete lines
	partial    []byte        // the unfinished last line
	partialAt  time.Time     // when partial last grew
	lastOutput time.Time     // when any byte last arrived
	changed    chan struct{} // closed and replaced on every write
}

// newTranscript returns an empty transcript whose clock starts now.
func newTranscript() *Transcript {
	now := time.Now()
	return &Transcript{start: now, lastOutput: now, changed: make(chan struct{})}
}

// Start is the moment the transcript began.
func (tr *Transcript) Start() time.Time { return tr.start }

// Write records output that arrived at time at.
func (tr *Transcript) write(p []byte, at time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, b := range p {
		switch b {
		case '\r':
		case '\n':
			// A line was on screen once its text was: an answer's
			// newline typed later does not move its time.
			lineAt := at
			if len(tr.partial) > 0 {
				lineAt = tr.partialAt
			}
			tr.lines = append(tr.lines, Line{At: lineAt, Text: string(tr.partial)})
			tr.partial = tr.partial[:0]
		default:
			tr.partial = append(tr.partial, b)
			tr.partialAt = at
		}
	}
	tr.lastOutput = at
	close(tr.changed)
	tr.changed = make(chan struct{})
}

// Write records p as output that arrived now; it lets a Transcript be an
// io.Writer.
func (tr *Transcript) Write(p []byte) (int, error) {
	tr.write(p, time.Now())
	return len(p), nil
}

// Lines returns the complete lines followed by the unfinished last line,
// if any.
func (tr *Transcript) Lines() []Line {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := append([]Line(nil), tr.lines...)
	if len(tr.partial) > 0 {
		out = append(out, Line{At: tr.partialAt, Text: string(tr.partial)})
	}
	return out
}

// Text returns the whole output as text, lines joined by "\n".
func (tr *Transcript) Text() string {
	var b strings.Builder
	for i, l := range tr.Lines() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.Text)
	}
	return b.String()
}

// Find returns the first line containing substr.
func (tr *Transcript) Find(substr string) (Line, bool) {
	for _, l := range tr.Lines() {
		if strings.Contains(l.Text, substr) {
			return l, true
		}
	}
	return Line{}, false
}

// Contains reports whether any line contains substr.
func (tr *Transcript) Contains(substr string) bool {
	_, ok := tr.Find(substr)
	return ok
}

// String formats the transcript for a test log: one line per output line,
// prefixed with its offset from the start; control characters escaped.
func (tr *Transcript) String() string {
	var b strings.Builder
	for _, l := range tr.Lines() {
		fmt.Fprintf(&b, "  %+8.3fs | %s\n", l.At.Sub(tr.start).Seconds(), EscapeControls(l.Text))
	}
	return b.String()
}

// state returns what prompt detection needs: the number of complete
// lines, the unfinished line and when output last arrived, plus a channel
// closed at the next write.
func (tr *Transcript) state() (complete int, partial string, partialAt, lastOutput time.Time, changed <-chan struct{}) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.lines), string(tr.partial), tr.partialAt, tr.lastOutput, tr.changed
}

// since returns the text of the lines from index i on, including the
// unfinished one.
func (tr *Transcript) since(i int) string {
	lines := tr.Lines()
	if i > len(lines) {
		i = len(lines)
	}
	texts := make([]string, 0, len(lines)-i)
	for _, l := range lines[i:] {
		texts = append(texts, l.Text)
	}
	return strings.Join(texts, "\n")
}

// EscapeControls returns s with control characters and invalid UTF-8
// written as \xNN, so that test logs never carry raw terminal controls.
func EscapeControls(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || (r >= 0x80 && r < 0xa0) {
			for _, x := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\x%02x`, x)
			}
			i += size
			continue
		}
		b.WriteRune(r)
		i += size
	}
	return b.String()
}
