package sshd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/test/e2e"

	"github.com/stretchr/testify/require"
)

// directModuleSource is a trivial Go PAM module meant to be built with
// -buildmode=c-shared and loaded directly by sshd: the design pam_duo_go
// rejects (its runtime starts when sshd's monitor loads it, and
// keyboard-interactive then runs in a fork).
const directModuleSource = `package main

/*
#cgo LDFLAGS: -lpam
#include <security/pam_appl.h>
*/
import "C"

import "time"

//export pam_sm_authenticate
func pam_sm_authenticate(pamh *C.pam_handle_t, flags C.int, argc C.int, argv **C.char) C.int {
	done := make(chan struct{})
	go func() {
		time.Sleep(time.Millisecond)
		close(done)
	}()
	<-done
	return C.PAM_SUCCESS
}

//export pam_sm_setcred
func pam_sm_setcred(pamh *C.pam_handle_t, flags C.int, argc C.int, argv **C.char) C.int {
	return C.PAM_SUCCESS
}

//export pam_sm_acct_mgmt
func pam_sm_acct_mgmt(pamh *C.pam_handle_t, flags C.int, argc C.int, argv **C.char) C.int {
	return C.PAM_SUCCESS
}

func main() {}
`

// buildDirectModule builds directModuleSource as a c-shared library.
func buildDirectModule(t *testing.T) string {
	t.Helper()
	goBin := e2e.RequireBinary(t, "go")
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module directmodule\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(directModuleSource), 0o644))
	so := filepath.Join(dir, "pam_direct_go.so")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := execCommand(ctx, goBin, "build", "-buildmode=c-shared", "-o", so, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOPROXY=off", "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the direct Go module\n%s", out)
	return so
}

// tally counts the outcomes of bounded logins.
type tally struct{ ok, refused, hung int }

func (c tally) String() string {
	return fmt.Sprintf("%d logged in, %d refused, %d hung", c.ok, c.refused, c.hung)
}

// measureLogins runs n logins of user against srv, each bounded by
// perLogin, answering prompts with respond (made fresh per login), and
// counts how they ended. A hang is a result here, not a failure.
func measureLogins(t *testing.T, srv *e2e.Sshd, user string, n int, perLogin time.Duration, respond func() e2e.Responder) tally {
	t.Helper()
	var c tally
	for i := 0; i < n; i++ {
		res, err := e2e.RunSSH(context.Background(), e2e.SSHOptions{Port: srv.Port, User: user, Respond: respond(), Timeout: perLogin})
		switch {
		case errors.Is(err, e2e.ErrTimeout):
			c.hung++
			if c.hung == 1 {
				t.Logf("first hang (login %d): server processes:\n%s\nstacks:\n%s", i+1, srv.Processes(), srv.Stacks("[pam]"))
			}
		case err != nil:
			require.NoError(t, err, "login %d\n%s", i+1, res.Summary())
		case res.LoggedIn():
			c.ok++
		default:
			c.refused++
			t.Logf("login %d refused:\n%s", i+1, res.Summary())
		}
	}
	return c
}

// measureN is the number of logins per module in TestMeasureDirectGoModule.
func measureN(t *testing.T) int {
	n := 10
	if s := os.Getenv("PAM_DUO_GO_MEASURE_N"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "PAM_DUO_GO_MEASURE_N=%q: want 1 to 1000", s)
		require.True(t, v >= 1 && v <= 1000, "PAM_DUO_GO_MEASURE_N=%q: want 1 to 1000", s)
		n = v
	}
	return n
}

// TestMeasureDirectGoModule is a measurement, not a check: it counts sshd
// keyboard-interactive logins that hang with a trivial Go c-shared module
// loaded directly into sshd, and with the real pam_duo_go module (lazy
// core and mode=exec). Run it with PAM_DUO_GO_MEASURE_DIRECT=1 (and
// optionally PAM_DUO_GO_MEASURE_N, default 10); the figures are logged.
func TestMeasureDirectGoModule(t *testing.T) {
	if os.Getenv("PAM_DUO_GO_MEASURE_DIRECT") != "1" {
		t.Skip("skipping: a measurement, not a check; set PAM_DUO_GO_MEASURE_DIRECT=1 to run it")
	}
	e2e.RequireRoot(t)
	n := measureN(t)
	const perLogin = 8 * time.Second
	u := e2e.CreateUser(t, "measure", "Pw-"+randomWord(t))
	noAnswers := func() e2e.Responder { return e2e.DuoAnswers() }

	results := map[string]tally{}
	t.Run("direct Go c-shared module", func(t *testing.T) {
		so := buildDirectModule(t)
		srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack("auth required " + so)})
		results["direct"] = measureLogins(t, srv, u.Name, n, perLogin, noAnswers)
	})
	for _, mode := range modes {
		t.Run("pam_duo_go "+mode.Name, func(t *testing.T) {
			env := e2e.NewDuoEnv(t, mode, nil)
			env.Mock.AddUser(pushUser(u.Name, approvedPush()))
			srv := e2e.StartSshd(t, e2e.SshdOptions{PAMStack: stack(env.AuthLine("required"))})
			results["pam_duo_go "+mode.Name] = measureLogins(t, srv, u.Name, n, perLogin, func() e2e.Responder { return e2e.DuoAnswers("1") })
		})
	}
	for name, c := range results {
		t.Logf("MEASURE %-28s N=%d per-login bound %v: %v", name, n, perLogin, c)
	}
}
