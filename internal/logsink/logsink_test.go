package logsink

import (
	"bytes"
	"log/syslog"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStderrSanitizes(t *testing.T) {
	tests := []struct {
		sev  syslog.Priority
		line string
		want string
	}{
		{syslog.LOG_INFO, "user=\x1b[31mx", "[6] user=\\x1b[31mx\n"},
		{syslog.LOG_DEBUG, "a\nb", "[7] a\\x0ab\n"},
		{syslog.LOG_ERR, "failclosed user=alice", "[3] failclosed user=alice\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		Stderr(&b).Log(tt.sev, tt.line)
		assert.Equal(t, tt.want, b.String())
	}
}

func TestSyslogWithoutSyslogIsQuiet(t *testing.T) {
	// Whether or not this machine has /dev/log, Log never panics.
	assert.NotPanics(t, func() { Syslog("logsink-test").Log(syslog.LOG_DEBUG, "x") })
}
