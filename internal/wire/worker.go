package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// Message types of the PAM worker protocol.
const (
	Start         Type = 'S' // module → worker: NUL-separated key=value (see StartInfo)
	PromptEchoOff Type = 'P' // worker → module: prompt text, answer hidden
	PromptEchoOn  Type = 'p' // worker → module: prompt text, answer shown
	Answer        Type = 'A' // module → worker: the user's answer
	ConvFailed    Type = 'X' // module → worker: the conversation failed (empty payload)
	Info          Type = 'I' // worker → module: PAM_TEXT_INFO text
	Error         Type = 'E' // worker → module: PAM_ERROR_MSG text
	Result        Type = 'R' // worker → module: 4-byte PAM code, then the reason
	Unprompted    Type = 'M' // worker → module, just before a success Result: allowed with an automatic push because the conversation could not prompt (empty payload)
)

// StartInfo is the payload of a Start message: what the PAM module knows
// about the login.
type StartInfo struct {
	User    string
	RHost   string
	Service string
	TTY     string
	Command string // SUDO_COMMAND
	UID     int    // getuid() of the PAM process; -1 when not sent
	Silent  bool   // the application passed PAM_SILENT
	// AuthInfo is SSH_AUTH_INFO_0 from the PAM environment (sshd's
	// ExposeAuthInfo): it binds remembered approvals to the public key.
	AuthInfo string
	Args     []string // the module arguments, in order
}

// Start payload keys, in the order Encode writes them.
var startKeys = []string{"user", "rhost", "service", "tty", "command", "uid", "silent", "authinfo"}

// ParseStart also accepts the keys ruser and pid (a number), which earlier
// modules sent and nothing read, and ignores them: a module of an earlier
// release works with this worker.

// ErrBadStart is wrapped by ParseStart's errors.
var ErrBadStart = errors.New("bad start message")

// ParseStart decodes a Start payload: NUL-separated key=value fields,
// empty fields ignored (so a trailing NUL is fine), each key other than
// arg at most once, user required, uid decimal, silent 0 or 1 (absent
// means 0). The keys ruser and pid of earlier modules are accepted and
// ignored; other unknown keys are rejected so that a module and a worker that disagree
// fail loudly.
func ParseStart(payload []byte) (StartInfo, error) {
	si := StartInfo{UID: -1}
	seen := map[string]bool{}
	for field := range strings.SplitSeq(string(payload), "\x00") {
		if field == "" {
			continue
		}
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			return StartInfo{}, fmt.Errorf("worker: %w: field %q has no '='", ErrBadStart, escape.Clip(field, maxQuoted, "..."))
		}
		if key == "arg" {
			si.Args = append(si.Args, val)
			continue
		}
		if seen[key] {
			return StartInfo{}, fmt.Errorf("worker: %w: key %q repeated", ErrBadStart, escape.Clip(key, maxQuoted, "..."))
		}
		seen[key] = true
		switch key {
		case "user":
			si.User = val
		case "rhost":
			si.RHost = val
		case "service":
			si.Service = val
		case "tty":
			si.TTY = val
		case "ruser":
			// sent by earlier modules; ignored
		case "command":
			si.Command = val
		case "authinfo":
			si.AuthInfo = val
		case "silent":
			switch val {
			case "0", "1":
				si.Silent = val == "1"
			default:
				return StartInfo{}, fmt.Errorf("worker: %w: silent=%q is not 0 or 1", ErrBadStart, escape.Clip(val, maxQuoted, "..."))
			}
		case "pid", "uid":
			n, err := strconv.ParseInt(val, 10, 32)
			if err != nil || n < -1 {
				return StartInfo{}, fmt.Errorf("worker: %w: %s=%q is not a number", ErrBadStart, key, escape.Clip(val, maxQuoted, "..."))
			}
			if key == "uid" {
				si.UID = int(n)
			} // pid: sent by earlier modules; ignored
		default:
			return StartInfo{}, fmt.Errorf("worker: %w: unknown key %q", ErrBadStart, escape.Clip(key, maxQuoted, "..."))
		}
	}
	if si.User == "" {
		return StartInfo{}, fmt.Errorf("worker: %w: no user", ErrBadStart)
	}
	return si, nil
}

// Encode returns the Start payload for si (the module's side, used by
// tests and tools). Values must not contain NUL.
func (si StartInfo) Encode() ([]byte, error) {
	silent := "0"
	if si.Silent {
		silent = "1"
	}
	vals := []string{si.User, si.RHost, si.Service, si.TTY, si.Command,
		strconv.Itoa(si.UID), silent, si.AuthInfo}
	var b bytes.Buffer
	add := func(k, v string) error {
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("worker: %w: %s contains NUL", ErrBadStart, k)
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte(0)
		return nil
	}
	for i, k := range startKeys {
		if err := add(k, vals[i]); err != nil {
			return nil, err
		}
	}
	for _, a := range si.Args {
		if err := add("arg", a); err != nil {
			return nil, err
		}
	}
	if b.Len() > MaxPayload {
		return nil, fmt.Errorf("worker: start: %w", ErrTooLarge)
	}
	return b.Bytes(), nil
}

// EncodeResult returns a Result payload: code, then reason, cut to fit
// at a rune boundary.
func EncodeResult(code int32, reason string) []byte {
	reason = escape.Clip(reason, MaxPayload-4, "")
	b := make([]byte, 4+len(reason))
	binary.BigEndian.PutUint32(b, uint32(code))
	copy(b[4:], reason)
	return b
}

// ParseResult decodes a Result payload.
func ParseResult(payload []byte) (code int32, reason string, err error) {
	if len(payload) < 4 {
		return 0, "", fmt.Errorf("worker: result: %w: %d bytes", ErrShort, len(payload))
	}
	return int32(binary.BigEndian.Uint32(payload)), string(payload[4:]), nil
}

// maxQuoted bounds untrusted text quoted in an error (escape.Clip).
const maxQuoted = 64
