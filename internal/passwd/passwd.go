// Package passwd reads the password database the way the C library's
// getpwnam(3) and getpwuid(3) do, keeping every field whole. (os/user cuts
// GECOS at its first comma, which breaks duo_unix's send_gecos and
// gecos_username_pos.)
package passwd

import (
	"errors"
	"fmt"
)

// Entry is one password-database entry.
type Entry struct {
	Name  string
	UID   int
	GID   int
	Gecos string // the whole pw_gecos field, commas included
	Dir   string
	Shell string
}

// ErrNotFound means the database has no such entry.
var ErrNotFound = errors.New("no such user")

// LookupName finds the entry for a login name: through the C library (so
// NSS sources such as LDAP or sssd count) when built with cgo, else in
// /etc/passwd. The error wraps ErrNotFound when there is no such user.
func LookupName(name string) (*Entry, error) {
	e, err := lookup(query{name: name, byName: true})
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	return e, nil
}

// LookupUID finds the entry for a uid, as LookupName does for a name.
func LookupUID(uid int) (*Entry, error) {
	e, err := lookup(query{uid: uid})
	if err != nil {
		return nil, fmt.Errorf("look up uid %d: %w", uid, err)
	}
	return e, nil
}

// query is a lookup by name or by uid.
type query struct {
	byName bool
	name   string
	uid    int
}
