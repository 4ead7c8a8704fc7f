package figures_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/require"

	"github.com/stretchr/testify/assert"
)

// passcode is the passcode the mock accepts for the benchmark's users.
const passcode = "123456"

// processTimeout bounds every process the benchmark starts.
const processTimeout = 2 * time.Minute

// Service names of the PAM stacks the benchmark writes (not sshd*: the
// module changes its prompts for sshd services).
const (
	serviceLazy = "bench-lazy"
	serviceExec = "bench-exec"
)

// tools are the benchmark's own programs, built into a test directory.
type tools struct {
	pamclient  string // bench/pamclient
	coreload   string // bench/coreload.c
	promptonly string // bench/promptonly.c, a PAM module
}

// pamResult is pamclient's JSON output.
type pamResult struct {
	Logins []struct {
		OK bool    `json:"ok"`
		Ms float64 `json:"ms"`
		Er string  `json:"err"`
	} `json:"logins"`
	RSSBeforeKB int `json:"rss_before_kb"`
	HWMBeforeKB int `json:"hwm_before_kb"`
	RSSAfterKB  int `json:"rss_after_kb"`
	HWMAfterKB  int `json:"hwm_after_kb"`
	HWMEndKB    int `json:"hwm_end_kb"`
}

// setup is a mock Duo server with a passcode user "root", a config for
// it and the PAM service files of both module modes.
type setup struct {
	art  e2e.Artifacts
	mock *duotest.Server
	dir  string // holds the config and the service files
	conf string
}

func newSetup(t *testing.T, art e2e.Artifacts, delay time.Duration) *setup {
	t.Helper()
	mock := duotest.NewServer(duotest.WithDelay(delay))
	t.Cleanup(mock.Close)
	mock.AddUser(duotest.User{Name: "root", Passcodes: []string{passcode}, Push: duotest.PushApproved()})
	dir := t.TempDir()
	conf := filepath.Join(dir, "pam_duo.conf")
	require.NoError(t, mock.WriteConfig(conf, map[string]string{"accept_env_factor": "yes", "https_timeout": "60"}))
	for service, mode := range map[string]e2e.Mode{serviceLazy: e2e.Modes[0], serviceExec: e2e.Modes[1]} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, service), []byte(e2e.Stack(art.AuthLine("required", conf, mode))), 0o644))
	}
	return &setup{art: art, mock: mock, dir: dir, conf: conf}
}

// pamLogin runs pamclient for n logins in one new process and returns the
// process's wall time (start to exit) and its report.
func (s *setup) pamLogin(tl tools, service string, n int) (float64, pamResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.pamclient, "-dir", s.dir, "-service", service, "-user", "root", "-answer", passcode, "-n", fmt.Sprint(n))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := msSince(start)
	var res pamResult
	if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
		return wall, res, fmt.Errorf("pamclient: %v (%v) %s", err, jerr, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		msg := ""
		for _, l := range res.Logins {
			if l.Er != "" {
				msg = l.Er
			}
		}
		return wall, res, fmt.Errorf("pamclient: %w: %s", err, msg)
	}
	return wall, res, nil
}

// helperLogin runs one headless login_duo_go login-mode login (passcode
// from $DUO_PASSCODE, command `true`) and returns its wall time.
func (s *setup) helperLogin() (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.art.Helper, "-c", s.conf)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SSH_ORIGINAL_COMMAND=true", "DUO_PASSCODE=" + passcode}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := msSince(start)
	if err != nil {
		return wall, fmt.Errorf("login_duo_go: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return wall, nil
}

// loginKind is one of the three ways a passcode login is run.
type loginKind struct {
	name    string
	service string // PAM service; "" = login_duo_go login mode
}

var loginKinds = []loginKind{
	{"(a) module, lazy core", serviceLazy},
	{"(b) module, mode=exec", serviceExec},
	{"(c) login_duo_go login mode", ""},
}

// run runs one login of kind k in a new process: its process wall time,
// its PAM transaction time (pam_start to pam_end; the wall time for
// login_duo_go) and its peak RSS in kB (0 when unknown).
func (s *setup) run(tl tools, k loginKind) (wall, login float64, hwm int, err error) {
	if k.service == "" {
		wall, err = s.helperLogin()
		return wall, wall, 0, err
	}
	wall, res, err := s.pamLogin(tl, k.service, 1)
	if len(res.Logins) > 0 {
		login = res.Logins[0].Ms
	}
	return wall, login, res.HWMEndKB, err
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// TestBench measures the module, its core and login_duo_go against the
// mock Duo server and through a real sshd, and prints one table. It
// asserts nothing about the figures; it fails only when it cannot run.
func TestBench(t *testing.T) {
	if os.Getenv("PAM_DUO_GO_BENCH") != "1" {
		t.Skip("skipping: a benchmark that takes minutes and prints figures; set PAM_DUO_GO_BENCH=1 or run `make bench`")
	}
	e2e.RequireRoot(t)
	if _, err := os.Stat("/usr/include/security/pam_modules.h"); err != nil {
		t.Skip("skipping: the PAM headers are missing (run bash .ci/deps)")
	}
	art := e2e.BuildArtifacts(t)
	tl := buildTools(t, art.Root)
	tab := &table{}
	start := time.Now()
	defer func() {
		tab.add("total benchmark time", "-", fmt.Sprintf("%.0f s", time.Since(start).Seconds()),
			fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), runtime.Version()))
		fmt.Println()
		fmt.Print(tab.markdown())
	}()
	parts := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"per-login", func(t *testing.T) { benchPerLogin(t, art, tl, tab) }},
		{"host", func(t *testing.T) { benchHost(t, art, tl, tab) }},
		{"sshd", func(t *testing.T) { benchSshd(t, art, tl, tab) }},
		{"burst", func(t *testing.T) { benchBurst(t, art, tl, tab) }},
		{"soak", func(t *testing.T) { benchSoak(t, art, tl, tab) }},
		{"side", func(t *testing.T) { benchSide(t, art, tab) }},
	}
	only := strings.Fields(strings.ReplaceAll(os.Getenv("BENCH_PARTS"), ",", " "))
	for _, p := range parts {
		if len(only) == 0 || slices.Contains(only, p.name) {
			t.Run(p.name, p.run)
		}
	}
}

// buildTools builds pamclient, coreload and promptonly.so.
func buildTools(t *testing.T, root string) tools {
	t.Helper()
	gcc := e2e.RequireBinary(t, "gcc")
	goBin := e2e.RequireBinary(t, "go")
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	tl := tools{
		pamclient:  filepath.Join(dir, "pamclient"),
		coreload:   filepath.Join(dir, "coreload"),
		promptonly: filepath.Join(dir, "promptonly.so"),
	}
	steps := [][]string{
		{goBin, "build", "-o", tl.pamclient, "./bench/pamclient"},
		{gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", tl.coreload, "bench/coreload.c", "-ldl"},
		{gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-o", tl.promptonly, "bench/promptonly.c", "-lpam"},
	}
	for _, argv := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		cancel()
		require.NoError(t, err, "%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return tl
}

// benchPerLogin is measurement 1: the cost of one passcode login in each
// of the three ways, at 0 and 50 ms added per request.
func benchPerLogin(t *testing.T, art e2e.Artifacts, tl tools, tab *table) {
	n := envInt(t, "BENCH_N", 20, 10000)
	base := map[string]float64{} // the 0 ms figure of each kind
	for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
		s := newSetup(t, art, delay)
		for _, k := range loginKinds {
			progress("per-login: %s, +%v, %d logins", k.name, delay, n)
			if _, _, _, err := s.run(tl, k); !assert.NoError(t, err, "%s warm-up", k.name) { // warm-up: page cache, first TLS session
				continue
			}
			s.mock.Reset()
			var walls, logins []float64
			failed := 0
			for i := 0; i < n; i++ {
				wall, login, _, err := s.run(tl, k)
				if err != nil {
					failed++
					t.Logf("%s login %d: %v", k.name, i+1, err)
					continue
				}
				walls = append(walls, wall)
				logins = append(logins, login)
			}
			per := func(v int) float64 { return float64(v) / float64(n) }
			conns, hs, reqs := per(s.mock.Connections()), per(s.mock.Handshakes()), per(len(s.mock.Requests()))
			figures := fmt.Sprintf("process wall mean %s ms, p50 %s ms", ms1(mean(walls)), ms1(percentile(walls, 50)))
			measured := mean(walls)
			if k.service != "" {
				figures += fmt.Sprintf("; pam_start..pam_end mean %s ms, p50 %s ms", ms1(mean(logins)), ms1(percentile(logins, 50)))
				measured = mean(logins)
			}
			figures += fmt.Sprintf("; per login %.2f TCP connects, %.2f TLS handshakes, %.2f HTTP requests", conns, hs, reqs)
			if failed > 0 {
				figures += fmt.Sprintf("; %d FAILED", failed)
			}
			note := "target 1 handshake, 2 requests"
			if delay > 0 {
				expected := (hs + reqs) * float64(delay.Milliseconds())
				what := "pam_start..pam_end"
				if k.service == "" {
					what = "process wall"
				}
				note += fmt.Sprintf("; expected (hs+req)×RTT = %s ms (the mock delays each TLS handshake and each answer by the RTT), mean %s / expected = %.2f (target 0.90–1.10); time added over the 0 ms run / expected = %.2f",
					ms1(expected), what, measured/expected, (measured-base[k.name])/expected)
			} else {
				base[k.name] = measured
			}
			tab.add(fmt.Sprintf("1%s: passcode login, mock +%d ms RTT (handshake and requests)", k.name, delay.Milliseconds()), fmt.Sprint(n), figures, note)
		}
	}
}

// benchHost is measurement 2: the memory and first-use time the module
// costs its host process.
func benchHost(t *testing.T, art e2e.Artifacts, tl tools, tab *table) {
	const runs, perRun = 5, 6
	s := newSetup(t, art, 0)
	for _, k := range loginKinds[:2] {
		progress("host: %s, %d processes of %d logins", k.name, runs, perRun)
		var rss, hwm, firstCost, first, later []float64
		for i := 0; i < runs; i++ {
			_, res, err := s.pamLogin(tl, k.service, perRun)
			if !assert.NoError(t, err, k.name) {
				continue
			}
			rss = append(rss, float64(res.RSSAfterKB-res.RSSBeforeKB))
			hwm = append(hwm, float64(res.HWMEndKB-res.HWMBeforeKB))
			var rest []float64
			for _, l := range res.Logins[1:] {
				rest = append(rest, l.Ms)
			}
			first = append(first, res.Logins[0].Ms)
			later = append(later, rest...)
			firstCost = append(firstCost, res.Logins[0].Ms-percentile(rest, 50))
		}
		tab.add(fmt.Sprintf("2%s: host memory (pamclient VmRSS before pam_start → after 1st login)", k.name),
			fmt.Sprintf("%d processes", runs),
			fmt.Sprintf("+%.1f MB RSS (median), VmHWM +%.1f MB by the %dth login", percentile(rss, 50)/1024, percentile(hwm, 50)/1024, perRun),
			"the host is a Go program (pamclient); its own runtime is in the 'before' figure")
		note := "first login minus the median of the later ones in the same process"
		if k.service == serviceLazy {
			note += ": dlopen of the core, Go runtime start, first TLS setup"
		} else {
			note += ": mode=exec forks a worker per login, so little is cached"
		}
		tab.add(fmt.Sprintf("2%s: first-use cost", k.name),
			fmt.Sprintf("%d×%d logins", runs, perRun),
			fmt.Sprintf("first login p50 %s ms, later logins p50 %s ms, difference p50 %s ms", ms1(percentile(first, 50)), ms1(percentile(later, 50)), ms1(percentile(firstCost, 50))),
			note)
	}
	progress("host: coreload, %d runs", runs)
	var load, rss []float64
	for i := 0; i < runs; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
		out, err := exec.CommandContext(ctx, tl.coreload, art.Core).Output()
		cancel()
		var r struct {
			DlopenMs    float64 `json:"dlopen_ms"`
			DlsymMs     float64 `json:"dlsym_ms"`
			RSSBeforeKB int     `json:"rss_before_kb"`
			RSSAfterKB  int     `json:"rss_after_kb"`
		}
		if err == nil {
			err = json.Unmarshal(out, &r)
		}
		if !assert.NoError(t, err, "coreload") {
			continue
		}
		load = append(load, r.DlopenMs+r.DlsymMs)
		rss = append(rss, float64(r.RSSAfterKB-r.RSSBeforeKB))
	}
	tab.add("2 Go core load in a C process (coreload.c: dlopen + dlsym pam_duo_go_core_authenticate_v2)", fmt.Sprint(runs),
		fmt.Sprintf("p50 %s ms (max %s ms), RSS +%.1f MB (p50)", ms1(percentile(load, 50)), ms1(percentile(load, 100)), percentile(rss, 50)/1024),
		"load only (Go runtime init included), no login")
}

// benchSshd is measurement 3: an ssh keyboard-interactive login through a
// real sshd with pam_duo_go against one with a module that only prompts.
func benchSshd(t *testing.T, art e2e.Artifacts, tl tools, tab *table) {
	n := envInt(t, "BENCH_SSHD_N", 20, 1000)
	for _, bin := range []string{"/usr/sbin/sshd", "/usr/bin/ssh", "unshare", "useradd"} {
		if _, err := exec.LookPath(bin); err != nil {
			tab.add("3 sshd login", "-", "not measured", bin+" is missing (run bash .ci/deps)")
			t.Skipf("skipping: %s is missing", bin)
		}
	}
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	u := e2e.CreateUser(t, "bench", "Pw-"+hex.EncodeToString(b))
	s := newSetup(t, art, 0)
	s.mock.AddUser(duotest.User{Name: u.Name, Passcodes: []string{passcode}, Push: duotest.PushApproved()})
	type stack struct {
		name    string
		pam     string
		respond func() e2e.Responder
		srv     *e2e.Sshd
		walls   []float64
		failed  int
	}
	stacks := []*stack{
		{name: "(b) promptonly.so (baseline)", pam: e2e.Stack("auth required " + tl.promptonly),
			respond: func() e2e.Responder { return e2e.Answers("x") }},
		{name: "(a) pam_duo_go, lazy core", pam: e2e.Stack(art.AuthLine("required", s.conf, e2e.Modes[0])),
			respond: func() e2e.Responder { return e2e.DuoAnswers(passcode) }},
		{name: "(a') pam_duo_go, mode=exec", pam: e2e.Stack(art.AuthLine("required", s.conf, e2e.Modes[1])),
			respond: func() e2e.Responder { return e2e.DuoAnswers(passcode) }},
	}
	for _, st := range stacks {
		st.srv = e2e.StartSshd(t, e2e.SshdOptions{PAMStack: st.pam})
	}
	login := func(st *stack) (float64, error) {
		start := time.Now()
		res, err := e2e.RunTerminal(context.Background(), e2e.Terminal{
			Argv:    e2e.SSHArgv(e2e.SSHOptions{Port: st.srv.Port, User: u.Name}),
			Respond: st.respond(),
			Timeout: time.Minute,
			Quiet:   30 * time.Millisecond,
		})
		wall := msSince(start)
		if err == nil {
			sr := &e2e.SSHResult{TerminalResult: res, User: u.Name}
			if !sr.LoggedIn() {
				err = fmt.Errorf("not logged in:\n%s", sr.Summary())
			}
		}
		return wall, err
	}
	progress("sshd: %d logins per stack, interleaved", n)
	for i := -1; i < n; i++ { // i == -1: warm-up
		for _, st := range stacks {
			if i == 0 && st == stacks[1] {
				s.mock.Reset()
			}
			wall, err := login(st)
			if err != nil {
				st.failed++
				t.Logf("%s login %d: %v", st.name, i+1, err)
				continue
			}
			if i >= 0 {
				st.walls = append(st.walls, wall)
			}
		}
	}
	base := percentile(stacks[0].walls, 50)
	for i, st := range stacks {
		figures := fmt.Sprintf("median %s ms (mean %s, p90 %s)", ms1(percentile(st.walls, 50)), ms1(mean(st.walls)), ms1(percentile(st.walls, 90)))
		note := "whole ssh client run: connect, kex, keyboard-interactive, `echo`; prompts answered after 30 ms of quiet output"
		if i > 0 {
			figures += fmt.Sprintf("; added vs baseline %s ms", ms1(percentile(st.walls, 50)-base))
			note = "against the mock at +0 ms"
		}
		if i == 1 {
			duoLogins := float64(len(stacks[1].walls) + len(stacks[2].walls))
			note += fmt.Sprintf("; mock per Duo login (lazy and exec together): %.2f TLS handshakes, %.2f requests",
				float64(s.mock.Handshakes())/duoLogins, float64(len(s.mock.Requests()))/duoLogins)
		}
		if st.failed > 0 {
			figures += fmt.Sprintf("; %d FAILED", st.failed)
		}
		tab.add("3"+st.name+": ssh login through sshd", fmt.Sprint(len(st.walls)), figures, note)
	}
}

// sampler records the peak heap and goroutine count of this process (the
// mock's) while a run lasts.
type sampler struct {
	stop       chan struct{}
	done       chan struct{}
	heap       uint64 // peak HeapInuse, bytes
	goroutines int
}

func startSampler() *sampler {
	sm := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sm.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			sm.heap = max(sm.heap, m.HeapInuse)
			sm.goroutines = max(sm.goroutines, runtime.NumGoroutine())
			select {
			case <-sm.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return sm
}

func (sm *sampler) finish() { close(sm.stop); <-sm.done }

// benchBurst is the first half of measurement 4: many logins at once,
// each in its own PAM client process.
func benchBurst(t *testing.T, art e2e.Artifacts, tl tools, tab *table) {
	n := envInt(t, "BENCH_BURST", 200, 2000)
	s := newSetup(t, art, 0)
	_, _, _, err := s.run(tl, loginKinds[0])
	require.NoError(t, err, "warm-up")
	s.mock.Reset()
	progress("burst: %d logins at once (lazy core)", n)
	type result struct {
		wall, login float64
		hwm         int
		err         error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	sm := startSampler()
	start := time.Now()
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			r := &results[i]
			r.wall, r.login, r.hwm, r.err = s.run(tl, loginKinds[0])
		}()
	}
	close(gate)
	wg.Wait()
	elapsed := time.Since(start)
	sm.finish()
	var walls, logins []float64
	var hwms []float64
	ok := 0
	for i, r := range results {
		if r.err != nil {
			if i < 3 {
				t.Logf("burst login %d: %v", i+1, r.err)
			}
			continue
		}
		ok++
		walls = append(walls, r.wall)
		logins = append(logins, r.login)
		hwms = append(hwms, float64(r.hwm))
	}
	tab.add("4 burst: logins started together through the module (lazy core), one PAM client process each", fmt.Sprint(n),
		fmt.Sprintf("%d/%d succeeded in %.1f s; process wall p50 %s ms, p99 %s ms; pam_start..pam_end p50 %s ms, p99 %s ms",
			ok, n, elapsed.Seconds(), ms1(percentile(walls, 50)), ms1(percentile(walls, 99)), ms1(percentile(logins, 50)), ms1(percentile(logins, 99))),
		fmt.Sprintf("mock saw %d TCP connects, %d TLS handshakes, %d requests", s.mock.Connections(), s.mock.Handshakes(), len(s.mock.Requests())))
	self := procStatus("self", "VmHWM")
	tab.add("4 burst: memory", fmt.Sprint(n),
		fmt.Sprintf("one client peak RSS p50 %.1f MB, max %.1f MB; mock: peak heap in use %.1f MB, peak goroutines %d",
			percentile(hwms, 50)/1024, percentile(hwms, 100)/1024, float64(sm.heap)/(1<<20), sm.goroutines),
		fmt.Sprintf("the mock runs in the benchmark process (sampled every 50 ms); that whole process's VmHWM so far: %.1f MB", float64(self["VmHWM"])/1024))
}

// idle is a snapshot of the mock process between runs.
type idle struct {
	fds, goroutines int
	heap            uint64 // HeapInuse after a GC
}

func snapshot() idle {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return idle{fds: openFDs(), goroutines: runtime.NumGoroutine(), heap: m.HeapInuse}
}

// benchSoak is the second half of measurement 4: a sustained run of
// logins by parallel workers, each login a new process, rotating through
// the three kinds of login.
func benchSoak(t *testing.T, art e2e.Artifacts, tl tools, tab *table) {
	n := envInt(t, "BENCH_SOAK", 5000, 1000000)
	workers := envInt(t, "BENCH_WORKERS", 20, 1000)
	s := newSetup(t, art, 0)
	for _, k := range loginKinds {
		_, _, _, err := s.run(tl, k)
		require.NoError(t, err, "warm-up %s", k.name)
	}
	settle(0)
	s.mock.Reset()
	before := snapshot()
	progress("soak: %d logins, %d workers, rotating lazy / exec / login_duo_go", n, workers)
	type tally struct {
		ok, failed int
		walls      []float64
	}
	tallies := make([]tally, len(loginKinds))
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				k := i % len(loginKinds)
				wall, _, _, err := s.run(tl, loginKinds[k])
				mu.Lock()
				if err != nil {
					tallies[k].failed++
					if tallies[k].failed <= 3 {
						t.Logf("soak %s: %v", loginKinds[k].name, err)
					}
				} else {
					tallies[k].ok++
					tallies[k].walls = append(tallies[k].walls, wall)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
		if i > 0 && i%1000 == 0 {
			progress("soak: %d of %d started", i, n)
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	requests, conns := len(s.mock.Requests()), s.mock.Connections()
	settle(before.goroutines)
	s.mock.Reset() // the request log is the mock's only intended growth
	after := snapshot()
	leftover := processesRunning(art.Helper, tl.pamclient)

	okAll := 0
	var parts []string
	for k, tl := range tallies {
		okAll += tl.ok
		parts = append(parts, fmt.Sprintf("%s %d ok / %d failed, p50 %s ms, p99 %s ms", loginKinds[k].name[:3], tl.ok, tl.failed, ms1(percentile(tl.walls, 50)), ms1(percentile(tl.walls, 99))))
	}
	tab.add(fmt.Sprintf("4 soak: sustained logins, %d workers, each login a new process", workers), fmt.Sprint(n),
		fmt.Sprintf("%d/%d succeeded in %.0f s (%.0f logins/s); process wall: %s", okAll, n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), strings.Join(parts, "; ")),
		fmt.Sprintf("rotating (a) lazy core, (b) mode=exec, (c) login_duo_go; mock saw %d TCP connects, %d requests", conns, requests))
	tab.add("4 soak: mock process before → after", fmt.Sprint(n),
		fmt.Sprintf("open fds %d → %d; goroutines %d → %d; heap in use after GC %.1f → %.1f MB", before.fds, after.fds, before.goroutines, after.goroutines, float64(before.heap)/(1<<20), float64(after.heap)/(1<<20)),
		"after: request log cleared (Reset), idle connections given up to 5 s to close")
	tab.add("4 soak: leftover processes", fmt.Sprint(n),
		fmt.Sprintf("%d login_duo_go / pamclient processes still running", leftover),
		"login_duo_go and pam-worker fds are per process: a leftover process would be the leak")
}

// settle waits (at most 5 s) for this process's goroutines to drop to
// target, e.g. for the mock's connection goroutines to end after their
// clients exited.
func settle(target int) {
	deadline := time.Now().Add(5 * time.Second)
	last, stable := -1, 0
	for time.Now().Before(deadline) {
		g := runtime.NumGoroutine()
		if g <= target && target > 0 {
			return
		}
		if g == last {
			stable++
			if stable >= 5 && target == 0 {
				return
			}
		} else {
			stable = 0
		}
		last = g
		time.Sleep(100 * time.Millisecond)
	}
}
