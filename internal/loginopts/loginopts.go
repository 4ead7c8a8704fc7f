// Package loginopts is login_duo_go's login-mode command line, read as
// duo_unix's login_duo reads it: getopt("vc:df:h:") in POSIX mode, and the
// remote address -h stands in for.
package loginopts

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/internal/escape"
)

// Options are login mode's command line.
type Options struct {
	Config  string // -c
	DuoUser string // -f
	Host    string // -h
	Debug   bool   // -d
	Version bool   // -v
	Command []string
}

// ErrUsage is wrapped by Parse's errors: the command line is wrong.
var ErrUsage = errors.New("usage")

// Parse parses login_duo's options the way getopt("vc:df:h:") does in
// POSIX mode: clustered flags (-dv), option arguments attached or separate
// (-cFILE, -c FILE), options end at "--" or at the first argument that is
// not an option; the rest is the command.
func Parse(args []string) (Options, error) {
	var o Options
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			switch c := a[j]; c {
			case 'v':
				o.Version = true
			case 'd':
				o.Debug = true
			case 'c', 'f', 'h':
				var val string
				switch {
				case j+1 < len(a):
					val = a[j+1:]
				case i+1 < len(args):
					i++
					val = args[i]
				default:
					return o, fmt.Errorf("%w: option requires an argument -- '%c'", ErrUsage, c)
				}
				switch c {
				case 'c':
					o.Config = val
				case 'f':
					o.DuoUser = val
				case 'h':
					o.Host = val
				}
				j = len(a)
			default:
				return o, fmt.Errorf("%w: invalid option -- '%s'", ErrUsage, escape.Line(string(c)))
			}
		}
	}
	o.Command = args[i:]
	return o, nil
}

// RemoteAddress is the client address: the first field of sshConnection
// (SSH_CONNECTION) when it is an IP address, else -h's value, trimmed and
// cut to 255 bytes.
func (o Options) RemoteAddress(sshConnection string) string {
	if f := strings.Fields(sshConnection); len(f) > 0 {
		if net.ParseIP(f[0]) != nil {
			return f[0]
		}
	}
	return escape.Clip(strings.TrimSpace(o.Host), 255, "")
}
