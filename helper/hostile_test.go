package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pam-duo-go/pam_duo_go/duo/duotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoginHostileCommand: SSH_ORIGINAL_COMMAND full of shell syntax is
// handed to the user's shell whole, as the one argument after -c, and only
// once Duo allowed the login; a denied login runs nothing.
func TestLoginHostileCommand(t *testing.T) {
	needLoginRoot(t)
	for _, tt := range []struct {
		name    string
		push    []duotest.Step
		wantRun bool
	}{
		{"allowed", duotest.PushApproved(), true},
		{"denied", duotest.PushDenied(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newMockEnv(t, nil)
			env.mock.AddUser(duotest.User{Name: "root", Push: tt.push})
			marker := filepath.Join(t.TempDir(), "ran")
			// Word splitting, a command substitution, quotes, a second
			// command and a redirection: only a shell given the whole
			// string prints "[a b][c]" and creates the marker.
			command := `printf '[%s]' "a b" $(echo c); echo; touch ` + marker + ` >/dev/null`
			out, errOut, exit := runHeadless(t, []string{"SSH_ORIGINAL_COMMAND=" + command}, "-c", env.conf)
			_, statErr := os.Stat(marker)
			ran := statErr == nil
			require.Equal(t, tt.wantRun, ran, "command ran = %v, want %v (exit %d, stdout %q, stderr %q)", ran, tt.wantRun, exit, out, errOut)
			if tt.wantRun {
				assert.Equal(t, 0, exit, "exit %d stdout %q; want the whole command run by one shell -c", exit, out)
				assert.Equal(t, "[a b][c]\n", out, "exit %d stdout %q; want the whole command run by one shell -c", exit, out)
			} else {
				assert.Equal(t, 1, exit, "exit %d stdout %q stderr %q; want exit 1, no output, a denial", exit, out, errOut)
				assert.Empty(t, out, "exit %d stdout %q stderr %q; want exit 1, no output, a denial", exit, out, errOut)
				assert.Contains(t, errOut, "denied", "exit %d stdout %q stderr %q; want exit 1, no output, a denial", exit, out, errOut)
			}
		})
	}
}
