#!/usr/bin/env bash
# Runs every fuzzer for a short fixed time (FUZZTIME, default 10s each),
# one after another; fails if any finds a crasher. `make test` runs it.
# A crasher is written under the package's testdata/fuzz/FuzzX/: commit it
# with the fix, as a regression seed.
#
#   FUZZTIME=10m bash test/fuzz.sh     # a longer run
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-10s}"

fuzzers=(
	"FuzzParse ./conf"                   # the config loader
	"FuzzDecodeEnvelope ./duo"           # Duo's response decoder
	"FuzzParseAnswer ./login"            # the menu answer parser
	"FuzzDecode ./helper/worker"         # the PAM worker protocol
)
for f in "${fuzzers[@]}"; do
	set -- $f
	echo "== $1 ($2, $FUZZTIME)"
	"$GO" test -run '^$' -fuzz "^$1\$" -fuzztime "$FUZZTIME" "$2"
done
