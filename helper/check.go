package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/duo"
)

// Exit statuses of `login_duo_go check`.
const (
	checkOK          = 0  // config valid, Duo answered
	checkBadConfig   = 1  // the config file is missing, unreadable or invalid
	checkUnreachable = 2  // Duo could not be reached or failed (network, TLS, proxy, 5xx)
	checkRefused     = 3  // Duo refused the credentials (4xx: ikey, skey, host)
	checkUsage       = 64 // bad command line
)

// checkTimeout bounds the whole check.
const checkTimeout = 2 * time.Minute

// runCheck is `login_duo_go check [-c CONFIG] [-u USER]`.
func runCheck(args []string) int {
	// Setuid root must not let anyone read files they could not read:
	// normal file permissions decide.
	if err := dropToReal(); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: couldn't drop privileges: %v\n", err)
		return checkBadConfig
	}
	sanitizeEnv()
	configFile, user, err := parseCheckArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n%s", err, usageText)
		return checkUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	return check(ctx, os.Stdout, configFile, user)
}

// parseCheckArgs parses check's options (-c FILE, -u USER, attached or not).
func parseCheckArgs(args []string) (configFile, user string, err error) {
	configFile = defaultConfig
	for i := 0; i < len(args); i++ {
		a := args[i]
		var opt, val string
		switch {
		case a == "-c" || a == "-u":
			if i+1 >= len(args) {
				return "", "", fmt.Errorf("option requires an argument -- '%c'", a[1])
			}
			opt, val = a, args[i+1]
			i++
		case strings.HasPrefix(a, "-c") || strings.HasPrefix(a, "-u"):
			opt, val = a[:2], a[2:]
		default:
			return "", "", fmt.Errorf("unexpected argument %q", sanitize(clipText(a, 64), false))
		}
		if opt == "-c" {
			configFile = val
		} else {
			user = val
		}
	}
	return configFile, user, nil
}

// check validates configFile, calls /auth/v2/check and, with user, preauth;
// it writes its report to w and returns the exit status.
func check(ctx context.Context, w io.Writer, configFile, user string) int {
	cfg, err := conf.LoadOwned(configFile, configOwners()...)
	if err != nil {
		fmt.Fprintf(w, "config %s: INVALID\n", sanitize(configFile, false))
		for _, line := range errorLines(err) {
			fmt.Fprintf(w, "  error: %s\n", sanitize(line, false))
		}
		if cfg != nil {
			for _, warning := range cfg.Warnings {
				fmt.Fprintf(w, "  warning: %s\n", sanitize(warning, false))
			}
		}
		return checkBadConfig
	}
	fmt.Fprintf(w, "config %s: ok\n", sanitize(configFile, false))
	for _, warning := range cfg.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", sanitize(warning, false))
	}
	host := sanitize(cfg.Host, false)
	client, err := duo.New(duo.Options{
		IKey: cfg.IKey, SKey: cfg.SKey, Host: cfg.Host,
		CAFile: cfg.CAFile, Proxy: cfg.HTTPProxy, Timeout: cfg.HTTPSTimeout,
		UserAgent: userAgent(),
	})
	if err != nil {
		fmt.Fprintf(w, "duo %s: cannot set up the client: %s\n", host, sanitize(err.Error(), false))
		return checkBadConfig
	}
	defer client.Close()
	if _, err := client.Check(ctx); err != nil {
		fmt.Fprintf(w, "duo %s: check FAILED: %s\n", host, sanitize(err.Error(), false))
		return duoFailureStatus(w, err)
	}
	via := ""
	if cfg.HTTPProxy != "" {
		via = " via proxy " + sanitize(cfg.HTTPProxy, false)
	}
	fmt.Fprintf(w, "duo %s: check ok%s (integration key, secret key, host and TLS trust verified)\n", host, via)
	off := client.ClockOffset().Round(100 * time.Millisecond)
	note := ""
	if off > time.Minute || off < -time.Minute {
		note = " (WARNING: Duo rejects requests whose date is off by more than a few minutes; fix this host's clock)"
	}
	fmt.Fprintf(w, "server clock offset: %+.1fs%s\n", off.Seconds(), note)
	if user == "" {
		return checkOK
	}
	return checkUser(ctx, w, client, cfg, user)
}

// checkUser runs preauth for user and prints what they would be offered.
func checkUser(ctx context.Context, w io.Writer, client *duo.Client, cfg *conf.Config, user string) int {
	failmode := "open"
	if cfg.Failmode == conf.FailSecure {
		failmode = "closed"
	}
	hostname, _ := os.Hostname()
	pre, err := client.Preauth(ctx, duo.PreauthRequest{
		Username: user, Hostname: hostname, TextPrompt: true, Failmode: failmode,
		ClientSupportsVerifiedPush: cfg.VerifiedPush,
	})
	u := sanitize(user, false)
	if err != nil {
		fmt.Fprintf(w, "user %s: preauth FAILED: %s\n", u, sanitize(err.Error(), false))
		return duoFailureStatus(w, err)
	}
	fmt.Fprintf(w, "user %s: preauth result %q", u, sanitize(pre.Result, false))
	if pre.StatusMsg != "" {
		fmt.Fprintf(w, ": %s", sanitize(pre.StatusMsg, false))
	}
	fmt.Fprintln(w)
	switch pre.Result {
	case duo.ResultAllow:
		fmt.Fprintln(w, "  the user would be let in without a second factor (bypass)")
	case duo.ResultDeny:
		fmt.Fprintln(w, "  the user would be denied")
	case duo.ResultEnroll:
		fmt.Fprintf(w, "  the user is not enrolled; enrollment portal: %s\n", sanitize(pre.EnrollPortalURL, false))
	}
	for _, d := range pre.Devices {
		name := d.DisplayName
		if name == "" {
			name = d.Name
		}
		fmt.Fprintf(w, "  device %s (%s) %q: %s\n", sanitize(d.Device, false), sanitize(d.Type, false),
			sanitize(name, false), sanitize(strings.Join(d.Capabilities, ", "), false))
	}
	if pre.VerificationCode != "" {
		fmt.Fprintln(w, "  Verified Push: a verification code would be shown")
	}
	if pre.Prompt != nil {
		fmt.Fprintln(w, "  menu:")
		for _, line := range strings.Split(strings.TrimRight(pre.Prompt.Text, "\n"), "\n") {
			fmt.Fprintf(w, "    | %s\n", sanitize(line, false))
		}
		keys := make([]string, 0, len(pre.Prompt.Factors))
		for k := range pre.Prompt.Factors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var pairs []string
		for _, k := range keys {
			pairs = append(pairs, sanitize(k, false)+"="+sanitize(pre.Prompt.Factors[k], false))
		}
		fmt.Fprintf(w, "  factors: %s\n", strings.Join(pairs, " "))
	}
	return checkOK
}

// duoFailureStatus classifies a Duo error as the login does (duo.Classify):
// refused (something answered and said no) or unreachable.
func duoFailureStatus(w io.Writer, err error) int {
	switch duo.Classify(err) {
	case duo.KindOutage:
		fmt.Fprintln(w, "  Duo could not be reached or failed: check host, http_proxy, cafile, the network and DNS")
		return checkUnreachable
	case duo.KindLocal:
		fmt.Fprintln(w, "  this machine could not make the call (file descriptors, memory, permissions): check the limits of this process")
		return checkUnreachable
	}
	fmt.Fprintln(w, "  Duo refused the request (or a proxy in front of it did): check ikey, skey, host and http_proxy")
	return checkRefused
}

// errorLines splits a (possibly joined) error into its lines.
func errorLines(err error) []string {
	var lines []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		for _, l := range strings.Split(e.Error(), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	walk(err)
	return lines
}
