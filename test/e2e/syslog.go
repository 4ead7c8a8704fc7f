package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Syslog is a /dev/log of a test's own: a datagram socket that keeps
// every message sent to it. StartSshd with SshdOptions.Syslog mounts it
// over /dev/log for the server (in a private /dev), so that a test can
// read the module's syslog lines without touching the host's log.
type Syslog struct {
	Path string // the socket

	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
}

// newSyslog listens on dir/log.
func newSyslog(dir string) (*Syslog, error) {
	return ListenSyslog(filepath.Join(dir, "log"))
}

// ListenSyslog listens on the socket path (replacing whatever is there),
// open to every user, and keeps every message sent to it until Close.
func ListenSyslog(path string) (*Syslog, error) {
	_ = os.Remove(path)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("listening on a test /dev/log: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		c.Close()
		return nil, fmt.Errorf("opening the test /dev/log to every user: %w", err)
	}
	s := &Syslog{Path: path, conn: c}
	go s.read()
	return s, nil
}

func (s *Syslog) read() {
	buf := make([]byte, 64<<10)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, string(buf[:n]))
		s.mu.Unlock()
	}
}

// Count is how many messages have arrived so far.
func (s *Syslog) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Since returns the whole messages (header and all) after the first n,
// in order of arrival.
func (s *Syslog) Since(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs[min(n, len(s.msgs)):]...)
}

// Close stops listening.
func (s *Syslog) Close() error { return s.conn.Close() }

// syslogHeader is the start of a datagram syslog(3) sends: priority,
// timestamp, tag and pid.
var syslogHeader = regexp.MustCompile(`^<\d+>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d ([^\[:]+)(?:\[\d+\])?: `)

// Lines returns the text (after the header: priority, time, tag, pid,
// and without the newline that ends a datagram) of every message so far
// whose tag is tag, in order of arrival.
func (s *Syslog) Lines(tag string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.msgs {
		if h := syslogHeader.FindStringSubmatch(m); h != nil && h[1] == tag {
			out = append(out, strings.TrimSuffix(m[len(h[0]):], "\n"))
		}
	}
	return out
}

// WaitLines waits at most d for at least n lines tagged tag, and returns
// the lines there are then.
func (s *Syslog) WaitLines(tag string, n int, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		lines := s.Lines(tag)
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}
