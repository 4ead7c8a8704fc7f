// Package figures holds pam_duo_go's benchmarks. Nothing in it is a
// check: every figure is printed, none is asserted.
//
//   - Go benchmarks (go test -run - -bench . ./bench/figures) of request
//     signing and of a whole passcode login through one duo.Client
//     against the mock.
//   - TestBench (run by `make bench` or bench/run.sh, or by go test with
//     PAM_DUO_GO_BENCH=1; skipped otherwise) drives the built module, its
//     Go core and login_duo_go against the mock Duo server, every login in
//     its own process (bench/pamclient), and logs in through a real sshd,
//     then prints one markdown table of measured figures on stdout. It
//     also builds and runs bench/coreload.c (the cost of loading the Go
//     core into a C process) and bench/promptonly.c (the baseline PAM
//     module of the sshd figures).
//   - Its part "side" runs duo_unix 2.2.3 (pam_duo.so and login_duo, built
//     by test/compat from ../shared/peers; the rows say so when it is
//     absent) and ours through the same mock, config and C PAM client,
//     and prints ours/theirs ratios, each row with its target and
//     "target met" or "target missed". CPU and peak RSS are the whole
//     process tree's, from bench/treeusage.c; bench/gostart is the empty
//     Go program of the start-up floor.
//
// Sizes are set by environment variables (defaults in brackets):
// BENCH_N [20] logins per mode and delay, BENCH_SSHD_N [20] ssh logins
// per stack, BENCH_BURST [200] simultaneous logins, BENCH_SOAK [5000]
// logins of the sustained run, BENCH_WORKERS [20] its parallel workers,
// BENCH_SIDE_N [20] logins per side and delay against duo_unix,
// BENCH_SIDE_BURST [100] of them at once. BENCH_PARTS (space or comma
// separated: per-login, host, sshd, burst, soak, side) runs only those.
package figures
