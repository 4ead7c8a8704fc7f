package e2e

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bind is a bind mount made inside a private mount namespace: Source (a
// test directory) is mounted over Target (a system path such as
// /etc/pam.d) for the programs started there, and for nobody else.
type Bind struct {
	Source, Target string
}

// privateDevLogEnv, in the environment of a privateCommand, is the path
// of a datagram socket: bindScript then mounts a private /dev (the
// usual devices bound from the real one, kept under the socket's path
// plus ".dev") with that socket as /dev/log.
const privateDevLogEnv = "PAM_DUO_GO_E2E_DEVLOG"

// bindScript mounts each SOURCE TARGET pair before "--", makes the
// private /dev of privateDevLogEnv if it is set, then runs the rest of
// its arguments.
const bindScript = `set -e
while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done
shift
if [ -n "$` + privateDevLogEnv + `" ]; then
	o="$` + privateDevLogEnv + `.dev"
	mount --rbind /dev "$o"
	mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
	for n in null zero full random urandom tty ptmx; do
		[ -e "$o/$n" ] || continue
		touch "/dev/$n" && mount --bind "$o/$n" "/dev/$n"
	done
	mkdir /dev/pts /dev/shm
	mount --rbind "$o/pts" /dev/pts
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	touch /dev/log && mount --bind "$` + privateDevLogEnv + `" /dev/log
	unset ` + privateDevLogEnv + `
fi
exec "$@"`

// privateCommand returns a command that runs argv in new mount and PID
// namespaces (util-linux unshare), with binds mounted first. The program
// becomes PID 1 of its namespace, so killing it (or the unshare process,
// thanks to --kill-child) kills every process it started.
func privateCommand(ctx context.Context, binds []Bind, argv ...string) *exec.Cmd {
	args := privateArgv(binds, argv...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// privateArgv is the command line of privateCommand, for RunTerminal.
func privateArgv(binds []Bind, argv ...string) []string {
	args := []string{"unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
		"--propagation", "private", "/bin/sh", "-c", bindScript, "sh"}
	for _, b := range binds {
		args = append(args, b.Source, b.Target)
	}
	args = append(args, "--")
	return append(args, argv...)
}

// childOf returns the pid of the (first) child of pid, waiting at most
// wait for it to appear.
func childOf(pid int, wait time.Duration) (int, error) {
	deadline := time.Now().Add(wait)
	for {
		if kids := childrenOf(pid); len(kids) > 0 {
			return kids[0], nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("process %d started no child within %v", pid, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var kids []int
	for _, p := range allPids() {
		if ppid, err := parentOf(p); err == nil && ppid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// allPids lists the processes in /proc.
func allPids() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// parentOf reads the parent pid from /proc/PID/stat.
func parentOf(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strconv.Atoi(fields[1])
}

// pidNamespace returns the PID namespace of pid (the /proc/PID/ns/pid link).
func pidNamespace(pid int) string {
	ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	return ns
}

// namespacePids lists the processes in the same PID namespace as pid.
func namespacePids(pid int) []int {
	ns := pidNamespace(pid)
	if ns == "" {
		return nil
	}
	var pids []int
	for _, p := range allPids() {
		if pidNamespace(p) == ns {
			pids = append(pids, p)
		}
	}
	return pids
}

// processLine describes pid for a log: pid, state and command line.
func processLine(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	state := "?"
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
		if f := strings.Fields(string(stat)[i+1:]); len(f) > 0 {
			state = f[0]
		}
	}
	wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
	return fmt.Sprintf("pid %d state %s wchan %s: %s", pid, state, wchan,
		EscapeControls(strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")))
}

// stacks returns gdb backtraces of every thread of each pid, bounded.
func stacks(pids []int) string {
	gdb, err := findBinary("gdb")
	if err != nil {
		return "(gdb not installed: no stacks)\n"
	}
	var b strings.Builder
	for _, pid := range pids {
		fmt.Fprintf(&b, "=== %s\n", processLine(pid))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, gdb, "-p", strconv.Itoa(pid), "-batch", "-nx",
			"-ex", "set pagination off", "-ex", "thread apply all bt 30")
		cmd.WaitDelay = 2 * time.Second
		out, _ := cmd.CombinedOutput()
		cancel()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "Thread ") {
				b.WriteString(l + "\n")
			}
		}
	}
	return b.String()
}

// copyPAMDir makes dir a copy of the regular files of /etc/pam.d (so that
// @include common-* and the other services keep working), then writes
// each service file in services over it.
func copyPAMDir(dir string, services map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pam.d copy: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("pam.d copy: %w", err)
	}
	entries, err := os.ReadDir("/etc/pam.d")
	if err != nil {
		return fmt.Errorf("pam.d copy: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := CopyFile(filepath.Join("/etc/pam.d", e.Name()), filepath.Join(dir, e.Name()), 0o644, os.O_TRUNC); err != nil {
			return fmt.Errorf("pam.d copy: %w", err)
		}
	}
	for name, text := range services {
		if name == "" || strings.ContainsAny(name, "/\x00") {
			return fmt.Errorf("pam.d copy: bad service name %q", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("pam.d copy: %w", err)
		}
	}
	return nil
}

// CopyFile copies the file src to dst, created with perm. flag is
// os.O_TRUNC to overwrite an existing dst or os.O_EXCL to refuse one.
func CopyFile(src, dst string, perm fs.FileMode, flag int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|flag, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}
