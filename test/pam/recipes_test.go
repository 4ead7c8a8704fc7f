package pamtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/internal/pamstack"
)

// readmeRecipe returns the indented block after "<!-- recipe: NAME -->"
// in the README, unindented.
func readmeRecipe(t *testing.T, root, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "<!-- recipe: "+name+" -->\n")
	require.True(t, ok, "README.md has no recipe %q", name)
	var b strings.Builder
	started := false
	for _, line := range strings.Split(rest, "\n") {
		switch {
		case strings.HasPrefix(line, "    "):
			started = true
			b.WriteString(strings.TrimPrefix(line, "    ") + "\n")
		case line == "" && !started:
		case line == "" && started:
			b.WriteString("\n")
		default:
			return b.String()
		}
	}
	return b.String()
}

// TestREADMERecipesLint puts the README's stacks into Debian 12's
// /etc/pam.d (internal/pamstack's corpus) and lints them as
// `login_duo_go check --pam-stack` does: no errors, and the combination
// the README warns against is caught.
func TestREADMERecipesLint(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	sshd := readmeRecipe(t, root, "sshd-publickey")
	sudo := readmeRecipe(t, root, "sudo")
	corpus := filepath.Join(root, "internal", "pamstack", "testdata", "stacks", "debian12")
	tests := []struct {
		name       string
		edit       func(t *testing.T, pamd string)
		wantErrors []string // finding codes of severity error
	}{
		{name: "sshd publickey recipe", edit: func(t *testing.T, pamd string) {
			replaceInclude(t, filepath.Join(pamd, "sshd"), sshd)
		}},
		{name: "sudo recipe", edit: func(t *testing.T, pamd string) {
			require.NoError(t, os.WriteFile(filepath.Join(pamd, "sudo"), []byte(sudo), 0o644))
		}},
		{name: "pam-auth-update profile and the sshd recipe", edit: func(t *testing.T, pamd string) {
			appendDuoToCommonAuth(t, root, pamd)
			replaceInclude(t, filepath.Join(pamd, "sshd"), sshd)
		}},
		{name: "do not combine: pam-auth-update profile and the sudo recipe", edit: func(t *testing.T, pamd string) {
			appendDuoToCommonAuth(t, root, pamd)
			require.NoError(t, os.WriteFile(filepath.Join(pamd, "sudo"), []byte(sudo), 0o644))
		}, wantErrors: []string{"duo-twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rootDir := t.TempDir()
			out, err := exec.Command("cp", "-a", corpus+"/.", rootDir).CombinedOutput()
			require.NoError(t, err, "%s", out)
			pamd := filepath.Join(rootDir, "etc", "pam.d")
			tt.edit(t, pamd)
			found, err := pamstack.Lint(pamd, pamstack.Options{Root: rootDir, ModuleExists: func(string) bool { return true }})
			require.NoError(t, err)
			var errs []string
			for _, f := range found {
				if f.Severity == pamstack.SevError {
					errs = append(errs, f.Code)
					t.Logf("%s:%d: %s (%s)", f.File, f.Line, f.Message, f.Code)
				}
			}
			if tt.wantErrors == nil {
				assert.Empty(t, errs)
			} else {
				for _, c := range tt.wantErrors {
					assert.Contains(t, errs, c)
				}
			}
		})
	}
}

// replaceInclude writes stack in place of "@include common-auth" in file.
func replaceInclude(t *testing.T, file, stack string) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Contains(t, string(data), "@include common-auth\n")
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(data), "@include common-auth\n", stack, 1)), 0o644))
}

// appendDuoToCommonAuth adds the auth line of debian/pam-configs/duo-go
// at the end of common-auth's auth lines, where pam-auth-update puts an
// Additional profile.
func appendDuoToCommonAuth(t *testing.T, root, pamd string) {
	t.Helper()
	profile, err := os.ReadFile(filepath.Join(root, "debian", "pam-configs", "duo-go"))
	require.NoError(t, err)
	_, auth, ok := strings.Cut(string(profile), "\nAuth:\n")
	require.True(t, ok)
	line := strings.TrimSpace(strings.SplitN(auth, "\n", 2)[0])
	f, err := os.OpenFile(filepath.Join(pamd, "common-auth"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = fmt.Fprintf(f, "auth\t%s\n", line)
	require.NoError(t, err)
}

// TestREADMESshdRecipe runs the README's sshd stack (public key, then
// Duo) through real libpam and the built module: a Duo user passes with
// the second factor and is refused without it, and users Duo does not
// apply to (outside groups, bypassed by Duo) get in, as with duo_unix.
func TestREADMESshdRecipe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the module looks up local users and the configs are root-owned")
	}
	root := artifacts(t)
	recipe := readmeRecipe(t, root, "sshd-publickey")
	tests := []struct {
		name    string
		user    duotest.User
		conf    map[string]string
		answers []string
		want    error
	}{
		{name: "Duo user with a passcode", user: duotest.User{Name: "root", Passcodes: []string{"123456"}}, answers: []string{"123456"}},
		{name: "Duo user with a wrong passcode", user: duotest.User{Name: "root", Passcodes: []string{"123456"}},
			conf: map[string]string{"prompts": "1"}, answers: []string{"111111"}, want: pam.ErrMaxtries},
		{name: "outside groups", user: duotest.User{Name: "root"}, conf: map[string]string{"groups": "no-such-group-pdg"}},
		{name: "bypassed by Duo", user: duotest.User{Name: "root", Preauth: duo.ResultAllow}},
		{name: "config unusable", user: duotest.User{Name: "root"}, conf: map[string]string{"failmode": "maybe"}, want: pam.ErrService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := duotest.NewServer()
			defer s.Close()
			s.AddUser(tt.user)
			dir := t.TempDir()
			conf := filepath.Join(dir, "pam_duo.conf")
			cfg := map[string]string{"https_timeout": "2"}
			for k, v := range tt.conf {
				cfg[k] = v
			}
			require.NoError(t, s.WriteConfig(conf, cfg))
			module := fmt.Sprintf("%s/build/pam_duo_go.so conf=%s core=%s/build/pam_duo_go_core.so helper=%s/build/login_duo_go",
				root, conf, root, root)
			stack := strings.Replace(recipe, " pam_duo_go.so", " "+module, 1)
			require.NotEqual(t, recipe, stack)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sshd-recipe"), []byte(stack), 0o644))
			conv := &transcript{answers: tt.answers}
			tx, err := pam.StartConfDir("sshd-recipe", "root", conv, dir)
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() { done <- tx.Authenticate(0) }()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("login hung; saw:\n%s", strings.Join(conv.seen, "\n"))
			}
			require.NoError(t, tx.End())
			if tt.want == nil {
				assert.NoError(t, err, strings.Join(conv.seen, "\n"))
			} else {
				assert.ErrorIs(t, err, tt.want, strings.Join(conv.seen, "\n"))
			}
		})
	}
}
