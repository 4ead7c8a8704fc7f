package faults

import (
	"encoding/binary"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
)

// dnsServer is a minimal resolver on 127.0.0.1:53, where the namespace's
// /etc/resolv.conf points: it answers A queries for its names and says
// NXDOMAIN to the rest, over UDP only.
type dnsServer struct {
	conn  *net.UDPConn
	names map[string]net.IP // lower-case, with the final dot
	wg    sync.WaitGroup
}

// startDNS serves names (host name -> IPv4) until the test ends. It skips
// the test where the namespace could not point DNS at loopback.
func startDNS(t *testing.T, names map[string]net.IP) {
	t.Helper()
	if !dnsInNamespace() {
		t.Skip("/etc/resolv.conf is a symbolic link here: cannot point DNS at a loopback resolver")
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53})
	if err != nil {
		t.Skipf("cannot serve DNS on 127.0.0.1:53: %v", err)
	}
	s := &dnsServer{conn: c, names: map[string]net.IP{}}
	for n, ip := range names {
		s.names[strings.ToLower(n)+"."] = ip.To4()
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		c.Close()
		s.wg.Wait()
	})
}

func (s *dnsServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 512)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if reply := s.answer(buf[:n]); reply != nil {
			s.conn.WriteToUDP(reply, from)
		}
	}
}

// answer builds the reply to one query: the question echoed, and an A
// record when the name is known and the type is A.
func (s *dnsServer) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	// The question: labels, then type and class.
	i, labels := 12, []string{}
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1 : i+3])
	question := q[12 : i+5]
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	ip, known := s.names[name]

	r := make([]byte, 12, 64)
	copy(r, q[:2])          // id
	flags := uint16(0x8180) // response, recursion desired and available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(r[2:4], flags)
	binary.BigEndian.PutUint16(r[4:6], 1) // one question
	r = append(r, question...)
	if known && qtype == 1 {
		binary.BigEndian.PutUint16(r[6:8], 1) // one answer
		r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		r = append(r, ip...)
	}
	return r
}

// dnsInNamespace reports whether the namespace's resolv.conf names the
// loopback resolver (main_test.go's script could bind it).
func dnsInNamespace() bool { return os.Getenv("PAM_DUO_GO_FAULTS_DNS") == "1" }
