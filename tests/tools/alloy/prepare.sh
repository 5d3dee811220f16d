#!/usr/bin/env bash
# Builds alloy-syntax-check (main.go beside this file) for tests/tools/logs/alloy.test.ts: Alloy's
# own parser (github.com/grafana/alloy/syntax v0.1.0, from the Go module proxy) run on the rendered
# config.alloy. It checks syntax only. `alloy validate`, which also checks component arguments,
# cannot be built here: the proxy serves no Alloy release whose in-tree syntax module it also
# serves, and syntax v0.1.0 is the only version of that module it has.
#
# Idempotent: rebuilt only when the binary is missing or its recipe (the sources, go.sum and the
# Go version) changed, so a second run takes about a second. The binary is built next to its place
# and renamed into place after a smoke test, so a failed run never leaves a broken checker behind.
# Uses the machine's Go (PATH, else /usr/local/go/bin) and its default GOMODCACHE/GOCACHE/GOFLAGS.
#
# Environment: VPN_ALLOY_SYNTAX_CHECK (the binary, default /opt/vpn-test-tools/alloy-syntax-check).
set -euo pipefail

SRC=$(cd "$(dirname "$0")" && pwd)
OUT=${VPN_ALLOY_SYNTAX_CHECK:-/opt/vpn-test-tools/alloy-syntax-check}
STAMP=$OUT.recipe

log() { printf '[alloy-prepare] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

total=$SECONDS
GO=$(command -v go || true)
[ -n "$GO" ] || GO=/usr/local/go/bin/go
[ -x "$GO" ] || die "no Go toolchain (not on PATH, not at /usr/local/go/bin/go); install Go >= 1.21"

RECIPE="$("$GO" version) $(cd "$SRC" && sha256sum go.mod go.sum main.go | sha256sum | cut -c1-16)"

if [ -x "$OUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$RECIPE" ]; then
  log "$OUT is up to date ($RECIPE)"
else
  mkdir -p "$(dirname "$OUT")"
  rm -f "$OUT".tmp.* # what a run that was killed left behind
  tmp=$(mktemp "$OUT.tmp.XXXXXX")
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expanded now, on purpose.
  trap "rm -rf '$tmp' '$work'" EXIT
  log "building $SRC with $("$GO" version)"
  # -mod=readonly: go.sum pins every module; a build that would change it fails instead.
  # -buildvcs=false: a fresh clone owned by someone else must not make git (and the build) fail.
  (cd "$SRC" && "$GO" build -mod=readonly -trimpath -buildvcs=false -o "$tmp" .) ||
    die "go build failed in $SRC (is the Go module proxy reachable?)"
  # The checker must accept a good file and reject a bad one, naming the line, before it is used.
  printf 'a = "ok"\n' >"$work/good.alloy"
  printf 'a = "ok"\nb = "unterminated\n' >"$work/bad.alloy"
  "$tmp" "$work/good.alloy" >/dev/null || die "the new checker rejects a valid file"
  if "$tmp" "$work/bad.alloy" 2>"$work/err"; then
    die "the new checker accepts an unterminated string"
  fi
  grep -q "bad.alloy:2:5: string literal not terminated" "$work/err" ||
    die "unexpected diagnostic from the new checker: $(cat "$work/err")"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$OUT"
  printf '%s\n' "$RECIPE" >"$STAMP"
  rm -rf "$work"
  trap - EXIT
fi
log "$(grep -E '^require github.com/grafana/alloy/syntax ' "$SRC/go.mod" | cut -d' ' -f2-) at $OUT"
log "done in $((SECONDS - total)) s"
