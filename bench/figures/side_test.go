package figures_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/compat"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/require"

	"github.com/stretchr/testify/assert"
)

// The side-by-side measurement (5): duo_unix 2.2.3 (Duo's C client, built
// from ../shared/peers by test/compat) against pam_duo_go, through the
// same duotest server, the same config and the same C PAM client
// (test/compat/testdata/pamclient.c), each login a new process.

// sideService is the PAM service of the side-by-side runs (not sshd*,
// sudo* or su: both modules treat those specially).
const sideService = "bench-side"

// sideSample is one login: process wall time, time to the first prompt
// (0 when none), CPU (user+sys) and peak RSS of the whole process tree
// (wait4's rusage: the process and every descendant it reaped).
type sideSample struct {
	wall, menu, cpu float64 // ms
	maxRSS          float64 // kB, the largest process of the tree
	faults, csw     float64 // minor page faults, voluntary context switches
}

// sideRunner runs one login in a new process.
type sideRunner func() (sideSample, error)

// sideMock is a duotest server whose certificate names localhost (duo_unix
// cannot verify a certificate for an IP address) and a duo_unix-format
// config for it that both clients read.
type sideMock struct {
	*duotest.Server
	conf      string
	dir       string
	treeusage string // bench/treeusage.c, built
}

func newSideMock(t *testing.T, delay time.Duration, treeusage string) *sideMock {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	ikey, skey := "DIXYZV6YM8IFYVWBINCA", "yWHSMhWucAcp7qvuH3HWTaSaKABs8Gaddiv1NIRo"
	srv := duotest.NewServer(duotest.WithCertHosts("localhost"), duotest.WithKeys(ikey, skey), duotest.WithDelay(delay))
	t.Cleanup(srv.Close)
	srv.AddUser(duotest.User{Name: "root", Passcodes: []string{passcode}, Push: duotest.PushApproved()})
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, srv.WriteCAFile(ca))
	_, port, err := net.SplitHostPort(srv.Host)
	require.NoError(t, err)
	conf := filepath.Join(dir, "pam_duo.conf")
	text := fmt.Sprintf("[duo]\nikey = %s\nskey = %s\nhost = localhost:%s\ncafile = %s\naccept_env_factor = yes\nhttps_timeout = 60\n", ikey, skey, port, ca)
	require.NoError(t, os.WriteFile(conf, []byte(text), 0o600))
	return &sideMock{Server: srv, conf: conf, dir: dir, treeusage: treeusage}
}

// pamRunner runs one login through client with the PAM stack holding
// authLine, answering the menu with the passcode.
func (m *sideMock) pamRunner(t *testing.T, client, name, authLine string) sideRunner {
	t.Helper()
	dir := filepath.Join(m.dir, name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, sideService), []byte(e2e.Stack(authLine)), 0o644))
	return func() (sideSample, error) {
		ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
		defer cancel()
		report, err := m.report()
		if err != nil {
			return sideSample{}, err
		}
		defer os.Remove(report)
		cmd := exec.CommandContext(ctx, m.treeusage, report, client, dir, sideService, "root", passcode)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.StdoutPipe()
		if err != nil {
			return sideSample{}, err
		}
		var s sideSample
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return s, err
		}
		var transcript strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if s.menu == 0 && strings.HasPrefix(line, "PROMPT: ") {
				s.menu = msSince(start)
			}
			transcript.WriteString(line + "\n")
		}
		err = cmd.Wait()
		s.wall = msSince(start)
		if err == nil {
			err = s.usage(report)
		}
		if err == nil && !strings.Contains(transcript.String(), "RESULT: 0 ") {
			err = fmt.Errorf("login refused")
		}
		if err != nil {
			return s, fmt.Errorf("pamclient %s: %w\n%s", name, err, transcript.String())
		}
		return s, nil
	}
}

// loginRunner runs one headless login of a login_duo-style program as
// root (-c CONF, passcode from $DUO_PASSCODE, command `true`).
func (m *sideMock) loginRunner(prog string) sideRunner {
	return func() (sideSample, error) {
		ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
		defer cancel()
		report, err := m.report()
		if err != nil {
			return sideSample{}, err
		}
		defer os.Remove(report)
		cmd := exec.CommandContext(ctx, m.treeusage, report, prog, "-c", m.conf)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SSH_ORIGINAL_COMMAND=true", "DUO_PASSCODE=" + passcode}
		cmd.WaitDelay = 5 * time.Second
		var s sideSample
		start := time.Now()
		out, err := cmd.CombinedOutput()
		s.wall = msSince(start)
		if err == nil {
			err = s.usage(report)
		}
		if err != nil {
			return s, fmt.Errorf("%s: %w: %s", filepath.Base(prog), err, strings.TrimSpace(string(out)))
		}
		return s, nil
	}
}

// report makes an empty file for treeusage's figures.
func (m *sideMock) report() (string, error) {
	f, err := os.CreateTemp(m.dir, "usage-")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// usage reads treeusage's report of the process tree into s.
func (s *sideSample) usage(report string) error {
	b, err := os.ReadFile(report)
	if err != nil {
		return fmt.Errorf("treeusage report: %w", err)
	}
	var utime, stime, rss, faults, csw int64
	if _, err := fmt.Sscan(string(b), &utime, &stime, &rss, &faults, &csw); err != nil {
		return fmt.Errorf("treeusage report %q: %w", b, err)
	}
	s.cpu, s.maxRSS = float64(utime+stime)/1000, float64(rss)
	s.faults, s.csw = float64(faults), float64(csw)
	return nil
}

// sideStats is the summary of one side's logins.
type sideStats struct {
	n, failed             int
	wall, menu, cpu, rss  float64 // means (menu: over the logins that prompted)
	faults, csw           float64 // means
	reqs, handshakes, tcp float64 // per login, from the mock
}

// sideRun runs n logins (after one warm-up) and reads the mock's counters.
func sideRun(t *testing.T, m *sideMock, name string, run sideRunner, n int) sideStats {
	if _, err := run(); !assert.NoError(t, err, "%s warm-up", name) {
		return sideStats{n: n, failed: n}
	}
	m.Reset()
	var walls, menus, cpus, rsss, faults, csws []float64
	st := sideStats{n: n}
	for i := 0; i < n; i++ {
		s, err := run()
		if err != nil {
			st.failed++
			if st.failed <= 3 {
				t.Logf("%s login %d: %v", name, i+1, err)
			}
			continue
		}
		walls, cpus, rsss = append(walls, s.wall), append(cpus, s.cpu), append(rsss, s.maxRSS)
		faults, csws = append(faults, s.faults), append(csws, s.csw)
		if s.menu > 0 {
			menus = append(menus, s.menu)
		}
	}
	st.wall, st.cpu, st.rss = mean(walls), mean(cpus), mean(rsss)
	st.faults, st.csw = mean(faults), mean(csws)
	st.menu = math.NaN()
	if len(menus) > 0 {
		st.menu = mean(menus)
	}
	per := func(v int) float64 { return float64(v) / float64(n) }
	st.reqs, st.handshakes, st.tcp = per(len(m.Requests())), per(m.Handshakes()), per(m.Connections())
	return st
}

// verdict words a ratio against its target (ratio ≤ target is met).
func verdict(ratio, target float64) string {
	switch {
	case math.IsNaN(ratio):
		return "not measured"
	case ratio <= target:
		return "target met"
	}
	return "target missed"
}

func ratio(ours, theirs float64) float64 {
	if theirs == 0 {
		return math.NaN()
	}
	return ours / theirs
}

func ms0(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return ms1(v)
}

// sidePair is one comparison: our way of logging in against duo_unix's.
type sidePair struct {
	name      string
	ours      string
	theirs    string
	cpuTarget float64
	oursRun   sideRunner
	theirsRun sideRunner
}

// benchSide is measurement 5: pam_duo_go side by side with duo_unix
// 2.2.3, at 0 and 50 ms simulated round trip, then many logins at once.
func benchSide(t *testing.T, art e2e.Artifacts, tab *table) {
	n := envInt(t, "BENCH_SIDE_N", 20, 10000)
	burst := envInt(t, "BENCH_SIDE_BURST", 100, 2000)
	peer := peerModule(t)
	if peer == "" {
		tab.add("5 side by side with duo_unix 2.2.3", "-", "not measured",
			"the peer is absent: "+compat.PeerTarball+" (a clone has no ../shared/peers) or the tools to build it (bash .ci/deps)")
		t.Skip("skipping: no duo_unix peer")
	}
	loginDuo := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(peer))), "sbin", "login_duo")
	client := compat.Client(t)
	treeusage := filepath.Join(t.TempDir(), "treeusage")
	gcc := exec.Command("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", treeusage, filepath.Join(art.Root, "bench", "treeusage.c"))
	out, err := gcc.CombinedOutput()
	require.NoError(t, err, "building treeusage\n%s", out)
	pairs := func(m *sideMock) []sidePair {
		theirsPAM := m.pamRunner(t, client, "duo_unix", "auth required "+peer+" conf="+m.conf)
		ps := []sidePair{
			{name: "module in process", ours: "pam_duo_go.so (lazy core)", theirs: "pam_duo.so", cpuTarget: 1.0,
				oursRun: m.pamRunner(t, client, "lazy", art.AuthLine("required", m.conf, e2e.Modes[0])), theirsRun: theirsPAM},
			{name: "module, mode=exec", ours: "pam_duo_go.so mode=exec", theirs: "pam_duo.so", cpuTarget: 1.3,
				oursRun: m.pamRunner(t, client, "exec", art.AuthLine("required", m.conf, e2e.Modes[1])), theirsRun: theirsPAM},
		}
		if _, err := os.Stat(loginDuo); err == nil {
			ps = append(ps, sidePair{name: "login program", ours: "login_duo_go", theirs: "login_duo", cpuTarget: 1.3,
				oursRun: m.loginRunner(art.Helper), theirsRun: m.loginRunner(loginDuo)})
		} else {
			tab.add("5 login_duo_go against login_duo", "-", "not measured", "the peer build has no "+loginDuo)
		}
		return ps
	}
	benchFloor(t, art, tab, treeusage, client, n)
	base := map[string]float64{} // each pair's 0 ms wall, ours
	for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
		m := newSideMock(t, delay, treeusage)
		rtt := float64(delay.Milliseconds())
		for _, p := range pairs(m) {
			progress("side: %s, +%v, %d logins each", p.name, delay, n)
			o := sideRun(t, m, p.ours, p.oursRun, n)
			th := sideRun(t, m, p.theirs, p.theirsRun, n)
			what := fmt.Sprintf("5 %s, +%d ms RTT: %s / %s", p.name, delay.Milliseconds(), p.ours, p.theirs)
			counts := fmt.Sprintf("per login: requests %.2f / %.2f, TLS handshakes %.2f / %.2f, TCP connects %.2f / %.2f",
				o.reqs, th.reqs, o.handshakes, th.handshakes, o.tcp, th.tcp)
			if o.failed+th.failed > 0 {
				counts += fmt.Sprintf("; FAILED %d / %d", o.failed, th.failed)
			}
			tab.add(what+": wall", fmt.Sprint(n),
				fmt.Sprintf("process wall mean %s / %s ms = %.2f×; time to the menu %s / %s ms; %s",
					ms1(o.wall), ms1(th.wall), ratio(o.wall, th.wall), ms0(o.menu), ms0(th.menu), counts),
				wallNote(o.wall, base[p.name], rtt))
			if delay == 0 {
				base[p.name] = o.wall
			}
			cpuR, rssR := ratio(o.cpu, th.cpu), ratio(o.rss, th.rss)
			tab.add(what+": CPU and memory", fmt.Sprint(n),
				fmt.Sprintf("CPU (user+sys, whole process tree) mean %s / %s ms = %.2f×; peak RSS (largest process of the tree) mean %.1f / %.1f MB = %.2f×; minor page faults %.0f / %.0f; voluntary context switches %.0f / %.0f",
					ms1(o.cpu), ms1(th.cpu), cpuR, o.rss/1024, th.rss/1024, rssR, o.faults, th.faults, o.csw, th.csw),
				fmt.Sprintf("CPU target ≤ %.1f×: %s; RSS target ≤ 1.2×: %s", p.cpuTarget, verdict(cpuR, p.cpuTarget), verdict(rssR, 1.2)))
		}
		if delay == 0 {
			ps := pairs(m)
			for _, p := range ps[:2] {
				progress("side: %d at once, %s", burst, p.name)
				o := sideBurst(t, p.oursRun, burst)
				th := sideBurst(t, p.theirsRun, burst)
				r := ratio(o.p50, th.p50)
				note := "no target"
				if p.name == "module, mode=exec" {
					note = "p50 target ≤ 0.7×: " + verdict(r, 0.7)
				}
				tab.add(fmt.Sprintf("5 %d logins at once, %s, +0 ms RTT: %s / %s", burst, p.name, p.ours, p.theirs), fmt.Sprint(burst),
					fmt.Sprintf("%d / %d succeeded; process wall p50 %s / %s ms = %.2f×; p99 %s / %s ms = %.2f×; makespan %s / %s ms = %.2f×",
						o.ok, th.ok, ms1(o.p50), ms1(th.p50), r, ms1(o.p99), ms1(th.p99), ratio(o.p99, th.p99),
						ms1(o.makespan), ms1(th.makespan), ratio(o.makespan, th.makespan)),
					note)
			}
		}
	}
}

// benchFloor measures what no login can go below: starting and ending a
// process that does nothing, in C and in Go, and login_duo_go's own
// start (runtime, package init, -v). A login in mode=exec starts one Go
// process more than in process; login_duo_go starts two (itself and its
// Duo child). Then the same C PAM client as the side by side, with a C
// module that only prompts (the client's own cost, no Duo) and with
// pam_duo_go.so refusing at once for a missing config (the cost of its
// Go core, in process and exec'd, without TLS or Duo).
func benchFloor(t *testing.T, art e2e.Artifacts, tab *table, treeusage, client string, n int) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	gostart := filepath.Join(dir, "gostart")
	build := exec.Command("go", "build", "-o", gostart, "./bench/gostart")
	build.Dir = art.Root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building gostart\n%s", out)
	promptonly := filepath.Join(dir, "promptonly.so")
	gcc := exec.Command("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-o", promptonly, filepath.Join(art.Root, "bench", "promptonly.c"), "-lpam")
	out, err = gcc.CombinedOutput()
	require.NoError(t, err, "building promptonly.so\n%s", out)
	m := &sideMock{dir: dir, treeusage: treeusage}
	missing := filepath.Join(dir, "missing.conf") // never created
	stack := func(name, authLine string) []string {
		d := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, sideService), []byte(e2e.Stack(authLine)), 0o644))
		return []string{client, d, sideService, "root", passcode}
	}
	progs := []struct {
		name string
		argv []string
	}{
		{"/bin/true (C)", []string{"/bin/true"}},
		{"an empty Go program (bench/gostart)", []string{gostart}},
		{"login_duo_go -v (its start: runtime, package init)", []string{art.Helper, "-v"}},
		{"the PAM client with a C module that only prompts (bench/promptonly.c)", stack("promptonly", "auth required "+promptonly)},
		{"the PAM client, pam_duo_go.so in process refusing a missing config (the Go core's start, no Duo)",
			stack("floor-lazy", art.AuthLine("required", missing, e2e.Modes[0]))},
		{"the same, mode=exec (the worker's start, no Duo)", stack("floor-exec", art.AuthLine("required", missing, e2e.Modes[1]))},
	}
	var parts []string
	for _, p := range progs {
		var walls, cpus, rsss, faults, csws []float64
		for i := 0; i < n; i++ {
			s, err := m.run(p.argv...)
			if !assert.NoError(t, err, p.name) {
				break
			}
			walls, cpus, rsss = append(walls, s.wall), append(cpus, s.cpu), append(rsss, s.maxRSS)
			faults, csws = append(faults, s.faults), append(csws, s.csw)
		}
		parts = append(parts, fmt.Sprintf("%s: wall mean %s ms, CPU mean %s ms, peak RSS %.1f MB, %.0f minor page faults, %.0f voluntary context switches",
			p.name, ms1(mean(walls)), ms1(mean(cpus)), mean(rsss)/1024, mean(faults), mean(csws)))
	}
	tab.add("5 floor: one process started and ended", fmt.Sprint(n), strings.Join(parts, "; "),
		"mode=exec starts one Go process more than in process, login_duo_go two (itself and its Duo child): each costs at least the login_duo_go -v figure")
}

// run runs argv under treeusage, output discarded.
func (m *sideMock) run(argv ...string) (sideSample, error) {
	report, err := m.report()
	if err != nil {
		return sideSample{}, err
	}
	defer os.Remove(report)
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	var s sideSample
	start := time.Now()
	out, err := exec.CommandContext(ctx, m.treeusage, append([]string{report}, argv...)...).CombinedOutput()
	s.wall = msSince(start)
	if err == nil {
		err = s.usage(report)
	}
	if err != nil {
		return s, fmt.Errorf("%v: %w: %s", argv, err, strings.TrimSpace(string(out)))
	}
	return s, nil
}

// wallNote compares a wall time at rtt with the round-trip floor: one TLS
// handshake and two requests (preauth, auth), each delayed by the mock
// by one RTT (the mock does not delay the TCP connect; a real network
// adds one more RTT for it).
func wallNote(wall, base, rtt float64) string {
	if rtt == 0 {
		return "the cost over the network waits; ratios are ours / theirs"
	}
	floor := 3 * rtt
	r := wall / floor
	return fmt.Sprintf("floor (1 TLS handshake + 2 requests) × RTT = %s ms; ours / floor = %.2f, target ≤ 1.05: %s; (ours − ours at 0 ms) / floor = %.2f",
		ms1(floor), r, verdict(r, 1.05), (wall-base)/floor)
}

// burstStats summarises logins started together.
type burstStats struct {
	ok                 int
	p50, p99, makespan float64
}

// sideBurst starts n logins at once and waits for all of them.
func sideBurst(t *testing.T, run sideRunner, n int) burstStats {
	walls := make([]float64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			s, err := run()
			walls[i], errs[i] = s.wall, err
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	bs := burstStats{makespan: msSince(start)}
	var ok []float64
	failed := 0
	for i, err := range errs {
		if err != nil {
			if failed++; failed <= 3 {
				t.Logf("burst login %d: %v", i+1, err)
			}
			continue
		}
		ok = append(ok, walls[i])
	}
	bs.ok, bs.p50, bs.p99 = len(ok), percentile(ok, 50), percentile(ok, 99)
	return bs
}

// peerModule is compat.PeerModule, or "" when it skipped (the peer or
// its build tools are absent): the rest of the benchmark still runs.
func peerModule(t *testing.T) string {
	var path string
	t.Run("peer", func(t *testing.T) { path = compat.PeerModule(t) })
	return path
}
