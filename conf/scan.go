package conf

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/ini.v1"
)

// How a file is read.
//
// gopkg.in/ini.v1 parses the file, with options chosen to read it the way
// duo_unix's parser (inih) does: "=" is the only separator, quotes are kept
// as part of values, there is no backslash continuation, ";" and "#" start
// comments only at the beginning of a line, and a line that starts with a
// space or tab right after a key line continues that key's value (inih
// also continues after blank and comment lines; ini.v1 stops there, and so
// does pam_duo_go). ini.v1 gives no line numbers and
// drops empty values and the order of keys across sections, so a line
// scanner (scanLines) walks the file with the same rules, records every key
// with its line, and then checks that ini.v1 read the very same values.
//
// Past what ini.v1 does, and like inih, a ";" preceded by whitespace starts
// a comment at the end of a value (stripComment); "#" does not. Unlike
// inih, that holds on continuation lines too, and an indented line that
// starts with ";" or "#" is a comment, not part of the value.
//
// Constructs inih and ini.v1 read differently are refused with a line
// number instead of guessed at: values opening with a backtick or with
// three double quotes, quoted key names, the key "-", an empty section name.

// entry is one "key = value" of the file, continuation lines included.
type entry struct {
	line  int      // line of the key
	key   string   // key name, trimmed
	raw   string   // value exactly as ini.v1 reads it (parts joined by "\n")
	parts []string // the value line by line, comments stripped and trimmed
	lines []int    // the line of each part
}

// lineError is a problem found while scanning, before keys are looked at.
type lineError struct {
	line int
	kind error
	msg  string
}

// scanResult is what scanLines finds.
type scanResult struct {
	entries []entry
	errs    []lineError
	// secrets are strings that must never appear in a message: the values
	// of every line that looks like "skey = ...", whatever its context.
	secrets []string
}

// pythonContinuation is the rule ini.v1 uses for a line that continues the
// previous value (AllowPythonMultilineValues).
var pythonContinuation = regexp.MustCompile(`^([\t\f ]+)(.*)`)

const utf8BOM = "\uFEFF"

// scanLines splits data into entries, mirroring ini.v1 line by line.
func scanLines(data []byte) scanResult {
	var res scanResult
	text := strings.TrimPrefix(string(data), utf8BOM)
	lines := splitLines(text)

	bad := map[int]bool{}
	for n, l := range lines {
		if msg := badCharacters(l); msg != "" {
			res.errs = append(res.errs, lineError{n + 1, ErrSyntax, msg})
			bad[n] = true
		}
		res.secrets = appendSecrets(res.secrets, l)
	}

	for i := 0; i < len(lines); i++ {
		if bad[i] {
			continue // already reported
		}
		e, lerr := keyLine(lines[i], i+1)
		switch {
		case lerr != nil:
			res.errs = append(res.errs, *lerr)
		case e != nil:
			if strings.HasSuffix(lines[i], "\n") {
				i = readContinuation(e, lines, i)
			}
			res.entries = append(res.entries, *e)
		}
	}
	return res
}

// keyLine reads line lineNo (its text as splitLines gives it): the entry
// of a "key = value" line, its value's first line only, or the problem, or
// neither for a blank, comment or section line.
func keyLine(line string, lineNo int) (*entry, *lineError) {
	t := strings.TrimLeftFunc(line, unicode.IsSpace)
	switch {
	case t == "":
		return nil, nil
	case t[0] == '#' || t[0] == ';':
		return nil, nil
	case t[0] == '[':
		closing := strings.LastIndexByte(t, ']')
		if closing < 0 {
			return nil, &lineError{lineNo, ErrSyntax, `section header without "]"`}
		} else if closing == 1 {
			return nil, &lineError{lineNo, ErrSyntax, "empty section name"}
		}
		return nil, nil
	case t[0] == '"' || t[0] == '`':
		return nil, &lineError{lineNo, ErrSyntax, "quoted key names are not supported"}
	}
	eq := strings.IndexByte(t, '=')
	if eq < 0 {
		return nil, &lineError{lineNo, ErrSyntax,
			`not "key = value", a [section] header or a comment (comment lines start with ";" or "#")`}
	}
	if eq == 0 {
		return nil, &lineError{lineNo, ErrSyntax, `no key name before "="`}
	}
	key := strings.TrimSpace(t[:eq])
	if key == "-" {
		return nil, &lineError{lineNo, ErrUnknownKey, `unknown key "-"`}
	}
	v := strings.TrimLeftFunc(t[eq+1:], unicode.IsSpace)
	if strings.HasPrefix(v, "`") || strings.HasPrefix(v, `"""`) {
		return nil, &lineError{lineNo, ErrSyntax,
			"values opening with a backtick or three double quotes are not supported"}
	}
	first := strings.TrimSpace(v)
	return &entry{line: lineNo, key: key, raw: first,
		parts: []string{stripComment(first)}, lines: []int{lineNo}}, nil
}

// readContinuation adds to e the lines after lines[i] that continue its
// value (ini.v1's rule, pythonContinuation) and returns the index of the
// last line it took.
func readContinuation(e *entry, lines []string, i int) int {
	var raw strings.Builder
	raw.WriteString(e.raw)
	for i+1 < len(lines) {
		m := pythonContinuation.FindString(lines[i+1])
		if m == "" {
			break
		}
		i++
		m = strings.TrimSuffix(m, "\n")
		raw.WriteString("\n" + m)
		part := strings.TrimSpace(m)
		if strings.HasPrefix(part, ";") || strings.HasPrefix(part, "#") {
			part = "" // an indented comment line
		}
		e.parts = append(e.parts, stripComment(part))
		e.lines = append(e.lines, i+1)
	}
	e.raw = raw.String()
	return i
}

// splitLines splits text after each "\n", keeping the "\n", as ini.v1
// reads it.
func splitLines(text string) []string {
	var lines []string
	for text != "" {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			lines = append(lines, text)
			break
		}
		lines = append(lines, text[:i+1])
		text = text[i+1:]
	}
	return lines
}

// badCharacters describes what makes line unacceptable, or returns "".
// Tabs are fine, and a carriage return before the line break; other
// control characters, invalid UTF-8 and byte order marks are not.
func badCharacters(line string) string {
	body := strings.TrimSuffix(line, "\n")
	body = strings.TrimSuffix(body, "\r")
	if !utf8.ValidString(body) {
		return "not valid UTF-8"
	}
	for _, r := range body {
		switch {
		case r == '\t':
		case unicode.IsControl(r):
			return fmt.Sprintf("control character %U", r)
		case r == '\uFEFF':
			return "byte order mark inside the file"
		}
	}
	return ""
}

// stripComment removes a trailing comment the way inih does: from the first
// ";" that follows a whitespace character. s is already trimmed.
func stripComment(s string) string {
	for i := 1; i < len(s); i++ {
		if s[i] == ';' && isSpaceByte(s[i-1]) {
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// appendSecrets adds to secrets the value of line when line looks like
// "skey = value" (or, mistyped, "skey: value" or "skey value"), in any
// context: the value before and after comment stripping, and each of its
// words.
func appendSecrets(secrets []string, line string) []string {
	t := strings.TrimSpace(line)
	var values []string
	if eq := strings.IndexByte(t, '='); eq >= 0 && strings.TrimSpace(t[:eq]) == "skey" {
		values = append(values, strings.TrimSpace(t[eq+1:]))
	}
	if rest, ok := strings.CutPrefix(t, "skey"); ok && rest != "" && strings.ContainsRune(" \t:", rune(rest[0])) {
		values = append(values, strings.TrimLeft(rest, " \t:="))
	}
	var cands []string
	for _, v := range values {
		cands = append(cands, v, stripComment(v))
		cands = append(cands, strings.Fields(v)...)
	}
	for _, c := range cands {
		if len(c) >= minSecretLen && !slices.Contains(secrets, c) {
			secrets = append(secrets, c)
		}
	}
	return secrets // a handful in any real file; the lookups stay cheap
}

// minSecretLen is the shortest skey value redacted from messages; shorter
// strings would garble every message and protect nothing.
const minSecretLen = 4

// iniOptions make ini.v1 read a file the way inih does (see above).
func iniOptions(size int) ini.LoadOptions {
	return ini.LoadOptions{
		KeyValueDelimiters:         "=",
		IgnoreContinuation:         true,
		IgnoreInlineComment:        true,
		PreserveSurroundedQuote:    true,
		AllowPythonMultilineValues: true,
		AllowShadows:               true,
		AllowDuplicateShadowValues: true,
		AllowNonUniqueSections:     true,
		// Continuation lines are found by peeking ahead; let the peek
		// window cover the whole file.
		ReaderBufferSize: size + 1,
	}
}

// crossCheck parses data with ini.v1 and compares its values, key by key
// and in order, with the scanner's. It returns the line of the first key
// read differently, or 0 when they agree, and an error when ini.v1 refuses
// a file the scanner accepted (reported at line 0, never with ini.v1's
// text, which quotes lines and so could quote the skey).
func crossCheck(data []byte, entries []entry) (int, error) {
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	f, err := ini.LoadSources(iniOptions(len(data)), data)
	if err != nil {
		return 0, newDetail(errParserMismatch, "the ini parser refused the file")
	}
	fromIni := map[string][]string{}
	for _, s := range f.Sections() {
		for _, k := range s.Keys() {
			fromIni[k.Name()] = append(fromIni[k.Name()], k.ValueWithShadows()...)
		}
	}
	fromScan := map[string][]string{}
	firstLine := map[string]int{}
	for _, e := range entries {
		if _, ok := firstLine[e.key]; !ok {
			firstLine[e.key] = e.line
		}
		if e.raw != "" { // ini.v1 leaves out empty values
			fromScan[e.key] = append(fromScan[e.key], e.raw)
		}
	}
	worst := 0
	note := func(line int) {
		if worst == 0 || line < worst {
			worst = line
		}
	}
	for k, v := range fromScan {
		if !slices.Equal(v, fromIni[k]) {
			note(firstLine[k])
		}
	}
	for k, v := range fromIni {
		if _, ok := fromScan[k]; !ok && len(v) > 0 {
			note(max(firstLine[k], 1))
		}
	}
	return worst, nil
}
