package golden

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Normalizer replaces in a transcript what varies from run to run, so
// that the transcript can be compared with a golden file: names the test
// chose at random (Words), the mock Duo host (DUO_HOST), loopback ports
// (PORT), Duo transaction ids (TXID1, TXID2, … in order of appearance),
// enrollment codes (CODE) and their QR code, elapsed times, the count of
// open descriptors and the directories of t.TempDir (TMPDIR).
type Normalizer struct {
	// Words maps a word to what replaces it where it stands as a whole
	// word (e.g. a random user name to "USER"); longer words go first.
	Words map[string]string
	// DuoHost is the mock's host:port, replaced by "DUO_HOST".
	DuoHost string
}

var (
	// tempDir is a directory of t.TempDir, also as it appears
	// percent-encoded in a pushinfo.
	tempDir = regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(os.TempDir()), "/", "(?:/|%2F)") +
		`(?:/|%2F)Test[A-Za-z0-9_]*?[0-9]+(?:/|%2F)[0-9]{3}`)
	// loopbackPort is a loopback address with its port, as a URL has it
	// or as sshd logs it ("127.0.0.1 port 4242").
	loopbackPort = regexp.MustCompile(`(127\.0\.0\.1|\[::1\]|localhost)( port |:)[0-9]+`)
	duoID        = regexp.MustCompile(`\b(vp-[0-9A-F]{16}|[0-9A-F]{32})\b`)
	portalCode   = regexp.MustCompile(`code=[0-9A-F]{16}\b`)
	elapsed      = regexp.MustCompile(`elapsed_ms=[0-9]+`)
	openFDs      = regexp.MustCompile(`with [0-9]+ descriptors open`)
	// fdLimit is a file descriptor limit a test set relative to the
	// descriptors its process happened to have open.
	fdLimit = regexp.MustCompile(`RLIMIT_NOFILE [0-9]+`)
	// qrLines is a QR code drawn in half blocks, each line an indented
	// continuation ("  | ") of a transcript entry.
	qrLines = regexp.MustCompile(`(?m)(^  \| [ █▀▄]*[█▀▄][ █▀▄]*\n)+`)
)

// Normalize returns text with what varies between runs replaced.
func (n Normalizer) Normalize(text string) string {
	words := make([]string, 0, len(n.Words))
	for w := range n.Words {
		if w != "" {
			words = append(words, w)
		}
	}
	slices.SortFunc(words, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	for _, w := range words {
		text = regexp.MustCompile(`\b`+regexp.QuoteMeta(w)+`\b`).ReplaceAllString(text, n.Words[w])
	}
	text = tempDir.ReplaceAllString(text, "TMPDIR")
	if n.DuoHost != "" {
		text = strings.ReplaceAll(text, n.DuoHost, "DUO_HOST")
	}
	text = loopbackPort.ReplaceAllString(text, "${1}${2}PORT")
	ids := map[string]string{}
	text = duoID.ReplaceAllStringFunc(text, func(id string) string {
		if _, ok := ids[id]; !ok {
			ids[id] = fmt.Sprintf("TXID%d", len(ids)+1)
		}
		return ids[id]
	})
	text = portalCode.ReplaceAllString(text, "code=CODE")
	text = elapsed.ReplaceAllString(text, "elapsed_ms=N")
	text = openFDs.ReplaceAllString(text, "with N descriptors open")
	text = fdLimit.ReplaceAllString(text, "RLIMIT_NOFILE N")
	return qrLines.ReplaceAllString(text, "  | [QR code]\n")
}
