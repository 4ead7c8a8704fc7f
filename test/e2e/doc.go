// Package e2e holds the shared helpers of the end-to-end tests that drive
// the real pam_duo_go module through real programs: OpenSSH's sshd and ssh,
// sudo, and throwaway local users.
//
// Everything runs on 127.0.0.1, every wait is bounded, and every process,
// user and file a helper creates is stopped or removed by t.Cleanup. The
// programs under test never see a changed /etc/pam.d or /etc/sudoers.d:
// each runs in a private mount namespace where a test directory is bound
// over them, and in a private PID namespace so that stopping it also stops
// every process it started (including a hung PAM child).
//
// Helpers that need root or a program that is not installed skip the test
// with a printed reason.
package e2e
