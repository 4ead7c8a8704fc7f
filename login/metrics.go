package login

import (
	"fmt"
	"log/syslog"
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

// recordMetrics counts the login in the config's metrics_file, if any.
// It never changes the result, takes at most metrics.DefaultBudget (plus
// one small write), and logs a failure once per file and process.
//
// login_duo_go's logins are not counted: its flow runs as the user once
// it has started its Duo child, and cannot write a root-only file (some
// of its logins, those decided before, could: counting only those would
// mislead).
func (s *session) recordMetrics(event string, r Result) {
	if s.cfg == nil || s.cfg.MetricsFile == "" || s.p.Program == "login_duo_go" {
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
	err := metrics.Record(path, metrics.Event{
		Event: event, Cause: causeNames[r.Cause], Service: service, Time: time.Now(),
	}, metrics.Options{})
	if err != nil {
		s.warnMetrics(path, err)
	}
}

func (s *session) warnMetrics(path string, err error) {
	if _, done := metricsWarned.LoadOrStore(path, true); done {
		return
	}
	s.p.Log.Log(syslog.LOG_WARNING, "metrics: "+clipLog(escapeReason(err.Error()))+
		" (logins are not affected; logged once per process)")
}
