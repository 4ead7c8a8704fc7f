package login

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pam-duo-go/pam_duo_go/duo"

	"github.com/stretchr/testify/require"
)

// fuzzMenus are the menus FuzzParseAnswer tries every answer against: one
// built from devices, one from the server's Unix-integration prompt, and
// one with no device at all (passcodes only).
func fuzzMenus() []menu {
	devices := &duo.PreauthResponse{Result: duo.ResultAuth, Devices: []duo.Device{
		{Device: "DPHONE1", DisplayName: "iOS (XXX-XXX-0100)", Capabilities: []string{duo.CapPush, duo.CapPhone, duo.CapSMS}},
		{Device: "DTOKEN1", DisplayName: "token", Capabilities: []string{}},
		{Device: "DLAND1", Number: "XXX-XXX-0199", Capabilities: []string{duo.CapPhone}},
	}}
	prompt := &duo.PreauthResponse{Result: duo.ResultAuth, Prompt: &duo.Prompt{
		Text:    "Duo two-factor login for alice\n\n 1. Duo Push\n 2. Phone call\n\nPasscode or option (1-2): ",
		Factors: map[string]string{"default": "push1", "1": "push1", "2": "phone1", "sms": "sms1"},
	}}
	none := &duo.PreauthResponse{Result: duo.ResultAuth}
	return []menu{buildMenu("alice", devices), buildMenu("alice", prompt), buildMenu("alice", none)}
}

// FuzzParseAnswer checks the menu answer parser: it never panics, a
// passcode is only ASCII letters and digits within maxPasscodeLen, an
// option key only ever picks that option, Enter only the default, and
// white space around an answer does not matter.
func FuzzParseAnswer(f *testing.F) {
	for _, seed := range []string{"", " ", "1", " 2 ", "3", "4", "sms", "123456", "12345678", "1a2b3c",
		"0", "-1", "1.", "１", "12345678901234567890123456789012", "123456789012345678901234567890123",
		"123 456", "\t123456\n", "\x00", "\x1b[2J", "push", "é", "١٢٣", strings.Repeat("9", 1000)} {
		f.Add(seed)
	}
	menus := fuzzMenus()
	f.Fuzz(func(t *testing.T, answer string) {
		trimmed := strings.TrimSpace(answer)
		for i, m := range menus {
			c, ok := m.parseAnswer(answer)
			opt, isOption := m.options[trimmed]
			switch {
			case trimmed == "" && m.def != nil:
				require.True(t, ok, "menu %d: Enter gave %+v %v, want the default %+v", i, c, ok, *m.def)
				require.Equal(t, *m.def, c, "menu %d: Enter gave %+v %v, want the default %+v", i, c, ok, *m.def)
			case isOption:
				require.True(t, ok, "menu %d: option %q gave %+v %v, want %+v", i, trimmed, c, ok, opt)
				require.Equal(t, opt, c, "menu %d: option %q gave %+v %v, want %+v", i, trimmed, c, ok, opt)
			case ok:
				require.Equal(t, trimmed, c.passcode, "menu %d: %q accepted as %+v, which is neither an option nor that passcode", i, answer, c)
				require.Equal(t, "", c.factor, "menu %d: %q accepted as %+v, which is neither an option nor that passcode", i, answer, c)
				require.Equal(t, "", c.promptKey, "menu %d: %q accepted as %+v, which is neither an option nor that passcode", i, answer, c)
				require.Equal(t, "", c.device, "menu %d: %q accepted as %+v, which is neither an option nor that passcode", i, answer, c)
				require.NotEqual(t, 0, len(c.passcode), "menu %d: passcode %q out of bounds", i, c.passcode)
				require.False(t, len(c.passcode) > maxPasscodeLen, "menu %d: passcode %q out of bounds", i, c.passcode)
				require.True(t, utf8.ValidString(c.passcode), "menu %d: passcode %q out of bounds", i, c.passcode)
				for _, r := range c.passcode {
					require.True(t, '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z', "menu %d: passcode %q has %q", i, c.passcode, r)
				}
			}
			// The same answer with other surrounding white space means the same.
			c2, ok2 := m.parseAnswer(" \t" + trimmed + "\n")
			require.Equal(t, c, c2, "menu %d: %q and its trimmed form disagree", i, answer)
			require.Equal(t, ok, ok2, "menu %d: %q and its trimmed form disagree", i, answer)
		}
	})
}
