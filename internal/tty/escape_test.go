package tty

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostile is Duo text that must reach the terminal escaped exactly once:
// terminal escapes, a carriage return, a bidi override, a backslash and
// invalid UTF-8.
const hostile = "a\x1b[31mred\r\u202eevil\\n\xff"

// escapedHostile is hostile after one escape.Terminal.
const escapedHostile = `a\x1b[31mred\x0d\xe2\x80\xaeevil\n\xff`

// TestTerminalEscapesOnce: the login hands the terminal Duo's text raw;
// the prompt, info and error lines show it escaped once.
func TestTerminalEscapesOnce(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	_, err = w.WriteString("answer\n")
	require.NoError(t, err)
	w.Close()
	var out, errOut strings.Builder
	term := newTerminal(int(r.Fd()), &out, &errOut)
	answer, err := term.Prompt(t.Context(), "menu "+hostile+": ", true)
	require.NoError(t, err)
	assert.Equal(t, "answer", answer)
	require.NoError(t, term.Info(t.Context(), "status "+hostile))
	require.NoError(t, term.Error(t.Context(), "denied "+hostile))
	assert.Equal(t, "menu "+escapedHostile+": ", out.String())
	assert.Equal(t, "status "+escapedHostile+"\ndenied "+escapedHostile+"\n", errOut.String())
	for _, s := range []string{out.String(), errOut.String()} {
		assert.False(t, strings.ContainsAny(s, "\x1b\r\u202e"), "raw text reached the terminal: %q", s)
	}
}
