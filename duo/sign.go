package duo

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"sort"
	"strings"
)

// DateFormat is the RFC 2822 layout Duo expects in the Date and
// X-Duo-Date headers, e.g. "Tue, 21 Aug 2012 17:29:18 -0000".
const DateFormat = "Mon, 02 Jan 2006 15:04:05 -0700"

// EncodeParams returns the params line of the canonical string: keys and
// their values sorted, each percent-encoded keeping only A-Za-z0-9_.~-
// (so a space is %20, never +), pairs joined by '&'.
func EncodeParams(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vals := append([]string(nil), params[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(escape(k))
			b.WriteByte('=')
			b.WriteString(escape(v))
		}
	}
	return b.String()
}

// escape percent-encodes every byte outside Duo's unreserved set.
func escape(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') ||
			c == '_' || c == '.' || c == '~' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

// Canonicalize returns the 5-line string Duo signs: date, upper-case
// method, lower-case host, path and the params line, joined by "\n".
func Canonicalize(method, host, path string, params url.Values, date string) string {
	return strings.Join([]string{
		date,
		strings.ToUpper(method),
		strings.ToLower(host),
		path,
		EncodeParams(params),
	}, "\n")
}

// Sign returns the lowercase hex HMAC-SHA512 of canonical under skey.
func Sign(skey, canonical string) string {
	return hmacHex(sha512.New, skey, canonical)
}

func hmacHex(h func() hash.Hash, key, msg string) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// BasicAuth returns the Authorization header value for a signature:
// "Basic " + base64(ikey ":" sig).
func BasicAuth(ikey, sig string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(ikey+":"+sig))
}

// Authorization signs a request and returns its Authorization header value.
func Authorization(ikey, skey, method, host, path string, params url.Values, date string) string {
	return BasicAuth(ikey, Sign(skey, Canonicalize(method, host, path, params, date)))
}

// VerifySignature reports whether sig (lowercase hex) is the HMAC-SHA512 of
// canonical under skey, comparing in constant time. The mock server uses it.
func VerifySignature(skey, canonical, sig string) bool {
	want := Sign(skey, canonical)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(sig)))
}

// VerifySignatureSHA1 reports whether sig (hex) is the HMAC-SHA1 of
// canonical under skey, the signature of older Duo clients, which Duo
// still accepts. The mock server uses it; the client always signs with
// HMAC-SHA512.
func VerifySignatureSHA1(skey, canonical, sig string) bool {
	want := hmacHex(sha1.New, skey, canonical)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(sig)))
}
