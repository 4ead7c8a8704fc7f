//go:build cgo

package passwd

/*
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/types.h>
*/
import "C"

import (
	"errors"
	"strings"
	"syscall"
	"unsafe"
)

// maxBuffer bounds the buffer getpw*_r may ask for.
const maxBuffer = 1 << 20

func lookup(q query) (*Entry, error) {
	if q.byName && strings.IndexByte(q.name, 0) >= 0 {
		return nil, ErrNotFound // a C string cannot hold it: no user has this name
	}
	for size := C.size_t(4096); size <= maxBuffer; size *= 4 {
		e, err := lookupWithBuffer(q, size)
		if !errors.Is(err, syscall.ERANGE) {
			return e, err
		}
	}
	return nil, errors.New("entry too large")
}

// lookupWithBuffer calls getpwnam_r or getpwuid_r with a buffer of size
// bytes; ERANGE means the buffer was too small.
func lookupWithBuffer(q query, size C.size_t) (*Entry, error) {
	var ent C.struct_passwd
	var res *C.struct_passwd
	buf := C.malloc(size)
	defer C.free(buf)
	var rc C.int
	if q.byName {
		name := C.CString(q.name)
		defer C.free(unsafe.Pointer(name))
		rc = C.getpwnam_r(name, &ent, (*C.char)(buf), size, &res)
	} else {
		rc = C.getpwuid_r(C.uid_t(q.uid), &ent, (*C.char)(buf), size, &res)
	}
	switch {
	case rc == C.ERANGE:
		return nil, syscall.ERANGE
	case rc == C.ENOENT || rc == C.ESRCH || rc == C.EBADF || rc == C.EPERM:
		return nil, ErrNotFound // getpwnam_r(3): these also mean "not found"
	case rc != 0:
		return nil, syscall.Errno(rc)
	case res == nil:
		return nil, ErrNotFound
	}
	return &Entry{
		Name:  C.GoString(ent.pw_name),
		UID:   int(ent.pw_uid),
		GID:   int(ent.pw_gid),
		Gecos: C.GoString(ent.pw_gecos),
		Dir:   C.GoString(ent.pw_dir),
		Shell: C.GoString(ent.pw_shell),
	}, nil
}
