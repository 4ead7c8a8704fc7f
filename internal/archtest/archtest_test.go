// Package archtest holds one test: ARCHITECTURE.md's package table names
// every directory of the repository that has Go code, so that a package
// cannot be added, split or moved without the contract saying so.
package archtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the repository, seen from this package's directory.
const root = "../.."

// goDirs lists the directories under dir (relative, slash-separated) that
// hold a .go file, skipping hidden directories, testdata and the build
// output (the top-level build/; test/build is a package).
func goDirs(t *testing.T, dir string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			top := filepath.Dir(path) == filepath.Clean(dir)
			if path != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || top && name == "build") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			rel, err := filepath.Rel(dir, filepath.Dir(path))
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !slices.Contains(dirs, rel) {
				dirs = append(dirs, rel)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return dirs
}

var cellPath = regexp.MustCompile("`([^`]+)`")

// tablePaths returns the paths named in the first column of the table
// under the "## Packages" heading of doc, without trailing slashes.
func tablePaths(doc string) []string {
	_, section, ok := strings.Cut(doc, "\n## Packages\n")
	if !ok {
		return nil
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var paths []string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 3 {
			continue
		}
		for _, m := range cellPath.FindAllStringSubmatch(cells[1], -1) {
			paths = append(paths, strings.TrimSuffix(m[1], "/"))
		}
	}
	return paths
}

// missing returns the dirs that paths does not name.
func missing(dirs, paths []string) []string {
	var out []string
	for _, d := range dirs {
		if !slices.Contains(paths, d) {
			out = append(out, d)
		}
	}
	return out
}

func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	require.NoError(t, err)
	paths := tablePaths(string(doc))
	require.Contains(t, paths, "login", "ARCHITECTURE.md's package table was not found or lost the login row")
	dirs := goDirs(t, root)
	require.Contains(t, dirs, "internal/archtest", "the walk did not reach this package")
	assert.Empty(t, missing(dirs, paths),
		"directories with Go code that ARCHITECTURE.md's package table (## Packages) does not name; add a row for each")
}

// TestChecker: the parts of the check find what they must, so that the
// test above can fail.
func TestChecker(t *testing.T) {
	doc := "# x\n\n## Packages\n\n| path | job |\n|---|---|\n| `a/` | one |\n| `b/c`, `d/` | two |\nnot a row `e/`\n\n## Other\n\n| `f/` | elsewhere |\n"
	assert.Equal(t, []string{"a", "b/c", "d"}, tablePaths(doc))
	assert.Nil(t, tablePaths("# no table\n"))

	tests := []struct {
		name  string
		dirs  []string
		paths []string
		want  []string
	}{
		{"all named", []string{"a", "b/c"}, []string{"a", "b/c", "z"}, nil},
		{"one missing", []string{"a", "b/c", "e"}, []string{"a", "b/c"}, []string{"e"}},
		{"a parent row does not name a child", []string{"b/c"}, []string{"b"}, []string{"b/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, missing(tt.dirs, tt.paths))
		})
	}

	dir := t.TempDir()
	for _, f := range []string{"p/a.go", "p/q/b_test.go", "p/testdata/c.go", ".hidden/d.go", "build/e.go", "r/readme.md", "t/build/f.go"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	assert.ElementsMatch(t, []string{"p", "p/q", "t/build"}, goDirs(t, dir))
}
