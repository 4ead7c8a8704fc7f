package duo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// skewRetryThreshold is how far the local clock (plus the learned offset)
// may be from the server's before a 401 is retried with a corrected date.
const skewRetryThreshold = 60 * time.Second

// maxAttempts bounds the attempts of one call whatever the server's
// Retry-After headers say.
const maxAttempts = 10

// roundTrip sends ep, retrying on HTTP 429 and once on a 401 caused by
// clock skew. Every attempt builds, dates and signs the request afresh.
func (c *Client) roundTrip(ctx context.Context, ep endpoint, params url.Values) (*rawResponse, error) {
	var waited time.Duration
	backoff := time.Second
	skewRetried := false
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, c.contextError(ep.op, err)
		}
		signedOffset := c.ClockOffset()
		resp, err := c.attempt(ctx, ep, params, signedOffset)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && !skewRetried && c.correctSkew(ep.op, resp, signedOffset) {
			skewRetried = true
			continue
		}
		if resp.status != http.StatusTooManyRequests {
			return resp, nil
		}
		wait, fromHeader := retryAfter(resp.header)
		remaining := c.maxRetryWait - waited
		if fromHeader {
			wait = min(wait, remaining)
		} else {
			wait = backoff + rand.N(time.Second)
			backoff *= 2
		}
		if remaining <= 0 || wait > remaining || attempt >= maxAttempts {
			c.debugf("duo: %s: HTTP 429 after %d attempts and %v of waiting; giving up", ep.op, attempt, waited.Round(time.Millisecond))
			return resp, nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			c.debugf("duo: %s: HTTP 429; the caller's deadline comes before the retry", ep.op)
			return resp, nil
		}
		c.debugf("duo: %s: HTTP 429; retrying in %v", ep.op, wait.Round(time.Millisecond))
		if notice, ok := ctx.Value(retryNoticeKey{}).(func(time.Duration)); ok && notice != nil {
			notice(wait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.contextError(ep.op, err)
		}
		waited += wait
	}
}

// correctSkew looks at a 401 answer to a request dated with signedOffset:
// when the answer's date shows the request's date was more than
// skewRetryThreshold off the server's clock, it adopts the server's clock
// and reports that the call deserves one more attempt.
func (c *Client) correctSkew(op string, resp *rawResponse, signedOffset time.Duration) bool {
	server, ok := responseDate(resp.header)
	if !ok {
		return false
	}
	skew := server.Sub(c.now().Add(signedOffset))
	if skew <= skewRetryThreshold && skew >= -skewRetryThreshold {
		return false
	}
	c.mu.Lock()
	c.offset = server.Sub(c.now())
	c.mu.Unlock()
	c.debugf("duo: %s: HTTP 401 with the local clock %v off the server's; retrying with a corrected date", op, -skew.Round(time.Second))
	return true
}

// contextError reports that the caller's context ended. A cancellation is
// the caller's doing and not a Duo failure; a deadline is Duo too slow.
func (c *Client) contextError(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("duo: %s: %w", op, err)
	}
	return &TransportError{Op: op, Err: err}
}

type retryNoticeKey struct{}

// WithRetryNotice returns a context under which the client calls notice
// with the wait before each retry of an HTTP 429, so that a waiting user
// can be told (as login_duo does).
func WithRetryNotice(ctx context.Context, notice func(wait time.Duration)) context.Context {
	return context.WithValue(ctx, retryNoticeKey{}, notice)
}

// RetryNoticeText is the line shown to a user while a rate-limited
// request waits, in duo_unix's words.
func RetryNoticeText(wait time.Duration) string {
	secs := int64((wait + time.Second - 1) / time.Second)
	return fmt.Sprintf("Rate-limiting response received from server. Waiting for %d seconds before retrying.", secs)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), or
// X-Retry-After, which Duo also sends and duo_unix also reads.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		v = strings.TrimSpace(h.Get("X-Retry-After"))
	}
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		if t, err := http.ParseTime(v); err == nil {
			if server, ok := responseDate(h); ok {
				return max(t.Sub(server), 0), true
			}
			return max(time.Until(t), 0), true
		}
		return 0, false
	}
	if n > 3600 {
		n = 3600
	}
	return time.Duration(n) * time.Second, true
}
