// Package worker is the codec of the pipe protocol between the PAM module
// and `login_duo_go pam-worker` (see ARCHITECTURE.md): framed messages of
// one type byte, a 4-byte big-endian payload length and the payload,
// bounded by MaxPayload, plus the payloads of the start (S) and result (R)
// messages.
//
// login_duo_go also uses the same framing on the private channel between
// its setuid parent and its unprivileged Duo child; those message types are
// declared here too so that every type byte lives in one table.
package worker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxPayload bounds a message's payload, in bytes.
const MaxPayload = 65536

// HeaderLen is the size of a message header: type byte and length.
const HeaderLen = 5

// Type is a message's type byte.
type Type byte

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

// Message types of login_duo_go's private parent ⇄ Duo child channel.
const (
	Call  Type = 'Q' // parent → child: a JSON-encoded Duo API call
	Reply Type = 'Y' // child → parent: the JSON-encoded answer to a Call
	Debug Type = 'D' // child → parent: a debug line (shown with -d)
)

var typeNames = map[Type]string{
	Start: "start", PromptEchoOff: "prompt-echo-off", PromptEchoOn: "prompt-echo-on",
	Answer: "answer", ConvFailed: "conversation-failed", Info: "info", Error: "error",
	Result: "result", Unprompted: "unprompted", Call: "call", Reply: "reply", Debug: "debug",
}

// Known reports whether t is one of the declared message types.
func (t Type) Known() bool {
	_, ok := typeNames[t]
	return ok
}

// String names the type, or shows its byte value when it is unknown.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type 0x%02x", byte(t))
}

// Message is one framed message.
type Message struct {
	Type    Type
	Payload []byte
}

// Wipe overwrites the payload with zeros (for answers and secrets).
func (m *Message) Wipe() {
	clear(m.Payload)
}

// Errors returned by Decode and ReadMessage (wrapped with context).
var (
	ErrUnknownType = errors.New("unknown message type")
	ErrTooLarge    = fmt.Errorf("payload larger than %d bytes", MaxPayload)
	ErrShort       = errors.New("truncated message")
)

// Encode returns the wire form of m. It fails only when the payload is
// larger than MaxPayload or the type is unknown.
func Encode(m Message) ([]byte, error) {
	if !m.Type.Known() {
		return nil, fmt.Errorf("worker: encode: %w: %v", ErrUnknownType, m.Type)
	}
	if len(m.Payload) > MaxPayload {
		return nil, fmt.Errorf("worker: encode %v: %w", m.Type, ErrTooLarge)
	}
	b := make([]byte, HeaderLen+len(m.Payload))
	b[0] = byte(m.Type)
	binary.BigEndian.PutUint32(b[1:HeaderLen], uint32(len(m.Payload)))
	copy(b[HeaderLen:], m.Payload)
	return b, nil
}

// Decode reads one message from the front of data and returns it with the
// number of bytes it used. The payload is a copy. A message cut short gives
// an error wrapping ErrShort; data holding more than one message is fine.
func Decode(data []byte) (Message, int, error) {
	if len(data) < HeaderLen {
		return Message{}, 0, fmt.Errorf("worker: decode: %w: %d header bytes", ErrShort, len(data))
	}
	t, n, err := parseHeader(data[:HeaderLen])
	if err != nil {
		return Message{}, 0, err
	}
	if len(data)-HeaderLen < n {
		return Message{}, 0, fmt.Errorf("worker: decode %v: %w: %d of %d payload bytes", t, ErrShort, len(data)-HeaderLen, n)
	}
	payload := bytes.Clone(data[HeaderLen : HeaderLen+n])
	if payload == nil {
		payload = []byte{}
	}
	return Message{Type: t, Payload: payload}, HeaderLen + n, nil
}

func parseHeader(h []byte) (Type, int, error) {
	t := Type(h[0])
	if !t.Known() {
		return 0, 0, fmt.Errorf("worker: decode: %w: %v", ErrUnknownType, t)
	}
	n := binary.BigEndian.Uint32(h[1:HeaderLen])
	if n > MaxPayload {
		return 0, 0, fmt.Errorf("worker: decode %v: %w (length %d)", t, ErrTooLarge, n)
	}
	return t, int(n), nil
}

// ReadMessage reads one message from r. At a clean end of stream (no byte
// of a new message) it returns io.EOF itself; a message cut short gives an
// error wrapping ErrShort. The header is checked before the payload is
// allocated, so a hostile length costs nothing.
func ReadMessage(r io.Reader) (Message, error) {
	var h [HeaderLen]byte
	if n, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.EOF {
			return Message{}, io.EOF
		}
		return Message{}, fmt.Errorf("worker: read header: %w: got %d bytes: %v", ErrShort, n, err)
	}
	t, n, err := parseHeader(h[:])
	if err != nil {
		return Message{}, err
	}
	payload := make([]byte, n)
	if got, err := io.ReadFull(r, payload); err != nil {
		clear(payload)
		return Message{}, fmt.Errorf("worker: read %v payload: %w: got %d of %d bytes: %v", t, ErrShort, got, n, err)
	}
	return Message{Type: t, Payload: payload}, nil
}

// WriteMessage writes m to w in one Write call.
func WriteMessage(w io.Writer, m Message) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	defer clear(b)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("worker: write %v: %w", m.Type, err)
	}
	return nil
}

// StartInfo is the payload of a Start message: what the PAM module knows
// about the login.
type StartInfo struct {
	User    string
	RHost   string
	Service string
	TTY     string
	RUser   string
	Command string // SUDO_COMMAND
	PID     int    // getpid() of the PAM process; 0 when not sent
	UID     int    // getuid() of the PAM process; -1 when not sent
	Silent  bool   // the application passed PAM_SILENT
	// AuthInfo is SSH_AUTH_INFO_0 from the PAM environment (sshd's
	// ExposeAuthInfo): it binds remembered approvals to the public key.
	AuthInfo string
	Args     []string // the module arguments, in order
}

// Start payload keys.
var startKeys = []string{"user", "rhost", "service", "tty", "ruser", "command", "pid", "uid", "silent", "authinfo"}

// ErrBadStart is wrapped by ParseStart's errors.
var ErrBadStart = errors.New("bad start message")

// ParseStart decodes a Start payload: NUL-separated key=value fields,
// empty fields ignored (so a trailing NUL is fine), each key other than
// arg at most once, user required, pid and uid decimal, silent 0 or 1
// (absent means 0). Unknown keys are
// rejected so that a module and a worker that disagree fail loudly.
func ParseStart(payload []byte) (StartInfo, error) {
	si := StartInfo{UID: -1}
	seen := map[string]bool{}
	for field := range strings.SplitSeq(string(payload), "\x00") {
		if field == "" {
			continue
		}
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			return StartInfo{}, fmt.Errorf("worker: %w: field %q has no '='", ErrBadStart, clip(field))
		}
		if key == "arg" {
			si.Args = append(si.Args, val)
			continue
		}
		if seen[key] {
			return StartInfo{}, fmt.Errorf("worker: %w: key %q repeated", ErrBadStart, clip(key))
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
			si.RUser = val
		case "command":
			si.Command = val
		case "authinfo":
			si.AuthInfo = val
		case "silent":
			switch val {
			case "0", "1":
				si.Silent = val == "1"
			default:
				return StartInfo{}, fmt.Errorf("worker: %w: silent=%q is not 0 or 1", ErrBadStart, clip(val))
			}
		case "pid", "uid":
			n, err := strconv.ParseInt(val, 10, 32)
			if err != nil || n < -1 {
				return StartInfo{}, fmt.Errorf("worker: %w: %s=%q is not a number", ErrBadStart, key, clip(val))
			}
			if key == "pid" {
				si.PID = int(n)
			} else {
				si.UID = int(n)
			}
		default:
			return StartInfo{}, fmt.Errorf("worker: %w: unknown key %q", ErrBadStart, clip(key))
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
	vals := []string{si.User, si.RHost, si.Service, si.TTY, si.RUser, si.Command,
		strconv.Itoa(si.PID), strconv.Itoa(si.UID), silent, si.AuthInfo}
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

// EncodeResult returns a Result payload: code, then reason (cut to fit).
func EncodeResult(code int32, reason string) []byte {
	if len(reason) > MaxPayload-4 {
		reason = reason[:MaxPayload-4]
	}
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

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
