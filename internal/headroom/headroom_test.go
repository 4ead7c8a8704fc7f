package headroom

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestCheck(t *testing.T) {
	require.NoError(t, Check(), "a test process has headroom")

	var saved unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &saved))
	t.Cleanup(func() { require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &saved)) })

	open, err := openFDs()
	require.NoError(t, err)
	for _, free := range []int{0, 4, minFreeFDs - 1} {
		low := unix.Rlimit{Cur: uint64(open + free), Max: saved.Max}
		require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
		err := Check()
		require.ErrorIs(t, err, ErrLow, "%d free descriptors", free)
	}
	ok := unix.Rlimit{Cur: uint64(open + minFreeFDs + 8), Max: saved.Max}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &ok))
	require.NoError(t, Check())
}
