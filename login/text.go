package login

import "github.com/pam-duo-go/pam_duo_go/internal/escape"

// EscapeLog makes s safe for one syslog field (escape.LogField): only
// printable ASCII other than space, "=" and "\" is kept, so a value can
// neither end the line nor fake another field.
func EscapeLog(s string) string { return escape.LogField(s) }

// maxLogField bounds each field of a syslog line (after escaping), so that
// a 10 kB user name or server message cannot flood the log.
const maxLogField = 512

// clipLog cuts an escaped field to maxLogField bytes, marking the cut.
func clipLog(s string) string { return escape.Clip(s, maxLogField, "...[cut]") }

// escapeReason is EscapeLog for the last field of a line, where spaces
// are harmless (escape.LogText).
func escapeReason(s string) string { return escape.LogText(s) }
