package login

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EscapeLog makes s safe for one syslog field: control characters, spaces,
// backslashes and anything not printable become \xNN (per byte), so a
// value can neither end the line nor fake another field.
func EscapeLog(s string) string {
	return escape(s, func(r rune) bool { return r != ' ' && r != '\\' && r != '=' && unicode.IsPrint(r) })
}

// maxLogField bounds each field of a syslog line (after escaping), so that
// a 10 kB user name or server message cannot flood the log.
const maxLogField = 512

// clipLog cuts an escaped field to maxLogField bytes, marking the cut.
// Escaped text is ASCII up to any multi-byte printable rune; the cut
// never splits a rune.
func clipLog(s string) string {
	if len(s) <= maxLogField {
		return s
	}
	n := maxLogField
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "...[cut]"
}

// escapeReason is EscapeLog for the last field of a line, where spaces
// are harmless.
func escapeReason(s string) string {
	return escape(s, func(r rune) bool { return r != '\\' && unicode.IsPrint(r) })
}

// SanitizeTerminal makes server-supplied text safe to show on a terminal:
// every control character (terminal escape sequences start with one) is
// shown as \xNN, except newlines; tabs become spaces.
func SanitizeTerminal(s string) string {
	s = strings.ReplaceAll(s, "\t", " ")
	return escape(s, func(r rune) bool { return r == '\n' || (r != '\\' && unicode.IsPrint(r)) })
}

func escape(s string, keep func(rune) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || !keep(r) {
			for _, c := range []byte(s[i : i+max(size, 1)]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += max(size, 1)
	}
	return b.String()
}
