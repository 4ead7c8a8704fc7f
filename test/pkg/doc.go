// Package pkgtest tests the packaging: it builds the Debian packages from
// a copy of the source tree, installs them with dpkg, checks every file's
// mode and owner, logs in through the installed PAM module with pamtester
// against the mock Duo server (duo/duotest), purges them and checks that
// nothing is left; and it builds the RPMs and checks their file lists,
// modes and scriptlets.
//
// The tests change the system (dpkg -i, /etc/pam.d), so they run only as
// root and skip, saying why, when a tool is missing or when pam_duo_go is
// already installed or configured on the machine. Each run builds each
// package kind once.
package pkgtest
