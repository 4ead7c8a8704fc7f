package faults

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/require"
)

// artifacts skips the test outside the namespace, then builds the
// module, the core and the helper once (e2e.BuildArtifacts) and returns
// the repository root.
func artifacts(t *testing.T) e2e.Artifacts {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return e2e.BuildArtifacts(t)
}

// syslogSink is the /dev/log of the namespace: it keeps every datagram.
type syslogSink struct{ *e2e.Syslog }

var (
	sink     *syslogSink
	sinkErr  error
	sinkOnce sync.Once
)

// syslog returns the namespace's /dev/log listener, started once.
func syslog(t *testing.T) *syslogSink {
	t.Helper()
	sinkOnce.Do(func() {
		var l *e2e.Syslog
		l, sinkErr = e2e.ListenSyslog("/dev/log")
		sink = &syslogSink{l}
	})
	require.NoError(t, sinkErr)
	return sink
}

// since returns the messages after the first n.
func (s *syslogSink) since(n int) []string { return s.Since(n) }

// count is how many messages have arrived so far.
func (s *syslogSink) count() int { return s.Count() }

// waitFor waits up to d for a message after the first n that contains
// every one of parts, and returns it.
func (s *syslogSink) waitFor(n int, d time.Duration, parts ...string) (string, bool) {
	deadline := time.Now().Add(d)
	for {
		for _, m := range s.since(n) {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(m, p)
			}
			if ok {
				return m, true
			}
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeConfig writes a pam_duo.conf for mock with host replaced by host
// (when not "") and the extra keys.
func writeConfig(t *testing.T, path string, mock *duotest.Server, host string, extra map[string]string) {
	t.Helper()
	require.NoError(t, mock.WriteCAFile(path+".ca.pem"))
	if host == "" {
		host = mock.Host
	}
	require.NoError(t, os.WriteFile(path, []byte(duotest.ConfigText(mock.IKey, mock.SKey, host, path+".ca.pem", extra)), 0o600))
}

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// blackholeAddr is a loopback listener whose accept queue is full: the
// kernel drops further SYNs, so a connect times out.
func blackholeAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue (a backlog of 0 holds one connection).
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { filler.Close() })
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		t.Skip("this kernel does not drop SYNs on a full accept queue; no connect timeout to test")
	}
	return addr
}

// stallAddr accepts TCP connections and never says a word: a TLS
// handshake there stalls.
func stallAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
