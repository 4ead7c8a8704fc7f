// Command pamclient is the benchmark's PAM client: it runs one or more
// logins through libpam (msteinert/pam's StartConfDir, which reads the
// service file from a directory) in this one process and prints the
// results as one JSON object on stdout.
//
// It answers every prompt with -answer and ignores informational and
// error messages. Its resident memory (VmRSS, VmHWM from
// /proc/self/status) is read before the first pam_start and after the
// first login, so the cost of the module in its host can be seen.
//
// Exit status: 0 when every login succeeded, 1 when one failed, 2 on a
// usage or setup error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/msteinert/pam/v2"
)

// Login is the result of one pam_start, pam_authenticate, pam_end.
type Login struct {
	OK bool    `json:"ok"`
	Ms float64 `json:"ms"`            // wall time from pam_start to pam_end
	Er string  `json:"err,omitempty"` // the PAM error of a failed login
}

// Result is what the program prints.
type Result struct {
	Logins      []Login `json:"logins"`
	RSSBeforeKB int     `json:"rss_before_kb"` // VmRSS before the first pam_start
	HWMBeforeKB int     `json:"hwm_before_kb"` // VmHWM before the first pam_start
	RSSAfterKB  int     `json:"rss_after_kb"`  // VmRSS after the first login
	HWMAfterKB  int     `json:"hwm_after_kb"`  // VmHWM after the first login
	HWMEndKB    int     `json:"hwm_end_kb"`    // VmHWM after the last login
}

// answerer answers every prompt with the same text.
type answerer string

// RespondPAM implements pam.ConversationHandler.
func (a answerer) RespondPAM(style pam.Style, _ string) (string, error) {
	switch style {
	case pam.PromptEchoOn, pam.PromptEchoOff:
		return string(a), nil
	}
	return "", nil
}

func main() {
	dir := flag.String("dir", "", "directory holding the PAM service file (required)")
	service := flag.String("service", "bench", "PAM service name (a file in -dir)")
	user := flag.String("user", "root", "user to log in")
	answer := flag.String("answer", "123456", "answer to every prompt")
	n := flag.Int("n", 1, "logins to run in this process, one after another (1 to 10000)")
	flag.Parse()
	if *dir == "" || *n < 1 || *n > 10000 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: pamclient -dir DIR [-service NAME] [-user USER] [-answer TEXT] [-n N]")
		os.Exit(2)
	}
	var res Result
	var err error
	if res.RSSBeforeKB, res.HWMBeforeKB, err = memory(); err != nil {
		fmt.Fprintln(os.Stderr, "pamclient:", err)
		os.Exit(2)
	}
	failed := false
	for i := 0; i < *n; i++ {
		l := login(*service, *user, *dir, answerer(*answer))
		failed = failed || !l.OK
		res.Logins = append(res.Logins, l)
		if i == 0 {
			if res.RSSAfterKB, res.HWMAfterKB, err = memory(); err != nil {
				fmt.Fprintln(os.Stderr, "pamclient:", err)
				os.Exit(2)
			}
		}
	}
	if _, res.HWMEndKB, err = memory(); err != nil {
		fmt.Fprintln(os.Stderr, "pamclient:", err)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "pamclient:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// login runs one whole PAM transaction and times it.
func login(service, user, dir string, conv pam.ConversationHandler) Login {
	start := time.Now()
	tx, err := pam.StartConfDir(service, user, conv, dir)
	if err != nil {
		return Login{Ms: ms(time.Since(start)), Er: fmt.Sprintf("pam_start: %v", err)}
	}
	authErr := tx.Authenticate(0)
	endErr := tx.End()
	l := Login{OK: authErr == nil && endErr == nil, Ms: ms(time.Since(start))}
	if err := errors.Join(authErr, endErr); err != nil {
		l.Er = err.Error()
	}
	return l
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// memory reads VmRSS and VmHWM (kB) from /proc/self/status.
func memory() (rss, hwm int, err error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, fmt.Errorf("reading memory figures: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(value), " kB"))
		if err != nil {
			return 0, 0, fmt.Errorf("parsing %s %q: %w", name, value, err)
		}
		if name == "VmRSS" {
			rss = kb
		} else {
			hwm = kb
		}
	}
	return rss, hwm, nil
}
