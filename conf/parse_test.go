package conf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testIKey = "DIWJ8X6AEYOR5OMC6TQ1"
	testSKey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
	testHost = "api-xxxxxxxx.duosecurity.com"
	// base is a minimal valid file of four lines; lines added after it
	// start at line 5.
	base = "[duo]\nikey = " + testIKey + "\nskey = " + testSKey + "\nhost = " + testHost + "\n"
)

// parseOK parses text and fails the test on an error.
func parseOK(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse([]byte(text), "pam_duo.conf")
	require.NoError(t, err, "Parse(%q)", text)
	return c
}

// allErrors flattens err (an *Error or a join of them).
func allErrors(t *testing.T, err error) []*Error {
	t.Helper()
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *Error
		require.ErrorAs(t, e, &ce, "error %v (%T) is not a *conf.Error", e, e)
		out = append(out, ce)
	}
	walk(err)
	return out
}

func TestDefaults(t *testing.T) {
	got := parseOK(t, base)
	want := &Config{
		File:             "pam_duo.conf",
		IKey:             testIKey,
		SKey:             testSKey,
		Host:             testHost,
		Failmode:         FailSafe,
		HTTPSTimeout:     DefaultHTTPSTimeout,
		Prompts:          DefaultPrompts,
		GecosDelim:       DefaultGecosDelim,
		GecosUsernamePos: DefaultGecosUserPos,
		EnrollQR:         QRDark,
	}
	assert.Equal(t, want, got, "defaults:\n got %#v\nwant %#v", got, want)
	assert.True(t, got.GroupsMatch([]string{"anything"}), "no groups key: every user must use Duo")
}

func TestKeys(t *testing.T) {
	tests := []struct {
		line string
		get  func(*Config) any
		want any
	}{
		{"ikey = DIXXXXXXXXXXXXXXXXXX", func(c *Config) any { return c.IKey }, "DIXXXXXXXXXXXXXXXXXX"},
		{"skey = another-secret-key-0123456789", func(c *Config) any { return c.SKey }, "another-secret-key-0123456789"},
		{"host = api-12345678.duosecurity.com", func(c *Config) any { return c.Host }, "api-12345678.duosecurity.com"},
		{"host = 127.0.0.1:8443", func(c *Config) any { return c.Host }, "127.0.0.1:8443"},
		{"host = localhost:1", func(c *Config) any { return c.Host }, "localhost:1"},
		{"host = [::1]:65535", func(c *Config) any { return c.Host }, "[::1]:65535"},
		{"host = [::1]", func(c *Config) any { return c.Host }, "[::1]"},
		{"host = api-x.duosecurity.com.", func(c *Config) any { return c.Host }, "api-x.duosecurity.com."},
		{"failmode = safe", func(c *Config) any { return c.Failmode }, FailSafe},
		{"failmode = secure", func(c *Config) any { return c.Failmode }, FailSecure},
		{"failmode = Secure", func(c *Config) any { return c.Failmode }, FailSecure},
		{"failmode=secure", func(c *Config) any { return c.Failmode }, FailSecure},
		{"failmode   =   secure   ", func(c *Config) any { return c.Failmode }, FailSecure},
		{"; indented after a comment\n  failmode = secure", func(c *Config) any { return c.Failmode }, FailSecure},
		{"failmode = secure ; fail closed", func(c *Config) any { return c.Failmode }, FailSecure},
		{"failmode = secure\t; fail closed", func(c *Config) any { return c.Failmode }, FailSecure},
		{"push_type = Production SSH login", func(c *Config) any { return c.PushType }, "Production SSH login"},
		{"display_username = Alice (ops)", func(c *Config) any { return c.DisplayUsername }, "Alice (ops)"},
		{"groups = wheel", func(c *Config) any { return c.Groups }, []string{"wheel"}},
		{"group = wheel", func(c *Config) any { return c.Groups }, []string{"wheel"}},
		{"groups = users,!wheel,!*admin guests", func(c *Config) any { return c.Groups }, []string{"users,!wheel,!*admin", "guests"}},
		{"groups = a\tb   c", func(c *Config) any { return c.Groups }, []string{"a", "b", "c"}},
		{`groups = domain\ users,!domain\ admins wheel`, func(c *Config) any { return c.Groups }, []string{"domain users,!domain admins", "wheel"}},
		{"pushinfo = yes", func(c *Config) any { return c.PushInfo }, true},
		{"http_proxy = http://proxy.example.com:3128", func(c *Config) any { return c.HTTPProxy }, "http://proxy.example.com:3128"},
		{"http_proxy = proxy.example.com:3128", func(c *Config) any { return c.HTTPProxy }, "proxy.example.com:3128"},
		{"http_proxy = http://user:pass@proxy:3128/", func(c *Config) any { return c.HTTPProxy }, "http://user:pass@proxy:3128/"},
		{"http_proxy =", func(c *Config) any { return c.HTTPProxy }, ""},
		{"https_timeout = 30", func(c *Config) any { return c.HTTPSTimeout }, 30 * time.Second},
		{"https_timeout = 1", func(c *Config) any { return c.HTTPSTimeout }, time.Second},
		{"https_timeout = 300", func(c *Config) any { return c.HTTPSTimeout }, 300 * time.Second},
		{"https_timeout = 0", func(c *Config) any { return c.HTTPSTimeout }, DefaultHTTPSTimeout},
		{"https_timeout = -5", func(c *Config) any { return c.HTTPSTimeout }, DefaultHTTPSTimeout},
		{"https_timeout = 100000", func(c *Config) any { return c.HTTPSTimeout }, MaxHTTPSTimeout},
		{"cafile = /etc/ssl/certs/ca-certificates.crt", func(c *Config) any { return c.CAFile }, "/etc/ssl/certs/ca-certificates.crt"},
		{"cafile = /etc/duo//../duo/ca.pem", func(c *Config) any { return c.CAFile }, "/etc/duo/ca.pem"},
		{"cafile =", func(c *Config) any { return c.CAFile }, ""},
		{"autopush = yes", func(c *Config) any { return c.AutoPush }, true},
		{"prompts = 1", func(c *Config) any { return c.Prompts }, 1},
		{"prompts = 2", func(c *Config) any { return c.Prompts }, 2},
		{"prompts = 3", func(c *Config) any { return c.Prompts }, 3},
		{"prompts = 0", func(c *Config) any { return c.Prompts }, 1},
		{"prompts = -1", func(c *Config) any { return c.Prompts }, 1},
		{"prompts = 10", func(c *Config) any { return c.Prompts }, 3},
		{"accept_env_factor = yes", func(c *Config) any { return c.AcceptEnvFactor }, true},
		{"fallback_local_ip = yes", func(c *Config) any { return c.FallbackLocalIP }, true},
		{"send_gecos = yes", func(c *Config) any { return c.SendGecos }, true},
		{"gecos_delim = /", func(c *Config) any { return c.GecosDelim }, "/"},
		{"gecos_delim = #", func(c *Config) any { return c.GecosDelim }, "#"},
		{"gecos_delim=;", func(c *Config) any { return c.GecosDelim }, ";"},
		{"gecos_delim = ;", func(c *Config) any { return c.GecosDelim }, ";"}, // as in inih: no space before it
		{"gecos_delim = ; ; comment", func(c *Config) any { return c.GecosDelim }, ";"},
		{"gecos_username_pos = 3", func(c *Config) any { return []any{c.GecosUsernamePos, c.GecosUsernamePosSet} }, []any{3, true}},
		{"motd = yes", func(c *Config) any { return c.Motd }, true},
		{"metrics_file = /var/lib/prometheus/node-exporter/pam_duo_go.prom", func(c *Config) any { return c.MetricsFile }, "/var/lib/prometheus/node-exporter/pam_duo_go.prom"},
		{"metrics_file =", func(c *Config) any { return c.MetricsFile }, ""},
		{"verified_push = yes", func(c *Config) any { return c.VerifiedPush }, true},
		{"noverify = yes", func(c *Config) any { return c.CAFile }, ""},
		{"gecos_parsed = yes", func(c *Config) any { return []any{c.SendGecos, c.GecosUsernamePosSet} }, []any{false, false}},
		{"dev_fips_mode = yes", func(c *Config) any { return c.Failmode }, FailSafe},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c := parseOK(t, base+tt.line+"\n")
			got := tt.get(c)
			assert.Equal(t, tt.want, got, "got %#v, want %#v", got, tt.want)
		})
	}
}

func TestBooleans(t *testing.T) {
	keys := []struct {
		key string
		get func(*Config) bool
	}{
		{"pushinfo", func(c *Config) bool { return c.PushInfo }},
		{"autopush", func(c *Config) bool { return c.AutoPush }},
		{"accept_env_factor", func(c *Config) bool { return c.AcceptEnvFactor }},
		{"fallback_local_ip", func(c *Config) bool { return c.FallbackLocalIP }},
		{"send_gecos", func(c *Config) bool { return c.SendGecos }},
		{"motd", func(c *Config) bool { return c.Motd }},
		{"verified_push", func(c *Config) bool { return c.VerifiedPush }},
	}
	values := map[string]bool{
		"yes": true, "true": true, "on": true, "1": true, "YES": true, "True": true, "ON": true,
		"no": false, "false": false, "off": false, "0": false, "NO": false, "False": false, "Off": false,
	}
	for _, k := range keys {
		assert.False(t, k.get(parseOK(t, base)), "%s: default must be no", k.key)
		for v, want := range values {
			c := parseOK(t, base+k.key+" = "+v+"\n")
			got := k.get(c)
			assert.Equal(t, want, got, "%s = %s: got %v, want %v", k.key, v, got, want)
		}
		for _, v := range []string{"maybe", "2", "y", "n", "yes please", "", "enabled"} {
			_, err := Parse([]byte(base+k.key+" = "+v+"\n"), "pam_duo.conf")
			if !assert.ErrorIs(t, err, ErrInvalidValue, "%s = %q: got %v, want ErrInvalidValue", k.key, v, err) {
				continue
			}
			e := allErrors(t, err)[0]
			assert.Equal(t, 5, e.Line, "%s = %q: error at line %d key %q, want line 5 key %q", k.key, v, e.Line, e.Key, k.key)
			assert.Equal(t, k.key, e.Key, "%s = %q: error at line %d key %q, want line 5 key %q", k.key, v, e.Line, e.Key, k.key)
		}
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		line string
		key  string
		text string // in the message
	}{
		{"failmode = sekure", "failmode", `failmode = "sekure": want safe or secure`},
		{"failmode = secure # fail closed", "failmode", `"#" only starts a comment line`},
		{"failmode =", "failmode", "want safe or secure"},
		{"host = https://api-x.duosecurity.com", "host", "without https://"},
		{"host = api-x.duosecurity.com/auth/v2", "host", "without a path"},
		{"host = api-x.duosecurity.com?x=1", "host", "without a path"},
		{"host = api-x duosecurity.com", "host", "without spaces"},
		{"host = user@api-x.duosecurity.com", "host", "without a user name"},
		{"host = api-x.duosecurity.com:", "host", "port number"},
		{"host = api-x.duosecurity.com:0", "host", "port number"},
		{"host = api-x.duosecurity.com:65536", "host", "port number"},
		{"host = api-x.duosecurity.com:https", "host", "port number"},
		{"host = api-x.duosecurity.com:+443", "host", "port number"},
		{"host = ::1", "host", "between [ and ]"},
		{"host = [nothost]:443", "host", "IPv6"},
		{"host = api..duosecurity.com", "host", "label"},
		{"host = api-x.duo$ecurity.com", "host", `"$"`},
		{`host = "api-x.duosecurity.com"`, "host", `"\""`},
		{"push_type = " + strings.Repeat("x", 257), "push_type", "at most 256 bytes"},
		{"ikey = DI XX", "ikey", "without spaces"},
		{"skey = has space", "skey", "value not shown"},
		{"http_proxy = ftp://proxy:21", "http_proxy", "scheme must be http"},
		{"http_proxy = http://proxy:3128/path", "http_proxy", "want http://[user:pass@]host:port"},
		{"http_proxy = http://proxy:99999", "http_proxy", "port number"},
		{"http_proxy = http://proxy:port", "http_proxy", "not a URL"},
		{"http_proxy = http://proxy :3128", "http_proxy", "without spaces"},
		{"https_timeout = 15s", "https_timeout", "whole number of seconds"},
		{"https_timeout = 1.5", "https_timeout", "whole number of seconds"},
		{"https_timeout = 99999999999999999999", "https_timeout", "whole number of seconds"},
		{"https_timeout =", "https_timeout", "whole number of seconds"},
		{"cafile = certs/ca.pem", "cafile", "absolute path"},
		{"metrics_file = pam_duo_go.prom", "metrics_file", "absolute path ending in .prom"},
		{"metrics_file = /var/lib/node_exporter/pam_duo_go.txt", "metrics_file", "absolute path ending in .prom"},
		{"prompts = three", "prompts", "want 1, 2 or 3"},
		{"prompts = 2.0", "prompts", "want 1, 2 or 3"},
		{"gecos_delim = ,,", "gecos_delim", "one punctuation character"},
		{"gecos_delim = :", "gecos_delim", `other than ":"`},
		{"gecos_delim = a", "gecos_delim", "one punctuation character"},
		{"gecos_delim = 1", "gecos_delim", "one punctuation character"},
		{"gecos_delim =", "gecos_delim", "one punctuation character"},
		{"gecos_delim = \u00b7", "gecos_delim", "one punctuation character"},
		{"gecos_username_pos = 0", "gecos_username_pos", "positions start at 1"},
		{"gecos_username_pos = -2", "gecos_username_pos", "positions start at 1"},
		{"gecos_username_pos = first", "gecos_username_pos", "whole number"},
		{"groups = " + strings.Repeat("g", MaxPatternLen+1), "groups", "longer than"},
		{"groups = " + strings.Repeat("g ", MaxGroupLists+1), "groups", "more than 256 pattern lists"},
	}
	for _, tt := range tests {
		t.Run(clip(tt.line, 40), func(t *testing.T) {
			c, err := Parse([]byte(base+tt.line+"\n"), "pam_duo.conf")
			require.ErrorIs(t, err, ErrInvalidValue, "got %v, want ErrInvalidValue", err)
			require.NotNil(t, c, "nil Config with the error")
			errs := allErrors(t, err)
			e := errs[0]
			assert.Equal(t, 5, e.Line, "error %q: line %d key %q file %q, want line 5 key %q", e, e.Line, e.Key, e.File, tt.key)
			assert.Equal(t, tt.key, e.Key, "error %q: line %d key %q file %q, want line 5 key %q", e, e.Line, e.Key, e.File, tt.key)
			assert.Equal(t, "pam_duo.conf", e.File, "error %q: line %d key %q file %q, want line 5 key %q", e, e.Line, e.Key, e.File, tt.key)
			assert.True(t, strings.HasPrefix(e.Error(), "pam_duo.conf:5: "), "error %q: want prefix %q and %q in it", e, "pam_duo.conf:5: ", tt.text)
			assert.Contains(t, e.Error(), tt.text, "error %q: want prefix %q and %q in it", e, "pam_duo.conf:5: ", tt.text)
		})
	}
}

func TestHTTPSTimeoutLimitAccepted(t *testing.T) {
	c := parseOK(t, base+fmt.Sprintf("https_timeout = %d\n", int(MaxHTTPSTimeout/time.Second)))
	assert.Equal(t, MaxHTTPSTimeout, c.HTTPSTimeout, "https_timeout at the limit: %v, warnings %q", c.HTTPSTimeout, c.Warnings)
	assert.Empty(t, c.Warnings, "https_timeout at the limit: %v, warnings %q", c.HTTPSTimeout, c.Warnings)
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		text string
		line int
		want string
	}{
		{"noverify = yes", 5, "noverify is ignored: pam_duo_go always verifies"},
		{"noverify = no", 5, "noverify has no effect"},
		{"noverify = whatever", 5, "noverify is ignored"},
		{"gecos_parsed = yes", 5, "gecos_parsed is deprecated"},
		{"dev_fips_mode = yes", 5, "dev_fips_mode has no effect in pam_duo_go (duo_unix built without FIPS refused every login"},
		{"groups = a,,b", 5, "has an empty pattern"},
		{"groups = ,a", 5, "has an empty pattern"},
		{"groups = a,", 5, "has an empty pattern"},
		{"min_tls = 1.0", 5, "min_tls = 1.0 is below pam_duo_go's floor: TLS 1.2 is used at least"},
		{"min_tls = 1.1", 5, "TLS 1.2 is used at least"},
		{"prompts = 0", 5, "prompts = 0 is raised to 1"},
		{"prompts = 4", 5, "prompts = 4 is lowered to 3"},
		{"https_timeout = 0", 5, "duo_unix read 0 or less as no timeout"},
		{"https_timeout = 1000", 5, "https_timeout = 1000 is lowered to 5m0s"},
		{"cafile =", 5, "cafile is empty"},
		{"send_gecos = yes", 5, "GECOS"},
		{"gecos_username_pos = 2", 5, "GECOS"},
		{"gecos_delim = /", 5, "gecos_delim has no effect without gecos_username_pos"},
		{"groups =", 5, "groups is empty"},
		{"groups = !wheel", 5, "every pattern is negated"},
		{"groups = !wheel !admins", 5, "every pattern is negated"},
		{"groups = users !wheel", 5, "only negated patterns never matches"},
		{"failmode = safe\nfailmode = secure", 5, "failmode is set again on line 6; the last setting wins"},
		{"ikey = DIWJ8X6AEYOR5OMC6TQ", 5, "ikey is 19 characters long; Duo integration keys have 20"},
		{"skey = Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep1", 5, "skey is 41 characters long; Duo secret keys have 40"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			c := parseOK(t, base+tt.text+"\n")
			want := fmt.Sprintf("pam_duo.conf:%d: ", tt.line)
			found := slices.ContainsFunc(c.Warnings, func(w string) bool {
				return strings.HasPrefix(w, want) && strings.Contains(w, tt.want)
			})
			assert.True(t, found, "warnings %q: want one starting %q containing %q", c.Warnings, want, tt.want)
		})
	}
	w := parseOK(t, base).Warnings
	assert.Empty(t, w, "Duo-length keys: unexpected warnings %q", w)
	short := "[duo]\nikey = " + testIKey + "\nskey = short-secret\nhost = " + testHost + "\n"
	w = parseOK(t, short).Warnings
	if assert.Len(t, w, 1, "a short skey: want one warning without the value, got %q", w) {
		assert.NotContains(t, w[0], "short-secret", "a short skey: want one warning without the value, got %q", w)
	}
	w = parseOK(t, base+"groups = *,!wheel\n").Warnings
	assert.Empty(t, w, "groups = *,!wheel: unexpected warnings %q", w)
	w = parseOK(t, base+"gecos_delim = /\ngecos_username_pos = 1\n").Warnings
	assert.Len(t, w, 1, "gecos_delim with gecos_username_pos: want only the GECOS warning, got %q", w)
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"fialmode = secure", `pam_duo.conf:5: unknown key "fialmode" (did you mean "failmode"?)`},
		{"IKEY = x", `pam_duo.conf:5: unknown key "IKEY" (key names are lower case: "ikey")`},
		{"ip_whitelist = 10.0.0.1", `pam_duo.conf:5: unknown key "ip_whitelist"`},
		{"pushinfo yes = no", `pam_duo.conf:5: unknown key "pushinfo ..."`},
		{"- = x", `pam_duo.conf:5: unknown key "-"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, err := Parse([]byte(base+tt.line+"\n"), "pam_duo.conf")
			require.ErrorIs(t, err, ErrUnknownKey, "got %v, want ErrUnknownKey", err)
			got := allErrors(t, err)[0].Error()
			assert.Equal(t, tt.want, got, "got %q, want %q", got, tt.want)
		})
	}
}

func TestSyntax(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
		want string
	}{
		{"no equals", base + "autopush yes\n", 5, `not "key = value"`},
		{"colon separator", base + "autopush: yes\n", 5, `not "key = value"`},
		{"no key", base + "= yes\n", 5, `no key name before "="`},
		{"unclosed section", base + "[duo\n", 5, `section header without "]"`},
		{"empty section", base + "[]\n", 5, "empty section name"},
		{"quoted key", base + "\"autopush\" = yes\n", 5, "quoted key names"},
		{"backtick value", base + "autopush = `yes`\n", 5, "backtick"},
		{"triple quotes", base + "autopush = \"\"\"yes\"\"\"\n", 5, "three double quotes"},
		{"control character", base + "autopush = y\x1bes\n", 5, "control character U+001B"},
		{"NUL", base + "autopush = yes\x00\n", 5, "control character U+0000"},
		{"lone CR", base + "autopush = y\res\n", 5, "control character U+000D"},
		{"C1 control", base + "autopush = y\u009bes\n", 5, "control character U+009B"},
		{"invalid UTF-8", base + "groups = \xff\n", 5, "not valid UTF-8"},
		{"inner BOM", base + "\uFEFFautopush = yes\n", 5, "byte order mark"},
		{"indented continuation", base + "autopush = yes\n  no\n", 6, "continues the value of autopush from line 5"},
		{"indented config", "[duo]\n  ikey = " + testIKey + "\n  skey = x\n", 3, "continues the value of ikey from line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.text), "pam_duo.conf")
			require.True(t, errors.Is(err, ErrSyntax) || errors.Is(err, ErrUnknownKey), "got %v, want ErrSyntax", err)
			e := allErrors(t, err)[0]
			assert.Equal(t, tt.line, e.Line, "got %q (line %d), want line %d and %q", e, e.Line, tt.line, tt.want)
			assert.Contains(t, e.Error(), tt.want, "got %q (line %d), want line %d and %q", e, e.Line, tt.line, tt.want)
			assert.False(t, strings.ContainsAny(e.Error(), "\x00\x1b\r\u009b"), "error %q carries a control character", e)
		})
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name string
		text string
		want func(*Config) bool
	}{
		{"no section", "ikey = " + testIKey + "\nskey = " + testSKey + "\nhost = " + testHost + "\n",
			func(c *Config) bool { return c.Host == testHost }},
		{"any sections", "[a]\nikey = " + testIKey + "\n[b]\nskey = " + testSKey + "\n[duo]\nhost = " + testHost + "\n[a]\nautopush = yes\n",
			func(c *Config) bool { return c.AutoPush && c.IKey == testIKey }},
		{"CRLF", strings.ReplaceAll(base+"autopush = yes\n", "\n", "\r\n"),
			func(c *Config) bool { return c.AutoPush && c.Host == testHost }},
		{"no final newline", strings.TrimSuffix(base, "\n"), func(c *Config) bool { return c.Host == testHost }},
		{"BOM", "\uFEFF" + base, func(c *Config) bool { return c.IKey == testIKey }},
		{"comments", "# hash\n; semicolon\n  ; indented\n" + base + "#autopush = yes\n;autopush = yes\n",
			func(c *Config) bool { return !c.AutoPush }},
		{"semicolon needs a space before it", base + "http_proxy = http://proxy:3128/;x\n",
			func(c *Config) bool { return false }}, // error expected; see below
		{"last wins", base + "prompts = 1\nprompts = 2\n", func(c *Config) bool { return c.Prompts == 2 }},
		{"last wins across sections", "[a]\nprompts = 1\n" + base + "[b]\nprompts = 2\n[a]\n", func(c *Config) bool { return c.Prompts == 2 }},
		{"empty value later", base + "pushinfo = yes\n", func(c *Config) bool { return c.PushInfo }},
		{"groups add up", base + "groups = a b\ngroup = c\n[other]\ngroups = d\n",
			func(c *Config) bool { return reflect.DeepEqual(c.Groups, []string{"a", "b", "c", "d"}) }},
		{"groups continue on indented lines", base + "groups = a\n    b,!c ; comment\n\t; comment line\n  d\nautopush = yes\n",
			func(c *Config) bool { return reflect.DeepEqual(c.Groups, []string{"a", "b,!c", "d"}) && c.AutoPush }},
		{"value continued from an empty first line", base + "autopush =\n  yes\n", func(c *Config) bool { return c.AutoPush }},
		{"indented comment under a key", base + "autopush = yes\n  ; about autopush\n", func(c *Config) bool { return c.AutoPush }},
		{"blank line ends a value", base + "groups = a\n\n  \nautopush = yes\n",
			func(c *Config) bool { return reflect.DeepEqual(c.Groups, []string{"a"}) && c.AutoPush }},
		{"quotes are kept, like duo_unix", base + "groups = \"a\"\n", func(c *Config) bool { return c.Groups[0] == `"a"` }},
		{"semicolon inside a value", base + "groups = a;b\n", func(c *Config) bool { return c.Groups[0] == "a;b" }},
		{"hash inside a value", base + "groups = a#b\n", func(c *Config) bool { return c.Groups[0] == "a#b" }},
		{"equals inside a value", base + "groups = a=b\n", func(c *Config) bool { return c.Groups[0] == "a=b" }},
		{"section with comment", "[duo] ; main\n" + strings.TrimPrefix(base, "[duo]\n"), func(c *Config) bool { return c.Host == testHost }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.text), "pam_duo.conf")
			if tt.name == "semicolon needs a space before it" {
				assert.ErrorIs(t, err, ErrInvalidValue, "got %v, want the ';x' kept in the value and refused", err)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want(c), "unexpected config %v", c)
		})
	}
}

func TestMissingKeys(t *testing.T) {
	lines := []string{"ikey = " + testIKey, "skey = " + testSKey, "host = " + testHost}
	for i, key := range []string{"ikey", "skey", "host"} {
		t.Run("without "+key, func(t *testing.T) {
			var rest []string
			for j, l := range lines {
				if j != i {
					rest = append(rest, l)
				}
			}
			_, err := Parse([]byte(strings.Join(rest, "\n")+"\n"), "pam_duo.conf")
			require.ErrorIs(t, err, ErrMissingKey, "got %v, want ErrMissingKey", err)
			e := allErrors(t, err)[0]
			assert.Equal(t, key, e.Key, "got %q (key %q line %d)", e, e.Key, e.Line)
			assert.Equal(t, 0, e.Line, "got %q (key %q line %d)", e, e.Key, e.Line)
			assert.True(t, strings.HasPrefix(e.Error(), "pam_duo.conf: missing "+key+" ("), "got %q (key %q line %d)", e, e.Key, e.Line)
		})
		t.Run("empty "+key, func(t *testing.T) {
			text := strings.Replace(strings.Join(lines, "\n")+"\n", lines[i], key+" =", 1)
			_, err := Parse([]byte(text), "pam_duo.conf")
			require.ErrorIs(t, err, ErrMissingKey, "got %v, want ErrMissingKey", err)
			e := allErrors(t, err)[0]
			assert.Equal(t, key, e.Key, "got %q (key %q line %d)", e, e.Key, e.Line)
			assert.Equal(t, i+1, e.Line, "got %q (key %q line %d)", e, e.Key, e.Line)
			assert.Contains(t, e.Error(), key+" is empty", "got %q (key %q line %d)", e, e.Key, e.Line)
		})
	}
	_, err := Parse(nil, "empty.conf")
	errs := allErrors(t, err)
	assert.Len(t, errs, 3, "empty file: want 3 missing keys, got %v", err)
	// An invalid key is reported once, not also as missing.
	_, err = Parse([]byte("[duo]\nikey = "+testIKey+"\nskey = "+testSKey+"\nhost = https://x\n"), "pam_duo.conf")
	errs = allErrors(t, err)
	assert.Len(t, errs, 1, "invalid host: want one error, got %v", err)
	assert.NotErrorIs(t, err, ErrMissingKey, "invalid host: want one error, got %v", err)
}

// TestShippedPlaceholders: the files the packages install are refused
// until their keys are filled in, one error per key, without the secret.
func TestShippedPlaceholders(t *testing.T) {
	for _, name := range []string{"pam_duo.conf", "login_duo.conf"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile("../debian/" + name)
			require.NoError(t, err)
			_, err = Parse(data, name)
			require.ErrorIs(t, err, ErrInvalidValue, "got %v, want ErrInvalidValue", err)
			var keys []string
			for _, e := range allErrors(t, err) {
				keys = append(keys, e.Key)
				assert.NotEqual(t, 0, e.Line, "got %q (line %d)", e, e.Line)
				assert.Contains(t, e.Error(), "still the example from the package", "got %q (line %d)", e, e.Line)
			}
			assert.Equal(t, "skey host", strings.Join(keys, " "), "errors for %v, want skey host", keys)
			assert.NotContains(t, err.Error(), PlaceholderSKeyPrefix, "the error shows the skey: %v", err)
		})
	}
	// Only the shipped values: Duo's documentation examples still parse.
	parseOK(t, "[duo]\nikey = DIXXXXXXXXXXXXXXXXXX\nskey = "+testSKey+"\nhost = api-xxxxxxxx.duosecurity.com\n")
}

func TestVerifiedPushWithAutopush(t *testing.T) {
	_, err := Parse([]byte(base+"autopush = yes\nverified_push = yes\n"), "pam_duo.conf")
	require.ErrorIs(t, err, ErrInvalidValue, "got %v, want ErrInvalidValue", err)
	e := allErrors(t, err)[0]
	assert.Equal(t, 6, e.Line, "got %q (line %d, key %q)", e, e.Line, e.Key)
	assert.Equal(t, "verified_push", e.Key, "got %q (line %d, key %q)", e, e.Line, e.Key)
	assert.Contains(t, e.Error(), "autopush = yes (line 5)", "got %q (line %d, key %q)", e, e.Line, e.Key)
	for _, ok := range []string{"autopush = yes\nverified_push = no\n", "autopush = no\nverified_push = yes\n", "verified_push = yes\nautopush = yes\nautopush = no\n"} {
		parseOK(t, base+ok)
	}
}

func TestFailmodeOnError(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"secure, then a bad key", "failmode = secure\nfialmode = x\n", FailSecure},
		{"bad key, then secure", "fialmode = x\nfailmode = secure\n", FailSecure},
		{"secure with an empty key", "failmode = secure\nikey =\n", FailSecure},
		{"syntax error", "failmode = secure\ngarbage\n", FailSecure},
		{"control character elsewhere", "failmode = secure\nautopush = \x01\n", FailSecure},
		{"upper case", "failmode = SECURE\nfialmode = x\n", FailSecure},
		{"last valid wins", "failmode = secure\nfailmode = bogus\n", FailSecure},
		{"last valid wins, safe", "failmode = secure\nfailmode = safe\nfialmode = x\n", FailSafe},
		{"invalid failmode", "failmode = bogus\n", FailSafe},
		{"no failmode", "fialmode = secure\n", FailSafe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tt.text), "pam_duo.conf")
			require.Error(t, err, "no error")
			require.NotNil(t, c, "nil Config with the error")
			assert.Equal(t, tt.want, c.Failmode, "Failmode %q, want %q", c.Failmode, tt.want)
			assert.Equal(t, "", c.SKey, "the Config of a broken file must hold only File, Failmode and Warnings: %v", c)
			assert.Equal(t, "", c.IKey, "the Config of a broken file must hold only File, Failmode and Warnings: %v", c)
			assert.Equal(t, "", c.Host, "the Config of a broken file must hold only File, Failmode and Warnings: %v", c)
			assert.Equal(t, "pam_duo.conf", c.File, "the Config of a broken file must hold only File, Failmode and Warnings: %v", c)
		})
	}
}

func TestSKeyNeverShown(t *testing.T) {
	const s = testSKey
	texts := []string{
		"skey = " + s + "\n" + s + " = 1\n",
		"skey = " + s + "\nfailmode = " + s + "\n",
		"skey = " + s + "\nhost = " + s + "/x\n",
		"skey = " + s + "\nhost = https://" + s + "\n",
		"skey = " + s + "\nikey = " + s + " x\n",
		"skey = " + s + " x\n",
		"skey = " + s + "\nskey = " + s + "\n",
		"skey = " + s + "\ngroups = a,," + s + "\n",
		"skey = " + s + "\nhttp_proxy = http://user:" + s + "@proxy:3128/path\n",
		"skey = " + s + "\nhttp_proxy = ftp://" + s + ":3128\n",
		"skey = " + s + "\ncafile = " + s + "\n",
		"skey = " + s + "\ngecos_delim = " + s + "\n",
		"skey = " + s + "\nprompts = " + s + "\n",
		"skey = " + s + "\nautopush = " + s + "\n",
		"skey = " + s + "\n" + s + "\n",
		"skey = " + s + "\n[" + s + "\n",
		"skey = " + s + "\nautopush = `" + s + "`\n",
		"skey = " + s + " ; the secret\nfoo" + s + "bar = 1\n",
		"skey: " + s + "\nnoverify = " + s + "\n" + s + " = 2\n",
		"groups = a\n  skey = " + s + "\n" + s + " = 3\n",
		"skey = " + s + "\nfailmode = x" + s + "x\n",
	}
	for i, text := range texts {
		c, err := Parse([]byte("[duo]\nikey = "+testIKey+"\n"+text), "pam_duo.conf")
		if !assert.Error(t, err, "case %d: expected an error", i) {
			continue
		}
		shown := err.Error() + strings.Join(c.Warnings, "\n") + fmt.Sprint(c) + fmt.Sprintf("%#v %+v %s", c, c, c)
		for _, e := range allErrors(t, err) {
			shown += e.Key
		}
		assert.NotContains(t, shown, s, "case %d: the skey shows in:\n%s", i, shown)
	}
	// A valid Config prints without it too.
	c := parseOK(t, base+"http_proxy = http://user:hunter2@proxy:3128\n")
	for _, out := range []string{fmt.Sprint(c), fmt.Sprint(*c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c), c.String()} {
		assert.NotContains(t, out, testSKey, "formatted Config shows a secret: %s", out)
		assert.NotContains(t, out, "hunter2", "formatted Config shows a secret: %s", out)
	}
}

func TestGecosUsername(t *testing.T) {
	tests := []struct {
		conf   string
		gecos  string
		want   string
		wantOK bool
	}{
		{"", "Alice Smith,Room 1", "", false},
		{"send_gecos = yes", "Alice Smith,Room 1", "Alice Smith,Room 1", true},
		{"send_gecos = yes", "", "", false},
		{"gecos_username_pos = 2", "Alice Smith,asmith,555", "asmith", true},
		{"send_gecos = yes\ngecos_username_pos = 1", "asmith,Room 1", "asmith", true},
		{"gecos_username_pos = 4", "a,b,c", "", false},
		{"gecos_username_pos = 3", "a,b,c", "c", true},
		{"gecos_username_pos = 2", "a,,c", "", false},
		{"gecos_delim = /\ngecos_username_pos = 6", "code1/code2/code3//textField/usergecosparsed", "usergecosparsed", true},
		{"gecos_delim = /\ngecos_username_pos = 1", "no-slash-here", "no-slash-here", true},
		{"gecos_delim = /\ngecos_username_pos = 2", "no-slash-here", "", false},
	}
	for _, tt := range tests {
		c := parseOK(t, base+tt.conf+"\n")
		got, ok := c.GecosUsername(tt.gecos)
		assert.Equal(t, tt.want, got, "%q with GECOS %q: got %q, %v; want %q, %v", tt.conf, tt.gecos, got, ok, tt.want, tt.wantOK)
		assert.Equal(t, tt.wantOK, ok, "%q with GECOS %q: got %q, %v; want %q, %v", tt.conf, tt.gecos, got, ok, tt.want, tt.wantOK)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "pam_duo.conf", Line: 12, Key: "fialmode", Err: newDetail(ErrUnknownKey, `unknown key "fialmode"`)}, `pam_duo.conf:12: unknown key "fialmode"`},
		{&Error{File: "/etc/duo/pam_duo.conf", Err: newDetail(ErrMissingKey, "missing ikey")}, "/etc/duo/pam_duo.conf: missing ikey"},
		{&Error{Line: 3, Err: ErrSyntax}, "line 3: syntax error"},
		{&Error{File: "bad\x1bname", Line: 1, Err: ErrSyntax}, `"bad\x1bname":1: syntax error`},
	}
	for _, tt := range tests {
		got := tt.err.Error()
		assert.Equal(t, tt.want, got, "got %q, want %q", got, tt.want)
	}
	assert.ErrorIs(t, tests[0].err, ErrUnknownKey, "errors.Is does not see the sentinel through *Error")
	assert.NotErrorIs(t, tests[0].err, ErrInvalidValue, "errors.Is does not see the sentinel through *Error")
}

func TestSeveralErrorsInLineOrder(t *testing.T) {
	_, err := Parse([]byte("fialmode = x\nprompts = x\n[x\nikey = "+testIKey+"\n"), "pam_duo.conf")
	errs := allErrors(t, err)
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	// Lines 1-3, then skey and host missing.
	assert.Equal(t, []int{1, 2, 3, 0, 0}, lines, "error lines %v (%v)", lines, err)
	for _, sentinel := range []error{ErrUnknownKey, ErrInvalidValue, ErrSyntax, ErrMissingKey} {
		assert.ErrorIs(t, err, sentinel, "joined error does not match %v", sentinel)
	}
}

func TestDuoUnixExample(t *testing.T) {
	data, err := os.ReadFile("testdata/duo_unix_example.conf")
	require.NoError(t, err)
	c, err := Parse(data, "duo_unix_example.conf")
	require.NoError(t, err, "duo_unix's example must load")
	assert.NotEqual(t, "", c.IKey, "unexpected values: %v", c)
	assert.NotEqual(t, "", c.SKey, "unexpected values: %v", c)
	assert.NotEqual(t, "", c.Host, "unexpected values: %v", c)
	assert.True(t, c.PushInfo, "unexpected values: %v", c)
	assert.True(t, c.AutoPush, "unexpected values: %v", c)
	assert.Equal(t, 1, c.Prompts, "unexpected values: %v", c)
	assert.Equal(t, FailSecure, c.Failmode, "unexpected values: %v", c)
	assert.Equal(t, []string{"users,!wheel,!*admin", "guests"}, c.Groups, "groups: %q", c.Groups)
	assert.Empty(t, c.Warnings, "unexpected warnings: %q", c.Warnings)
}

func TestLargeInputsFinish(t *testing.T) {
	var many strings.Builder
	for i := 0; many.Len() < MaxFileSize-64; i++ {
		fmt.Fprintf(&many, "skey = s%05dabcdef\nunknown%d = x\n", i, i)
	}
	inputs := map[string]string{
		"many skeys and unknown keys": many.String(),
		"long continuation":           "groups = a\n" + strings.Repeat("  b\n", MaxFileSize/4-4),
		"long pattern list":           "groups = " + strings.Repeat("a*b*c*,", MaxFileSize/8) + "x\n",
		"long key":                    strings.Repeat("k", MaxFileSize-8) + " = 1\n",
		"many sections":               strings.Repeat("[s]\nikey = x\n", MaxFileSize/14),
	}
	for name, text := range inputs {
		done := make(chan error, 1)
		go func() {
			_, err := Parse([]byte(text), "big.conf")
			done <- err
		}()
		select {
		case err := <-done:
			assert.Error(t, err, "%s: expected errors", name)
		case <-time.After(60 * time.Second):
			require.FailNowf(t, "Parse did not finish", "%s", name)
		}
	}
}

// TestNewerDuoUnixKeys: keys and values newer duo_unix releases accept
// are accepted, not a config error that refuses every login.
func TestNewerDuoUnixKeys(t *testing.T) {
	base := "[duo]\nikey = DIWJ8X6AEYOR5OMC6TQ1\nskey = Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep\nhost = api-xxxxxxxx.duosecurity.com\n"
	for _, tt := range []struct {
		line string
		get  func(*Config) any
		want any
	}{
		{"min_tls = 1.3", func(c *Config) any { return c.MinTLS }, uint16(tls.VersionTLS13)},
		{"min_tls = 1.2", func(c *Config) any { return c.MinTLS }, uint16(tls.VersionTLS12)},
		{"min_tls = TLSv1.3", func(c *Config) any { return c.MinTLS }, uint16(tls.VersionTLS13)},
		{"min_tls = 1.0", func(c *Config) any { return c.MinTLS }, uint16(tls.VersionTLS12)},
		{"disable_ca_pinning = yes", func(c *Config) any { return c.SystemRoots }, true},
		{"disable_ca_pinning = no", func(c *Config) any { return c.SystemRoots }, false},
		// duo_unix's own tests/confs/mockduo_space_users.conf.
		{`groups = users\ with\ spaces, no_spaces\here more\ spaces`, func(c *Config) any { return c.Groups },
			[]string{"users with spaces", `no_spaces\here`, "more spaces"}},
		{"groups = a,,b", func(c *Config) any { return c.Groups }, []string{"a,b"}},
		{"groups = ! wheel", func(c *Config) any { return c.Groups }, []string{"wheel"}},
	} {
		t.Run(tt.line, func(t *testing.T) {
			c := parseOK(t, base+tt.line+"\n")
			got := tt.get(c)
			assert.Equal(t, tt.want, got, "got %#v, want %#v", got, tt.want)
		})
	}
	for _, bad := range []string{"min_tls = 2.0", "min_tls = tls1.3", "min_tls =", "disable_ca_pinning = maybe"} {
		_, err := Parse([]byte(base+bad+"\n"), "pam_duo.conf")
		assert.ErrorIs(t, err, ErrInvalidValue, "%s: got %v, want ErrInvalidValue", bad, err)
	}
}
