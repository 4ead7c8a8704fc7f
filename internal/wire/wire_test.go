package wire

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

func frame(t Type, payload string) []byte {
	b := []byte{byte(t), 0, 0, 0, 0}
	n := len(payload)
	b[1], b[2], b[3], b[4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return append(b, payload...)
}

func TestDecode(t *testing.T) {
	big := strings.Repeat("x", MaxPayload)
	tests := []struct {
		name     string
		in       []byte
		want     Message
		wantUsed int
		wantErr  error
	}{
		{"prompt", frame(PromptEchoOff, "Passcode: "), Message{PromptEchoOff, []byte("Passcode: ")}, 15, nil},
		{"empty payload", frame(ConvFailed, ""), Message{ConvFailed, []byte{}}, 5, nil},
		{"max payload", frame(Info, big), Message{Info, []byte(big)}, 5 + MaxPayload, nil},
		{"two messages", append(frame(Answer, "1"), frame(Answer, "2")...), Message{Answer, []byte("1")}, 6, nil},
		{"nothing", nil, Message{}, 0, ErrShort},
		{"short header", []byte{'A', 0, 0}, Message{}, 0, ErrShort},
		{"short payload", frame(Answer, "1234")[:7], Message{}, 0, ErrShort},
		{"unknown type", frame('Z', "x"), Message{}, 0, ErrUnknownType},
		{"NUL type", frame(0, ""), Message{}, 0, ErrUnknownType},
		{"too large", []byte{'A', 0, 1, 0, 1}, Message{}, 0, ErrTooLarge},
		{"huge length", []byte{'A', 0xff, 0xff, 0xff, 0xff}, Message{}, 0, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, used, err := Decode(tt.in)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr, "Decode error")
				return
			}
			require.NoError(t, err, "Decode")
			msg := fmt.Sprintf("Decode = %v %q used %d, want %v %q used %d", got.Type, escape.Clip(string(got.Payload), 64, "..."), used,
				tt.want.Type, escape.Clip(string(tt.want.Payload), 64, "..."), tt.wantUsed)
			assert.Equal(t, tt.want.Type, got.Type, msg)
			assert.True(t, bytes.Equal(got.Payload, tt.want.Payload), msg)
			assert.Equal(t, tt.wantUsed, used, msg)
		})
	}
}

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []Message
		wantErr error // after the messages
	}{
		{"clean end", nil, nil, io.EOF},
		{"one then end", frame(Answer, "123456"), []Message{{Answer, []byte("123456")}}, io.EOF},
		{"stream", append(frame(Info, "a"), frame(Error, "b")...), []Message{{Info, []byte("a")}, {Error, []byte("b")}}, io.EOF},
		{"cut header", []byte{'S', 0}, nil, ErrShort},
		{"cut payload", frame(Start, "user=alice")[:8], nil, ErrShort},
		{"hostile length", []byte{'S', 0x7f, 0xff, 0xff, 0xff}, nil, ErrTooLarge},
		{"garbage", []byte("GET / HTTP/1.1\r\n"), nil, ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bytes.NewReader(tt.in)
			for i, want := range tt.want {
				got, err := ReadMessage(r)
				require.NoError(t, err, "message %d", i)
				require.Equal(t, want.Type, got.Type, "message %d type", i)
				require.True(t, bytes.Equal(got.Payload, want.Payload), "message %d = %v %q, want %v %q", i, got.Type, got.Payload, want.Type, want.Payload)
			}
			_, err := ReadMessage(r)
			require.ErrorIs(t, err, tt.wantErr, "final error")
			if tt.wantErr == io.EOF {
				assert.Same(t, io.EOF, err, "clean end must be io.EOF itself, got %#v", err)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{Start, []byte("user=alice\x00")},
		{Answer, []byte{}},
		{Result, EncodeResult(7, "denied")},
		{Debug, []byte(strings.Repeat("d", MaxPayload))},
	} {
		var buf bytes.Buffer
		require.NoError(t, WriteMessage(&buf, m), "WriteMessage(%v)", m.Type)
		got, err := ReadMessage(&buf)
		require.NoError(t, err, "ReadMessage(%v)", m.Type)
		assert.Equal(t, m.Type, got.Type, "round trip of %v changed the type", m.Type)
		assert.True(t, bytes.Equal(got.Payload, m.Payload), "round trip of %v changed the payload", m.Type)
	}
	_, err := Encode(Message{Info, make([]byte, MaxPayload+1)})
	assert.ErrorIs(t, err, ErrTooLarge, "Encode oversized")
	_, err = Encode(Message{'?', nil})
	assert.ErrorIs(t, err, ErrUnknownType, "Encode unknown type")
}

func TestParseStart(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    StartInfo
		wantErr bool
	}{
		{
			name: "full",
			in:   "user=alice\x00rhost=192.0.2.1\x00service=sshd\x00tty=ssh\x00command=/usr/bin/id -u\x00uid=0\x00authinfo=publickey ssh-ed25519 AAAA\x00arg=conf=/etc/duo/pam_duo.conf\x00arg=debug\x00",
			want: StartInfo{User: "alice", RHost: "192.0.2.1", Service: "sshd", TTY: "ssh", Command: "/usr/bin/id -u",
				UID: 0, AuthInfo: "publickey ssh-ed25519 AAAA", Args: []string{"conf=/etc/duo/pam_duo.conf", "debug"}},
		},
		{
			// An earlier module sent ruser and pid: accepted, ignored.
			name: "an earlier module's start",
			in:   "user=alice\x00rhost=192.0.2.1\x00service=sshd\x00tty=ssh\x00ruser=\x00command=/usr/bin/id -u\x00pid=1234\x00uid=0\x00arg=conf=/etc/duo/pam_duo.conf\x00arg=debug\x00",
			want: StartInfo{User: "alice", RHost: "192.0.2.1", Service: "sshd", TTY: "ssh", Command: "/usr/bin/id -u",
				UID: 0, Args: []string{"conf=/etc/duo/pam_duo.conf", "debug"}},
		},
		{name: "minimal, no trailing NUL", in: "user=bob", want: StartInfo{User: "bob", UID: -1}},
		{name: "value with =", in: "user=bob\x00command=env A=b", want: StartInfo{User: "bob", Command: "env A=b", UID: -1}},
		{name: "arg order kept", in: "arg=b\x00user=u\x00arg=a", want: StartInfo{User: "u", UID: -1, Args: []string{"b", "a"}}},
		{name: "silent", in: "user=u\x00silent=1", want: StartInfo{User: "u", UID: -1, Silent: true}},
		{name: "not silent", in: "user=u\x00silent=0", want: StartInfo{User: "u", UID: -1}},
		{name: "bad silent", in: "user=u\x00silent=yes", wantErr: true},
		{name: "repeated silent", in: "user=u\x00silent=0\x00silent=1", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "no user", in: "rhost=x\x00", wantErr: true},
		{name: "empty user", in: "user=\x00", wantErr: true},
		{name: "no =", in: "user=a\x00junk", wantErr: true},
		{name: "repeated user", in: "user=a\x00user=b", wantErr: true},
		{name: "repeated pid", in: "user=a\x00pid=1\x00pid=2", wantErr: true},
		{name: "unknown key", in: "user=a\x00shell=/bin/sh", wantErr: true},
		{name: "bad uid", in: "user=a\x00uid=root", wantErr: true},
		{name: "uid overflow", in: "user=a\x00uid=99999999999", wantErr: true},
		{name: "negative pid", in: "user=a\x00pid=-5", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStart([]byte(tt.in))
			if tt.wantErr {
				require.ErrorIs(t, err, ErrBadStart, "ParseStart = %+v", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			enc, err := got.Encode()
			require.NoError(t, err)
			assert.NotContains(t, string(enc), "ruser=", "Encode writes no ruser")
			assert.NotContains(t, string(enc), "pid=", "Encode writes no pid")
			again, err := ParseStart(enc)
			require.NoError(t, err)
			assert.Equal(t, got, again, "re-parse of Encode")
		})
	}
	_, err := (StartInfo{User: "a\x00b"}).Encode()
	require.ErrorIs(t, err, ErrBadStart, "Encode with NUL")
}

// TestParseStartErrorQuotesClipped: a hostile key is quoted in the error
// cut at a rune boundary, so the error stays valid UTF-8.
func TestParseStartErrorQuotesClipped(t *testing.T) {
	key := strings.Repeat("a", 63) + "é" + strings.Repeat("b", 100)
	_, err := ParseStart([]byte("user=a\x00" + key + "=1"))
	require.ErrorIs(t, err, ErrBadStart)
	assert.Contains(t, err.Error(), `"`+strings.Repeat("a", 63)+`..."`)
	assert.True(t, utf8.ValidString(err.Error()), "error %q", err)
}

func TestResult(t *testing.T) {
	tests := []struct {
		code   int32
		reason string
	}{{0, "allowed"}, {25, ""}, {7, "denied: user said no"}, {-1, "odd"}}
	for _, tt := range tests {
		code, reason, err := ParseResult(EncodeResult(tt.code, tt.reason))
		require.NoError(t, err)
		assert.Equal(t, tt.code, code)
		assert.Equal(t, tt.reason, reason)
	}
	_, _, err := ParseResult([]byte{0, 0, 7})
	require.ErrorIs(t, err, ErrShort, "ParseResult(3 bytes)")
	assert.Len(t, EncodeResult(3, strings.Repeat("r", MaxPayload)), MaxPayload, "a huge reason is cut to fit")
	// Cut at a rune boundary: a 2-byte rune straddling the limit goes.
	long := strings.Repeat("r", MaxPayload-5) + "éé"
	code, reason, err := ParseResult(EncodeResult(3, long))
	require.NoError(t, err)
	assert.EqualValues(t, 3, code)
	assert.Equal(t, strings.Repeat("r", MaxPayload-5), reason)
	assert.True(t, utf8.ValidString(reason), "the reason stays valid UTF-8")
}

func TestWipe(t *testing.T) {
	m := Message{Answer, []byte("123456")}
	m.Wipe()
	assert.Equal(t, make([]byte, 6), m.Payload, "Wipe left %q", m.Payload)
}

// FuzzDecode feeds arbitrary bytes to Decode, ReadMessage and ParseStart:
// they must never panic, must agree with each other, and whatever decodes
// must encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(frame(Start, "user=alice\x00rhost=192.0.2.1\x00arg=debug\x00"))
	f.Add(frame(Answer, "123456"))
	f.Add(frame(ConvFailed, ""))
	f.Add(frame(Result, "\x00\x00\x00\x07denied"))
	f.Add([]byte{'S', 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{'P', 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, n, err := Decode(data)
		rm, rerr := ReadMessage(bytes.NewReader(data))
		require.Equal(t, err == nil, rerr == nil, "Decode err %v but ReadMessage err %v", err, rerr)
		if err != nil {
			return
		}
		require.True(t, n >= HeaderLen && n <= len(data) && len(m.Payload) <= MaxPayload,
			"Decode used %d of %d bytes, payload %d", n, len(data), len(m.Payload))
		require.Equal(t, m.Type, rm.Type, "Decode and ReadMessage disagree on the type")
		require.True(t, bytes.Equal(rm.Payload, m.Payload), "Decode and ReadMessage disagree on the payload")
		enc, err := Encode(m)
		require.NoError(t, err, "Encode of a decoded message")
		require.True(t, bytes.Equal(enc, data[:n]), "Encode(Decode(x)) != x")
		if m.Type == Start {
			if si, err := ParseStart(m.Payload); err == nil {
				require.NotEmpty(t, si.User, "ParseStart accepted an empty user")
				_, err := si.Encode()
				require.NoError(t, err, "Encode of a parsed start")
			}
		}
		if m.Type == Result {
			if _, _, err := ParseResult(m.Payload); len(m.Payload) >= 4 {
				require.NoError(t, err, "ParseResult")
			}
		}
	})
}
