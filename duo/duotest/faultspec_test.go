package duotest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

func TestParseFault(t *testing.T) {
	for _, tt := range []struct {
		spec     string
		wantPath string
		want     duotest.Fault
		wantErr  bool
	}{
		{spec: "preauth:status=503,times=-1", wantPath: "/auth/v2/preauth", want: duotest.Fault{Status: 503, Times: -1}},
		{spec: "auth:status=429,retry-after=2", wantPath: "/auth/v2/auth", want: duotest.Fault{Status: 429, RetryAfter: "2"}},
		{spec: "auth:x-retry-after=3", wantPath: "/auth/v2/auth", want: duotest.Fault{Status: 429, XRetryAfter: "3"}},
		{spec: "any:hang", wantPath: "", want: duotest.Fault{Hang: true}},
		{spec: "auth_status:delay=1500ms,close", wantPath: "/auth/v2/auth_status", want: duotest.Fault{Delay: 1500 * time.Millisecond, CloseConnection: true}},
		{spec: "preauth:malformed,times=2", wantPath: "/auth/v2/preauth", want: duotest.Fault{Malformed: true, Times: 2}},
		{spec: "check:status=401,code=40103,message=bad sig", wantPath: "/auth/v2/check", want: duotest.Fault{Status: 401, Code: 40103, Message: "bad sig"}},
		{spec: "preauth:html,truncate", wantPath: "/auth/v2/preauth", want: duotest.Fault{HTML: true, Truncate: true}},
		{spec: "nowhere:status=500", wantErr: true},
		{spec: "preauth", wantErr: true},
		{spec: "preauth:status=abc", wantErr: true},
		{spec: "preauth:status=99", wantErr: true},
		{spec: "preauth:delay=-1s", wantErr: true},
		{spec: "preauth:hang=1", wantErr: true},
		{spec: "preauth:explode", wantErr: true},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			path, f, err := duotest.ParseFault(tt.spec)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantPath, path)
			assert.Equal(t, tt.want, f)
		})
	}
}
