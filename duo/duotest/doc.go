// Package duotest is a mock Duo Auth API v2 server for tests, in the style
// of net/http/httptest: a real HTTPS server on loopback with a test CA of
// its own, which verifies request signatures and dates the way Duo does,
// answers from per-user scripts, injects faults on demand and records
// every request it saw.
//
//	s := duotest.NewServer()
//	defer s.Close()
//	s.AddUser(duotest.User{Name: "alice", Push: duotest.PushApproved()})
//	c, _ := duo.New(s.ClientOptions())
//
// The program in cmd/duotest runs it standalone with demo users.
package duotest
