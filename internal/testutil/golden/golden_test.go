package golden

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPath(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"TestFlows/push_approved", "testdata/golden/TestFlows/push_approved.golden"},
		{"TestX/a:b,c(d)", "testdata/golden/TestX/a_b_c_d_.golden"},
		{"TestX/../../etc", "testdata/golden/TestX/_../_../etc.golden"},
		{"TestX/ünï", "testdata/golden/TestX/_n_.golden"},
	} {
		assert.Equal(t, tt.want, Path(tt.name), tt.name)
	}
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)

	// -update writes the file, a later run compares with it.
	*update = true
	Compare(t, "TestSome/case", "line 1\nline 2\n")
	*update = false
	data, err := os.ReadFile(filepath.Join(dir, "testdata/golden/TestSome/case.golden"))
	require.NoError(t, err)
	assert.Equal(t, "line 1\nline 2\n", string(data))
	Compare(t, "TestSome/case", "line 1\nline 2\n")

	// A difference or a missing file fails the test.
	for _, tt := range []struct{ name, got string }{
		{"TestSome/case", "line 1\nline 3\n"},
		{"TestSome/missing", "anything"},
	} {
		ft := &recorder{TB: t}
		done := make(chan struct{})
		go func() { // FailNow ends this goroutine
			defer close(done)
			Compare(ft, tt.name, tt.got)
		}()
		<-done
		assert.True(t, ft.failed, "%s: no failure for %q", tt.name, tt.got)
	}
}

// recorder is a testing.TB whose failures are recorded, not reported.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) FailNow()              { r.failed = true; runtime.Goexit() }
