package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc is what the tests read about a running process from /proc.
type Proc struct {
	Pid, PPid, PGrp, Session, TPGid int
	State                           string // R, S, T (stopped), ...
	Nice                            int
	Policy                          int      // scheduling policy: 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE
	Cmdline                         []string // argv
	Exe                             string   // the /proc/PID/exe link
	Cwd                             string   // the /proc/PID/cwd link
	UIDs                            string   // the Uid: line of status (real, effective, saved, fs)
	CPUs                            string   // Cpus_allowed_list
	Limits                          map[string][2]string
}

// ReadProc reads pid's Proc. Fields it cannot read stay empty.
func ReadProc(pid int) (*Proc, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 39 {
		return nil, fmt.Errorf("short /proc/%d/stat", pid)
	}
	num := func(k int) int { n, _ := strconv.Atoi(f[k]); return n }
	// f[0] is field 3 of proc(5): state, ppid, pgrp, session, tty_nr,
	// tpgid, ..., nice (19), ..., policy (41).
	p := &Proc{Pid: pid, State: f[0], PPid: num(1), PGrp: num(2), Session: num(3), TPGid: num(5),
		Nice: num(16), Policy: num(38), Limits: map[string][2]string{}}
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		p.Cmdline = strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	}
	p.Exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	p.Cwd, _ = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				p.UIDs = strings.Join(strings.Fields(v), " ")
			}
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				p.CPUs = strings.TrimSpace(v)
			}
		}
	}
	if lim, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid)); err == nil {
		for _, line := range strings.Split(string(lim), "\n")[1:] {
			// "Max open files            9                    20000                files"
			if len(line) < 26 {
				continue
			}
			name := strings.TrimSpace(line[:26])
			v := strings.Fields(line[26:])
			if len(v) >= 2 {
				p.Limits[name] = [2]string{v[0], v[1]}
			}
		}
	}
	return p, nil
}

// String describes p for a test log.
func (p *Proc) String() string {
	return fmt.Sprintf("pid %d ppid %d pgrp %d sid %d tpgid %d state %s nice %d policy %d cwd %s uid %s cpus %s nofile %v: %s",
		p.Pid, p.PPid, p.PGrp, p.Session, p.TPGid, p.State, p.Nice, p.Policy, p.Cwd, p.UIDs, p.CPUs,
		p.Limits["Max open files"], EscapeControls(strings.Join(p.Cmdline, " ")))
}

// FindProcs returns the running processes whose executable is exe and
// whose arguments after argv[0] are args.
func FindProcs(exe string, args ...string) []*Proc {
	var out []*Proc
	for _, pid := range allPids() {
		p, err := ReadProc(pid)
		if err != nil || p.Exe != exe || len(p.Cmdline) != len(args)+1 {
			continue
		}
		match := true
		for i, a := range args {
			match = match && p.Cmdline[i+1] == a
		}
		if match {
			out = append(out, p)
		}
	}
	return out
}
