#!/usr/bin/env bash
# The throwaway Debian 12 root test/ansible configures with the role.
#
#   root.sh make DIR    copy the cached root into DIR (building the cache
#                       first when it is missing or stale)
#   root.sh run DIR CMD...
#                       run CMD (on the host) in a private mount and pid
#                       namespace in which DIR has its own /proc, /dev,
#                       /run and /tmp; CMD reaches DIR with chroot(8)
#
# The cache is test/fresh's debootstrap root (fresh-root.sh, under
# FRESH_CACHE) plus python3 (Ansible's modules), python3-apt, sudo,
# openssh-server and pamtester, kept as a directory beside it and keyed by
# the base root's checksum. Run as root. Nothing is mounted outside the
# private namespaces.
set -euo pipefail

cache=${FRESH_CACHE:-/var/cache/pam_duo_go}
here=$(cd "$(dirname "$0")" && pwd)
fresh=$here/../fresh/fresh-root.sh
packages='python3 python3-apt sudo openssh-server pamtester'
layout=1
arch=$(dpkg --print-architecture)
base=$cache/root-bookworm-$arch.tar.gz
dir=$cache/ansible-root-bookworm-$arch

# enter_root gives $1 its own /proc, /dev, /run and /tmp, trusts the host's
# CAs and DNS settings (test/fresh/root-mounts.sh), adds /run/sshd, then
# runs the rest of the arguments.
. "$here/../fresh/root-mounts.sh"
enter_root=$root_mounts'
mkdir -p "$r/run/sshd"
exec "$@"
'
run_in() {
	unshare --mount --propagation private --pid --fork --kill-child \
		bash -c "$enter_root" enter-root "$@"
}

case ${1:-} in
run)
	[ $# -ge 3 ] || { echo "usage: $0 run DIR CMD..." >&2; exit 2; }
	shift
	run_in "$@"
	exit
	;;
make)
	[ $# -eq 2 ] || { echo "usage: $0 make DIR" >&2; exit 2; }
	target=$2
	;;
*)
	echo "usage: $0 make DIR | run DIR CMD..." >&2
	exit 2
	;;
esac

[ "$(id -u)" -eq 0 ] || { echo "root.sh: run as root" >&2; exit 1; }
FRESH_CACHE=$cache bash "$fresh" --cache-status >&2 || {
	echo "root.sh: no usable debootstrap root in $cache: go test ./test/fresh/ makes it" >&2
	exit 3
}
key="layout=$layout base=$(cut -d' ' -f1 "$base.sha256") packages=$packages"

exec 9>"$cache/ansible-root.lock"
flock -w 900 9 || { echo "root.sh: $cache/ansible-root.lock is held by another run" >&2; exit 1; }
if [ ! -d "$dir" ] || [ "$(cat "$dir.key" 2>/dev/null)" != "$key" ]; then
	echo "root.sh: building $dir (cold: a minute or two)" >&2
	rm -rf --one-file-system "$dir" "$dir.new" "$dir.key"
	mkdir "$dir.new"
	tar -C "$dir.new" --numeric-owner -xzf "$base"
	if [ -d /usr/local/share/ca-certificates ]; then
		cp -a /usr/local/share/ca-certificates/. "$dir.new/usr/local/share/ca-certificates/"
	fi
	run_in "$dir.new" chroot "$dir.new" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -c "
		update-ca-certificates >/dev/null 2>&1 || true
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages" >&2
	rm -rf "$dir.new/var/lib/apt/lists/"* "$dir.new/var/cache/apt/archives/"*.deb
	mv "$dir.new" "$dir"
	echo "$key" >"$dir.key"
fi
cp -a "$dir" "$target"
