package conf

// The syntax of values: booleans, durations, key text, hosts, proxies.

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// parseBool reads duo_unix's booleans (yes, true, on, 1 and their
// opposites), in any case.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "on", "1":
		return true, true
	case "no", "false", "off", "0":
		return false, true
	}
	return false, false
}

// checkKeyText checks an ikey or skey: printable ASCII without spaces. An
// empty value is left for checkRequired. The skey never goes in a message.
func (p *parser) checkKeyText(e entry, value string, show bool) bool {
	for i := 0; i < len(value); i++ {
		if value[i] <= ' ' || value[i] > '~' {
			if show {
				p.invalid(e, value, "want printable ASCII without spaces")
			} else {
				p.fail(e.line, e.key, ErrInvalidValue, "skey: want printable ASCII without spaces (value not shown)")
			}
			return false
		}
	}
	return true
}

// parseDuration reads a non-negative whole number with an optional unit
// s, m or h (seconds when none).
func parseDuration(value string) (time.Duration, bool) {
	unit := time.Second
	num := value
	switch {
	case strings.HasSuffix(value, "s"):
		num = strings.TrimSuffix(value, "s")
	case strings.HasSuffix(value, "m"):
		num, unit = strings.TrimSuffix(value, "m"), time.Minute
	case strings.HasSuffix(value, "h"):
		num, unit = strings.TrimSuffix(value, "h"), time.Hour
	}
	if num == "" || len(num) > 6 || strings.TrimLeft(num, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// isPunct is C's ispunct in the C locale.
func isPunct(b byte) bool {
	return b > ' ' && b < 0x7f && !('0' <= b && b <= '9') && !('a' <= b && b <= 'z') && !('A' <= b && b <= 'Z')
}

// checkHost checks a host value: a host name or IP address with an
// optional port, nothing else. It returns what is wrong, or "".
func checkHost(v string) string {
	switch {
	case strings.Contains(v, "://"):
		return "want the API host name alone, without https:// (api-XXXXXXXX.duosecurity.com)"
	case strings.ContainsAny(v, "/?#"):
		return "want the API host name alone, without a path"
	case strings.ContainsAny(v, " \t"):
		return "want the API host name alone, without spaces"
	case strings.Contains(v, "@"):
		return "want the API host name alone, without a user name"
	}
	host, port := v, ""
	if strings.HasPrefix(v, "[") || strings.Count(v, ":") == 1 {
		var err error
		if host, port, err = net.SplitHostPort(v); err != nil {
			if !strings.HasPrefix(v, "[") || !strings.HasSuffix(v, "]") {
				return "want host or host:port"
			}
			host = v[1 : len(v)-1]
		} else if port == "" {
			return "want a port number after the colon"
		}
		if strings.HasPrefix(v, "[") && net.ParseIP(host) == nil {
			return "want an IPv6 address between [ and ]"
		}
	} else if strings.Contains(v, ":") {
		return "write an IPv6 address between [ and ], as in [::1]:443"
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return "want a port number from 1 to 65535 after the colon"
		}
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	if host == "" || len(host) > 253 {
		return "want a host name"
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 {
			return "want a host name (empty or overlong label)"
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
				return fmt.Sprintf("want a host name (%q is not allowed in one)", string(b))
			}
		}
	}
	return ""
}

// checkProxy checks an http_proxy value the way the duo package reads it:
// "http://[user:pass@]host:port" or "host:port". Messages never show a
// password.
func checkProxy(v string) string {
	if v == "" {
		return ""
	}
	if strings.ContainsAny(v, " \t") {
		return "want http://host:port, without spaces"
	}
	s := v
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "not a URL; want http://[user:pass@]host:port or host:port"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("%s: the scheme must be http", u.Redacted())
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%s: want http://[user:pass@]host:port", u.Redacted())
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%s: want a port number from 1 to 65535", u.Redacted())
		}
	}
	return ""
}
