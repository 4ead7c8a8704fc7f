package wire

import (
	"bytes"
	"fmt"
)

// Decode is the framing over a byte slice, for code that holds what was
// written (the worker's and login_duo_go's tests read a whole exchange
// with it); the worker and the Duo child read with ReadMessage, which
// shares its header check (parseHeader).
//
// It reads one message from the front of data and returns it with the
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
