// Package faults is the fault matrix: for each way Duo or the network can
// fail, a real PAM login through the built pam_duo_go.so (libpam, in
// process and with mode=exec) against the mock Duo server, in failmode
// safe and secure, asserting the PAM result, the syslog line and that the
// login ends within its configured bound.
//
// The test binary re-executes itself in a private mount namespace where
// /dev is a small tmpfs holding the usual devices and a /dev/log socket
// the test listens on (so the module's syslog lines can be read), and
// where /etc/resolv.conf names a resolver on 127.0.0.1 that does not
// exist (so a DNS failure is local and fast). Nothing on the host changes.
package faults

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// nsEnv marks the re-executed test binary inside the namespace.
const nsEnv = "PAM_DUO_GO_FAULTS_NS"

// setupFailed is the exit status of the namespace script when it could
// not build the private /dev.
const setupFailed = 97

// nsScript builds the private /dev and resolv.conf, then runs "$@".
const nsScript = `set -e
T=$PAM_DUO_GO_FAULTS_DIR
mkdir "$T/dev" "$T/etc" || exit 97
mount --rbind /dev "$T/dev" || exit 97
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev || exit 97
for n in null zero full random urandom tty ptmx; do
	[ -e "$T/dev/$n" ] || continue
	touch "/dev/$n" && mount --bind "$T/dev/$n" "/dev/$n" || exit 97
done
mkdir /dev/pts /dev/shm
mount --rbind "$T/dev/pts" /dev/pts || exit 97
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || exit 97
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/etc/resolv.conf"
if [ -f /etc/resolv.conf ] && [ ! -L /etc/resolv.conf ]; then
	mount --bind "$T/etc/resolv.conf" /etc/resolv.conf || exit 97
	export PAM_DUO_GO_FAULTS_DNS=1
fi
exec "$@"`

// skipReason, when set, makes every test skip: the namespace is missing.
var skipReason string

func TestMain(m *testing.M) {
	if os.Getenv(nsEnv) == "" {
		switch {
		case os.Geteuid() != 0:
			skipReason = "needs root: the fault matrix runs in a private mount namespace"
		default:
			if _, err := exec.LookPath("unshare"); err != nil {
				skipReason = "needs util-linux unshare for a private mount namespace"
				break
			}
			code, err := reexec()
			if err == nil {
				os.Exit(code)
			}
			skipReason = err.Error()
		}
	}
	os.Exit(m.Run())
}

// reexec runs this test binary again, with the same arguments, in a
// private mount namespace; it returns that run's exit status.
func reexec() (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("cannot find the test binary: %w", err)
	}
	// The mount points; their mounts end with the namespace.
	dir, err := os.MkdirTemp("", "pdg-faults-ns-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	args := append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", nsScript, "sh", self}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), nsEnv+"=1", "PAM_DUO_GO_FAULTS_DIR="+dir)
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() == setupFailed:
		return 0, fmt.Errorf("could not build the private /dev for the fault matrix (exit %d)", setupFailed)
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	}
	return 0, fmt.Errorf("unshare: %w", err)
}
