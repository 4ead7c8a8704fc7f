package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/internal/check"
	"github.com/pam-duo-go/pam_duo_go/internal/escape"
	"github.com/pam-duo-go/pam_duo_go/internal/pamstack"
	"github.com/pam-duo-go/pam_duo_go/internal/setuid"
)

// checkTimeout bounds the whole check.
const checkTimeout = 2 * time.Minute

// checkUsage is check's exit status for a bad command line; the others
// are internal/check's.
const checkUsage = 64

// defaultPAMDir is what --pam-stack reads without DIR.
const defaultPAMDir = "/etc/pam.d"

// checkArgs is check's command line.
type checkArgs struct {
	configFile string // "" = every config present (defaultCheckConfigs)
	user       string
	json       bool
	pamStack   bool
	pamDir     string
}

// runCheck is `login_duo_go check [--json] [-c CONFIG] [-u USER]` and
// `login_duo_go check [--json] --pam-stack [DIR]`.
func runCheck(args []string) int {
	// Setuid root must not let anyone read files they could not read:
	// normal file permissions decide.
	if err := setuid.DropToReal(); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: couldn't drop privileges: %v\n", err)
		return check.ExitBadConfig
	}
	setuid.SanitizeEnv()
	a, err := parseCheckArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n%s", err, usageText)
		return checkUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	opt := check.Options{UserAgent: userAgent(), LoginConfigOwners: configOwners, PAMDir: defaultPAMDir}
	var rep *check.Report
	switch {
	case a.pamStack:
		rep = check.PAMStack(a.pamDir, pamstack.Options{})
	case a.configFile != "":
		rep = check.Configs(ctx, []string{a.configFile}, a.user, opt)
	default:
		rep = check.Configs(ctx, defaultCheckConfigs(defaultPAMDir), a.user, opt)
	}
	if err := rep.Write(os.Stdout, a.json); err != nil {
		fmt.Fprintf(os.Stderr, "login_duo_go check: %v\n", err)
	}
	return rep.Exit
}

// parseCheckArgs parses check's options (-c FILE, -u USER, attached or
// not; --json; --pam-stack with an optional directory).
func parseCheckArgs(args []string) (checkArgs, error) {
	a := checkArgs{pamDir: defaultPAMDir}
	configGiven := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var opt, val string
		switch {
		case arg == "--json":
			a.json = true
			continue
		case arg == "--pam-stack":
			a.pamStack = true
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				a.pamDir = args[i+1]
				i++
			}
			continue
		case arg == "-c" || arg == "-u":
			if i+1 >= len(args) {
				return checkArgs{}, fmt.Errorf("option requires an argument -- '%c'", arg[1])
			}
			opt, val = arg, args[i+1]
			i++
		case strings.HasPrefix(arg, "-c") || strings.HasPrefix(arg, "-u"):
			opt, val = arg[:2], arg[2:]
		default:
			return checkArgs{}, fmt.Errorf("unexpected argument %q", escape.Line(escape.Clip(arg, 64, "")))
		}
		if opt == "-c" {
			a.configFile, configGiven = val, true
		} else {
			a.user = val
		}
	}
	if a.pamStack && (configGiven || a.user != "") {
		return checkArgs{}, fmt.Errorf("--pam-stack takes no -c or -u")
	}
	return a, nil
}

// defaultCheckConfigs lists what a plain `check` looks at: every config
// file present among the PAM module's default (/etc/duo/pam_duo.conf),
// login_duo_go's (/etc/duo/login_duo.conf) and each conf= of a
// pam_duo_go.so line in pamDir; both defaults when none is present, so
// that the report says they are missing.
func defaultCheckConfigs(pamDir string) []string {
	return check.PresentConfigs([]string{conf.DefaultPAMConfig, defaultConfig}, pamDir)
}
