package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// helperBin is login_duo_go built for the tests (by TestMain), in a
// directory every user may enter.
var helperBin string

// binDir holds helperBin.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "login_duo_go-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = dir
	helperBin = filepath.Join(dir, "login_duo_go")
	if err := buildHelper(helperBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer removeTestUser()
	return m.Run()
}

// buildHelper builds this package into out with extra -X settings (and
// the race detector when the tests have it).
func buildHelper(out string, xs ...string) error {
	ldflags := "-X main.version=test"
	for _, x := range xs {
		ldflags += " -X " + x
	}
	args := []string{"build", "-o", out, "-ldflags", ldflags}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", out, err)
	}
	return nil
}
