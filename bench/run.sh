#!/usr/bin/env bash
# Builds pam_duo_go and the benchmark's programs, runs every measurement
# (bench/figures TestBench) and prints one markdown table of figures on
# stdout; progress goes to stderr. Nothing is asserted. Run as root on a
# machine prepared with `bash .ci/deps`.
#
# Sizes (defaults): BENCH_N=20 logins per mode and delay, BENCH_SSHD_N=20
# ssh logins per stack, BENCH_BURST=200 simultaneous logins,
# BENCH_SOAK=5000 logins of the sustained run, BENCH_WORKERS=20 workers,
# BENCH_SIDE_N=20 logins per side and delay against duo_unix 2.2.3,
# BENCH_SIDE_BURST=100 of them at once. BENCH_PARTS (e.g. "side") runs only
# the named parts: per-login, host, sshd, burst, soak, side.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
GO="${GO:-go}"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/run.sh: run as root (the module logs in local users, sshd needs root)" >&2
	exit 1
fi

make build >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$GO" test -c -o "$tmp/figures.test" ./bench/figures >&2

# The test binary runs in its package directory, as `go test` would run it.
cd bench/figures
PAM_DUO_GO_BENCH=1 "$tmp/figures.test" -test.run '^TestBench$' -test.count 1 -test.timeout 30m | grep -v '^PASS$'
