#!/usr/bin/env bash
# The static checks of `npm test`, side by side: the type check (tsc, the only one: jest only
# transpiles), ESLint and Prettier. Each one's output is printed whole, in that order, once all
# have ended; the exit status fails when any did.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

names=(tsc eslint prettier)
npx tsc --noEmit >"$out/tsc" 2>&1 &
pids=($!)
npx eslint . >"$out/eslint" 2>&1 &
pids+=($!)
npx prettier --check . >"$out/prettier" 2>&1 &
pids+=($!)

failed=0
for i in "${!names[@]}"; do
  if wait "${pids[$i]}"; then status=ok; else status=FAILED failed=1; fi
  echo "== ${names[$i]}: $status"
  # Prettier's "Checking formatting..." and "All matched files use Prettier code style!" say
  # nothing when it passed; anything else is worth reading.
  [ "$status" = ok ] || cat "$out/${names[$i]}"
done
exit "$failed"
