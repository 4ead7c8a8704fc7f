// Package compat runs Duo's own C implementation, duo_unix 2.2.3
// (pam_duo.so, built from the tarball in ../shared/peers), and the
// pam_duo_go module through the same mock Duo server (duo/duotest) with
// the same configs and the same answers, and compares the PAM result and
// the requests the mock received. The deliberate differences are listed
// in a table with the README line that documents each; any other
// difference fails. That proves both that duotest serves a client nobody
// here wrote and that the module is a drop-in.
//
// The tests skip, saying why, where ../shared/peers is absent (a user's
// clone) or the tools to build duo_unix are not installed; CI has both.
// The peer build is cached under /var/cache/pam_duo_go, keyed by the
// tarball's sha256.
package compat
