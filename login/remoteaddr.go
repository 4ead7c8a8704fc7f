package login

import (
	"context"
	"net"
	"strings"
	"time"
)

// resolveTimeout bounds finding this host's address towards Duo
// (fallback_local_ip).
const resolveTimeout = 3 * time.Second

// remoteAddress is the address sent as ipaddr: the remote host when it is
// an IP address literal (IPv4, or IPv6 without brackets or a zone, as
// net.ParseIP reads it), else with fallback_local_ip this host's address
// towards Duo, else none. A host name is never resolved: whoever controls
// the reverse DNS of their address (sshd's UseDNS) would choose the
// address Duo sees, for example one in a trusted network. duo_unix sends
// the value as given; the syslog line shows it as given too.
func (s *session) remoteAddress(ctx context.Context) string {
	rhost := strings.TrimSpace(s.p.RemoteHost)
	if ip := net.ParseIP(rhost); ip != nil {
		return ip.String()
	}
	if rhost != "" {
		s.debugf("remote host %s is not an IP address: no ipaddr sent (names are never resolved)", rhost)
	}
	if !s.cfg.FallbackLocalIP {
		return ""
	}
	host := s.cfg.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "443")
	}
	d := net.Dialer{Timeout: resolveTimeout}
	c, err := d.DialContext(ctx, "udp", host) // no packet is sent
	if err != nil {
		return ""
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return ""
}
