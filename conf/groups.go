package conf

import (
	"fmt"
	"strings"
)

// Groups patterns, as in duo_unix (which took them from OpenSSH):
//
//   - a pattern is a group name in which "*" matches any run of characters
//     (none included) and "?" any one character (byte); matching is case
//     sensitive;
//   - a pattern list is a comma-separated list of patterns, each of which
//     may be negated with a leading "!";
//   - the groups key holds one or more pattern lists separated by spaces
//     (or tabs); "\ " is a space inside a pattern. Several groups (or
//     group) lines add their lists together.
//
// A user matches a pattern list when one of their groups (primary or
// supplementary, all alike) matches a pattern of the list and none of
// their groups matches a negated pattern of that list: a negated match
// vetoes the whole list. A user matches the groups key when they match any
// one of its lists.

// matchPatternList matches name against a comma-separated pattern list
// with OpenSSH's match_pattern_list semantics: it returns -1 when a
// negated pattern ("!pattern") matches, else 1 when a pattern matches,
// else 0.
func matchPatternList(name, list string) int {
	got := 0
	for i := 0; i < len(list); {
		negated := list[i] == '!'
		if negated {
			i++
		}
		end := strings.IndexByte(list[i:], ',')
		if end < 0 {
			end = len(list)
		} else {
			end += i
		}
		pattern := list[i:end]
		i = end
		if i < len(list) {
			i++ // the comma
		}
		if matchPattern(name, pattern) {
			if negated {
				return -1
			}
			got = 1
		}
	}
	return got
}

// matchPattern is OpenSSH's match_pattern: s matches pattern, where "*"
// matches any run of bytes and "?" any one byte. It follows OpenSSH's
// search exactly, quirks included (a "*" followed by "*" or "?" only ever
// tries non-empty rests of s, so "a**" does not match "a"), and remembers
// the states that failed, so it takes polynomial time where the plain
// recursion can take exponential time.
func matchPattern(s, pattern string) bool {
	m := matcher{s: s, p: pattern, failed: map[int]bool{}}
	return m.match(0, 0)
}

type matcher struct {
	s, p   string
	failed map[int]bool // si*(len(p)+1)+pi of states known not to match
}

// try is match with memory of the failures.
func (m *matcher) try(si, pi int) bool {
	key := si*(len(m.p)+1) + pi
	if m.failed[key] {
		return false
	}
	if m.match(si, pi) {
		return true
	}
	m.failed[key] = true
	return false
}

func (m *matcher) match(si, pi int) bool {
	s, p := m.s, m.p
	for {
		if pi == len(p) {
			return si == len(s)
		}
		if p[pi] == '*' {
			pi++
			if pi == len(p) {
				return true
			}
			if p[pi] != '?' && p[pi] != '*' {
				// Try each place where the next literal byte occurs.
				for ; si < len(s); si++ {
					if s[si] == p[pi] && m.try(si+1, pi+1) {
						return true
					}
				}
				return false
			}
			for ; si < len(s); si++ {
				if m.try(si, pi) {
					return true
				}
			}
			return false
		}
		if si == len(s) || (p[pi] != '?' && p[pi] != s[si]) {
			return false
		}
		si++
		pi++
	}
}

// GroupsMatch reports whether a user whose group names are groups (the
// primary group and every supplementary group) must use Duo: true when
// Groups is empty, else when groups match one of the pattern lists (see
// above). A user outside the lists skips Duo. Callers must treat a failed
// group lookup as an error, as duo_unix does, not call this with nil.
func (c *Config) GroupsMatch(groups []string) bool {
	if len(c.Groups) == 0 {
		return true
	}
	for _, list := range c.Groups {
		if listMatches(list, groups) {
			return true
		}
	}
	return false
}

// listMatches is duo_unix's ga_match_pattern_list: some group matches the
// list and no group hits a negated pattern of it.
func listMatches(list string, groups []string) bool {
	found := false
	for _, g := range groups {
		switch matchPatternList(g, list) {
		case -1:
			return false
		case 1:
			found = true
		}
	}
	return found
}

// splitGroupLists splits a groups value into pattern lists at spaces and
// tabs; "\ " stands for a space inside a list.
func splitGroupLists(v string) []string {
	var lists []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			lists = append(lists, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v) && v[i+1] == ' ':
			cur.WriteByte(' ')
			i++
		case c == ' ' || c == '\t':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return lists
}

// checkPatternList returns what is wrong with a pattern list, or "": an
// empty pattern (from ",,", a leading or trailing comma, or a lone "!")
// can never match a group, and OpenSSH never matches overlong ones.
func checkPatternList(list string) string {
	for _, p := range strings.Split(list, ",") {
		name := strings.TrimPrefix(p, "!")
		switch {
		case name == "":
			return "empty pattern (check for doubled, leading or trailing commas)"
		case len(name) > MaxPatternLen:
			return fmt.Sprintf("pattern longer than %d bytes", MaxPatternLen)
		}
	}
	return ""
}

// allNegated reports whether every pattern of list is negated (the list
// then matches no one).
func allNegated(list string) bool {
	for _, p := range strings.Split(list, ",") {
		if !strings.HasPrefix(p, "!") {
			return false
		}
	}
	return true
}

// dropEmptyPatterns removes the empty patterns ("" or a bare "!") from a
// comma-separated pattern list.
func dropEmptyPatterns(list string) string {
	var kept []string
	for _, p := range strings.Split(list, ",") {
		if strings.TrimPrefix(p, "!") != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ",")
}

// setGroups adds the pattern lists of a groups (or group) entry.
func (p *parser) setGroups(e entry) {
	var parts []string
	for _, part := range e.parts {
		if part != "" {
			parts = append(parts, part)
		}
	}
	value := strings.Join(parts, " ")
	lists := splitGroupLists(value)
	if len(lists) == 0 {
		p.warn(e.line, e.key+" is empty: Duo applies to every user")
	}
	for _, list := range lists {
		// duo_unix (OpenSSH's matcher) takes an empty pattern, which
		// matches no group: its own test config has a trailing comma.
		if pruned := dropEmptyPatterns(list); pruned != list {
			p.warn(e.line, fmt.Sprintf("%s: pattern list %q has an empty pattern (a doubled, leading or trailing comma); it matches no group and is ignored", e.key, clip(list, 64)))
			if list = pruned; list == "" {
				continue
			}
		}
		if msg := checkPatternList(list); msg != "" {
			p.fail(e.line, e.key, ErrInvalidValue, fmt.Sprintf("%s: pattern list %q: %s", e.key, clip(list, 64), msg))
			continue
		}
		if len(p.cfg.Groups) == MaxGroupLists {
			p.fail(e.line, e.key, ErrInvalidValue, fmt.Sprintf("%s: more than %d pattern lists", e.key, MaxGroupLists))
			return
		}
		p.cfg.Groups = append(p.cfg.Groups, list)
		p.last["groups"] = e
	}
}
