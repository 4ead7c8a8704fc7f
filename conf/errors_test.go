package conf

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParserMismatchIsSyntax(t *testing.T) {
	err := &Error{File: "x", Line: 1, Err: newDetail(errParserMismatch, "read differently")}
	assert.ErrorIs(t, err, ErrSyntax, "a parser mismatch must be reported as ErrSyntax")
	assert.ErrorIs(t, err, errParserMismatch, "a parser mismatch must be reported as ErrSyntax")
}
