package login

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

// Passcode bounds: Duo passcodes are digits (6 to 8 from Duo Mobile,
// hardware tokens, SMS batches); we accept up to maxPasscodeLen letters
// and digits and refuse anything else before it reaches Duo.
const maxPasscodeLen = 32

// choice is one thing a user can pick: a Unix-integration prompt key, or
// a factor on a device, or a passcode.
type choice struct {
	promptKey string
	factor    string
	device    string
	passcode  string
}

func (c choice) isSMS() bool {
	return c.factor == duo.FactorSMS || strings.HasPrefix(c.promptKey, "sms")
}

func (c choice) isPush() bool {
	return c.factor == duo.FactorPush || strings.HasPrefix(c.promptKey, "push") || strings.HasPrefix(c.promptKey, "verified_push")
}

// menu is what the user is offered: its text, the numbered options and
// the default for an empty answer.
type menu struct {
	text    string
	options map[string]choice
	def     *choice
	// factorNames are the server menu's factor names (the values of
	// prompt.factors), which may be typed instead of an option's key.
	factorNames map[string]bool
}

// parseAnswer reads what the user typed at the menu: Enter takes the
// default (a push), an option key takes that option, else it must be a
// passcode (ASCII letters and digits, at most maxPasscodeLen). Surrounding
// white space is ignored. ok is false for anything else.
func (m menu) parseAnswer(answer string) (c choice, ok bool) {
	answer = strings.TrimSpace(answer)
	if answer == "" && m.def != nil {
		return *m.def, true
	}
	if opt, found := m.options[answer]; found {
		return opt, true
	}
	if m.factorNames[answer] {
		// A factor's own name from the server's menu ("push1", "phone2"):
		// duo_unix passed such answers to Duo as the factor, and users
		// and scripts type them.
		return choice{promptKey: answer}, true
	}
	if validPasscode(answer) {
		return choice{passcode: answer}, true
	}
	return choice{}, false
}

// envChoice reads $DUO_PASSCODE (accept_env_factor): a passcode, or, like
// duo_unix, a factor's name (push, phone, sms, auto to the device "auto",
// or a factor of the server's menu such as "push1").
func (m menu) envChoice(env string) choice {
	c := choice{passcode: strings.TrimSpace(env)}
	switch c.passcode {
	case duo.FactorPush, duo.FactorPhone, duo.FactorSMS, duo.FactorAuto:
		return choice{factor: c.passcode, device: "auto"}
	}
	if m.factorNames[c.passcode] {
		return choice{promptKey: c.passcode}
	}
	return c
}

// buildMenu uses the server's ready-made menu when preauth carried one,
// else builds one from the devices.
func buildMenu(name string, pre *duo.PreauthResponse) menu {
	if pre.Prompt != nil && pre.Prompt.Text != "" {
		return serverMenu(pre.Prompt)
	}
	m := menu{options: map[string]choice{}}
	var lines []string
	var firstPhone *choice
	for _, d := range pre.Devices {
		label := d.DisplayName
		if label == "" {
			label = d.Number
		}
		if label == "" {
			label = d.Device
		}
		for _, f := range []struct{ cap, factor, text string }{
			{duo.CapPush, duo.FactorPush, "Duo Push to "},
			{duo.CapPhone, duo.FactorPhone, "Phone call to "},
			{duo.CapSMS, duo.FactorSMS, "SMS passcodes to "},
		} {
			if !d.Can(f.cap) {
				continue
			}
			c := choice{factor: f.factor, device: d.Device}
			n := strconv.Itoa(len(lines) + 1)
			lines = append(lines, fmt.Sprintf(" %s. %s%s", n, f.text, label))
			m.options[n] = c
			if f.factor == duo.FactorPush && m.def == nil {
				m.def = &c
			}
			if f.factor == duo.FactorPhone && firstPhone == nil {
				firstPhone = &c
			}
		}
	}
	if m.def == nil {
		m.def = firstPhone
	}
	if len(lines) == 0 {
		m.text = fmt.Sprintf("Duo two-factor login for %s\n\nPasscode: ", name)
		return m
	}
	m.text = fmt.Sprintf("Duo two-factor login for %s\n\nEnter a passcode or select one of the following options:\n\n%s\n\nPasscode or option (1-%d): ",
		name, strings.Join(lines, "\n"), len(lines))
	return m
}

// serverMenu is the Unix integration's ready-made menu (preauth with
// text_prompt=1): its text as Duo wrote it, its options the keys of
// prompt.factors ("default" for Enter).
func serverMenu(p *duo.Prompt) menu {
	m := menu{text: p.Text, options: map[string]choice{}, factorNames: map[string]bool{}}
	for k, v := range p.Factors {
		if validPasscode(v) && !isDigits(v) {
			m.factorNames[v] = true
		}
		if k == "default" {
			c := choice{promptKey: v}
			m.def = &c
			continue
		}
		m.options[k] = choice{promptKey: v}
	}
	return m
}

// autopushMessage announces the automatic attempt with the default
// factor, in duo_unix's words: a call is not a push.
func autopushMessage(def choice) string {
	switch {
	case def.isPush():
		return "Autopushing login request to phone..."
	case def.factor == duo.FactorPhone || strings.HasPrefix(def.promptKey, "phone"):
		return "Calling your phone..."
	}
	return "Using default second-factor authentication."
}

// isDigits reports whether s is all ASCII digits (a passcode, never a
// factor name).
func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// validPasscode reports whether an answer can be a passcode.
func validPasscode(s string) bool {
	if s == "" || len(s) > maxPasscodeLen {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsDigit(r) || unicode.IsLetter(r)) {
			return false
		}
	}
	return true
}
