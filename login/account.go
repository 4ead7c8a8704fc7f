package login

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"

	"github.com/pam-duo-go/pam_duo_go/conf"
	"github.com/pam-duo-go/pam_duo_go/internal/passwd"
)

// resolveUser finds the local account the login is for and decides whom
// Duo is asked about: the user (or, for su to root, the user who ran su),
// under the name GECOS gives. done is true when the login ends here: an
// unknown user, a failed lookup, or a user outside groups.
func (s *session) resolveUser() (r Result, done bool) {
	if s.user == "" {
		return Result{Outcome: UserUnknown, Reason: "no user name"}, true
	}
	lookup := s.p.LookupUser
	if lookup == nil {
		lookup = lookupUser
	}
	info, err := lookup(s.user)
	if err != nil {
		if isUnknownUser(err) {
			return Result{Outcome: UserUnknown, Reason: "no such local user"}, true
		}
		// Not "Duo is down": an NSS source failing must not switch Duo
		// off under failmode=safe.
		return Result{Outcome: FailClosed, Cause: CauseLocal, Reason: "user lookup: " + err.Error()}, true
	}
	// su to root: root has no phone, so Duo asks the user who ran su, as
	// duo_unix does. su to anyone else asks for the target user.
	if (s.p.Service == "su" || s.p.Service == "su-l") && info.UID == 0 && s.p.UID > 0 {
		caller, err := passwd.LookupUID(s.p.UID)
		if err == nil {
			info, err = lookup(caller.Name)
		}
		if err != nil {
			return Result{Outcome: UserUnknown, Reason: fmt.Sprintf("su to %s: the invoking user (uid %d) is unknown: %v", s.user, s.p.UID, err)}, true
		}
		s.debugf("su to %s: asking Duo for the invoking user %s", s.user, info.Name)
		s.user = info.Name
	}
	s.debugf("user %s: uid %d, groups %s", info.Name, info.UID, strings.Join(info.Groups, ","))
	applies, err := DuoApplies(s.cfg, info)
	if err != nil {
		return Result{Outcome: FailClosed, Cause: CauseLocal, Reason: "user lookup: " + err.Error()}, true
	}
	if !applies {
		return Result{Outcome: Bypass, Reason: "user not in groups"}, true
	}
	if len(s.cfg.Groups) > 0 {
		s.debugf("user %s is in groups: Duo applies", info.Name)
	}
	s.duoID = s.user
	if name, ok := DuoUsername(s.cfg, info); ok {
		s.duoID = name
	} else if s.cfg.SendGecos || s.cfg.GecosUsernamePosSet {
		s.debugf("GECOS of %s gives no Duo username; sending the user name", s.user)
	}
	return Result{}, false
}

// isUnknownUser reports whether a user lookup error means there is no such
// account (rather than that the lookup failed).
func isUnknownUser(err error) bool {
	var unknown user.UnknownUserError
	return errors.Is(err, passwd.ErrNotFound) || errors.As(err, &unknown)
}

// DuoApplies reports whether Duo applies to the local user info under
// cfg's groups, as the login decides it (login_duo_go check -u uses it
// too). An error means the user's groups could not be read while cfg has
// groups to check: a group that could not be read might be the one that
// puts the user in (or out of) Duo's scope, so the login refuses rather
// than guess.
func DuoApplies(cfg *conf.Config, info *UserInfo) (bool, error) {
	if len(cfg.Groups) == 0 {
		return true, nil
	}
	if info.GroupsErr != nil {
		return false, info.GroupsErr
	}
	return cfg.GroupsMatch(info.Groups), nil
}

// DuoUsername is the username GECOS gives for info (send_gecos,
// gecos_username_pos); ok is false when it gives none, and the login then
// sends the user name.
func DuoUsername(cfg *conf.Config, info *UserInfo) (name string, ok bool) {
	return cfg.GecosUsername(info.Gecos)
}

// LookupUser looks up a local account and its groups as the login does.
func LookupUser(name string) (*UserInfo, error) { return lookupUser(name) }

// IsUnknownUser reports whether err from LookupUser means that no such
// account exists (rather than a failing lookup).
func IsUnknownUser(err error) bool { return isUnknownUser(err) }

// lookupUser finds a local account, its whole GECOS field and the names of
// all its groups.
func lookupUser(name string) (*UserInfo, error) {
	pw, err := passwd.LookupName(name)
	if err != nil {
		return nil, err
	}
	info := &UserInfo{Name: pw.Name, UID: pw.UID, Gecos: pw.Gecos}
	info.Groups, info.GroupsErr = GroupNames(pw.Name, pw.GID)
	return info, nil
}

// GroupNames lists the names of the primary group gid and the
// supplementary groups of the account name. A group id without a name is
// skipped; any other failure is an error, since a group missing from the
// list may change whether Duo applies.
func GroupNames(name string, gid int) ([]string, error) {
	u := &user.User{Username: name, Gid: strconv.Itoa(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", name, err)
	}
	var names []string
	for _, id := range gids {
		g, err := user.LookupGroupId(id)
		var unknown user.UnknownGroupIdError
		switch {
		case errors.As(err, &unknown):
			continue
		case err != nil:
			return nil, fmt.Errorf("groups of %s: %w", name, err)
		}
		names = append(names, g.Name)
	}
	return names, nil
}
