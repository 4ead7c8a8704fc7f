// Package fresh proves the README's first command on a machine that has
// only what the README asks for: a Debian 12 root made with debootstrap,
// plus gcc and Go at /usr/local/go, with this repository cloned into it.
// There it runs exactly `bash .ci/deps && make demo` and fails on any
// error (fresh-root.sh does the work; its cache under
// /var/cache/pam_duo_go makes later runs take minutes, not tens of them).
//
// It also checks that make's lint fails, rather than passing silently,
// when gofmt is missing, and that a missing, damaged, foreign or old
// cached root is rebuilt rather than used.
//
// The root test runs only as root; it skips, saying why, when debootstrap
// is missing or cannot reach Debian's archive, except in CI (CI=true),
// where it fails instead.
package fresh
