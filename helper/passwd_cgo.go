//go:build cgo

package main

/*
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/types.h>
*/
import "C"

import (
	"fmt"
	"syscall"
)

func lookupUIDImpl(uid int) (*passwd, error) {
	for size := C.size_t(4096); size <= 1<<20; size *= 4 {
		pw, retry, err := getpwuid(uid, size)
		if !retry {
			return pw, err
		}
	}
	return nil, fmt.Errorf("look up uid %d: entry too large", uid)
}

// getpwuid calls getpwuid_r with a buffer of size bytes; retry reports
// that the buffer was too small.
func getpwuid(uid int, size C.size_t) (pw *passwd, retry bool, err error) {
	var ent C.struct_passwd
	var res *C.struct_passwd
	buf := C.malloc(size)
	defer C.free(buf)
	rc := C.getpwuid_r(C.uid_t(uid), &ent, (*C.char)(buf), size, &res)
	switch {
	case rc == C.ERANGE:
		return nil, true, nil
	case rc != 0:
		return nil, false, fmt.Errorf("look up uid %d: %w", uid, syscall.Errno(rc))
	case res == nil:
		return nil, false, fmt.Errorf("look up uid %d: %w", uid, errNoSuchUser)
	}
	return &passwd{
		Name:  C.GoString(ent.pw_name),
		UID:   int(ent.pw_uid),
		GID:   int(ent.pw_gid),
		Dir:   C.GoString(ent.pw_dir),
		Shell: C.GoString(ent.pw_shell),
	}, false, nil
}
