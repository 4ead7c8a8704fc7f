// Package wire frames the messages of login_duo_go's two private
// protocols: one type byte, a 4-byte big-endian payload length and the
// payload, bounded by MaxPayload.
//
// The two protocols keep separate message sets over the one framing:
//
//   - the PAM worker protocol between the PAM module and
//     `login_duo_go pam-worker` (ARCHITECTURE.md): the types Start through
//     Unprompted, and the payloads of the start (StartInfo) and result
//     (EncodeResult, ParseResult) messages, in worker.go;
//   - login_duo_go's channel between its setuid parent and its
//     unprivileged Duo child (internal/privsep): Call, Reply and Debug, in
//     child.go.
//
// Every type byte is declared in this package, so that no two messages
// share one; Encode and ReadMessage refuse a type byte that is not declared.
// Error texts start with "worker:", as they did when the package was
// helper/worker: they reach the PAM module's log.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxPayload bounds a message's payload, in bytes.
const MaxPayload = 65536

// HeaderLen is the size of a message header: type byte and length.
const HeaderLen = 5

// Type is a message's type byte.
type Type byte

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
