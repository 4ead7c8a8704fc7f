package liveness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time                   { return c.t }
func (c *fakeClock) advance(d time.Duration)          { c.t = c.t.Add(d) }
func (c *fakeClock) beat(m *Monitor, d time.Duration) { c.advance(d); m.note() }

func TestReport(t *testing.T) {
	tests := []struct {
		name    string
		beats   []time.Duration // the gap before each beat
		tail    time.Duration   // time since the last beat when Report runs
		stalled time.Duration
		longest time.Duration
	}{
		{"on time", []time.Duration{tick, tick, tick}, 5 * time.Millisecond, 0, tick},
		{"jitter within slack", []time.Duration{tick + slackTime, tick}, 0, 0, tick + slackTime},
		{"one stop", []time.Duration{tick, 2 * time.Second, tick}, 0, 2*time.Second - tick - slackTime, 2 * time.Second},
		{"many short stops add up", []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond},
			0, 3 * (200*time.Millisecond - tick - slackTime), 200 * time.Millisecond},
		{"stopped since the last beat", []time.Duration{tick}, 3 * time.Second, 3*time.Second - tick - slackTime, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{t: time.Unix(1000, 0)}
			m := newMonitor(c.now)
			for _, d := range tt.beats {
				c.beat(m, d)
			}
			c.advance(tt.tail)
			r := m.Report()
			assert.Equal(t, tt.stalled, r.Stalled)
			assert.Equal(t, tt.longest, r.Longest)
		})
	}
}

// TestRealHeartbeat runs the real goroutine: a process that keeps running
// loses next to nothing.
func TestRealHeartbeat(t *testing.T) {
	m := Start()
	time.Sleep(300 * time.Millisecond)
	m.Stop()
	m.Stop() // twice is fine
	r := m.Report()
	require.Less(t, r.Stalled, 250*time.Millisecond, "an idle test process should not stall")
	assert.Greater(t, r.Longest, time.Duration(0))
}

// TestReportAfterStop: time after Stop is not counted as stalled.
func TestReportAfterStop(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	m := newMonitor(c.now)
	go m.beat()
	c.beat(m, tick)
	m.Stop()
	c.advance(time.Hour)
	assert.Equal(t, time.Duration(0), m.Report().Stalled)
}
