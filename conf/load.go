package conf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Load reads and checks the configuration file at path.
//
// The file must be a regular file (symbolic links are followed), owned by
// root or by the process's effective uid, with no permission bits for
// group or others (duo_unix only refused group or other read access);
// then it is parsed as by Parse.
//
// Errors are *Error values (or an errors.Join of them) wrapping a sentinel:
// ErrNotFound or ErrUnreadable when the file cannot be read at all; the
// Config is nil then. When the file was read but is refused (ErrPermissions,
// ErrTooLarge) or invalid, Load returns a non-nil Config with the error,
// holding only File, Warnings and Failmode: the file's last valid failmode,
// else FailSafe, so that the caller can apply the administrator's failmode
// even to a broken file.
func Load(path string) (*Config, error) {
	return LoadOwned(path)
}

// LoadOwned is Load, also accepting a file owned by one of owners (uids).
// login_duo_go uses it for login_duo.conf, which duo_unix had owned by its
// privilege-separation user.
func LoadOwned(path string, owners ...int) (*Config, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer; it is then
	// refused as not a regular file. It changes nothing for regular files.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: path, Err: newDetail(ErrNotFound, "no such file")}
		}
		return nil, &Error{File: path, Err: newDetail(ErrUnreadable, "cannot open: "+reason(err))}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &Error{File: path, Err: newDetail(ErrUnreadable, "cannot stat: "+reason(err))}
	}
	switch {
	case fi.IsDir():
		return nil, &Error{File: path, Err: newDetail(ErrUnreadable, "is a directory, not a configuration file")}
	case !fi.Mode().IsRegular():
		return nil, &Error{File: path, Err: newDetail(ErrUnreadable, fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type()))}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Err: newDetail(ErrUnreadable, "cannot read: "+reason(err))}
	}

	var refusals []error
	if msg := modeProblem(fi.Mode().Perm()); msg != "" && !groupReadableLoginConf(path, fi) {
		refusals = append(refusals, &Error{File: path, Err: newDetail(ErrPermissions, msg)})
	}
	if msg := ownerProblem(fi, owners); msg != "" {
		refusals = append(refusals, &Error{File: path, Err: newDetail(ErrPermissions, msg)})
	}
	if len(data) > MaxFileSize {
		data = data[:MaxFileSize]
		refusals = append(refusals, &Error{File: path, Err: newDetail(ErrTooLarge,
			fmt.Sprintf("larger than %d KiB; is this really the configuration file?", MaxFileSize>>10))})
	}

	cfg, err := Parse(data, path)
	if err == nil && cfg.CAFile != "" {
		if cerr := checkCAFile(path, cfg.CAFile, owners); cerr != nil {
			refusals = append(refusals, cerr)
		}
	}
	if len(refusals) == 0 {
		return cfg, err
	}
	stub := &Config{File: path, Failmode: cfg.Failmode, Warnings: cfg.Warnings}
	if err != nil {
		refusals = append(refusals, err)
	}
	return stub, joinErrors(refusals)
}

// LoginConfigName is the base name of login_duo's configuration, which,
// as in newer duo_unix (upstream #402), may be readable by one group: mode
// 0640 (or stricter for others), owned by root.
const LoginConfigName = "login_duo.conf"

// groupReadableLoginConf reports whether fi is a login_duo.conf that
// newer duo_unix accepts as group-readable: root-owned, group read at
// most, nothing for others.
func groupReadableLoginConf(path string, fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0 && filepath.Base(path) == LoginConfigName && fi.Mode().Perm()&0o037 == 0
}

// modeProblem explains why perm is unsafe, or returns "".
func modeProblem(perm fs.FileMode) string {
	if perm&0o077 == 0 {
		return ""
	}
	var can []string
	if perm&0o044 != 0 {
		can = append(can, "read")
	}
	if perm&0o022 != 0 {
		can = append(can, "write")
	}
	if perm&0o011 != 0 {
		can = append(can, "execute")
	}
	return fmt.Sprintf("mode %04o lets group or others %s it; run chmod 600", perm, strings.Join(can, " and "))
}

// ownerProblem explains why the file's owner is not acceptable, or
// returns "".
func ownerProblem(fi fs.FileInfo, owners []int) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "cannot tell who owns it"
	}
	uid := int(st.Uid)
	euid := os.Geteuid()
	if uid == 0 || uid == euid {
		return ""
	}
	for _, o := range owners {
		if uid == o {
			return ""
		}
	}
	want := "root"
	if euid != 0 {
		want = fmt.Sprintf("root or %s (this process)", ownerName(euid))
	}
	for _, o := range owners {
		want += " or " + ownerName(o)
	}
	return fmt.Sprintf("owned by %s, not %s; run chown root", ownerName(uid), want)
}

// ownerName names uid for a message: "uid 102 (sshd)", or "uid 102" when
// it has no account. The uid comes first so that the wording is the same
// whether or not the name can be looked up.
func ownerName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return fmt.Sprintf("uid %d (%s)", uid, u.Username)
	}
	return fmt.Sprintf("uid %d", uid)
}

// reason is err's cause without the path (which the Error already names).
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
