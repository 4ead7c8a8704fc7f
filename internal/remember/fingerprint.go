package remember

import (
	"crypto/sha256"
	"encoding/base64"
)

// fingerprint is OpenSSH's SHA256 fingerprint of a public key blob given
// in base64 ("SHA256:" and the unpadded base64 of its SHA-256).
func fingerprint(b64 string) (string, bool) {
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(blob) == 0 {
		return "", false
	}
	sum := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), true
}
