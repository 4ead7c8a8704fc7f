package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SshdOptions configure StartSshd.
type SshdOptions struct {
	// PAMStack is the text of the PAM service file "sshd" the server
	// reads (it sees a private copy of /etc/pam.d with this file in it).
	PAMStack string
	// AuthenticationMethods is sshd's AuthenticationMethods;
	// "" = "keyboard-interactive". PasswordAuthentication is turned on
	// only when it names "password".
	AuthenticationMethods string
	// ForceCommand, when set, is sshd's ForceCommand (StartSshd then
	// makes sure login_duo_go's service account exists).
	ForceCommand string
	// ExtraConfig is appended to sshd_config verbatim.
	ExtraConfig string
	// Syslog gives the server a private /dev whose /dev/log is
	// Sshd.Syslog, so that the test reads what the module logs.
	Syslog bool
}

// Sshd is a running OpenSSH server started by StartSshd: /usr/sbin/sshd on
// 127.0.0.1 in private mount and PID namespaces.
type Sshd struct {
	Port   int    // the TCP port on 127.0.0.1
	Dir    string // the server's directory: sshd_config, host key, pam.d
	Config string // path of sshd_config
	// Syslog, with SshdOptions.Syslog, holds what the server's
	// processes sent to /dev/log; nil otherwise.
	Syslog *Syslog

	cmd      *exec.Cmd
	initPid  int // sshd itself: PID 1 of its namespace
	log      *logBuffer
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// sshdStartTimeout bounds the wait for sshd to accept connections.
const sshdStartTimeout = 15 * time.Second

// StartSshd starts /usr/sbin/sshd (-D -e, LogLevel DEBUG3) on 127.0.0.1 and
// a free high port, with its own ed25519 host key, UsePAM, keyboard-
// interactive login, and opts.PAMStack as its PAM service. It returns once
// the server answers with an SSH banner. t.Cleanup stops it (SIGTERM, then
// SIGKILL, bounded) and, if the test failed, logs the end of its log.
func StartSshd(t testing.TB, opts SshdOptions) *Sshd {
	t.Helper()
	RequireRoot(t)
	sshd := RequireBinary(t, "/usr/sbin/sshd")
	RequireBinary(t, "ssh-keygen")
	RequireBinary(t, "unshare")
	if opts.ForceCommand != "" {
		// A ForceCommand login_duo_go runs its Duo child as this account.
		EnsureServiceAccount(t)
	}

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll("/run/sshd", 0o755), "creating sshd's privilege separation directory")
	key := filepath.Join(dir, "ssh_host_ed25519_key")
	out, err := runBounded(30*time.Second, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pam_duo_go e2e", "-f", key)
	require.NoError(t, err, "generating the host key\n%s", out)
	pamDir := filepath.Join(dir, "pam.d")
	require.NoError(t, copyPAMDir(pamDir, map[string]string{"sshd": opts.PAMStack}))

	var devLog *Syslog
	if opts.Syslog {
		devLog, err = newSyslog(dir)
		require.NoError(t, err)
		t.Cleanup(func() { _ = devLog.Close() })
		require.NoError(t, os.Mkdir(devLog.Path+".dev", 0o700), "creating the mount point of the host's /dev")
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		require.NoError(t, err)
		s := &Sshd{Port: port, Dir: dir, Config: filepath.Join(dir, "sshd_config"), log: newLogBuffer(32 << 20), Syslog: devLog}
		require.NoError(t, os.WriteFile(s.Config, []byte(sshdConfig(dir, key, port, opts)), 0o600))
		out, err := runBounded(30*time.Second, sshd, "-t", "-f", s.Config)
		require.NoError(t, err, "sshd -t rejects the test configuration\n%s\n--- sshd_config:\n%s", out, sshdConfig(dir, key, port, opts))
		if lastErr = s.start(sshd, pamDir); lastErr == nil {
			t.Cleanup(func() {
				assert.NoError(t, s.Stop(), "stopping sshd")
				if t.Failed() {
					t.Logf("sshd log (end):\n%s", tail(s.Log(), 400))
				}
			})
			return s
		}
		if !strings.Contains(s.Log(), "Bind to port") && !strings.Contains(s.Log(), "Address already in use") {
			break
		}
	}
	require.NoError(t, lastErr, "starting sshd")
	return nil
}

// start runs sshd and waits until it answers.
func (s *Sshd) start(sshd, pamDir string) error {
	s.cmd = privateCommand(context.Background(),
		[]Bind{{Source: pamDir, Target: "/etc/pam.d"}},
		sshd, "-D", "-e", "-f", s.Config)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	if s.Syslog != nil {
		s.cmd.Env = append(s.cmd.Env, privateDevLogEnv+"="+s.Syslog.Path)
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting sshd: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	pid, err := childOf(s.cmd.Process.Pid, sshdStartTimeout)
	if err != nil {
		_ = s.Stop()
		return fmt.Errorf("sshd did not start: %w\n%s", err, tail(s.Log(), 40))
	}
	s.initPid = pid
	if err := s.waitReady(); err != nil {
		_ = s.Stop()
		return fmt.Errorf("%w\n%s", err, tail(s.Log(), 40))
	}
	return nil
}

// waitReady waits (bounded) until the port returns an SSH banner.
func (s *Sshd) waitReady() error {
	deadline := time.Now().Add(sshdStartTimeout)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("sshd exited before accepting connections: %v", s.waitErr)
		default:
		}
		conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
			banner, rerr := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if rerr == nil && strings.HasPrefix(banner, "SSH-2.0-") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshd did not answer on %s within %v", s.Addr(), sshdStartTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addr is the server's address, 127.0.0.1:PORT.
func (s *Sshd) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// Log returns what sshd has written to its stderr so far (DEBUG3).
func (s *Sshd) Log() string { return s.log.String() }

// Processes describes every process in the server's PID namespace (the
// listener, per-connection monitors, PAM children, helpers).
func (s *Sshd) Processes() string {
	var b strings.Builder
	for _, pid := range namespacePids(s.initPid) {
		b.WriteString(processLine(pid) + "\n")
	}
	return b.String()
}

// Stacks returns gdb backtraces of the processes in the server's PID
// namespace whose command line contains match ("" = all), the listener
// excepted: where a hung login is stuck. sshd names the keyboard-
// interactive PAM child "sshd: USER [pam]".
func (s *Sshd) Stacks(match string) string {
	var pids []int
	for _, pid := range namespacePids(s.initPid) {
		if pid != s.initPid && strings.Contains(processLine(pid), match) {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return fmt.Sprintf("(no process matching %q besides the listener)\n", match)
	}
	return stacks(pids)
}

// Stop stops the server and every process it started: SIGTERM to sshd,
// then SIGKILL (which tears down its PID namespace). It is bounded and
// idempotent.
func (s *Sshd) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		if s.initPid > 0 {
			_ = syscall.Kill(s.initPid, syscall.SIGTERM)
		}
		select {
		case <-s.exited:
			return
		case <-time.After(5 * time.Second):
		}
		if s.initPid > 0 {
			_ = syscall.Kill(s.initPid, syscall.SIGKILL)
		}
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-s.exited:
			s.stopErr = errors.New("sshd ignored SIGTERM for 5s and was killed")
		case <-time.After(10 * time.Second):
			s.stopErr = fmt.Errorf("sshd (unshare pid %d) survived SIGKILL for 10s", s.cmd.Process.Pid)
		}
	})
	return s.stopErr
}

// sshdConfig is the server's configuration.
func sshdConfig(dir, key string, port int, opts SshdOptions) string {
	methods := opts.AuthenticationMethods
	if methods == "" {
		methods = "keyboard-interactive"
	}
	password := "no"
	if strings.Contains(methods, "password") {
		password = "yes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# pam_duo_go end-to-end test server
ListenAddress 127.0.0.1
Port %d
HostKey %s
PidFile %s
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication %s
PermitEmptyPasswords no
PubkeyAuthentication no
HostbasedAuthentication no
AuthorizedKeysFile none
AuthenticationMethods %s
PermitRootLogin no
StrictModes no
MaxAuthTries 10
MaxStartups 100:30:200
LoginGraceTime 120
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY yes
LogLevel DEBUG3
`, port, key, filepath.Join(dir, "sshd.pid"), password, methods)
	if opts.ForceCommand != "" {
		fmt.Fprintf(&b, "ForceCommand %s\n", opts.ForceCommand)
	}
	if opts.ExtraConfig != "" {
		b.WriteString(opts.ExtraConfig)
		b.WriteString("\n")
	}
	return b.String()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runBounded runs a short command with a deadline and returns its output.
func runBounded(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: %w after %v", name, ErrTimeout, timeout)
	}
	return string(out), err
}

// logBuffer is a concurrency-safe buffer that keeps the last max bytes.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
	cut bool
}

func newLogBuffer(max int) *logBuffer { return &logBuffer{max: max} }

// Write appends p, dropping the oldest bytes past the limit.
func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > l.max {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-l.max:]...)
		l.cut = true
	}
	return len(p), nil
}

// String returns the buffered text.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return "(earlier output cut)\n" + string(l.buf)
	}
	return string(l.buf)
}
