// Package escape makes untrusted text (from Duo, the configuration file,
// PAM items, the environment) safe to write out: to a terminal, into a
// syslog line, into an error message. It is the one place that decides
// which characters are escaped; callers escape where they write text out,
// not where it flows through.
//
// Every policy writes what it does not keep as \xNN, one escape per byte of
// the input (so invalid UTF-8 is shown byte by byte), and every output is
// valid UTF-8. The policies differ only in what they keep:
//
//	policy    keeps                                        newline  tab     backslash
//	Terminal  printable Unicode and space                  kept     space   kept
//	Line      printable Unicode and space                  \x0a     \x09    kept
//	LogText   printable Unicode and space                  \x0a     \x09    \x5c
//	LogField  printable ASCII except space, "=" and "\"   \x0a     \x09    \x5c
//
// "Printable" is unicode.IsPrint: letters, marks, numbers, punctuation and
// symbols. Format characters (the bidi overrides U+202A..U+202E and
// U+2066..U+2069, zero-width spaces and joiners, U+FEFF), other spaces,
// line and paragraph separators, C0, DEL, C1 and private-use runes are not.
//
// Terminal and Line keep backslashes, so they are idempotent: text that is
// escaped again reads the same. The login's conversations (the Go core,
// the PAM worker, the terminal) each escape what they write out, once; the
// login hands them text raw. The log policies escape backslashes, so a log
// line decodes unambiguously.
package escape

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Terminal makes text safe to show on a terminal, a multi-line message
// such as Duo's menu or an enrollment notice: every control character
// (terminal escape sequences start with one: ESC, CSI U+009B) and every
// non-printable rune or invalid byte is shown as \xNN, except newlines,
// which menus need; a tab becomes a space, as a terminal would show it,
// without letting the text move the cursor. Backslashes are kept (see the
// package doc: escaping twice changes nothing).
func Terminal(s string) string {
	return apply(s, func(r rune) (keep bool, repl string) {
		switch {
		case r == '\n':
			return true, ""
		case r == '\t':
			return false, " "
		}
		return printable(r), ""
	})
}

// Line makes text safe to show as one line: an error message, a value in
// login_duo_go check's report, a reason the module logs. It is Terminal
// with newlines and tabs escaped too (\x0a, \x09), so the text can neither
// end the line it is written on nor fake the next one.
func Line(s string) string {
	return apply(s, func(r rune) (bool, string) { return printable(r), "" })
}

// LogText makes free text safe as the last field of a syslog line (the
// reason=, a debug message): Line's policy, and backslashes become \x5c
// so that an escape in the log was written by this package, never by the
// text. Spaces and "=" are kept: nothing follows the field.
func LogText(s string) string {
	return apply(s, func(r rune) (bool, string) { return r != '\\' && printable(r), "" })
}

// LogField makes a value safe for one key=value field of a syslog line
// (user=, rhost=, service=): only printable ASCII other than space, "="
// and "\" is kept; every other byte becomes \xNN. A value can neither end
// the line nor fake another field, and non-ASCII letters cannot pass for
// ASCII ones (a Cyrillic "о" in "rооt"), since these fields identify
// users and hosts. The C module's escape_log (pam_module/pam_duo_go.c)
// applies the same rule byte by byte; TestCEscapeLog checks both agree.
func LogField(s string) string {
	return apply(s, func(r rune) (bool, string) { return r > ' ' && r < 0x7f && r != '=' && r != '\\', "" })
}

// Clip cuts s to at most n bytes without splitting a rune and appends
// mark when it cut anything ("" for none; the result is then up to
// n+len(mark) bytes). Clip text after escaping it: the escapes are ASCII,
// so the cut never splits one rune of the input but may split an escape.
func Clip(s string, n int, mark string) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

// printable is unicode.IsPrint: graphic runes and the ASCII space.
func printable(r rune) bool { return unicode.IsPrint(r) }

// apply copies s, writing every rune that keep refuses as its replacement
// or, if none, as \xNN per byte; invalid UTF-8 is always escaped. It
// returns s itself when nothing changes.
func apply(s string, keep func(rune) (bool, string)) string {
	var b strings.Builder
	changed := false
	clean := 0 // s[:clean] is in b
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		ok, repl := false, ""
		if r != utf8.RuneError || size > 1 {
			ok, repl = keep(r)
		}
		if ok {
			i += size
			continue
		}
		if !changed {
			b.Grow(len(s) + 16)
			changed = true
		}
		b.WriteString(s[clean:i])
		if repl != "" {
			b.WriteString(repl)
		} else {
			for _, c := range []byte(s[i : i+size]) {
				b.WriteString(`\x`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			}
		}
		i += size
		clean = i
	}
	if !changed {
		return s
	}
	b.WriteString(s[clean:])
	return b.String()
}
