// Package sanitize makes untrusted text (from Duo, the config, the
// environment or the command line) safe to show on a terminal or write to
// a log, and clips text at a rune boundary. It is login_duo_go's escaping,
// moved as it was from the helper's main package.
package sanitize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String makes text from Duo, the config or the environment safe to show
// on a terminal: control characters (C0, DEL, C1), other non-printable
// runes and invalid UTF-8 become \xNN escapes. Newlines are kept when
// keepNewlines is set (menus span lines); tabs are always kept.
func String(s string, keepNewlines bool) string {
	clean := true
	for _, r := range s {
		if !safeRune(r, keepNewlines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !safeRune(r, keepNewlines) {
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func safeRune(r rune, keepNewlines bool) bool {
	switch {
	case r == '\n':
		return keepNewlines
	case r == '\t':
		return true
	case r == utf8.RuneError:
		return false
	default:
		return unicode.IsPrint(r) || r == ' '
	}
}

// Clip shortens s to at most n bytes (on a rune boundary).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
