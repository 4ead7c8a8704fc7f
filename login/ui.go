package login

import (
	"context"
)

// UI is what a login's conversation can do, and so how the flow talks to
// the user. The zero value is an Interactive conversation with every
// message shown.
type UI struct {
	Mode Mode
	// Quiet drops courtesy messages (the autopush announcement, the final
	// "Success", rate-limit waits), as duo_unix's quiet: the module
	// argument quiet and PAM_SILENT. What the user needs to finish the
	// login (a Verified Push code, a pending push's status, why an answer
	// was refused) is still shown. A Headless login shows none of them
	// anyway.
	Quiet bool
}

// Mode is how a conversation prompts and shows messages.
type Mode int

// Modes.
const (
	// Interactive: prompts are answered and informational messages
	// reach the user as they are sent (a terminal; PAM under sudo, su,
	// login, pamtester). The user picks from the menu, and a pending
	// push's status is shown as it changes. A refused prompt is the user
	// cancelling (Ctrl-D at sudo's prompt): the login aborts.
	Interactive Mode = iota
	// HeldInfo: prompts are answered, but informational messages are held
	// back until the next prompt (sshd's keyboard-interactive,
	// auth-pam.c's sshpam_query). The Verified Push code and a pending
	// push's first status ride in a prompt whose answer is ignored. A
	// conversation that refuses a prompt before the user has answered any
	// (sshd's password step, which answers only the password prompt)
	// goes on without prompts: one automatic push, status as
	// informational messages (Result.Unprompted).
	HeldInfo
	// Headless: nothing can be asked (login_duo_go without a terminal:
	// scp, rsync, remote commands). One automatic push to the default
	// device, or $DUO_PASSCODE, and no menu; no progress lines either,
	// as duo_unix's login_duo: the command's stderr stays clean. The
	// Verified Push code and errors are still shown: without the code
	// the push cannot be approved.
	Headless
)

// talk is how this login talks to the user: set from Params.UI when the
// login starts, and changed only by goHeadless (the session's copy: the
// caller's Params never change).
type talk struct {
	headless     bool // no prompts: an automatic push, one attempt, no menu
	statusPrompt bool // status and the Verified Push code ride in a prompt (HeldInfo)
	fallback     bool // a refused first prompt goes on headless (HeldInfo)
	progress     bool // progress lines (a push's status) are shown
	courtesy     bool // courtesy messages are shown (autopush, success, rate-limit waits)
}

func newTalk(ui UI) talk {
	return talk{
		headless:     ui.Mode == Headless,
		statusPrompt: ui.Mode == HeldInfo,
		fallback:     ui.Mode == HeldInfo,
		progress:     ui.Mode != Headless,
		courtesy:     ui.Mode != Headless && !ui.Quiet,
	}
}

// goHeadless switches the login to headless after the conversation
// refused a prompt: no more prompts, status as informational messages
// (progress lines stay on, unlike a Headless login's).
func (s *session) goHeadless(err error) {
	s.debugf("the conversation cannot prompt (%v); going on without prompts", err)
	s.unprompted = !s.answered
	s.talk.headless = true
	s.talk.statusPrompt = false
}

// notify shows a message that must be seen before the user acts.
func (s *session) notify(ctx context.Context, msg string) error {
	if s.talk.statusPrompt {
		_, err := s.p.Conv.Prompt(ctx, msg+"\nPress Enter to send the push: ", true)
		if err == nil {
			s.answered = true
		}
		if err == nil || ctx.Err() != nil || !s.talk.fallback {
			return err
		}
		s.goHeadless(err)
	}
	return s.p.Conv.Info(ctx, msg)
}

// courtesy shows an informational message unless the login is quiet or
// shows no progress. Its failure is ignored.
func (s *session) courtesy(ctx context.Context, msg string) {
	if s.talk.courtesy {
		s.p.Conv.Info(ctx, msg)
	}
}

func (s *session) showError(ctx context.Context, msg string) {
	if msg != "" {
		s.p.Conv.Error(ctx, msg)
	}
}
