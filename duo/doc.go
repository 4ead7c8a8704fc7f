// Package duo is a client for Duo's Auth API v2 as the Unix integration
// speaks it: request signing, every endpoint (ping, check, logo, enroll,
// enroll_status, preauth, auth, auth_status), clock-skew correction,
// HTTP 429 retries, TLS pinned to the public roots Duo's own clients trust,
// an explicit HTTP proxy and bounded responses.
//
// Errors are typed: APIError (Duo answered "stat": "FAIL"), TransportError
// (Duo could not be reached or did not answer in time) and ResponseError
// (the answer was not a valid API response). IsUnavailable tells a Duo
// failure, which failmode decides, from a refusal.
package duo
