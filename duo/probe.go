package duo

import (
	"context"
	"net/http"
	"time"
)

// Probe asks whether Duo is up: GET /auth/v2/ping over a new connection
// (never one that an earlier, failed call left in the pool), bounded by
// timeout. nil means Duo answered a valid ping; otherwise the error is
// typed like any call's, so Classify says whether Duo is down (KindOutage)
// or something answered (any other kind).
func (c *Client) Probe(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := c.timeCall(ctx, endpoint{op: "probe", method: http.MethodGet, path: "/auth/v2/ping", unsigned: true, fresh: true})
	return err
}
