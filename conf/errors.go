package conf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// Sentinel errors, to test with errors.Is. Every error from Load and Parse
// wraps one of them.
var (
	// ErrNotFound: the configuration file does not exist.
	ErrNotFound = errors.New("file not found")
	// ErrUnreadable: the file exists but cannot be opened or read, or is not
	// a regular file.
	ErrUnreadable = errors.New("cannot read file")
	// ErrPermissions: the file is open to group or others, or has the wrong
	// owner.
	ErrPermissions = errors.New("unsafe file permissions")
	// ErrTooLarge: the file is larger than MaxFileSize.
	ErrTooLarge = errors.New("file too large")
	// ErrSyntax: a line is not a comment, a [section] header or key = value.
	ErrSyntax = errors.New("syntax error")
	// ErrUnknownKey: a key that neither duo_unix nor pam_duo_go knows.
	ErrUnknownKey = errors.New("unknown key")
	// ErrInvalidValue: a known key with a value it cannot take, or two
	// settings that cannot go together.
	ErrInvalidValue = errors.New("invalid value")
	// ErrMissingKey: ikey, skey or host is absent or empty.
	ErrMissingKey = errors.New("missing key")
)

// errParserMismatch marks the (never expected) case where the line scanner
// and gopkg.in/ini.v1 read a key differently; the fuzz test hunts for it.
// It is a syntax error to callers.
var errParserMismatch = fmt.Errorf("%w: ini parser mismatch", ErrSyntax)

// Error is a problem with a configuration file, located as precisely as
// possible.
type Error struct {
	File string // the path or name given to Load or Parse
	Line int    // 1-based line number; 0 when not about one line
	Key  string // the key concerned, if any
	Err  error  // the problem; wraps one of the sentinel errors
}

// Error formats the problem as "FILE:LINE: message" (or "FILE: message").
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(printable(e.File))
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error, so that errors.Is finds the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// detail is a message that wraps a sentinel without repeating its text.
type detail struct {
	kind error
	msg  string
}

func (d *detail) Error() string { return d.msg }
func (d *detail) Unwrap() error { return d.kind }

// newDetail returns an error with text msg that errors.Is matches to kind.
func newDetail(kind error, msg string) error { return &detail{kind: kind, msg: msg} }

// printable returns s unchanged when escape.Line keeps it whole, else s
// quoted with Go escapes (as %q quotes values in the same messages), so
// control characters never reach a terminal or syslog raw.
func printable(s string) string {
	if escape.Line(s) == s {
		return s
	}
	return strconv.Quote(s)
}

// clip shortens s for quoting in a message (escape.Clip).
func clip(s string, max int) string { return escape.Clip(s, max, "...") }

// joinErrors returns nil, the single error, or errors.Join of all of them.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}
