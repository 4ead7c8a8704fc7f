package login

import (
	"context"
	"fmt"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/internal/headroom"
)

// maxStall is the most time the deciding process may have lost (stopped,
// frozen, starved) during a login for a failure of Duo to count as an
// outage. A user can stop any process that runs with their uid; a call
// that timed out while its process was stopped proves nothing about Duo.
const maxStall = 500 * time.Millisecond

// maxProbeTimeout bounds the fresh probe that confirms an outage.
const maxProbeTimeout = 5 * time.Second

// duoFailed is the one place where a failed Duo call becomes an outcome.
// failmode=safe lets a login through only when all of these hold:
//   - the login is still in time (a login past its deadline is a deny);
//   - duo.Classify calls the failure an outage (not a refusal, a deny, a
//     local resource failure or a request the client would not send);
//   - Duo has not yet answered this login (preauth): after that, any
//     failure fails closed, as duo_unix did;
//   - the outage is confirmed by confirmOutage.
//
// Everything else fails closed in both failmodes.
func (s *session) duoFailed(ctx context.Context, op string, err error) Result {
	r := s.decideFailure(ctx, op, err)
	r.Err = err
	return r
}

// decideFailure is duoFailed's decision, without the error attached.
func (s *session) decideFailure(ctx context.Context, op string, err error) Result {
	reason := op + ": " + err.Error()
	if ctx.Err() != nil {
		return Result{Outcome: Deny, Reason: op + ": login cancelled or past its deadline: " + err.Error()}
	}
	switch kind := duo.Classify(err); kind {
	case duo.KindRefused:
		return Result{Outcome: FailClosed, Cause: CauseDuoRefused, Reason: op + ": Duo refused the request (failmode does not apply): " + err.Error()}
	case duo.KindDenied:
		return Result{Outcome: Deny, Reason: op + ": an invalid answer that says deny: " + err.Error()}
	case duo.KindOutage:
		// below
	default:
		return Result{Outcome: FailClosed, Cause: CauseLocal, Reason: fmt.Sprintf("%s: a local failure (%s; failmode does not apply): %v", op, kind, err)}
	}
	if s.duoAnswered {
		return Result{Outcome: FailClosed, Cause: CauseDuoFailedLater, Reason: op + ": Duo failed after it had answered this login (failmode applies only before): " + err.Error()}
	}
	if s.cfg.Failmode == conf.FailSecure {
		return Result{Outcome: FailClosed, Cause: CauseDuoUnavailable, Reason: reason}
	}
	confirmed, why := s.confirmOutage(ctx)
	if !confirmed {
		if ctx.Err() != nil {
			return Result{Outcome: Deny, Reason: reason + "; then the login ran past its deadline while confirming the outage"}
		}
		return Result{Outcome: FailClosed, Cause: CauseUnconfirmed, Reason: reason + "; not an outage: " + why}
	}
	return Result{Outcome: FailOpen, Reason: reason + " (outage confirmed: " + why + ")"}
}

// confirmOutage decides whether a failure that looks like an outage of
// Duo is one. It is, only if this process had the resources to reach Duo,
// a fresh probe over a new connection fails as an outage too, and the
// process kept running the whole time from the start of the login until
// now (the probe included). why says what decided, either way.
func (s *session) confirmOutage(ctx context.Context) (confirmed bool, why string) {
	if err := headroom.Check(); err != nil {
		return false, "this process lacks local resources: " + err.Error()
	}
	probeTimeout := min(s.cfg.HTTPSTimeout, maxProbeTimeout)
	if probeTimeout <= 0 {
		probeTimeout = maxProbeTimeout
	}
	perr := s.api.Probe(ctx, probeTimeout)
	stall := s.live.Report()
	if stall.Stalled > maxStall {
		return false, fmt.Sprintf("this process was stopped or starved for %v of the login (longest gap %v)",
			stall.Stalled.Round(time.Millisecond), stall.Longest.Round(time.Millisecond))
	}
	if perr == nil {
		return false, "a fresh probe reached Duo"
	}
	if kind := duo.Classify(perr); kind != duo.KindOutage {
		return false, fmt.Sprintf("a fresh probe's failure is not an outage (%s): %v", kind, perr)
	}
	return true, "a fresh probe failed too (" + perr.Error() + "), and this process ran throughout"
}
