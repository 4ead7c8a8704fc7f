package compat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/require"
)

// PeerTarball is the duo_unix release the tests build, relative to the
// repository root.
const PeerTarball = "../shared/peers/duo_unix-2.2.3.tar.gz"

// cacheDir holds the peer build between runs.
const cacheDir = "/var/cache/pam_duo_go"

// peerRecipe names how the peer is built; a change to buildPeer's steps
// bumps it, so that no build made the old way is reused.
const peerRecipe = "r2"

// peerBuildTimeout bounds one build of duo_unix.
const peerBuildTimeout = 10 * time.Minute

// PeerModule returns the path of duo_unix's pam_duo.so, building it from
// PeerTarball on first use (cached in cacheDir by the tarball's sha256).
// It skips the test, saying why, when the tarball or the build tools are
// missing.
func PeerModule(t testing.TB) string {
	t.Helper()
	e2e.RequireRoot(t)
	tarball := filepath.Join(e2e.RepoRoot(t), PeerTarball)
	sum, err := fileSHA256(tarball)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("skipping: the duo_unix peer %s is absent (a clone has no ../shared/peers; CI has it)", tarball)
	}
	require.NoError(t, err, "reading the peer tarball")
	dir := filepath.Join(cacheDir, "duo_unix-"+sum[:16]+"-"+peerRecipe)
	module := filepath.Join(dir, "lib", "security", "pam_duo.so")
	if _, err := os.Stat(module); err == nil {
		return module
	}
	for _, tool := range []string{"autoconf", "automake", "libtoolize", "make", "gcc", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: building the duo_unix peer needs %s (apt-get install autoconf automake libtool libssl-dev, as .ci/deps does)", tool)
		}
	}
	require.NoError(t, os.MkdirAll(cacheDir, 0o755), "peer cache")
	unlock, err := lock(filepath.Join(cacheDir, "duo_unix.lock"), peerBuildTimeout+time.Minute)
	require.NoError(t, err, "peer cache")
	defer unlock()
	if _, err := os.Stat(module); err == nil { // built by another test binary meanwhile
		return module
	}
	require.NoError(t, buildPeer(tarball, dir), "building duo_unix from %s", tarball)
	return module
}

// buildPeer builds and installs duo_unix into dir, by way of a staging
// directory renamed into place, so a failed build leaves no cache entry.
func buildPeer(tarball, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), peerBuildTimeout)
	defer cancel()
	work, err := os.MkdirTemp("", "duo_unix-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	stage := dir + ".tmp"
	os.RemoveAll(stage)
	steps := [][]string{
		{"tar", "xzf", tarball, "-C", work, "--strip-components=1"},
		{"./bootstrap"},
		// --sysconfdir: duo_unix's configure defaults it to /etc/duo, and
		// make install would write its configs there, on the host.
		{"./configure", "--prefix=" + stage, "--sysconfdir=" + filepath.Join(stage, "etc"),
			"--with-pam=" + filepath.Join(stage, "lib", "security")},
		{"make", "-j2"},
		{"make", "install"},
	}
	for _, argv := range steps {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = work
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, lastLines(string(out), 30))
		}
	}
	// Its configs must have gone to the stage, never to the host's /etc.
	if _, err := os.Stat(filepath.Join(stage, "etc", "pam_duo.conf")); err != nil {
		os.RemoveAll(stage)
		return fmt.Errorf("duo_unix installed no pam_duo.conf under its prefix: %w", err)
	}
	if err := os.Rename(stage, dir); err != nil {
		os.RemoveAll(stage)
		return err
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// lock takes an exclusive flock on path, waiting at most wait.
func lock(path string, wait time.Duration) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
