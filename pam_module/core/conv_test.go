package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// hostile is Duo text that must reach the application escaped exactly
// once: terminal escapes, a carriage return, a bidi override, a backslash
// and invalid UTF-8.
const hostile = "a\x1b[31mred\r\u202eevil\\n\xff"

// TestPAMConvEscapesOnce: every text the core hands the application's
// conversation is escaped once, by the core (the login hands it Duo's text
// raw), in the style asked for.
func TestPAMConvEscapesOnce(t *testing.T) {
	type sent struct {
		style int
		msg   string
	}
	tests := []struct {
		name  string
		call  func(c pamConv) error
		style int
		in    string
	}{
		{"info", func(c pamConv) error { return c.Info(context.Background(), "device "+hostile) }, styleTextInfo, "device " + hostile},
		{"error", func(c pamConv) error { return c.Error(context.Background(), hostile) }, styleErrorMsg, hostile},
		{"prompt", func(c pamConv) error { _, err := c.Prompt(context.Background(), hostile, true); return err }, stylePromptEchoOn, hostile},
		{"hidden prompt", func(c pamConv) error { _, err := c.Prompt(context.Background(), hostile, false); return err }, stylePromptEchoOff, hostile},
		{"escaped text is not escaped again", func(c pamConv) error { return c.Info(context.Background(), `\x1b`) }, styleTextInfo, `\x1b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []sent
			c := pamConv{converse: func(style int, msg string) (string, error) {
				got = append(got, sent{style, msg})
				return "answer", nil
			}}
			require.NoError(t, tt.call(c))
			require.Len(t, got, 1)
			assert.Equal(t, tt.style, got[0].style)
			assert.Equal(t, escape.Terminal(tt.in), got[0].msg)
			assert.NotContains(t, got[0].msg, "\x1b")
			assert.NotContains(t, got[0].msg, "\r")
		})
	}
	t.Run("exact text", func(t *testing.T) {
		var got string
		c := pamConv{converse: func(_ int, msg string) (string, error) { got = msg; return "", nil }}
		require.NoError(t, c.Error(context.Background(), hostile))
		assert.Equal(t, `a\x1b[31mred\x0d\xe2\x80\xaeevil\n\xff`, got, "one escape per byte, the backslash once")
	})
	t.Run("the answer comes back as typed", func(t *testing.T) {
		c := pamConv{converse: func(int, string) (string, error) { return "12\x1b3456", nil }}
		a, err := c.Prompt(context.Background(), "Passcode: ", false)
		require.NoError(t, err)
		assert.Equal(t, "12\x1b3456", a)
	})
}
