package e2e

import "strings"

// Mode is one way of running the pam_duo_go module. The end-to-end tests
// run in every mode of Modes.
type Mode struct {
	Name string // for subtest names
	Arg  string // the module argument that selects it ("" = default)
}

// Modes are the module's two paths: the default, where the C module
// dlopens the Go core in the PAM process, and mode=exec, where the login
// runs in `login_duo_go pam-worker`.
var Modes = []Mode{
	{Name: "lazy core"},
	{Name: "mode=exec", Arg: "mode=exec"},
}

// AuthLine is a PAM auth line for the built module: control (e.g.
// "required", "[success=done ignore=ignore default=die]"), conf=, core=
// and helper= pointing at the built files, the mode's argument and any
// extra arguments.
func (a Artifacts) AuthLine(control, conf string, mode Mode, extra ...string) string {
	return "auth " + control + " " + a.ModuleCall(conf, mode, extra...)
}

// ModuleCall is what follows the control in AuthLine: the built module
// with conf=, core= and helper=, the mode's argument and any extra
// arguments (empty ones left out). It stands in for "pam_duo_go.so" in a
// stack taken from the documentation.
func (a Artifacts) ModuleCall(conf string, mode Mode, extra ...string) string {
	parts := []string{a.Module, "conf=" + conf, "core=" + a.Core, "helper=" + a.Helper}
	for _, arg := range append([]string{mode.Arg}, extra...) {
		if arg != "" {
			parts = append(parts, arg)
		}
	}
	return strings.Join(parts, " ")
}

// Stack is a PAM service file: the auth lines, then account and session
// lines that always pass (the end-to-end tests are about auth).
func Stack(auth ...string) string {
	return strings.Join(auth, "\n") + "\naccount required pam_permit.so\nsession required pam_permit.so\n"
}
