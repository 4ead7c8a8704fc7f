package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// MaxCAFileSize bounds the cafile: a bundle of every public root is far
// smaller.
const MaxCAFileSize = 4 << 20

// checkCAFile applies the config file's trust rules to the cafile it
// names: the file decides which servers are Duo, so one that is missing,
// unreadable, not a regular file, owned by someone other than root (or
// owners), or writable by group or others, makes the config unusable. It
// may be readable by all: certificates are public.
func checkCAFile(file, path string, owners []int) error {
	bad := func(sentinel error, msg string) error {
		return &Error{File: file, Key: "cafile", Err: newDetail(sentinel, "cafile "+path+": "+msg)}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return bad(ErrNotFound, "no such file")
		}
		return bad(ErrUnreadable, "cannot open: "+reason(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return bad(ErrUnreadable, "cannot stat: "+reason(err))
	case !fi.Mode().IsRegular():
		return bad(ErrUnreadable, fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type()))
	case fi.Size() > MaxCAFileSize:
		return bad(ErrTooLarge, fmt.Sprintf("larger than %d MiB", MaxCAFileSize>>20))
	case fi.Mode().Perm()&0o022 != 0:
		return bad(ErrPermissions, fmt.Sprintf("mode %04o lets group or others write it; run chmod go-w", fi.Mode().Perm()))
	}
	if msg := ownerProblem(fi, owners); msg != "" {
		return bad(ErrPermissions, msg)
	}
	return nil
}
