// Command duotest runs the mock Duo server standalone, with demo users, for
// the README demo and manual tries. It listens on loopback only unless
// -allow-remote is given.
//
// Demo users:
//
//	alice  push approved after a few status steps (about 2 s)
//	bob    push denied
//	carol  preauth allow (bypass)
//	dave   preauth deny
//	erin   not enrolled (enroll)
//	frank  token only: passcode 123456
//	grace  Verified Push with code 417
//	heidi  push that times out
//	root   push approved, passcode 123456
//	pc-*   any such name: passcode 123456
//
// -clock-offset shifts the server's clock (to try clock skew) and -fault
// injects failures (HTTP errors, 429 with Retry-After, hangs, closed
// connections, bad bodies) on an endpoint, so an administrator can try
// those cases without writing code: duotest -help lists the syntax.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	allowRemote := flag.Bool("allow-remote", false, "allow a non-loopback listen address")
	ikey := flag.String("ikey", "", "integration key (random if empty)")
	skey := flag.String("skey", "", "secret key (random if empty)")
	writeConf := flag.String("write-conf", "", "write a pam_duo.conf for this server (CA beside it)")
	writeCA := flag.String("write-ca", "", "write the test CA certificate (PEM)")
	delay := flag.Duration("delay", 0, "added to every answer (simulated round trip)")
	clockOffset := flag.Duration("clock-offset", 0, "shift the server's clock by this much (e.g. 1h, -10m), as if the client's clock were off")
	type fault struct {
		path string
		f    duotest.Fault
	}
	var faults []fault
	flag.Func("fault", "inject a fault, ENDPOINT:ITEM[,ITEM...] (repeatable), e.g. preauth:status=503,times=-1 or auth:status=429,retry-after=2 or any:hang; items: status=, code=, message=, retry-after=, x-retry-after=, times= (-1 = always), delay=, hang, close, truncate, malformed, html", func(v string) error {
		path, f, err := duotest.ParseFault(v)
		if err == nil {
			faults = append(faults, fault{path, f})
		}
		return err
	})
	flag.Parse()

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		fatalf("-listen: %v", err)
	}
	if ip := net.ParseIP(host); !*allowRemote && (ip == nil || !ip.IsLoopback()) {
		fatalf("-listen %s is not a loopback address (use -allow-remote to insist)", *listen)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fatalf("listen: %v", err)
	}
	opts := []duotest.Option{duotest.WithListener(l), duotest.WithDelay(*delay), duotest.WithClockOffset(*clockOffset)}
	if *ikey != "" || *skey != "" {
		if *ikey == "" || *skey == "" {
			fatalf("-ikey and -skey go together")
		}
		opts = append(opts, duotest.WithKeys(*ikey, *skey))
	}
	s := duotest.NewServer(opts...)
	defer s.Close()
	for _, f := range faults {
		s.Inject(f.path, f.f)
	}
	for _, u := range demoUsers() {
		s.AddUser(u)
	}
	for i := 0; i < 100; i++ {
		s.AddUser(duotest.User{Name: fmt.Sprintf("pc-%d", i), Passcodes: []string{"123456"}})
	}
	if *writeCA != "" {
		if err := s.WriteCAFile(*writeCA); err != nil {
			fatalf("%v", err)
		}
	}
	if *writeConf != "" {
		if err := s.WriteConfig(*writeConf, nil); err != nil {
			fatalf("%v", err)
		}
	}
	fmt.Printf("duotest listening on %s (host=%s, ikey=%s)\n", s.URL, s.Host, s.IKey)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

// demoUsers are the users the standalone server knows.
func demoUsers() []duotest.User {
	slowPush := []duotest.Step{
		{Status: "pushed", StatusMsg: "Pushed a login request to your device...", Result: duo.ResultWaiting},
		{Status: "pushed", StatusMsg: "Waiting for you to approve on your phone...", Result: duo.ResultWaiting, Delay: time.Second},
		{Status: "allow", StatusMsg: "Success. Logging you in...", Result: duo.ResultAllow, Delay: time.Second},
	}
	token := []duo.Device{{Device: "DHEKH0JJIYC1LX3AZWO4", Type: "token", Name: "0"}}
	return []duotest.User{
		{Name: "alice", Push: slowPush, Passcodes: []string{"123456"}},
		{Name: "bob", Push: duotest.PushDenied()},
		{Name: "carol", Preauth: duo.ResultAllow},
		{Name: "dave", Preauth: duo.ResultDeny},
		{Name: "erin", Preauth: duo.ResultEnroll},
		{Name: "frank", Devices: token, Passcodes: []string{"123456"}},
		{Name: "grace", VerifiedPushCode: "417", Push: slowPush},
		{Name: "heidi", Push: duotest.PushTimeout()},
		{Name: "root", Push: slowPush, Passcodes: []string{"123456"}},
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "duotest: "+format+"\n", args...)
	os.Exit(2)
}
