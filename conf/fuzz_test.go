package conf

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// skeyLine finds "skey = value" lines the way an administrator writes them;
// the values' words are what must never show in a message.
var skeyLine = regexp.MustCompile(`(?m)^[ \t]*skey[ \t]*=(.*)$`)

var warningPrefix = regexp.MustCompile(`^fuzz\.conf(:[0-9]+)?: `)

// fuzzErrors flattens err into its *Error values.
func fuzzErrors(t *testing.T, err error) []*Error {
	var out []*Error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fuzzErrors(t, e)...)
		}
		return out
	}
	var e *Error
	require.ErrorAs(t, err, &e, "%v (%T) is not a *conf.Error", err, err)
	return append(out, e)
}

// FuzzParse checks that Parse never panics, always returns a Config, never
// shows an skey, that the line scanner and gopkg.in/ini.v1 always agree,
// and that an accepted Config is within bounds. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + "groups = users,!wheel guests\n  admins\nfailmode = secure ; x\n"))
	f.Add([]byte("[duo]\nikey = \nskey = \nhost = \n;pushinfo = yes\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.conf")
		require.NotNil(t, c, "nil Config")
		require.False(t, c.Failmode != FailSafe && c.Failmode != FailSecure, "Failmode %q", c.Failmode)
		var secrets []string
		for _, m := range skeyLine.FindAllStringSubmatch(string(data), -1) {
			for _, w := range strings.Fields(m[1]) {
				if len(w) >= minSecretLen {
					secrets = append(secrets, w)
				}
			}
		}
		// What the file's content can put in a message: the messages
		// themselves and the keys, without the "fuzz.conf:LINE: " prefix
		// and struct field names, which are fixed text.
		var shown []string
		for _, w := range c.Warnings {
			shown = append(shown, warningPrefix.ReplaceAllString(w, ""))
		}
		if err != nil {
			require.NotErrorIs(t, err, errParserMismatch, "the line scanner and ini.v1 disagree: %v", err)
			require.Equal(t, "", c.SKey, "a refused Config carries keys: %v", c)
			require.Equal(t, "", c.IKey, "a refused Config carries keys: %v", c)
			require.Equal(t, "", c.Host, "a refused Config carries keys: %v", c)
			for _, e := range fuzzErrors(t, err) {
				require.Equal(t, "fuzz.conf", e.File, "error %q names file %q", e, e.File)
				shown = append(shown, e.Err.Error(), e.Key)
			}
		}
		for _, s := range secrets {
			for _, text := range shown {
				require.NotContains(t, text, s, "the skey %q shows in %q", s, text)
			}
		}
		if c.SKey != "" {
			// The SKey field must read <hidden>, whatever the key is (a
			// key of `"` once made a plain substring check misfire).
			for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v", *c), fmt.Sprintf("%#v", c)} {
				rest := strings.NewReplacer(`SKey:"<hidden>"`, "", "SKey:<hidden>", "").Replace(out)
				require.NotContains(t, rest, "SKey:", "formatting shows the skey: %s", out)
			}
		}
		if err != nil {
			return
		}
		require.NotEqual(t, "", c.IKey, "accepted without ikey, skey or host")
		require.NotEqual(t, "", c.SKey, "accepted without ikey, skey or host")
		require.NotEqual(t, "", c.Host, "accepted without ikey, skey or host")
		require.False(t, c.Prompts < 1, "Prompts %d", c.Prompts)
		require.False(t, c.Prompts > MaxPrompts, "Prompts %d", c.Prompts)
		require.False(t, c.HTTPSTimeout <= 0, "HTTPSTimeout %v", c.HTTPSTimeout)
		require.False(t, c.HTTPSTimeout > MaxHTTPSTimeout, "HTTPSTimeout %v", c.HTTPSTimeout)
		require.Zero(t, c.HTTPSTimeout%time.Second, "HTTPSTimeout %v", c.HTTPSTimeout)
		require.False(t, c.VerifiedPush && c.AutoPush, "accepted verified_push with autopush")
		require.Len(t, c.GecosDelim, 1, "gecos %q %d", c.GecosDelim, c.GecosUsernamePos)
		require.NotEqual(t, ":", c.GecosDelim, "gecos %q %d", c.GecosDelim, c.GecosUsernamePos)
		require.False(t, c.GecosUsernamePos < 1, "gecos %q %d", c.GecosDelim, c.GecosUsernamePos)
		require.LessOrEqual(t, len(c.Groups), MaxGroupLists, "%d group lists", len(c.Groups))
		require.Equal(t, "", checkHost(c.Host), "accepted host %q proxy %q", c.Host, c.HTTPProxy)
		require.Equal(t, "", checkProxy(c.HTTPProxy), "accepted host %q proxy %q", c.Host, c.HTTPProxy)
		for _, list := range c.Groups {
			require.NotEqual(t, "", list, "accepted group list %q", list)
			require.False(t, strings.ContainsAny(list, "\t\n"), "accepted group list %q", list)
			require.Equal(t, "", checkPatternList(list), "accepted group list %q", list)
		}
		c.GroupsMatch([]string{"wheel", "users"})
		c.GecosUsername("a,b,c")
	})
}

// TestScannerAgreesWithIni builds many small files from ini fragments
// chosen to hit the corners (indentation, comments, quotes, sections,
// continuation lines, CRLF) and checks that the line scanner and ini.v1
// read every one alike.
func TestScannerAgreesWithIni(t *testing.T) {
	indents := []string{"", "", "", " ", "  ", "\t", " \t", "\u00a0"}
	keys := []string{"ikey", "skey", "groups", "autopush", "k k", "a;b", "x#", "]", "'q'"}
	eqs := []string{"=", " = ", "\t=\t", "==", "= ", " ="}
	values := []string{"", " ", "yes", "a,b", "!c", "*", ";", " ;", "#", " #", ";c", " ; c",
		`"`, `"a"`, "'a'", "`", `""`, `\`, `\ `, "[x]", "k = v", "\u00a0", "é"}
	pick := func(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for n := 0; n < 30000; n++ {
		var b strings.Builder
		for l := rng.IntN(10); l >= 0; l-- {
			b.WriteString(pick(rng, indents))
			switch rng.IntN(10) {
			case 0:
				b.WriteString("[" + pick(rng, values) + "]" + pick(rng, values))
			case 1:
				b.WriteString(pick(rng, []string{";", "#"}) + pick(rng, values))
			case 2: // blank, or (after a key) a continuation line
			case 3, 4:
				for v := rng.IntN(3); v >= 0; v-- {
					b.WriteString(pick(rng, values))
				}
			default:
				b.WriteString(pick(rng, keys) + pick(rng, eqs))
				for v := rng.IntN(3); v >= 0; v-- {
					b.WriteString(pick(rng, values))
				}
			}
			switch rng.IntN(12) {
			case 0: // no line break: joins the next line, or ends the file
			case 1:
				b.WriteString("\r\n")
			default:
				b.WriteString("\n")
			}
		}
		data := []byte(b.String())
		sc := scanLines(data)
		if len(sc.errs) > 0 {
			continue // refused before ini.v1 is asked
		}
		checked++
		line, err := crossCheck(data, sc.entries)
		require.Equal(t, 0, line, "the line scanner and ini.v1 disagree on %q: line %d, %v", data, line, err)
		require.NoError(t, err, "the line scanner and ini.v1 disagree on %q: line %d", data, line)
	}
	require.GreaterOrEqual(t, checked, 5000, "only %d of the generated files reached the comparison", checked)
	t.Logf("%d files compared", checked)
}
