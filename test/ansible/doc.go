// Package ansible tests the Ansible role contrib/ansible/pam_duo_go with
// Debian's ansible-core against a throwaway Debian 12 root: test/fresh's
// cached debootstrap root plus python3, sudo, openssh-server and pamtester
// (root.sh), reached with a chroot(8) connection plugin kept here
// (connection_plugins/chroot.py; ansible-core has no community.general)
// and given its own /proc, /dev and /run in a private mount namespace.
//
// It builds the .debs with make deb, starts the mock Duo server
// (duo/duotest) on loopback, which the root reaches because it shares the
// network namespace, and checks that the first run changes the root and
// succeeds, that a second changes nothing, that a real PAM login through
// the configured sudo stack passes with the right passcode and fails with
// a wrong one, and that a wrong secret key fails the play with check's
// message while no secret key appears anywhere in Ansible's output.
//
// It runs only as root and skips, saying why, when ansible-playbook or
// the cached root is missing (go test ./test/fresh/ makes the root),
// except in CI (CI=true), where it fails instead.
package ansible
