#!/usr/bin/env bash
# Every test layer, as CI runs them (`npm run test:all`):
#   npm test              type check, lint, unit tests, the whole program under mocks
#   npm run test:tools    the real tools on the generated files (nginx, promtool, PostgreSQL, ...)
#   npm run test:images   the images of docker/, built and run on a local Docker engine
#   npm run test:e2e      the real Pulumi CLI against the local Docker engine
# Each layer runs even when one before it failed, so one run shows everything; the exit status
# fails when any did. The last line adds up the layers' closing "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

log=$(mktemp)
trap 'rm -f "$log"' EXIT

layers=(test test:tools test:images test:e2e)
statuses=()
times=()
for layer in "${layers[@]}"; do
  start=$SECONDS
  npm run "$layer" 2>&1 | tee -a "$log"
  statuses+=("${PIPESTATUS[0]}")
  times+=("npm run $layer: exit ${statuses[-1]}, $((SECONDS - start)) s")
  echo "${times[-1]}"
done

echo
printf '%s\n' "${times[@]}"
grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" |
  awk -v runs="${#layers[@]}" '{ p += $1; f += $3; s += $5; n++ }
    END {
      # A layer that printed no closing line (it crashed, or its lint failed) counts as a failure.
      if (n < runs) f += runs - n
      printf "%d passed, %d failed, %d skipped\n", p, f, s
    }'
for status in "${statuses[@]}"; do [ "$status" -eq 0 ] || exit 1; done
