package main

import "errors"

// passwd is the part of a password-database entry login_duo_go needs.
type passwd struct {
	Name  string
	UID   int
	GID   int
	Dir   string
	Shell string
}

// errNoSuchUser means the password database has no entry for the uid.
var errNoSuchUser = errors.New("no such user")

// lookupUID finds uid in the password database: through the C library
// (so NSS sources such as LDAP count) when built with cgo, else in
// /etc/passwd.
func lookupUID(uid int) (*passwd, error) {
	return lookupUIDImpl(uid)
}
