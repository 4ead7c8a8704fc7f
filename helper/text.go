package main

import "github.com/pam-duo-go/pam_duo_go/internal/escape"

// sanitize makes text from Duo, the config or the environment safe to show
// on a terminal: escape.Terminal when keepNewlines is set (menus span
// lines), else escape.Line.
func sanitize(s string, keepNewlines bool) string {
	if keepNewlines {
		return escape.Terminal(s)
	}
	return escape.Line(s)
}

// clipText shortens s to at most n bytes (on a rune boundary).
func clipText(s string, n int) string { return escape.Clip(s, n, "") }
