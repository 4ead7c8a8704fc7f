#!/usr/bin/env bash
# Runs the README's first command, exactly as written, on a fresh Debian
# root: debootstrap SUITE, plus `apt-get install gcc` and Go at
# /usr/local/go (the README's precondition), with the repository cloned
# into it. Used by test/fresh (go test ./test/fresh/); run as root.
#
#   fresh-root.sh REPO          clone REPO (its HEAD) and run the command
#   fresh-root.sh --print-mirror
#   fresh-root.sh --print-key   the cache key of this machine
#   fresh-root.sh --cache-status  whether the cached root is usable (exit 0)
#
# The debootstrap result (with gcc) is cached as a tarball under
# FRESH_CACHE (default /var/cache/pam_duo_go), keyed by suite and
# architecture; a cache whose key, age or checksum does not match is
# rebuilt. apt's downloaded .debs and Go's module and build caches are
# kept there too, so a warm run downloads little. Everything happens in
# private mount and pid namespaces: the mounts vanish with them, and every
# process started inside (a daemon a postinst starts, say) dies when this
# script ends. `rm -rf FRESH_CACHE` makes the next run cold.
set -euo pipefail

suite=${FRESH_SUITE:-bookworm}
cache=${FRESH_CACHE:-/var/cache/pam_duo_go}
max_age_days=${FRESH_CACHE_DAYS:-30}
command='bash .ci/deps && make demo'
# Bump when the way the cached root is made changes.
layout=1

# mirror prints the URI apt on this machine uses for $suite (one-line or
# deb822 sources).
mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$suite" '$1 == "deb" { l = $0; gsub(/\[[^]]*\]/, "", l); split(l, a, " "); if (a[3] == s) { print a[2]; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$suite" '
			function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1 } types = suites = uris = "" }
			/^[ \t]*$/ { flush(); if (found) exit; next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			END { if (!found) flush() }' "$f"
	done | head -n 1
}

if [ "${1:-}" = --print-mirror ]; then
	m=$(mirror)
	[ -n "$m" ] || { echo "fresh-root: apt has no source for $suite" >&2; exit 1; }
	echo "$m"
	exit 0
fi

[ $# -eq 1 ] || { echo "usage: $0 REPO | --print-mirror | --print-key | --cache-status" >&2; exit 2; }
arch=$(dpkg --print-architecture)
mirror=$(mirror)
[ -n "$mirror" ] || { echo "fresh-root: apt has no source for $suite" >&2; exit 1; }
tarball=$cache/root-$suite-$arch.tar.gz
key="layout=$layout suite=$suite arch=$arch mirror=$mirror"

# cache_ok says whether the cached root can be used, and if not, why.
cache_ok() {
	[ -s "$tarball" ] && [ -s "$tarball.key" ] && [ -s "$tarball.sha256" ] || { echo "fresh-root: no cached root"; return 1; }
	[ "$(cat "$tarball.key")" = "$key" ] || { echo "fresh-root: cached root has another key; rebuilding"; return 1; }
	[ -z "$(find "$tarball" -mtime +"$max_age_days")" ] || { echo "fresh-root: cached root is older than $max_age_days days; rebuilding"; return 1; }
	(cd "$cache" && sha256sum --quiet -c "$tarball.sha256" >/dev/null 2>&1) || { echo "fresh-root: cached root is damaged; rebuilding"; return 1; }
}

case $1 in
--print-key) echo "$key"; exit 0 ;;
--cache-status) cache_ok && echo "fresh-root: cached root ok"; exit ;;
esac

[ "$(id -u)" -eq 0 ] || { echo "fresh-root: run as root" >&2; exit 1; }
repo=$(cd "$1" && pwd)
[ -x /usr/local/go/bin/go ] || { echo "fresh-root: no Go at /usr/local/go" >&2; exit 1; }

mkdir -p "$cache"
chmod 0700 "$cache"
exec 9>"$cache/fresh-root.lock"
flock -w 1800 9 || { echo "fresh-root: $cache is locked by another run" >&2; exit 1; }

now() { date +%s; }
t0=$(now)
work=$(mktemp -d /var/tmp/pam_duo_go-fresh.XXXXXX)
cleanup() {
	# Mounts live in the private namespace and are gone with it; this
	# only removes files (never across a mount point: -xdev style).
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# In the namespaces below: the root's own /proc, a minimal /dev, its own
# /run and /tmp, the host's DNS settings (root-mounts.sh), the caches
# bound in, and no service may start.
# $1 = root directory; the rest is the command to run in it.
. "$(cd "$(dirname "$0")" && pwd)/root-mounts.sh"
enter_root=$root_mounts'
for d in apt-archives:var/cache/apt/archives go-mod:root/go/pkg/mod go-build:root/.cache/go-build; do
	src=${d%%:*} dst=$r/${d#*:}
	mkdir -p "$CACHE/$src" "$dst"
	mount --bind "$CACHE/$src" "$dst"
done
exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
'
in_root() {
	CACHE=$cache unshare --mount --propagation private --pid --fork --kill-child \
		bash -c "$enter_root" enter-root "$@" </dev/null
}

if ! cache_ok; then
	echo "fresh-root: building $suite/$arch from $mirror (cold; a few minutes)"
	rm -f "$tarball" "$tarball.key" "$tarball.sha256"
	rm -rf "$cache/apt-archives" "$cache/go-mod" "$cache/go-build"
	b0=$(now)
	unshare --mount --propagation private --pid --fork --kill-child \
		debootstrap --arch="$arch" "$suite" "$work/new" "$mirror" >"$work/debootstrap.log" 2>&1 </dev/null || {
		tail -n 30 "$work/debootstrap.log" "$work/new/debootstrap/debootstrap.log" 2>/dev/null
		echo "fresh-root: debootstrap failed" >&2
		exit 1
	}
	# A root that is a machine's, not a build's: no service starts from a
	# maintainer script (it would run on this host's network).
	printf '#!/bin/sh\nexit 101\n' >"$work/new/usr/sbin/policy-rc.d"
	chmod 0755 "$work/new/usr/sbin/policy-rc.d"
	in_root "$work/new" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq gcc' >"$work/gcc.log" 2>&1 || {
		tail -n 30 "$work/gcc.log"
		echo "fresh-root: apt-get install gcc failed in the new root" >&2
		exit 1
	}
	rm -rf "$work/new/var/lib/apt/lists/"* "$work/new/var/cache/apt/archives/"*.deb
	tar -C "$work/new" --numeric-owner -czf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	(cd "$cache" && sha256sum "$(basename "$tarball")") >"$tarball.sha256"
	echo "$key" >"$tarball.key"
	echo "fresh-root: cached $tarball ($(du -h "$tarball" | cut -f1)) in $(($(now) - b0)) s"
else
	echo "fresh-root: using cached $tarball"
fi

x0=$(now)
mkdir "$work/root"
tar -C "$work/root" --numeric-owner -xzf "$tarball"
cp -a /usr/local/go "$work/root/usr/local/go"
# The package registries (Debian's archive, the Go module proxy) may sit
# behind this machine's own CAs: the root trusts them too.
if [ -d /usr/local/share/ca-certificates ]; then
	cp -a /usr/local/share/ca-certificates/. "$work/root/usr/local/share/ca-certificates/"
fi
git clone -q "$repo" "$work/root/root/pam_duo_go"
commit=$(git -C "$work/root/root/pam_duo_go" rev-parse --short HEAD)
echo "fresh-root: root ready in $(($(now) - x0)) s; testing commit $commit"

r0=$(now)
set +e
in_root "$work/root" bash -c '
	if command -v update-ca-certificates >/dev/null; then update-ca-certificates >/dev/null; fi
	cd /root/pam_duo_go && echo "# $0" && eval "$0"' "$command" >"$work/run.log" 2>&1
rc=$?
set -e
r1=$(now)
cp "$work/run.log" "$cache/last-run.log"
echo "----- output (tail; whole log: $cache/last-run.log) -----"
tail -n 60 "$work/run.log"
echo "-----"
echo "fresh-root: '$command' exited $rc after $((r1 - r0)) s"
if [ "$rc" -eq 0 ]; then
	# `make deb` (README, "Use it") needs the build dependencies too.
	in_root "$work/root" sh -c 'cd /root/pam_duo_go && dpkg-checkbuilddeps && echo "dpkg-checkbuilddeps: ok"' || rc=$?
fi
echo "fresh-root: total $(($(now) - t0)) s"
exit "$rc"
