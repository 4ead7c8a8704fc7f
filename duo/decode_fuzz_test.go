package duo

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzStatuses are the HTTP statuses FuzzDecodeEnvelope picks from.
var fuzzStatuses = []int{200, 400, 401, 404, 429, 500, 502, 503}

// FuzzDecodeEnvelope feeds Duo response bodies of any shape to the
// decoder, for every response type the client decodes. It must never
// panic; a success needs HTTP 200; a failure is an *APIError or a
// *ResponseError whose text is bounded and free of raw control characters
// (it reaches syslog and terminals).
func FuzzDecodeEnvelope(f *testing.F) {
	seeds := []string{
		`{"stat":"OK","response":{"result":"auth","status_msg":"Account is active","devices":[{"device":"D1","type":"phone","capabilities":["push","sms"]}]}}`,
		`{"stat":"OK","response":{"result":"allow","status":"allow","status_msg":"Success. Logging you in..."}}`,
		`{"stat":"OK","response":{"txid":"45f7c92b-f45f-4862-8545-e0f58e78075a"}}`,
		`{"stat":"OK","response":{"time":1357020061}}`,
		`{"stat":"OK","response":{"result":"auth","prompt":{"text":"menu","factors":{"default":"push1","1":"push1"}}}}`,
		`{"stat":"FAIL","code":40002,"message":"Invalid request parameters","message_detail":"username"}`,
		`{"stat":"FAIL","code":40101,"message":"Missing request credentials"}`,
		`{"stat":"OK"}`, `{"stat":"OK","response":null}`, `{"stat":"OK","response":[]}`, `{"stat":"WAT"}`,
		`{"stat":"OK","response":{"devices":"nope"}}`, `{"stat":"FAIL","message":"\u001b[2J\u0007x"}`,
		`<html><body>502 Bad Gateway</body></html>`, ``, `{`, `null`, `[]`, `"x"`, `{"stat":1}`,
		`{"stat":"FAIL","code":50000,"message":"` + strings.Repeat("A", 5000) + `"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), "application/json", []byte(s))
	}
	f.Add(uint8(6), "text/html; charset=utf-8", []byte("<html>"))
	f.Fuzz(func(t *testing.T, pick uint8, contentType string, body []byte) {
		status := fuzzStatuses[int(pick)%len(fuzzStatuses)]
		resp := &rawResponse{status: status, header: http.Header{"Content-Type": {contentType}}, body: body}
		outs := []any{&PreauthResponse{}, &AuthResponse{}, &AuthStatusResponse{}, &TimeResponse{}, &EnrollResponse{}}
		for _, out := range outs {
			err := decodeEnvelope("preauth", resp, out)
			if err == nil {
				require.EqualValues(t, http.StatusOK, status, "HTTP %d decoded as a success into %T", status, out)
				continue
			}
			var api *APIError
			var re *ResponseError
			require.True(t, errors.As(err, &api) || errors.As(err, &re), "error of type %T: %v", err, err)
			text := err.Error()
			require.LessOrEqual(t, len(text), 2048, "error text of %d bytes", len(text))
			require.Equal(t, -1, strings.IndexFunc(text, func(r rune) bool { return r < 0x20 || r == 0x7f }), "raw control character in error text %q", text)
		}
	})
}
