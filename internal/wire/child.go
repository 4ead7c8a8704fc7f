package wire

// Message types of login_duo_go's private parent ⇄ Duo child channel.
const (
	Call  Type = 'Q' // parent → child: a JSON-encoded Duo API call
	Reply Type = 'Y' // child → parent: the JSON-encoded answer to a Call
	Debug Type = 'D' // child → parent: a debug line (shown with -d)
)
