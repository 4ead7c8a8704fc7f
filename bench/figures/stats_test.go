package figures_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// table is the one table the benchmark prints.
type table struct {
	rows [][4]string
}

// add appends a row: what was measured, its N, the figures, and the
// target or a note.
func (tb *table) add(what, n, figures, note string) {
	tb.rows = append(tb.rows, [4]string{what, n, figures, note})
}

// markdown renders the table.
func (tb *table) markdown() string {
	var b strings.Builder
	b.WriteString("| measurement | N | figures | target / note |\n|---|---|---|---|\n")
	for _, r := range tb.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r[0]), cell(r[1]), cell(r[2]), cell(r[3]))
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// mean of xs; NaN when empty.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of xs;
// NaN when empty.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// envInt reads a positive size from the environment, def when unset.
func envInt(t *testing.T, name string, def, limit int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	require.NoError(t, err, "%s=%q: want a number from 1 to %d", name, s, limit)
	require.True(t, v >= 1 && v <= limit, "%s=%q: want a number from 1 to %d", name, s, limit)
	return v
}

// procStatus reads fields (kB values or counts) from /proc/PID/status.
func procStatus(pid string, fields ...string) map[string]int {
	out := map[string]int{}
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(fields, name) {
			continue
		}
		if v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(value), " kB")); err == nil {
			out[name] = v
		}
	}
	return out
}

// openFDs counts this process's open file descriptors.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// processesRunning counts the processes whose executable is one of paths.
func processesRunning(paths ...string) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && slices.Contains(paths, exe) {
			n++
		}
	}
	return n
}

func ms1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
