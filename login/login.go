// Package login is the Duo second-factor login flow, written once and shared
// by the PAM module's Go core and login_duo_go: preauth, the factor menu,
// auth with live status, failmode and the outcome.
package login

import "context"

// Conversation is what the flow needs from its front end: a PAM
// conversation (the module's core, or the worker pipe) or a terminal.
type Conversation interface {
	// Prompt asks the user and returns the answer; echo says whether
	// the answer is shown as it is typed.
	Prompt(ctx context.Context, msg string, echo bool) (string, error)
	// Info shows an informational message (PAM_TEXT_INFO).
	Info(ctx context.Context, msg string) error
	// Error shows an error message (PAM_ERROR_MSG).
	Error(ctx context.Context, msg string) error
}

// Outcome is how a login ended; each front end maps it to its result
// (a PAM return code, an exit status).
type Outcome int

// Outcomes.
const (
	Allow       Outcome = iota // Duo allowed the second factor
	Deny                       // Duo or the user's answers denied it
	Bypass                     // user outside groups, or preauth allow
	UserUnknown                // the user does not exist locally
	MaxTries                   // the user ran out of attempts
	FailOpen                   // Duo unavailable or config unusable; failmode safe allowed
	FailClosed                 // Duo unavailable or config unusable; failmode secure denied
	Aborted                    // the conversation broke
)

// Result is an Outcome with the reason logged for it.
type Result struct {
	Outcome Outcome
	Reason  string
}
