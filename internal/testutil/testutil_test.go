package testutil

import (
	"log/syslog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

func TestLogRecorder(t *testing.T) {
	var l LogRecorder
	assert.Empty(t, l.Text())
	l.Log(syslog.LOG_INFO, "one")
	l.Log(syslog.LOG_ERR, "two")
	assert.Equal(t, "one\ntwo", l.Text())
	lines := l.Lines()
	assert.Equal(t, []string{"one", "two"}, lines)
	lines[0] = "changed"
	assert.Equal(t, "one", l.Lines()[0], "Lines returns a copy")

	var c LogRecorder
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Log(syslog.LOG_INFO, "x")
		}()
	}
	wg.Wait()
	assert.Len(t, c.Text(), len("x")*8+7)
}

func TestDuoRequestLines(t *testing.T) {
	poll := duotest.Request{Method: "GET", Path: "/auth/v2/auth_status", Params: url.Values{"txid": {"t1"}}}
	reqs := []duotest.Request{
		{Method: "POST", Path: "/auth/v2/auth", Params: url.Values{"username": {"alice"}, "factor": {"push"}, "pushinfo": {"a b"}}},
		poll, poll,
		{Method: "GET", Path: "/auth/v2/check"},
		poll,
	}
	first := `POST /auth/v2/auth factor=push pushinfo="a b" username=alice`
	pollLine := "GET /auth/v2/auth_status txid=t1"
	assert.Equal(t, []string{first, pollLine, "GET /auth/v2/check", pollLine}, DuoRequestLines(reqs, true))
	assert.Equal(t, []string{first, pollLine, pollLine, "GET /auth/v2/check", pollLine}, DuoRequestLines(reqs, false))
	assert.Empty(t, DuoRequestLines(nil, true))
}

func TestMockDuo(t *testing.T) {
	mock, conf := MockDuo(t, "pam_duo.conf", map[string]string{"failmode": "secure"})
	assert.Equal(t, "pam_duo.conf", filepath.Base(conf))
	b, err := os.ReadFile(conf)
	require.NoError(t, err)
	assert.Contains(t, string(b), "ikey = "+mock.IKey)
	assert.Contains(t, string(b), "failmode = secure")
}
