// Package golden compares what a test got with a file under
// testdata/golden/ of the test's package, and rewrites that file instead
// when the test binary runs with -update:
//
//	go test ./login/ -run TestFlows -update
//
// A golden file is the reviewed record of a behaviour: a change to one
// shows up in a diff. Tests normalize what varies from run to run (ports,
// random ids, timings) before they compare.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Dir is where golden files live, relative to the test's package.
const Dir = "testdata/golden"

var update = flag.Bool("update", false, "rewrite the golden files under "+Dir+" with what the tests get")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Path is the file of the golden output called name: name's elements
// (separated by '/', as in a subtest's t.Name()) under Dir, each with
// every character but ASCII letters, digits, '.', '-' and '_' replaced by
// '_', and ".golden" appended.
func Path(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		p = strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
				return r
			}
			return '_'
		}, p)
		if p == "" || strings.Trim(p, ".") == "" {
			p = "_" + p
		}
		parts[i] = p
	}
	return filepath.Join(Dir, filepath.Join(parts...)) + ".golden"
}

// Compare fails t unless got is the content of the golden file called
// name (Path). With -update it writes got to that file instead, creating
// its directories.
func Compare(t testing.TB, name, got string) {
	t.Helper()
	path := Path(name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file of %s (go test -update writes it)", name)
	assert.Equal(t, string(want), got, "output differs from %s (go test -update rewrites it after review)", path)
}
