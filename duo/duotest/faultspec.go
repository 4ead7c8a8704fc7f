package duotest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// endpointPaths maps the short endpoint names of a fault spec to paths.
var endpointPaths = map[string]string{
	"any": "", "ping": "/auth/v2/ping", "check": "/auth/v2/check", "logo": "/auth/v2/logo",
	"enroll": "/auth/v2/enroll", "enroll_status": "/auth/v2/enroll_status",
	"preauth": "/auth/v2/preauth", "auth": "/auth/v2/auth", "auth_status": "/auth/v2/auth_status",
}

// ParseFault reads a fault of the standalone server's -fault flag:
//
//	ENDPOINT:ITEM[,ITEM...]
//
// ENDPOINT is any, ping, check, logo, enroll, enroll_status, preauth,
// auth or auth_status. An ITEM is status=CODE, code=DUOCODE,
// message=TEXT, retry-after=VALUE, x-retry-after=VALUE, times=N (-1 for every request),
// delay=DURATION, or one of hang, close, truncate, malformed, html. For
// example "preauth:status=503,times=-1" or "auth:status=429,retry-after=2".
// It returns the endpoint path ("" for any) and the fault.
func ParseFault(spec string) (string, Fault, error) {
	name, items, ok := strings.Cut(spec, ":")
	path, known := endpointPaths[strings.TrimSpace(name)]
	if !ok || !known {
		return "", Fault{}, fmt.Errorf("fault %q: want ENDPOINT:ITEM[,ITEM...] with ENDPOINT one of any, ping, check, logo, enroll, enroll_status, preauth, auth, auth_status", spec)
	}
	var f Fault
	for _, item := range strings.Split(items, ",") {
		key, val, hasVal := strings.Cut(strings.TrimSpace(item), "=")
		var err error
		switch key {
		case "status":
			f.Status, err = atoiRange(val, 100, 599)
		case "code":
			f.Code, err = atoiRange(val, 1, 99999)
		case "message":
			f.Message = val
		case "retry-after":
			f.RetryAfter = val
		case "x-retry-after":
			f.XRetryAfter = val
		case "times":
			f.Times, err = atoiRange(val, -1, 1000000)
		case "delay":
			f.Delay, err = time.ParseDuration(val)
			if err == nil && f.Delay < 0 {
				err = fmt.Errorf("negative")
			}
		case "hang", "close", "truncate", "malformed", "html":
			if hasVal {
				err = fmt.Errorf("takes no value")
			}
			switch key {
			case "hang":
				f.Hang = true
			case "close":
				f.CloseConnection = true
			case "truncate":
				f.Truncate = true
			case "malformed":
				f.Malformed = true
			case "html":
				f.HTML = true
			}
		default:
			err = fmt.Errorf("unknown item")
		}
		if err != nil {
			return "", Fault{}, fmt.Errorf("fault %q: %q: %v", spec, item, err)
		}
	}
	if (f.RetryAfter != "" || f.XRetryAfter != "") && f.Status == 0 {
		f.Status = 429
	}
	return path, f, nil
}

func atoiRange(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want a number from %d to %d", lo, hi)
	}
	return n, nil
}
