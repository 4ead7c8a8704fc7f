// Package liveness tells whether this process kept running: a heartbeat
// goroutine notes how late each of its ticks came. A process that was
// stopped (SIGSTOP, Ctrl-Z), frozen (a cgroup freezer) or starved of CPU
// misses ticks, and the time it lost shows as stalled.
//
// The login uses it before it believes that Duo is down: a call that
// timed out while the process was not running proves nothing about Duo.
package liveness

import (
	"sync"
	"time"
)

// tick is how often the heartbeat beats.
const tick = 20 * time.Millisecond

// slackTime is how late a beat may come before the excess counts as stalled:
// scheduling jitter on a busy machine, a garbage-collector pause.
const slackTime = 50 * time.Millisecond

// Monitor watches one process from Start until Stop. Its methods are safe
// for concurrent use.
type Monitor struct {
	mu      sync.Mutex
	last    time.Time     // the latest beat (monotonic)
	stalled time.Duration // lost time, summed over late beats
	longest time.Duration // the longest gap between two beats
	now     func() time.Time
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	stopped bool // Stop ran: Report no longer counts time
}

// Start starts a heartbeat and returns its Monitor; Stop ends it.
func Start() *Monitor {
	m := newMonitor(time.Now)
	go m.beat()
	return m
}

func newMonitor(now func() time.Time) *Monitor {
	return &Monitor{last: now(), now: now, stop: make(chan struct{}), done: make(chan struct{})}
}

func (m *Monitor) beat() {
	defer close(m.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.note()
		}
	}
}

// note records a beat now.
func (m *Monitor) note() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record(m.now())
}

func (m *Monitor) record(now time.Time) {
	gap := now.Sub(m.last)
	if gap > m.longest {
		m.longest = gap
	}
	if excess := gap - tick - slackTime; excess > 0 {
		m.stalled += excess
	}
	m.last = now
}

// Report is what a Monitor saw.
type Report struct {
	Stalled time.Duration // time the process lost, summed
	Longest time.Duration // the longest gap between two beats
}

// Report returns what the Monitor saw from Start until now. It counts
// the time since the last beat too, so a process that was just resumed
// sees its stop even before the heartbeat goroutine has run again.
func (m *Monitor) Report() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stopped {
		m.record(m.now())
	}
	return Report{Stalled: m.stalled, Longest: m.longest}
}

// Stop ends the heartbeat and waits for its goroutine. Report then
// returns what the Monitor saw until Stop.
func (m *Monitor) Stop() {
	m.once.Do(func() {
		close(m.stop)
		<-m.done
		m.mu.Lock()
		defer m.mu.Unlock()
		m.record(m.now())
		m.stopped = true
	})
}
