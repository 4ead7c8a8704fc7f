package login

import (
	"fmt"
	"log/syslog"
	"net/http"
	"sync"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/metrics"
)

// metricsWarned holds the metrics files whose failure this process has
// logged: a broken metrics_file is logged once, not at every login.
var metricsWarned sync.Map

// causeNames are the cause label values of the metrics.
var causeNames = map[Cause]string{
	CauseConfig: "config", CauseLocal: "local", CauseDuoRefused: "duo_refused",
	CauseDuoUnavailable: "duo_unavailable", CauseDuoFailedLater: "duo_failed_later",
	CauseUnconfirmed: "unconfirmed",
}

// maxObservedCalls bounds the round trips one login reports (a login
// makes a handful; auth_status long polls are bounded by its deadline).
const maxObservedCalls = 256

// duoCalls collects one login's Duo round trips for the metrics: the
// duo.Client's Observe hook feeds it, recordMetrics takes it.
type duoCalls struct {
	mu          sync.Mutex
	calls       []metrics.Call
	rateLimited int
}

// observe is the duo.Options.Observe hook: every HTTP round trip goes in
// the endpoint's histogram (429s and failed ones too: they are time the
// user waited), and each HTTP 429 in the rate-limited counter.
func (d *duoCalls) observe(endpoint string, status int, dur time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) < maxObservedCalls {
		d.calls = append(d.calls, metrics.Call{Endpoint: endpoint, Duration: dur})
	}
	if status == http.StatusTooManyRequests {
		d.rateLimited++
	}
}

// take returns what was observed and forgets it.
func (d *duoCalls) take() ([]metrics.Call, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	calls, n := d.calls, d.rateLimited
	d.calls, d.rateLimited = nil, 0
	return calls, n
}

// duoObserver is the Observe hook for this login's Duo client: nil (no
// cost at all) when the login is not counted.
func (s *session) duoObserver() func(string, int, time.Duration) {
	if !s.metricsOn() {
		return nil
	}
	return s.rtt.observe
}

// metricsOn reports whether this login is counted in a metrics_file.
func (s *session) metricsOn() bool {
	return s.cfg != nil && s.cfg.MetricsFile != "" && s.p.Program != "login_duo_go"
}

// recordMetrics counts the login in the config's metrics_file, if any.
// It never changes the result, takes at most the metrics package's budget (plus
// one small write), and logs a failure once per file and process.
//
// login_duo_go's logins are not counted. Its flow knows the outcome only
// once it runs as the user (it drops root when it starts its Duo child),
// and its other process, the Duo child, runs as _pam_duo_go (it cannot
// write a root-owned file either) and never learns the outcome. The designs that would count
// them all hand the user-side process a way to write the file: an open
// descriptor of the metrics or pending file taken while root, or a pipe
// to a root keeper like remember-save that writes what it is sent. Either
// makes the counts only as trustworthy as a process the user may stop,
// kill at any step or feed crafted input, and its round trips would have
// to travel from the Duo child through it too. Counting only the logins
// decided before the drop (config errors, bypass by groups) would
// mislead. So none is counted, and login_duo_go(8) and the README say
// so.
func (s *session) recordMetrics(event string, r Result) {
	if !s.metricsOn() {
		return
	}
	path := s.cfg.MetricsFile
	defer func() {
		if v := recover(); v != nil {
			s.warnMetrics(path, fmt.Errorf("internal error: %v", v))
		}
	}()
	service := s.p.Service
	if service == "" {
		service = s.p.Program
	}
	calls, limited := s.rtt.take()
	err := metrics.Record(path, metrics.Event{
		Event: event, Cause: causeNames[r.Cause], Service: service, Time: time.Now(),
		Calls: calls, RateLimited: limited,
	}, metrics.Options{})
	if err != nil {
		s.warnMetrics(path, err)
	}
}

func (s *session) warnMetrics(path string, err error) {
	if _, done := metricsWarned.LoadOrStore(path, true); done {
		return
	}
	s.p.Log.Log(syslog.LOG_WARNING, "metrics: "+logReason(err.Error())+
		" (logins are not affected; logged once per process)")
}
