# Sourced by fresh-root.sh and test/ansible/root.sh (not run): sets
# root_mounts, the start of a `bash -c` script whose $1 is a root
# directory. It gives that root its own /proc, a minimal /dev (with
# /dev/pts and /dev/shm), its own /run (with /run/lock) and /tmp, and the
# host's DNS settings, then shifts $1 off; the caller's script goes on
# from there (more mounts, then exec). Run it in a private mount
# namespace: the mounts vanish with it.
# shellcheck shell=bash disable=SC2016
root_mounts='
set -euo pipefail
r=$1; shift
mount -t proc proc "$r/proc"
mount -t tmpfs -o mode=0755,nosuid dev "$r/dev"
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
	IFS=: read -r name major minor <<<"$n"
	mknod -m 0666 "$r/dev/$name" c "$major" "$minor"
done
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
ln -s /proc/self/fd "$r/dev/fd"
mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
mount -t tmpfs -o mode=0755 run "$r/run"
mkdir -p "$r/run/lock"
mount -t tmpfs -o mode=1777 tmp "$r/tmp"
cp -L /etc/resolv.conf "$r/etc/resolv.conf"
'
