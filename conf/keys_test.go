package conf

import (
	"crypto/tls"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the key list in doc.go from the key table")

// docKeyBlock is the key list of the package doc, made from the table:
// one line per key (keys with the same doc line share one), aligned as
// gofmt keeps a doc comment's code block.
func docKeyBlock() []string {
	const col = 20
	var lines []string
	for i := 0; i < len(keys); {
		names := []string{keys[i].name}
		doc := keys[i].doc + originNote[keys[i].origin]
		j := i + 1
		for ; j < len(keys) && keys[j].doc+originNote[keys[j].origin] == doc; j++ {
			names = append(names, keys[j].name)
		}
		i = j
		head := strings.Join(names, ", ")
		if len(head) < col {
			lines = append(lines, "//\t"+head+strings.Repeat(" ", col-len(head))+doc)
		} else {
			lines = append(lines, "//\t"+head, "//\t"+strings.Repeat(" ", col)+doc)
		}
	}
	return lines
}

// originNote is what the doc says of a key's origin.
var originNote = map[origin]string{
	duoUnix:      "",
	loginDuo:     " (login_duo)",
	newerDuoUnix: " (newer duo_unix)",
	deprecated:   " (deprecated in duo_unix)",
	ownKey:       " (pam_duo_go's own)",
}

// TestPackageDoc: the package doc lists every key as the table defines
// it. go test ./conf -run TestPackageDoc -update rewrites the list.
func TestPackageDoc(t *testing.T) {
	data, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "// Keys (") {
			for start = i; lines[start] != "//"; start++ {
			}
			start++
			break
		}
	}
	require.Positive(t, start, "doc.go has no \"// Keys (\" paragraph")
	end := start
	for end < len(lines) && strings.HasPrefix(lines[end], "//\t") {
		end++
	}
	want := docKeyBlock()
	if *update {
		out := append(append(append([]string{}, lines[:start]...), want...), lines[end:]...)
		require.NoError(t, os.WriteFile("doc.go", []byte(strings.Join(out, "\n")), 0o644))
		return
	}
	assert.Equal(t, strings.Join(want, "\n"), strings.Join(lines[start:end], "\n"),
		"doc.go's key list differs from the key table; run go test ./conf -run TestPackageDoc -update")
}

// TestKeyTable: every key is complete, and its documented default is
// the default: "key = def" gives the Config no line gives.
func TestKeyTable(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			assert.False(t, seen[k.name], "key defined twice")
			seen[k.name] = true
			assert.NotEmpty(t, k.doc)
			assert.Equal(t, k.kind == kindPatterns, k.set == nil, "only pattern keys have no setter")
			assert.Equal(t, k.name, strings.ToLower(k.name))
			if k.def == "" {
				return
			}
			c := parseOK(t, base+k.name+" = "+k.def+"\n")
			want := parseOK(t, base)
			c.Warnings, want.Warnings = nil, nil
			assert.Equal(t, want, c, "%s = %s is not the default", k.name, k.def)
			if k.kind == kindBool {
				_, err := Parse([]byte(base+k.name+" = maybe\n"), "pam_duo.conf")
				require.ErrorIs(t, err, ErrInvalidValue)
				assert.Equal(t, `pam_duo.conf:5: `+k.name+` = "maybe": want yes or no`, err.Error())
			}
		})
	}
}

// TestEveryKey pins, for every key of the table, a valid value, an
// invalid one with its whole message, and the default.
func TestEveryKey(t *testing.T) {
	type row struct {
		valid   string
		get     func(*Config) any
		want    any
		invalid string // "" for keys that take anything (with a warning)
		message string
		def     any
	}
	rows := map[string]row{
		"ikey": {"DIXXXXXXXXXXXXXXXXXX", func(c *Config) any { return c.IKey }, "DIXXXXXXXXXXXXXXXXXX",
			"DI XX", `ikey = "DI XX": want printable ASCII without spaces`, testIKey},
		"skey": {"Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Eq", func(c *Config) any { return c.SKey }, "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Eq",
			"ké", `skey: want printable ASCII without spaces (value not shown)`, testSKey},
		"host": {"api-12345678.duosecurity.com", func(c *Config) any { return c.Host }, "api-12345678.duosecurity.com",
			"https://api-x.duosecurity.com", `host = "https://api-x.duosecurity.com": want the API host name alone, without https:// (api-XXXXXXXX.duosecurity.com)`, testHost},
		"cafile": {"/etc/duo/ca.pem", func(c *Config) any { return c.CAFile }, "/etc/duo/ca.pem",
			"ca.pem", `cafile = "ca.pem": want an absolute path`, ""},
		"http_proxy": {"proxy:3128", func(c *Config) any { return c.HTTPProxy }, "proxy:3128",
			"ftp://proxy:21", `http_proxy: ftp://proxy:21: the scheme must be http`, ""},
		"groups": {"wheel", func(c *Config) any { return c.Groups }, []string{"wheel"},
			strings.Repeat("g ", MaxGroupLists+1), `groups: more than 256 pattern lists`, []string(nil)},
		"group": {"wheel", func(c *Config) any { return c.Groups }, []string{"wheel"},
			strings.Repeat("g ", MaxGroupLists+1), `group: more than 256 pattern lists`, []string(nil)},
		"failmode": {"secure", func(c *Config) any { return c.Failmode }, FailSecure,
			"sekure", `failmode = "sekure": want safe or secure`, FailSafe},
		"pushinfo": {"yes", func(c *Config) any { return c.PushInfo }, true,
			"maybe", `pushinfo = "maybe": want yes or no`, false},
		"noverify": {"yes", func(c *Config) any { return c.CAFile }, "", "", "", ""},
		"prompts": {"2", func(c *Config) any { return c.Prompts }, 2,
			"three", `prompts = "three": want 1, 2 or 3`, DefaultPrompts},
		"autopush": {"yes", func(c *Config) any { return c.AutoPush }, true,
			"maybe", `autopush = "maybe": want yes or no`, false},
		"accept_env_factor": {"yes", func(c *Config) any { return c.AcceptEnvFactor }, true,
			"maybe", `accept_env_factor = "maybe": want yes or no`, false},
		"fallback_local_ip": {"yes", func(c *Config) any { return c.FallbackLocalIP }, true,
			"maybe", `fallback_local_ip = "maybe": want yes or no`, false},
		"https_timeout": {"30", func(c *Config) any { return c.HTTPSTimeout }, 30 * time.Second,
			"15s", `https_timeout = "15s": want a whole number of seconds`, DefaultHTTPSTimeout},
		"send_gecos": {"yes", func(c *Config) any { return c.SendGecos }, true,
			"maybe", `send_gecos = "maybe": want yes or no`, false},
		"gecos_parsed": {"yes", func(c *Config) any { return c.SendGecos }, false, "", "", false},
		"gecos_delim": {"/", func(c *Config) any { return c.GecosDelim }, "/",
			":", `gecos_delim = ":": want one punctuation character other than ":"`, DefaultGecosDelim},
		"gecos_username_pos": {"2", func(c *Config) any { return []any{c.GecosUsernamePos, c.GecosUsernamePosSet} }, []any{2, true},
			"0", `gecos_username_pos = "0": positions start at 1`, []any{DefaultGecosUserPos, false}},
		"verified_push": {"yes", func(c *Config) any { return c.VerifiedPush }, true,
			"maybe", `verified_push = "maybe": want yes or no`, false},
		"dev_fips_mode": {"yes", func(c *Config) any { return c.Failmode }, FailSafe, "", "", FailSafe},
		"motd": {"yes", func(c *Config) any { return c.Motd }, true,
			"maybe", `motd = "maybe": want yes or no`, false},
		"min_tls": {"1.3", func(c *Config) any { return c.MinTLS }, uint16(tls.VersionTLS13),
			"2.0", `min_tls = "2.0": want 1.0, 1.1, 1.2 or 1.3`, uint16(0)},
		"disable_ca_pinning": {"yes", func(c *Config) any { return c.SystemRoots }, true,
			"maybe", `disable_ca_pinning = "maybe": want yes or no`, false},
		"push_type": {"SSH login", func(c *Config) any { return c.PushType }, "SSH login",
			strings.Repeat("x", 257), `push_type = "` + strings.Repeat("x", 64) + `...": want at most 256 bytes`, ""},
		"display_username": {"Alice", func(c *Config) any { return c.DisplayUsername }, "Alice",
			strings.Repeat("é", 129), `display_username = "` + strings.Repeat("é", 32) + `...": want at most 256 bytes`, ""},
		"remember": {"15m", func(c *Config) any { return c.Remember }, 15 * time.Minute,
			"soon", `remember = "soon": want off or a duration such as 900, 15m or 8h`, time.Duration(0)},
		"enroll_qr": {"light", func(c *Config) any { return c.EnrollQR }, QRLight,
			"blue", `enroll_qr = "blue": want yes (dark), light or no`, QRDark},
		"metrics_file": {"/var/lib/x/pam_duo_go.prom", func(c *Config) any { return c.MetricsFile }, "/var/lib/x/pam_duo_go.prom",
			"/tmp/x.txt", `metrics_file = "/tmp/x.txt": want an absolute path ending in .prom (node_exporter's textfile collector reads only those)`, ""},
	}
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			r, ok := rows[k.name]
			require.True(t, ok, "no row for key %s", k.name)
			assert.Equal(t, r.def, r.get(parseOK(t, base)), "default")
			assert.Equal(t, r.want, r.get(parseOK(t, base+k.name+" = "+r.valid+"\n")), "valid value")
			if r.invalid == "" {
				assert.NotEmpty(t, parseOK(t, base+k.name+" = "+r.valid+"\n").Warnings, "an ignored key warns")
				return
			}
			_, err := Parse([]byte(base+k.name+" = "+r.invalid+"\n"), "pam_duo.conf")
			require.ErrorIs(t, err, ErrInvalidValue)
			assert.Equal(t, "pam_duo.conf:5: "+r.message, allErrors(t, err)[0].Error())
		})
	}
	assert.Len(t, rows, len(keys), "a row for a key that is not in the table")
}
