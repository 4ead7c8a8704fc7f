package conf

import (
	"errors"
	"testing"
)

func TestParserMismatchIsSyntax(t *testing.T) {
	err := &Error{File: "x", Line: 1, Err: newDetail(errParserMismatch, "read differently")}
	if !errors.Is(err, ErrSyntax) || !errors.Is(err, errParserMismatch) {
		t.Error("a parser mismatch must be reported as ErrSyntax")
	}
}
