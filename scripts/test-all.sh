#!/usr/bin/env bash
# Every test layer, as CI runs them (`npm run test:all`): `npm test` (type check, lint, unit, the
# whole program under mocks, the real tools on the generated files, the images) and then
# `npm run test:e2e` (the real Pulumi CLI against the local Docker engine). The second runs even
# when the first failed, so one run shows everything; the exit status fails when either did. The
# last line adds up both closing "N passed, N failed, N skipped" lines.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

log=$(mktemp)
trap 'rm -f "$log"' EXIT

npm test 2>&1 | tee -a "$log"
fast=${PIPESTATUS[0]}
npm run test:e2e 2>&1 | tee -a "$log"
e2e=${PIPESTATUS[0]}

grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" |
  awk -v runs=2 -v fast="$fast" -v e2e="$e2e" '{ p += $1; f += $3; s += $5; n++ }
    END {
      if (n < runs) f += runs - n
      printf "\nnpm test: exit %s; npm run test:e2e: exit %s\n", fast, e2e
      printf "%d passed, %d failed, %d skipped\n", p, f, s
    }'
[ "$fast" -eq 0 ] && [ "$e2e" -eq 0 ]
