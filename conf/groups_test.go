package conf

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatchPatternList(t *testing.T) {
	tests := []struct {
		name, list string
		want       int
	}{
		{"wheel", "wheel", 1},
		{"wheel", "whee", 0},
		{"wheel", "wheels", 0},
		{"wheel", "Wheel", 0}, // case sensitive
		{"wheel", "users,wheel", 1},
		{"wheel", "!wheel", -1},
		{"wheel", "users,!wheel", -1},
		{"wheel", "!wheel,wheel", -1}, // a negated match wins
		{"wheel", "wheel,!wheel", -1},
		{"wheel", "*", 1},
		{"wheel", "*,!wheel", -1},
		{"users", "*,!wheel", 1},
		{"wheel", "w*", 1},
		{"wheel", "*l", 1},
		{"wheel", "*e*", 1},
		{"wheel", "w?eel", 1},
		{"wheel", "w?el", 0},
		{"wheel", "?????", 1},
		{"wheel", "??????", 0},
		{"wheel", "!w*", -1},
		{"dbadmin", "!*admin", -1},
		{"admins", "!*admin", 0},
		{"", "", 0},
		{"wheel", "", 0},
		{"", "a,", 0},   // OpenSSH: a trailing comma adds no empty pattern
		{"", ",a", 1},   // but a leading one does
		{"", "a,,b", 1}, // and so does a doubled one
		{"!wheel", "!!wheel", -1},
		{"*", "*", 1},
		{"domain users", "domain users", 1},
		// OpenSSH's quirk: "**" never matches an empty rest of the name.
		{"wheel", "wheel*", 1},
		{"wheel", "wheel**", 0},
		{"ab", "*b**", 0},
		{"abb", "*b**", 1},
		{"ab", "a**b", 1},
	}
	for _, tt := range tests {
		got := matchPatternList(tt.name, tt.list)
		assert.Equal(t, tt.want, got, "matchPatternList(%q, %q) = %d, want %d", tt.name, tt.list, got, tt.want)
	}
}

// referenceMatch is OpenSSH's recursive match_pattern, transcribed
// literally, to check the memoizing one against.
func referenceMatch(s, p string) bool {
	for {
		if p == "" {
			return s == ""
		}
		if p[0] == '*' {
			p = p[1:]
			if p == "" {
				return true
			}
			if p[0] != '?' && p[0] != '*' {
				for ; s != ""; s = s[1:] {
					if s[0] == p[0] && referenceMatch(s[1:], p[1:]) {
						return true
					}
				}
				return false
			}
			for ; s != ""; s = s[1:] {
				if referenceMatch(s, p) {
					return true
				}
			}
			return false
		}
		if s == "" {
			return false
		}
		if p[0] != '?' && p[0] != s[0] {
			return false
		}
		s, p = s[1:], p[1:]
	}
}

// words returns every string of length 0 to n over alphabet.
func words(alphabet string, n int) []string {
	out := []string{""}
	prev := []string{""}
	for l := 1; l <= n; l++ {
		var next []string
		for _, w := range prev {
			for _, c := range alphabet {
				next = append(next, w+string(c))
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}

func TestMatchPatternAgainstReference(t *testing.T) {
	subjects := words("ab*?", 4)
	patterns := words("ab*?", 5)
	for _, s := range subjects {
		for _, p := range patterns {
			got, want := matchPattern(s, p), referenceMatch(s, p)
			require.Equal(t, want, got, "matchPattern(%q, %q) = %v, reference says %v", s, p, got, want)
		}
	}
}

func TestMatchPatternNotExponential(t *testing.T) {
	// The plain recursion would take about C(300, 50) steps here.
	s := strings.Repeat("a", 300)
	p := strings.Repeat("*a", 50) + "b"
	assert.False(t, matchPattern(s, p), "unexpected match")
	assert.True(t, matchPattern(s, strings.Repeat("*a", 50)+"*"), "no match")
}

func TestGroupsMatch(t *testing.T) {
	tests := []struct {
		name   string
		groups string   // the groups key ("" = not set)
		user   []string // primary group first, then supplementary
		want   bool
	}{
		{"no groups key", "", []string{"users"}, true},
		{"primary group", "wheel", []string{"wheel", "users"}, true},
		{"supplementary group", "wheel", []string{"users", "audio", "wheel"}, true},
		{"no group matches", "wheel", []string{"users", "audio"}, false},
		{"no groups at all", "wheel", nil, false},
		{"negation vetoes the list", "users,!wheel", []string{"users", "wheel"}, false},
		{"negation through the primary group", "users,!wheel", []string{"wheel", "users"}, false},
		{"negation of another group", "users,!wheel", []string{"users", "audio"}, true},
		{"another list still matches", "users,!wheel wheel", []string{"users", "wheel"}, true},
		{"everyone but wheel", "*,!wheel", []string{"users"}, true},
		{"everyone but wheel, wheel", "*,!wheel", []string{"users", "wheel"}, false},
		{"only negations", "!wheel", []string{"users"}, false},
		{"wildcard", "adm*", []string{"users", "admins"}, true},
		{"wildcard no match", "adm*", []string{"sysadm"}, false},
		{"question mark", "?dm", []string{"adm"}, true},
		{"man page: users", "users,!wheel,!*admin guests", []string{"users"}, true},
		{"man page: users and wheel", "users,!wheel,!*admin guests", []string{"users", "wheel"}, false},
		{"man page: users and dbadmin", "users,!wheel,!*admin guests", []string{"dbadmin", "users"}, false},
		{"man page: guests and wheel", "users,!wheel,!*admin guests", []string{"guests", "wheel"}, true},
		{"man page: staff", "users,!wheel,!*admin guests", []string{"staff"}, false},
		{"escaped space", `domain\ users`, []string{"domain users"}, true},
		{"escaped space is not a separator", `domain\ users`, []string{"domain"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := base
			if tt.groups != "" {
				text += "groups = " + tt.groups + "\n"
			}
			c := parseOK(t, text)
			got := c.GroupsMatch(tt.user)
			assert.Equal(t, tt.want, got, "groups %q, user in %q: got %v, want %v", tt.groups, tt.user, got, tt.want)
		})
	}
}

func TestSplitGroupLists(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"a", []string{"a"}},
		{" a  b\tc ", []string{"a", "b", "c"}},
		{`a\ b c`, []string{"a b", "c"}},
		{`a\\ b`, []string{`a\ b`}},
		{`a\b`, []string{`a\b`}},
		{`a\`, []string{`a\`}},
	}
	for _, tt := range tests {
		got := splitGroupLists(tt.in)
		assert.Equal(t, strings.Join(tt.want, "|"), strings.Join(got, "|"), "splitGroupLists(%q) = %q, want %q", tt.in, got, tt.want)
		assert.Len(t, got, len(tt.want), "splitGroupLists(%q) = %q, want %q", tt.in, got, tt.want)
	}
}
