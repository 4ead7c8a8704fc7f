package metrics

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Metric names.
const (
	nameLogins       = "pam_duo_go_logins_total"
	nameRTT          = "pam_duo_go_duo_request_duration_seconds"
	nameRateLimited  = "pam_duo_go_duo_rate_limited_total"
	nameLastFailopen = "pam_duo_go_last_failopen_timestamp_seconds"
)

// batchMark starts the comment line that records the last batch folded
// in (node_exporter ignores comments other than HELP and TYPE).
const batchMark = "# pam_duo_go batch "

// bucketBounds are the histogram's upper bounds in seconds (auth_status long
// polls run up to a minute).
var bucketBounds = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// maxLoginSeries bounds the login series: the service name comes from
// the PAM application, so a flood of names folds into service="other".
const maxLoginSeries = 200

type loginKey struct{ event, cause, service string }

type histogram struct {
	buckets []uint64 // cumulative counts per bucketBounds entry
	sum     float64
	count   uint64
}

// state is the content of the metrics file.
type state struct {
	logins       map[loginKey]uint64
	rtt          map[string]*histogram
	rateLimited  uint64
	lastFailopen float64
	// batch is the last pending batch folded in (see fold).
	batch uint64
}

func newState() *state {
	return &state{logins: map[loginKey]uint64{}, rtt: map[string]*histogram{}}
}

// add counts one login.
func (s *state) add(ev Event) {
	k := loginKey{label(ev.Event), label(ev.Cause), label(ev.Service)}
	if k.cause == "" {
		k.cause = "none"
	}
	if _, ok := s.logins[k]; !ok && len(s.logins) >= maxLoginSeries {
		k.service = "other"
	}
	s.logins[k]++
	for _, c := range ev.Calls {
		h := s.hist(label(c.Endpoint))
		sec := c.Duration.Seconds()
		for i, b := range bucketBounds {
			if sec <= b {
				h.buckets[i]++
			}
		}
		h.sum += sec
		h.count++
	}
	if ev.RateLimited > 0 {
		s.rateLimited += uint64(ev.RateLimited)
	}
	if ev.Event == "failopen" && !ev.Time.IsZero() {
		if t := float64(ev.Time.UnixNano()) / 1e9; t > s.lastFailopen {
			s.lastFailopen = t
		}
	}
}

func (s *state) hist(endpoint string) *histogram {
	h, ok := s.rtt[endpoint]
	if !ok {
		h = &histogram{buckets: make([]uint64, len(bucketBounds))}
		s.rtt[endpoint] = h
	}
	return h
}

// label keeps a label value short and plain.
func label(v string) string {
	var b strings.Builder
	for _, r := range v {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.', r == ':':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// render writes the file in Prometheus' text format.
func (s *state) render() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%d\n", batchMark, s.batch)
	fmt.Fprintf(&b, "# HELP %s Logins by event (allow, deny, bypass, failopen, failclosed, maxtries, aborted, unknown-user), failclosed cause and PAM service.\n# TYPE %s counter\n", nameLogins, nameLogins)
	keys := make([]loginKey, 0, len(s.logins))
	for k := range s.logins {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, c := keys[i], keys[j]
		if a.event != c.event {
			return a.event < c.event
		}
		if a.cause != c.cause {
			return a.cause < c.cause
		}
		return a.service < c.service
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "%s{event=%q,cause=%q,service=%q} %d\n", nameLogins, k.event, k.cause, k.service, s.logins[k])
	}
	fmt.Fprintf(&b, "# HELP %s Round-trip time of Duo API calls by endpoint.\n# TYPE %s histogram\n", nameRTT, nameRTT)
	eps := make([]string, 0, len(s.rtt))
	for e := range s.rtt {
		eps = append(eps, e)
	}
	sort.Strings(eps)
	for _, e := range eps {
		h := s.rtt[e]
		for i, le := range bucketBounds {
			fmt.Fprintf(&b, "%s_bucket{endpoint=%q,le=%q} %d\n", nameRTT, e, fmtFloat(le), h.buckets[i])
		}
		fmt.Fprintf(&b, "%s_bucket{endpoint=%q,le=\"+Inf\"} %d\n", nameRTT, e, h.count)
		fmt.Fprintf(&b, "%s_sum{endpoint=%q} %s\n", nameRTT, e, fmtFloat(h.sum))
		fmt.Fprintf(&b, "%s_count{endpoint=%q} %d\n", nameRTT, e, h.count)
	}
	fmt.Fprintf(&b, "# HELP %s HTTP 429 (rate limited) answers from Duo.\n# TYPE %s counter\n%s %d\n", nameRateLimited, nameRateLimited, nameRateLimited, s.rateLimited)
	fmt.Fprintf(&b, "# HELP %s Unix time of the last login let in by failmode=safe (0: never).\n# TYPE %s gauge\n%s %s\n", nameLastFailopen, nameLastFailopen, nameLastFailopen, fmtFloat(s.lastFailopen))
	return []byte(b.String())
}

// parse reads back a file render wrote; lines it does not know are
// dropped.
func parse(text string) *state {
	s := newState()
	for _, line := range strings.Split(text, "\n") {
		if b, ok := strings.CutPrefix(line, batchMark); ok {
			s.batch, _ = strconv.ParseUint(b, 10, 64)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		series, val := line[:sp], line[sp+1:]
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(f) || f < 0 {
			continue
		}
		name, labels := series, map[string]string{}
		if i := strings.IndexByte(series, '{'); i >= 0 && strings.HasSuffix(series, "}") {
			name = series[:i]
			labels = parseLabels(series[i+1 : len(series)-1])
		}
		switch name {
		case nameLogins:
			s.logins[loginKey{labels["event"], labels["cause"], labels["service"]}] = uint64(f)
		case nameRTT + "_bucket":
			h := s.hist(labels["endpoint"])
			for i, le := range bucketBounds {
				if labels["le"] == fmtFloat(le) {
					h.buckets[i] = uint64(f)
				}
			}
		case nameRTT + "_sum":
			s.hist(labels["endpoint"]).sum = f
		case nameRTT + "_count":
			s.hist(labels["endpoint"]).count = uint64(f)
		case nameRateLimited:
			s.rateLimited = uint64(f)
		case nameLastFailopen:
			s.lastFailopen = f
		}
	}
	return s
}

// parseLabels reads k="v",k2="v2" as render writes it (Go %q quoting of
// the plain values label keeps).
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		k := s[:eq]
		rest := s[eq+1:]
		v, err := strconv.QuotedPrefix(rest)
		if err != nil {
			break
		}
		uq, _ := strconv.Unquote(v)
		out[k] = uq
		s = strings.TrimPrefix(rest[len(v):], ",")
	}
	return out
}
