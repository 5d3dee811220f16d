#!/usr/bin/env bash
# Builds actionlint (github.com/rhysd/actionlint, from the Go module proxy, with the machine's Go)
# for tests/tools/actionlint/workflows.test.ts, which lints .github/workflows with it. actionlint
# checks shell steps with shellcheck when it is on PATH; the test requires it, so this installs
# Debian's `shellcheck` when it is missing (as root, as .ci/run runs).
#
# Idempotent: rebuilt only when the binary is missing or its recipe (the version below and the Go
# version) changed, so a second run takes about a second. The binary is built next to its place and
# renamed into place after a smoke test, so a failed run never leaves a broken linter behind.
# Uses the machine's Go (PATH, else /usr/local/go/bin) and its default GOMODCACHE/GOCACHE/GOFLAGS;
# go.sum of the module and the checksum database (through the proxy) pin what is downloaded.
#
# Environment: VPN_ACTIONLINT (the binary, default /opt/vpn-test-tools/actionlint).
set -euo pipefail

VERSION=v1.7.12
MODULE=github.com/rhysd/actionlint/cmd/actionlint
OUT=${VPN_ACTIONLINT:-/opt/vpn-test-tools/actionlint}
STAMP=$OUT.recipe

log() { printf '[actionlint-prepare] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

total=$SECONDS

if ! command -v shellcheck >/dev/null; then
  [ "$(id -u)" -eq 0 ] ||
    die "shellcheck is missing: run this as root, or apt-get install shellcheck (Debian)"
  log "installing shellcheck (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq shellcheck >/dev/null || die "apt-get install shellcheck failed"
fi
command -v shellcheck >/dev/null || die "shellcheck is still not on PATH"

GO=$(command -v go || true)
[ -n "$GO" ] || GO=/usr/local/go/bin/go
[ -x "$GO" ] ||
  die "no Go toolchain (not on PATH, not at /usr/local/go/bin/go); install Go >= 1.25"

RECIPE="$MODULE@$VERSION $("$GO" version)"

if [ -x "$OUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$RECIPE" ]; then
  log "$OUT is up to date ($RECIPE)"
else
  mkdir -p "$(dirname "$OUT")"
  rm -rf "$OUT".tmp.* # what a run that was killed left behind
  work=$(mktemp -d "$OUT.tmp.XXXXXX")
  # shellcheck disable=SC2064 # expanded now, on purpose.
  trap "rm -rf '$work'" EXIT
  log "building $MODULE@$VERSION with $("$GO" version)"
  # `go install module@version` builds outside any module with the module's own go.mod and go.sum;
  # -buildvcs=false: no VCS stamping from whatever directory this runs in.
  (cd "$work" && GOBIN="$work/bin" "$GO" install -trimpath -buildvcs=false "$MODULE@$VERSION") ||
    die "go install $MODULE@$VERSION failed (is the Go module proxy reachable?)"
  bin=$work/bin/actionlint
  [ -x "$bin" ] || die "go install produced no $bin"
  "$bin" -version | head -n 1 | grep -qxF "$VERSION" ||
    die "the new binary reports another version: $("$bin" -version | head -n 1)"
  # Before it is used, the linter must accept a good workflow and reject a broken expression and
  # an unquoted variable in a run step (the latter is shellcheck's finding, through actionlint).
  cat >"$work/ok.yml" <<'YAML'
on: push
jobs:
  ok:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.sha }}"
YAML
  cat >"$work/bad.yml" <<'YAML'
on: push
jobs:
  bad:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.sha }"
      - run: echo $HOME/*
YAML
  "$bin" -shellcheck "$(command -v shellcheck)" -no-color "$work/ok.yml" >"$work/out" 2>&1 ||
    die "the new linter rejects a valid workflow: $(cat "$work/out")"
  if "$bin" -shellcheck "$(command -v shellcheck)" -no-color "$work/bad.yml" >"$work/out" 2>&1; then
    die "the new linter accepts a broken workflow"
  fi
  grep -q 'bad.yml:6:.*\[expression\]' "$work/out" ||
    die "the new linter misses the unclosed expression: $(cat "$work/out")"
  grep -q 'bad.yml:7:.*SC2086.*\[shellcheck\]' "$work/out" ||
    die "the new linter does not run shellcheck on run steps: $(cat "$work/out")"
  chmod 0755 "$bin"
  mv -f "$bin" "$OUT"
  printf '%s\n' "$RECIPE" >"$STAMP"
  rm -rf "$work"
  trap - EXIT
fi
sc_version=$(shellcheck --version | sed -n 's/^version: //p')
log "actionlint $("$OUT" -version | head -n 1) at $OUT, shellcheck $sc_version"
log "done in $((SECONDS - total)) s"
