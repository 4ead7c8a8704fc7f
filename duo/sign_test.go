package duo

import (
	"crypto/sha1"
	"crypto/sha512"
	"hash"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Vectors from /work/shared/duo-signing-vectors.txt.
const (
	v1IKey = "DIWJ8X6AEYOR5OMC6TQ1"
	v1SKey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
	v1Host = "api-XXXXXXXX.duosecurity.com"
	v1Date = "Tue, 21 Aug 2012 17:29:18 -0000"
)

var v1Params = url.Values{"realname": {"First Last"}, "username": {"root"}}

func TestSignVectors(t *testing.T) {
	v5Params := url.Values{
		"\u469a\u287b\u35d0\u8ef3\u6727\u502a\u0810\ud091\u00c8\uc170": {"\u0f45\u1a76\u341a\u654c\uc23f\u9b09\uabe2\u8343\u1b27\u60d0"},
		"\u7449\u7e4b\uccfb\u59ff\ufe5f\u83b7\uadcc\u900c\ucfd1\u7813": {"\u8db7\u5022\u92d3\u42ef\u207d\u8730\uacfe\u5617\u0946\u4e30"},
		"\u7470\u9314\u901c\u9eae\u40d8\u4201\u82d8\u8c70\u1d31\ua042": {"\u17d9\u0ba8\u9358\uaadf\ua42a\u48be\ufb96\u6fe9\ub7ff\u32f3"},
		"\uc2c5\u2c1d\u2620\u3617\u96b3F\u8605\u20e8\uac21\u5934":      {"\ufba9\u41aa\ubd83\u840b\u2615\u3e6e\u652d\ua8b5\ud56bU"},
	}
	const v5Line = "%E4%9A%9A%E2%A1%BB%E3%97%90%E8%BB%B3%E6%9C%A7%E5%80%AA%E0%A0%90%ED%82%91%C3%88%EC%85%B0=%E0%BD%85%E1%A9%B6%E3%90%9A%E6%95%8C%EC%88%BF%E9%AC%89%EA%AF%A2%E8%8D%83%E1%AC%A7%E6%83%90&%E7%91%89%E7%B9%8B%EC%B3%BB%E5%A7%BF%EF%B9%9F%E8%8E%B7%EA%B7%8C%E9%80%8C%EC%BF%91%E7%A0%93=%E8%B6%B7%E5%80%A2%E9%8B%93%E4%8B%AF%E2%81%BD%E8%9C%B0%EA%B3%BE%E5%98%97%E0%A5%86%E4%B8%B0&%E7%91%B0%E9%8C%94%E9%80%9C%E9%BA%AE%E4%83%98%E4%88%81%E8%8B%98%E8%B1%B0%E1%B4%B1%EA%81%82=%E1%9F%99%E0%AE%A8%E9%8D%98%EA%AB%9F%EA%90%AA%E4%A2%BE%EF%AE%96%E6%BF%A9%EB%9F%BF%E3%8B%B3&%EC%8B%85%E2%B0%9D%E2%98%A0%E3%98%97%E9%9A%B3F%E8%98%85%E2%83%A8%EA%B0%A1%E5%A4%B4=%EF%AE%A9%E4%86%AA%EB%B6%83%E8%90%8B%E2%98%95%E3%B9%AE%E6%94%AD%EA%A2%B5%ED%95%ABU"

	tests := []struct {
		name                     string
		ikey, skey               string
		method, host, path, date string
		params                   url.Values
		hash                     func() hash.Hash // nil = SHA512 through Sign
		wantCanonical            string           // "" = not checked
		wantLine                 string           // params line; checked when wantCanonical is ""
		wantSig                  string
		wantAuth                 string // "" = not given by the vector
	}{
		{
			name: "V1 SHA1", ikey: v1IKey, skey: v1SKey, method: "POST", host: v1Host,
			path: "/accounts/v1/account/list", date: v1Date, params: v1Params, hash: sha1.New,
			wantCanonical: "Tue, 21 Aug 2012 17:29:18 -0000\nPOST\napi-xxxxxxxx.duosecurity.com\n/accounts/v1/account/list\nrealname=First%20Last&username=root",
			wantSig:       "2d97d6166319781b5a3a07af39d366f491234edc",
			wantAuth:      "Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6MmQ5N2Q2MTY2MzE5NzgxYjVhM2EwN2FmMzlkMzY2ZjQ5MTIzNGVkYw==",
		},
		{
			name: "V2 SHA512", ikey: v1IKey, skey: v1SKey, method: "POST", host: v1Host,
			path: "/accounts/v1/account/list", date: v1Date, params: v1Params,
			wantCanonical: "Tue, 21 Aug 2012 17:29:18 -0000\nPOST\napi-xxxxxxxx.duosecurity.com\n/accounts/v1/account/list\nrealname=First%20Last&username=root",
			wantSig:       "1bffb8924348f7db7da9e7d7d749ded93aafd02d8e904960da7b96c57510220185a64a2827ee8f24ac5d30802a9ee97e59de44b304b18242f0d596d15a8122af",
			wantAuth:      "Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6MWJmZmI4OTI0MzQ4ZjdkYjdkYTllN2Q3ZDc0OWRlZDkzYWFmZDAyZDhlOTA0OTYwZGE3Yjk2YzU3NTEwMjIwMTg1YTY0YTI4MjdlZThmMjRhYzVkMzA4MDJhOWVlOTdlNTlkZTQ0YjMwNGIxODI0MmYwZDU5NmQxNWE4MTIyYWY=",
		},
		{
			name: "V5 SHA1", ikey: "test_ikey", skey: "gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT", method: "PoSt",
			host: "foO.BAr52.cOm", path: "/Foo/BaR2/qux", date: "Fri, 07 Dec 2012 17:18:00 -0000", params: v5Params, hash: sha1.New,
			wantCanonical: "Fri, 07 Dec 2012 17:18:00 -0000\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n" + v5Line,
			wantSig:       "f01811cbbf9561623ab45b893096267fd46a5178",
		},
		{
			name: "V5 SHA512", ikey: "test_ikey", skey: "gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT", method: "PoSt",
			host: "foO.BAr52.cOm", path: "/Foo/BaR2/qux", date: "Fri, 07 Dec 2012 17:18:00 -0000", params: v5Params,
			wantCanonical: "Fri, 07 Dec 2012 17:18:00 -0000\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n" + v5Line,
			wantSig:       "0508065035a03b2a1de2f453e629e791d180329e157f65df6b3e0f08299d4321e1c5c7a7c7ee6b9e5fc80d1fb6fbf3ad5eb7c44dd3b3985a02c37aca53ec3698",
		},
		{
			name: "V6a node v2", ikey: "test_ikey", skey: "test_skey", method: "POST", host: "test.duosecurity.com",
			path: "/test/v1", date: v1Date, params: v1Params,
			wantLine: "realname=First%20Last&username=root",
			wantSig:  "042a30c682bd836fc5ba467891a956eaa10091ca0f73a7fb396aefd56a3529e56932dea427a67213af664ba6841689ff2336b7a373766ea5ab7ab9fe2638226b",
			wantAuth: "Basic dGVzdF9pa2V5OjA0MmEzMGM2ODJiZDgzNmZjNWJhNDY3ODkxYTk1NmVhYTEwMDkxY2EwZjczYTdmYjM5NmFlZmQ1NmEzNTI5ZTU2OTMyZGVhNDI3YTY3MjEzYWY2NjRiYTY4NDE2ODlmZjIzMzZiN2EzNzM3NjZlYTVhYjdhYjlmZTI2MzgyMjZi",
		},
		{
			name: "V9A preauth", ikey: v1IKey, skey: v1SKey, method: "POST", host: v1Host, path: "/auth/v2/preauth", date: v1Date,
			params:   url.Values{"username": {"alice@example.com"}, "ipaddr": {"203.0.113.5"}, "hostname": {"bastion-01"}, "client_supports_verified_push": {"1"}},
			wantLine: "client_supports_verified_push=1&hostname=bastion-01&ipaddr=203.0.113.5&username=alice%40example.com",
			wantSig:  "e6c4f4f6b1d6b86bc78140aada097d38d66dfc294633bec32582d40dcf4fe75244d6504dd31aca168949746650cf7bed05175fda764172f1be1568e16b7f42b6",
		},
		{
			name: "V9B auth", ikey: v1IKey, skey: v1SKey, method: "POST", host: v1Host, path: "/auth/v2/auth", date: v1Date,
			params: url.Values{"username": {"alice@example.com"}, "factor": {"push"}, "device": {"auto"}, "async": {"1"},
				"type": {"Login request"}, "pushinfo": {"Server+IP=10.0.0.1&Command=sudo%20ls%20%7E"}},
			wantLine: "async=1&device=auto&factor=push&pushinfo=Server%2BIP%3D10.0.0.1%26Command%3Dsudo%2520ls%2520%257E&type=Login%20request&username=alice%40example.com",
			wantSig:  "54e287d89532f1036a2b84ad5dfec0cf9849f75209ca87c00b15b16cc6ea552a7b7c99575ef541e6e5e097cea9a428f6b28c81f604a8ab92fa9e5ba2fcb69b52",
		},
		{
			name: "V9C auth_status", ikey: v1IKey, skey: v1SKey, method: "GET", host: v1Host, path: "/auth/v2/auth_status", date: v1Date,
			params:        url.Values{"txid": {"45f7c92b-f45f-4862-8545-e0f58e78075a"}},
			wantCanonical: v1Date + "\nGET\napi-xxxxxxxx.duosecurity.com\n/auth/v2/auth_status\ntxid=45f7c92b-f45f-4862-8545-e0f58e78075a",
			wantSig:       "b87b1075bc61e5c3393b5d14fc5ed0f9c8792ee90071ce76987ba519b0ff6f75776406fe25c6a0b2206a0ad3b9f1276d67ad416ae7a4a6f43dcef4cddf366df4",
		},
		{
			name: "V9E check", ikey: v1IKey, skey: v1SKey, method: "GET", host: v1Host, path: "/auth/v2/check", date: v1Date,
			params:        nil,
			wantCanonical: v1Date + "\nGET\napi-xxxxxxxx.duosecurity.com\n/auth/v2/check\n",
			wantSig:       "2da6ea8a7fcee59edeae46512da92c44be7fff870c34a93e219d487e2e49d790488b3a436d9175357799be45bc923a599cfce92b7178a58dd694f60a794d47e9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canon := Canonicalize(tt.method, tt.host, tt.path, tt.params, tt.date)
			if tt.wantCanonical != "" {
				assert.Equal(t, tt.wantCanonical, canon, "canonical")
			}
			if tt.wantLine != "" {
				lines := strings.Split(canon, "\n")
				if assert.Len(t, lines, 5, "canonical %q", canon) {
					assert.Equal(t, tt.wantLine, lines[4], "canonical %q: params line", canon)
				}
			}
			var sig string
			if tt.hash != nil {
				sig = hmacHex(tt.hash, tt.skey, canon)
			} else {
				sig = Sign(tt.skey, canon)
				assert.True(t, VerifySignature(tt.skey, canon, tt.wantSig), "VerifySignature rejects the expected signature")
				assert.EqualValues(t, BasicAuth(tt.ikey, tt.wantSig), Authorization(tt.ikey, tt.skey, tt.method, tt.host, tt.path, tt.params, tt.date), "Authorization = %q, want %q", Authorization(tt.ikey, tt.skey, tt.method, tt.host, tt.path, tt.params, tt.date), BasicAuth(tt.ikey, tt.wantSig))
			}
			assert.EqualValues(t, tt.wantSig, sig, "sig = %s, want %s", sig, tt.wantSig)
			if tt.wantAuth != "" {
				assert.EqualValues(t, tt.wantAuth, BasicAuth(tt.ikey, sig), "BasicAuth = %q, want %q", BasicAuth(tt.ikey, sig), tt.wantAuth)
			}
		})
	}
}

// TestSignNegativeV1 checks the vector file's wrong forms: they must not
// be what the package produces, and the HMAC must tell them apart.
func TestSignNegativeV1(t *testing.T) {
	base := v1Date + "\nPOST\napi-xxxxxxxx.duosecurity.com\n/accounts/v1/account/list\n"
	tests := []struct {
		name, line, sig string
	}{
		{"space as plus", "realname=First+Last&username=root", "c423a17fe94ccbf3004533cab496ae06216b90be"},
		{"empty params line", "", "1f3107d3856797e459d29a440c6e79ead6b7163f"},
	}
	good := Canonicalize("POST", v1Host, "/accounts/v1/account/list", v1Params, v1Date)
	for _, tt := range tests {
		assert.EqualValues(t, tt.sig, hmacHex(sha1.New, v1SKey, base+tt.line), "%s: sha1 = %s, want %s", tt.name, hmacHex(sha1.New, v1SKey, base+tt.line), tt.sig)
		assert.NotEqualValues(t, base+tt.line, good, "%s: Canonicalize produced the wrong form %q", tt.name, good)
		assert.NotEqualValues(t, tt.sig, hmacHex(sha1.New, v1SKey, good), "%s: the correct canonical signs to the wrong-form signature", tt.name)
	}
	assert.False(t, VerifySignature(v1SKey, good, "c423a17fe94ccbf3004533cab496ae06216b90be"), "VerifySignature accepted a SHA1 wrong-form signature")
}

func TestEncodeParamsV8(t *testing.T) {
	tests := []struct {
		name   string
		params url.Values
		want   string
	}{
		{"empty", url.Values{}, ""},
		{"nil", nil, ""},
		{"space", url.Values{"realname": {"First Last"}}, "realname=First%20Last"},
		{"prefix keys", url.Values{"foo": {"1"}, "foo_bar": {"2"}}, "foo=1&foo_bar=2"},
		{"prefix keys node", url.Values{"ip_whitelist": {"1"}, "ip_whitelist_enroll_policy": {"2"}}, "ip_whitelist=1&ip_whitelist_enroll_policy=2"},
		{"multi value", url.Values{"username": {"H ell?o"}, "password": {"H-._~i", "A(!'*)"}},
			"password=A%28%21%27%2A%29&password=H-._~i&username=H%20ell%3Fo"},
		{"character classes", url.Values{
			"digits":      {"0123456789"},
			"letters":     {"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
			"punctuation": {"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"},
			"whitespace":  {"\t\n\x0b\x0c\r "},
		}, "digits=0123456789&letters=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ&punctuation=%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~&whitespace=%09%0A%0B%0C%0D%20"},
	}
	for _, tt := range tests {
		assert.EqualValues(t, tt.want, EncodeParams(tt.params), "%s: EncodeParams = %q, want %q", tt.name, EncodeParams(tt.params), tt.want)
	}
	// The blank params line is still a line.
	assert.EqualValues(t, "d\nGET\nh\n/p\n", Canonicalize("GET", "h", "/p", nil, "d"), "canonical with no params = %q", Canonicalize("GET", "h", "/p", nil, "d"))
}

func TestFormatDate(t *testing.T) {
	tm, err := time.Parse(DateFormat, v1Date)
	require.NoError(t, err)
	assert.EqualValues(t, v1Date, FormatDate(tm), "FormatDate = %q, want %q", FormatDate(tm), v1Date)
	// A non-UTC time is converted, and the zone is always "-0000".
	assert.EqualValues(t, v1Date, FormatDate(tm.In(time.FixedZone("X", -7*3600))), "FormatDate(non-UTC) = %q, want %q", FormatDate(tm.In(time.FixedZone("X", -7*3600))), v1Date)
	assert.Len(t, Sign("k", "m"), 2*sha512.Size, "Sign returned %d hex digits, want %d", len(Sign("k", "m")), 2*sha512.Size)
}
