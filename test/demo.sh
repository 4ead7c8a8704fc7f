#!/usr/bin/env bash
# The README demo: start the mock Duo server on loopback and log in through
# the built pam_duo_go.so with real libpam (pamtester), showing the menu, a
# push with its live status, a passcode login and a denied push.
# Run as root after `make build` (make demo does both).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

for f in build/pam_duo_go.so build/pam_duo_go_core.so build/duotest; do
	[ -e "$f" ] || { echo "demo: $f is missing; run make build" >&2; exit 1; }
done
command -v pamtester >/dev/null || { echo "demo: pamtester is missing; run bash .ci/deps" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (pamtester reads /etc/pam.d)" >&2; exit 1; }

tmp=$(mktemp -d)
service=pam_duo_go_demo_$$
cleanup() {
	[ -n "${duo_pid:-}" ] && kill "$duo_pid" 2>/dev/null && wait "$duo_pid" 2>/dev/null
	rm -f "/etc/pam.d/$service"
	rm -rf "$tmp"
}
trap cleanup EXIT

build/duotest -listen 127.0.0.1:0 -write-conf "$tmp/pam_duo.conf" >"$tmp/duotest.out" 2>&1 &
duo_pid=$!
for _ in $(seq 50); do grep -q listening "$tmp/duotest.out" 2>/dev/null && break; sleep 0.1; done
cat "$tmp/duotest.out"

cat >"/etc/pam.d/$service" <<PAM
auth required $root/build/pam_duo_go.so conf=$tmp/pam_duo.conf core=$root/build/pam_duo_go_core.so
PAM

login() { # title, user, answers...
	local title=$1 user=$2; shift 2
	printf '\n=== %s ===\n$ pamtester %s %s authenticate\n' "$title" "$service" "$user"
	if printf '%s\n' "$@" | timeout 60 pamtester "$service" "$user" authenticate; then
		echo "--> login allowed"
	else
		echo "--> login refused"
	fi
}

login "Push (Enter picks the default), live status while it is pending" root ""
login "Passcode" root 123456
login "Wrong passcode three times" root 000000 111111 222222
echo
echo "syslog lines went to LOG_AUTHPRIV (journalctl -t pam_duo_go, or /var/log/auth.log)."
