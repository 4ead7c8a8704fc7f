package pamstack

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/stacks/*.golden")

// corpusOptions makes the corpus independent of the host: module files
// come from testdata/modules.txt, everything else from the case's root.
func corpusOptions(t *testing.T, root string) Options {
	t.Helper()
	fh, err := os.Open("testdata/modules.txt")
	require.NoError(t, err)
	defer fh.Close()
	have := map[string]bool{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			have[l] = true
		}
	}
	require.NoError(t, sc.Err())
	return Options{Root: root, ModuleDirs: moduleDirs("x86_64-linux-gnu"), ModuleExists: func(p string) bool { return have[p] }}
}

// TestCorpus lints every stack under testdata/stacks and compares the
// findings with the case's golden file (go test -update rewrites them).
func TestCorpus(t *testing.T) {
	cases, err := os.ReadDir("testdata/stacks")
	require.NoError(t, err)
	n := 0
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		n++
		t.Run(c.Name(), func(t *testing.T) {
			root, err := filepath.Abs(filepath.Join("testdata/stacks", c.Name()))
			require.NoError(t, err)
			got, err := Lint(filepath.Join(root, "etc/pam.d"), corpusOptions(t, root))
			require.NoError(t, err)
			data, err := json.MarshalIndent(got, "", "  ")
			require.NoError(t, err)
			data = append(data, '\n')
			golden := filepath.Join("testdata/stacks", c.Name()+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, data, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), string(data))
		})
	}
	require.GreaterOrEqual(t, n, 10, "the corpus went missing")
}

// TestTraps pins which finding each trap case must produce, so that a
// golden file regenerated with a broken linter does not pass silently.
func TestTraps(t *testing.T) {
	tests := []struct {
		stack    string
		wantCode string
		wantFile string
		wantLine int
		wantSev  string
	}{
		{"trap-ignore-ubuntu", CodeBypassDenied, "common-auth", 4, SevError},
		{"trap-required-only", CodeBypassDenied, "sshd", 3, SevError},
		{"trap-rhel-sufficient", CodeBypassDenied, "system-auth", 7, SevError},
		{"trap-twice", CodeDoubleDuo, "sshd", 2, SevError},
		{"trap-both", CodeBothModules, "sudo", 5, SevWarning},
		{"trap-both", CodeDoubleDuo, "sudo", 6, SevError},
		{"trap-missing", CodeMissingModule, "sshd", 2, SevError},
		{"trap-missing", CodeMissingModule, "sshd", 5, SevWarning},
		{"trap-missing", CodeMissingModule, "sshd", 8, SevError}, // default=ignore is not module_unknown=ignore
		{"trap-missing", CodeMissingInclude, "common-auth", 4, SevError},
		{"trap-bypass-skips", CodeBypassSkipsPW, "sshd", 1, SevError},
		{"trap-pam-auth-update", CodePamAuthUpdate, "common-auth", 24, SevWarning},
		{"trap-authselect", CodeAuthselect, "password-auth", 1, SevWarning},
		{"trap-authselect", CodeAuthselect, "system-auth", 9, SevWarning},
		{"duo-ubuntu", CodePamAuthUpdate, "common-auth", 12, SevWarning},
	}
	for _, tt := range tests {
		t.Run(tt.stack+"/"+tt.wantCode, func(t *testing.T) {
			root, err := filepath.Abs(filepath.Join("testdata/stacks", tt.stack))
			require.NoError(t, err)
			got, err := Lint(filepath.Join(root, "etc/pam.d"), corpusOptions(t, root))
			require.NoError(t, err)
			for _, f := range got {
				if f.Code == tt.wantCode && f.File == tt.wantFile && f.Line == tt.wantLine {
					assert.Equal(t, tt.wantSev, f.Severity)
					assert.NotEmpty(t, f.Fix)
					return
				}
			}
			assert.Failf(t, "finding missing", "no %s at %s:%d; got %+v", tt.wantCode, tt.wantFile, tt.wantLine, got)
		})
	}
}

// TestCleanStacks: the stacks the README and Duo document give no error.
func TestCleanStacks(t *testing.T) {
	for _, stack := range []string{"debian12", "debian12-duo", "rhel9-sssd", "rhel7-duo"} {
		t.Run(stack, func(t *testing.T) {
			root, err := filepath.Abs(filepath.Join("testdata/stacks", stack))
			require.NoError(t, err)
			got, err := Lint(filepath.Join(root, "etc/pam.d"), corpusOptions(t, root))
			require.NoError(t, err)
			assert.Empty(t, got)
		})
	}
}

// BenchmarkLintDebian lints Debian 12's /etc/pam.d as shipped.
func BenchmarkLintDebian(b *testing.B) {
	root, err := filepath.Abs("testdata/stacks/debian12-duo")
	require.NoError(b, err)
	opt := Options{Root: root, ModuleExists: func(string) bool { return true }}
	for b.Loop() {
		_, err := Lint(filepath.Join(root, "etc/pam.d"), opt)
		require.NoError(b, err)
	}
}

// TestOddFilesDoNotHang: a FIFO, a link to a device and a directory in
// the PAM directory are skipped, not waited on.
func TestOddFilesDoNotHang(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sshd"), []byte("auth required pam_permit.so\n@include fifo\n"), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.d"), 0o755))
	done := make(chan []Finding, 1)
	go func() {
		got, err := Lint(dir, Options{Root: dir, ModuleExists: func(string) bool { return true }})
		assert.NoError(t, err)
		done <- got
	}()
	select {
	case got := <-done:
		require.Len(t, got, 1)
		assert.Equal(t, CodeMissingInclude, got[0].Code)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Lint hung on a FIFO")
	}
}
