// Command core is pam_duo_go's Go core, built with -buildmode=c-shared as
// pam_duo_go_core.so. The C module pam_duo_go.so loads it with dlopen the
// first time pam_sm_authenticate runs and calls
// pam_duo_go_core_authenticate_v2; nothing else ever enters it.
//
// Under sshd the process environment is empty to Go (sshd's setproctitle
// reuses that memory), so nothing here reads os.Getenv: PAM items, C's
// getenv and /proc are used instead.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/..
#cgo LDFLAGS: -lpam
#define _GNU_SOURCE
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static const char *arg_at(const char **argv, int i) { return argv[i]; }

static const char *get_item_string(pam_handle_t *pamh, int type) {
	const void *v = NULL;
	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS)
		return NULL;
	return (const char *)v;
}

static int get_user(pam_handle_t *pamh, const char **user) {
	return pam_get_user(pamh, user, NULL);
}

#include "converse.h"

static void wipe_free(char *s) {
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static const char *c_getenv(const char *name) { return getenv(name); }

static const char *c_pam_getenv(pam_handle_t *pamh, const char *name) { return pam_getenv(pamh, name); }
*/
import "C"

import (
	"context"
	"fmt"
	"log/syslog"
	"os"
	"unsafe"

	"github.com/pam-duo-go/pam_duo_go/internal/pamhandler"
	"github.com/pam-duo-go/pam_duo_go/login"
)

func main() {}

// pam_duo_go_core_authenticate_v2 is the core's one entry point, called by
// the C module's pam_sm_authenticate: pamhandler.Authenticate on the live
// PAM handle. *unprompted is set to 1 when the login was allowed with an
// automatic push because the conversation could not prompt
// (pamhandler.Result.Unprompted); the module remembers that.
//
//export pam_duo_go_core_authenticate_v2
func pam_duo_go_core_authenticate_v2(pamh *C.pam_handle_t, flags C.int, argc C.int, argv **C.char, unprompted *C.int) (rc C.int) {
	h := newHandle(pamh)
	// The same tag, pid and facility as the worker's lines (login.NewSyslog):
	// pam_syslog would log under the application's name ("sshd[PID]:
	// pam_duo_go(sshd:auth): ...") and `journalctl -t pam_duo_go` would
	// miss the in-process lines.
	logger := login.NewSyslog(pamhandler.Program)
	defer logger.Close()
	defer func() {
		if r := recover(); r != nil {
			logger.Log(syslog.LOG_ERR, "failclosed "+login.LogFields(login.LogLine{
				User: h.item(C.PAM_USER), RemoteHost: h.item(C.PAM_RHOST), Service: h.item(C.PAM_SERVICE), Cause: "internal",
				Reason: fmt.Sprintf("internal error: %v", r)}))
			rc = C.PAM_SERVICE_ERR
		}
	}()
	args := make([]string, int(argc))
	for i := range args {
		args[i] = C.GoString(C.arg_at((**C.char)(unsafe.Pointer(argv)), C.int(i)))
	}
	res := pamhandler.Authenticate(context.Background(), h, args, flags&C.PAM_SILENT != 0, logger)
	if res.Unprompted && unprompted != nil {
		*unprompted = 1
	}
	return C.int(res.Code)
}

// handle is the live PAM handle: the handler's Transaction, its
// conversation a pamConv.
type handle struct {
	pamh *C.pam_handle_t
	pamConv
}

func newHandle(pamh *C.pam_handle_t) handle {
	h := handle{pamh: pamh}
	h.pamConv = pamConv{converse: h.converse}
	return h
}

func (h handle) item(t C.int) string {
	if v := C.get_item_string(h.pamh, t); v != nil {
		return C.GoString(v)
	}
	return ""
}

// User is pam_get_user(3).
func (h handle) User() (string, error) {
	var cuser *C.char
	if rc := C.get_user(h.pamh, &cuser); rc != C.PAM_SUCCESS || cuser == nil {
		return "", fmt.Errorf("pam_get_user: %s", pamError(rc))
	}
	return C.GoString(cuser), nil
}

// Item is pam_get_item(3) of a string item.
func (h handle) Item(i pamhandler.Item) string { return h.item(C.int(i)) }

// UID is this process's real uid: the core runs only under real uid 0.
func (h handle) UID() int { return os.Getuid() }

// Command is SUDO_COMMAND as this process has it (C's getenv: under sshd
// Go's environment is empty), "" when unset: what the C module sends the
// worker, so that both transports give the handler the same (sudo sets
// it before it authenticates, to "validate" for sudo -v; duo_unix reads
// it the same way).
func (h handle) Command() string {
	name := C.CString("SUDO_COMMAND")
	defer C.free(unsafe.Pointer(name))
	if v := C.c_getenv(name); v != nil {
		return C.GoString(v)
	}
	return ""
}

// Env is a variable of the PAM environment (pam_getenv); "" when unset.
func (h handle) Env(name string) string {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if v := C.c_pam_getenv(h.pamh, cname); v != nil {
		return C.GoString(v)
	}
	return ""
}

// converse sends one message of the given PAM style through the
// application's conversation (converse.h) and returns the answer.
func (h handle) converse(style int, msg string) (string, error) {
	cmsg := C.CString(msg)
	defer C.free(unsafe.Pointer(cmsg))
	var answer *C.char
	if rc := C.converse(h.pamh, C.int(style), cmsg, &answer); rc != C.PAM_SUCCESS {
		return "", fmt.Errorf("PAM conversation: %s", pamError(rc))
	}
	defer C.wipe_free(answer)
	if answer == nil {
		return "", nil
	}
	return C.GoString(answer), nil
}

func pamError(rc C.int) string {
	switch rc {
	case C.PAM_CONV_ERR:
		return "conversation error"
	case C.PAM_BUF_ERR:
		return "out of memory"
	}
	return fmt.Sprintf("error %d", int(rc))
}
