package duo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// FormatDate formats t the way Duo's clients date requests: RFC 2822 in
// UTC with the zone written "-0000".
func FormatDate(t time.Time) string {
	return t.UTC().Format("Mon, 02 Jan 2006 15:04:05") + " -0000"
}

// endpoint describes one API call.
type endpoint struct {
	op       string // short name used in errors, e.g. "preauth"
	method   string
	path     string
	unsigned bool
	longPoll bool
	fresh    bool // a new connection, never a pooled one (Probe)
}

// rawResponse is a fully read response.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// call runs ep with params and decodes the OK response into out.
func (c *Client) call(ctx context.Context, ep endpoint, params url.Values, out any) error {
	resp, err := c.roundTrip(ctx, ep, params)
	if err != nil {
		return err
	}
	return decodeEnvelope(ep.op, resp, out)
}

// responseDate parses a response's Date header.
func responseDate(h http.Header) (time.Time, bool) {
	v := h.Get("Date")
	if v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		if t, err = time.Parse(DateFormat, v); err != nil {
			return time.Time{}, false
		}
	}
	return t, true
}

// attempt sends one request and reads its whole (bounded) response.
func (c *Client) attempt(ctx context.Context, ep endpoint, params url.Values, offset time.Duration) (*rawResponse, error) {
	timeout := c.timeout
	if ep.longPoll {
		timeout = c.longPoll
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := c.newRequest(actx, ep, params, offset)
	if err != nil {
		return nil, err
	}

	hc := c.hc
	if ep.fresh {
		tr := c.tr.Clone()
		tr.DisableKeepAlives = true
		defer tr.CloseIdleConnections()
		hc = &http.Client{Transport: tr, CheckRedirect: c.hc.CheckRedirect}
	}
	start := time.Now()
	status := 0 // for Observe: 0 until a response came
	if c.observe != nil {
		defer func() { c.observe(ep.op, status, time.Since(start)) }()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, actx, ep.op, timeout, err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	c.debugf("duo: %s %s: HTTP %d, %d bytes, %v", ep.method, ep.path, resp.StatusCode, len(data), time.Since(start).Round(time.Millisecond))
	if server, ok := responseDate(resp.Header); ok {
		c.learnServerTime(server, c.now())
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &ResponseError{Op: ep.op, StatusCode: resp.StatusCode, Err: fmt.Errorf("truncated body: %w", err)}
		}
		return nil, c.transportError(ctx, actx, ep.op, timeout, fmt.Errorf("reading response: %w", err))
	}
	if int64(len(data)) > c.maxBytes {
		// Close without draining: the connection is dropped, not reused.
		return nil, &ResponseError{Op: ep.op, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("more than %d bytes: %w", c.maxBytes, ErrResponseTooLarge)}
	}
	return &rawResponse{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// newRequest builds ep's request with params, dated with the local clock
// plus offset and signed unless ep is unsigned.
func (c *Client) newRequest(ctx context.Context, ep endpoint, params url.Values, offset time.Duration) (*http.Request, error) {
	date := FormatDate(c.now().Add(offset))
	encoded := EncodeParams(params)
	u := url.URL{Scheme: "https", Host: c.host, Path: ep.path}
	var body io.Reader
	if ep.method == http.MethodGet {
		u.RawQuery = encoded
	} else {
		body = strings.NewReader(encoded)
	}
	req, err := http.NewRequestWithContext(ctx, ep.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("duo: %s: %w", ep.op, err)
	}
	req.Header.Set("Date", date)
	req.Header.Set("X-Duo-Date", date)
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if !ep.unsigned {
		// The signature covers the host without any port, as duo_unix
		// signs it and as Duo verifies it.
		req.Header.Set("Authorization", Authorization(c.ikey, c.skey, ep.method, c.signHost, ep.path, params, date))
	}
	return req, nil
}

// transportError wraps a failure to get a response, naming a per-request
// timeout as such.
func (c *Client) transportError(ctx, actx context.Context, op string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("duo: %s: %w", op, context.Canceled)
		}
		return &TransportError{Op: op, Err: err}
	}
	if actx.Err() != nil {
		err = fmt.Errorf("no answer within %v: %w", timeout, err)
	}
	return &TransportError{Op: op, Err: err}
}
