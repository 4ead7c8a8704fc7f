package build

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// goTargets are the Makefile's Go binaries, relative to its BUILD directory.
var goTargets = []string{"pam_duo_go_core.so", "login_duo_go", "duotest"}

// TestGoSourcesExcludeTests touches one file at a time in a copy of the
// tree whose build outputs are newer than every source, and asks make -q
// whether the Go binaries are still up to date.
func TestGoSourcesExcludeTests(t *testing.T) {
	requireMake(t)
	tests := []struct {
		touch   string
		rebuild bool
	}{
		{"duo/client_test.go", false},
		{"test/pam/pam_test.go", false},
		{"duo/client.go", true},
		{"pam_module/core/core.go", true},
		{"go.mod", true},
		{"VERSION", true},
	}
	for _, tt := range tests {
		t.Run(tt.touch, func(t *testing.T) {
			src, out := copyTree(t)
			if _, err := os.Stat(filepath.Join(src, tt.touch)); os.IsNotExist(err) {
				// The file moved: any Go file of the same kind will do.
				tt.touch = anyGoFile(t, src, strings.HasSuffix(tt.touch, "_test.go"))
			}
			later := time.Now().Add(2 * time.Hour)
			require.NoError(t, os.Chtimes(filepath.Join(src, tt.touch), later, later))
			args := []string{"-q", "BUILD=" + out}
			for _, target := range goTargets {
				args = append(args, filepath.Join(out, target))
			}
			cmd := exec.Command("make", args...)
			cmd.Dir = src
			b, err := cmd.CombinedOutput()
			if tt.rebuild {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee, "make -q says the binaries are up to date after %s changed:\n%s", tt.touch, b)
				assert.Equal(t, 1, ee.ExitCode(), "make -q: want exit 1 (out of date), got:\n%s", b)
			} else {
				assert.NoError(t, err, "make -q says a change to %s rebuilds the Go binaries:\n%s", tt.touch, b)
			}
		})
	}
}

// TestVersionOnePlace checks that every place that states the version
// agrees with the file VERSION, and that the Makefile passes it to the Go
// binaries rather than stating its own.
func TestVersionOnePlace(t *testing.T) {
	requireMake(t)
	root := e2e.RepoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "VERSION"))
	require.NoError(t, err)
	version := strings.TrimSpace(string(raw))
	require.Regexp(t, `^[0-9]+\.[0-9]+\.[0-9]+$`, version, "VERSION holds one plain version")
	require.Equal(t, version+"\n", string(raw), "VERSION is one line")

	tests := []struct {
		file string
		re   string // its first submatch is the version
	}{
		{"debian/changelog", `^pam-duo-go \(([^-)]+)-[^)]+\)`},
		{"rpm/pam_duo_go.spec", `(?m)^Version:\s+(\S+)$`},
		{"rpm/pam_duo_go.spec", `(?m)^%changelog\n\* [^\n]* - ([^-\s]+)-\S+$`},
		{"pam_module/pam_duo_go.8", `(?m)^\.TH .* "pam_duo_go (\S+)"`},
		{"helper/login_duo_go.8", `(?m)^\.TH .* "pam_duo_go (\S+)"`},
		{"conf/pam_duo_go.conf.5", `(?m)^\.TH .* "pam_duo_go (\S+)"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(root, tt.file))
			require.NoError(t, err)
			m := regexp.MustCompile(tt.re).FindSubmatch(b)
			require.NotNil(t, m, "%s: no version matching %s", tt.file, tt.re)
			assert.Equal(t, version, string(m[1]), "%s states another version than VERSION", tt.file)
		})
	}

	t.Run("ldflags", func(t *testing.T) {
		out := t.TempDir()
		args := []string{"-n", "-B", "BUILD=" + out}
		for _, target := range goTargets {
			args = append(args, filepath.Join(out, target))
		}
		cmd := exec.Command("make", args...)
		cmd.Dir = root
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "make -n: %s", b)
		text := string(b)
		assert.Contains(t, text, "duo.Version="+version+" ", "the Go binaries get VERSION as duo.Version")
		assert.Contains(t, text, "main.version="+version+"'", "login_duo_go gets VERSION as main.version")
	})

	t.Run("no Go literal", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(root, "duo", "client.go"))
		require.NoError(t, err)
		assert.Regexp(t, `(?m)^var Version = "dev"$`, string(b), "duo.Version's default is not a version of its own")
	})
}

func requireMake(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
}

// copyTree copies what the Makefile builds the binaries from (Go and C
// sources, headers, go.mod, go.sum, VERSION, the Makefile) into a
// temporary directory, with every file's time an hour ago, and fakes the
// build outputs there with the current time. It returns the copy and its
// build directory.
func copyTree(t *testing.T) (src, out string) {
	t.Helper()
	root := e2e.RepoRoot(t)
	src = filepath.Join(t.TempDir(), "src")
	past := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch rel {
			case ".git", "build", "debian":
				return filepath.SkipDir
			}
			return nil
		}
		switch ext := filepath.Ext(rel); {
		case ext == ".go" || ext == ".c" || ext == ".h",
			rel == "Makefile" || rel == "VERSION" || rel == "go.mod" || rel == "go.sum":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
		return os.Chtimes(dst, past, past)
	})
	require.NoError(t, err, "copying the tree")
	out = filepath.Join(src, "build")
	require.NoError(t, os.MkdirAll(out, 0o755))
	// The stamp of the FIPS setting the outputs were built with (make
	// without FIPS=1: off), older than them, as a build leaves it.
	stamp := filepath.Join(out, ".gofips140-off")
	require.NoError(t, os.WriteFile(stamp, nil, 0o644))
	require.NoError(t, os.Chtimes(stamp, past, past))
	for _, target := range append(goTargets, "pam_duo_go.so") {
		require.NoError(t, os.WriteFile(filepath.Join(out, target), nil, 0o644))
	}
	return src, out
}

// anyGoFile returns some Go file of the copy that is (or is not) a test.
func anyGoFile(t *testing.T, src string, test bool) string {
	t.Helper()
	cmd := exec.Command("find", ".", "-name", "*.go", "-not", "-path", "./build/*")
	cmd.Dir = src
	b, err := cmd.Output()
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if strings.HasSuffix(sc.Text(), "_test.go") == test {
			return strings.TrimPrefix(sc.Text(), "./")
		}
	}
	require.FailNow(t, "no Go file in the copy", "test=%v", test)
	return ""
}
