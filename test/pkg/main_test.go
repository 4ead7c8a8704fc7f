package pkgtest

import (
	"os"
	"testing"
)

// TestMain removes the packages built for the run (buildDebs,
// buildArm64RPMs).
func TestMain(m *testing.M) {
	code := m.Run()
	if debBuild.dir != "" {
		os.RemoveAll(debBuild.dir)
	}
	if arm64RPMBuild.dir != "" {
		os.RemoveAll(arm64RPMBuild.dir)
	}
	os.Exit(code)
}
