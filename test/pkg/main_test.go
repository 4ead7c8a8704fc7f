package pkgtest

import (
	"os"
	"testing"
)

// TestMain removes the packages built for the run (buildDebs).
func TestMain(m *testing.M) {
	code := m.Run()
	if debBuild.dir != "" {
		os.RemoveAll(debBuild.dir)
	}
	os.Exit(code)
}
