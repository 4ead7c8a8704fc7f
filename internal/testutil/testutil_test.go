package testutil

import (
	"log/syslog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestMockDuo(t *testing.T) {
	mock, conf := MockDuo(t, "pam_duo.conf", map[string]string{"failmode": "secure"})
	assert.Equal(t, "pam_duo.conf", filepath.Base(conf))
	b, err := os.ReadFile(conf)
	require.NoError(t, err)
	assert.Contains(t, string(b), "ikey = "+mock.IKey)
	assert.Contains(t, string(b), "failmode = secure")
}
