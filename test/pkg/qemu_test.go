package pkgtest

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
	"github.com/pam-duo-go/pam_duo_go/test/e2e"
)

// PAM results the arm64 client prints (security/_pam_types.h).
const (
	pamSuccess  = 0
	pamAuthErr  = 7
	pamMaxTries = 11
)

// TestQemuArm64Login logs in through the arm64 module of the arm64 RPM
// (make rpm ARCH=arm64) with a real arm64 libpam: a small C PAM client
// (testdata/pamclient.c), cross-compiled, runs under qemu-aarch64 started
// explicitly (no binfmt_misc needed) against the mock Duo server on
// loopback. The module's arm64 Go core runs in the client's process; with
// mode=exec the module runs the arm64 login_duo_go pam-worker through a
// root-owned wrapper script (helper=) that starts it under qemu-aarch64,
// as binfmt_misc would. A passcode logs in, a wrong one and a policy deny
// do not, with the PAM results the native module gives (test/pam
// TestPAMResults).
func TestQemuArm64Login(t *testing.T) {
	tools := requireCrossArm64(t, "the arm64 login under qemu-user", "rpmbuild", "rpm", "checkmodule", "semodule_package", "bzip2", "gzip",
		"aarch64-linux-gnu-strip", "qemu-aarch64")
	for _, lib := range []string{"/lib/ld-linux-aarch64.so.1", "/usr/lib/aarch64-linux-gnu/libpam.so.0"} {
		if _, err := os.Stat(lib); err != nil {
			t.Skipf("skipping: qemu-aarch64 needs the arm64 %s (libc6:arm64, libpam0g:arm64): %v", lib, err)
		}
	}
	mainRPM, _ := buildArm64RPMs(t, tools["make"])
	files := unpackRPM(t, mainRPM)
	libdir := strings.TrimSpace(mustRun(t, command{}, tools["rpm"], "--target", "aarch64", "--eval", "%{_libdir}"))
	module := filepath.Join(files, libdir, "security", "pam_duo_go.so")
	core := filepath.Join(files, libdir, "pam_duo_go", "pam_duo_go_core.so")
	helper := filepath.Join(files, "usr", "sbin", "login_duo_go")

	work := t.TempDir()
	client := filepath.Join(work, "pamclient")
	mustRun(t, command{}, tools["aarch64-linux-gnu-gcc"], "-O2", "-Wall", "-Werror", "-o", client,
		filepath.Join(e2e.RepoRoot(t), "test", "pkg", "testdata", "pamclient.c"), "-lpam")
	f, err := elf.Open(client)
	require.NoError(t, err)
	assert.Equal(t, elf.EM_AARCH64, f.Machine, "pamclient is for %v", f.Machine)
	require.NoError(t, f.Close())
	// What binfmt_misc would do for mode=exec: the module execs this
	// script (a regular file owned by root, as it requires), which runs
	// the arm64 worker under qemu and leaves a line in ran for each run.
	wrapper := filepath.Join(work, "login_duo_go-qemu")
	ran := filepath.Join(work, "wrapper-ran")
	require.NoError(t, os.WriteFile(wrapper, []byte(fmt.Sprintf("#!/bin/sh\necho \"$*\" >>%s\nexec %s %s \"$@\"\n",
		ran, tools["qemu-aarch64"], helper)), 0o755))
	workerRuns := func() string {
		b, err := os.ReadFile(ran)
		if os.IsNotExist(err) {
			return ""
		}
		require.NoError(t, err)
		return string(b)
	}

	root := duotest.User{Name: "root", Passcodes: []string{"123456"}}
	cases := []struct {
		name   string
		user   duotest.User
		answer string
		want   int
		seen   string
		auths  int // calls to /auth/v2/auth
	}{
		{name: "passcode", user: root, answer: "123456", want: pamSuccess, seen: "INFO: Success. Logging you in...", auths: 1},
		{name: "wrong passcode", user: root, answer: "111111", want: pamMaxTries, seen: "ERROR: Incorrect passcode", auths: 1},
		{name: "denied by policy", user: duotest.User{Name: "root", Preauth: duo.ResultDeny}, answer: "123456", want: pamAuthErr,
			seen: "ERROR: Login denied by policy"},
	}
	for _, mode := range []string{"", "mode=exec"} {
		for _, c := range cases {
			name := c.name
			if mode != "" {
				name = mode + ": " + name
			}
			t.Run(name, func(t *testing.T) {
				mock := duotest.NewServer()
				t.Cleanup(mock.Close)
				mock.AddUser(c.user)
				dir := t.TempDir()
				conf := filepath.Join(dir, "pam_duo.conf")
				require.NoError(t, mock.WriteConfig(conf, map[string]string{"prompts": "1"}))
				pamDir := filepath.Join(dir, "pam.d")
				require.NoError(t, os.Mkdir(pamDir, 0o755))
				line := strings.Join([]string{"auth", "required", module, "conf=" + conf, "core=" + core, "helper=" + wrapper, mode}, " ")
				require.NoError(t, os.WriteFile(filepath.Join(pamDir, "duo-arm64"), []byte(line+"\n"), 0o644))

				before := workerRuns()
				r := run(t, command{}, tools["qemu-aarch64"], client, pamDir, "duo-arm64", c.user.Name, c.answer)
				t.Logf("qemu-aarch64 pamclient:\n%s", r.out)
				require.NoError(t, r.err, "the arm64 client did not run to the end")
				assert.Contains(t, "\n"+r.out, fmt.Sprintf("\nresult %d ", c.want), "the PAM result")
				assert.Contains(t, r.out, c.seen)
				// The arm64 core reached the mock: no verdict without Duo.
				assert.Len(t, mock.RequestsTo("/auth/v2/preauth"), 1)
				assert.Len(t, mock.RequestsTo("/auth/v2/auth"), c.auths)
				// mode=exec ran the arm64 worker once; in process, never.
				if mode == "mode=exec" {
					assert.Equal(t, before+"pam-worker\n", workerRuns(), "the wrapper's runs")
				} else {
					assert.Equal(t, before, workerRuns(), "the in-process login ran the worker")
				}
			})
		}
	}
}
