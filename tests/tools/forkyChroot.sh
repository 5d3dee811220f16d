#!/usr/bin/env bash
# Builds a Debian forky minbase chroot with a few of Debian's packages, for tests that need a
# newer tool than the bookworm machine has. Sourced by tests/tools/*/prepare.sh, which set:
#   NAME     a short name for the log lines
#   ROOT     where the chroot goes
#   PACKAGES debootstrap's --include list (comma-separated)
#   CHECK    an executable inside the chroot that proves the packages are there
#   VERSION_FLAG  the flag that makes CHECK print its version
#
# Idempotent: the chroot is rebuilt only when it is missing or its recipe (suite and packages)
# changed, so a second run takes seconds. It is built in a temporary directory next to its place and
# renamed into place at the end, so a failed run never leaves half a chroot behind.
# Prints how long it took and the tool's version.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
ROOT=${ROOT%/}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=forky
# Debian has no debootstrap script for forky yet; it is built like sid.
SCRIPT=/usr/share/debootstrap/scripts/sid
RECIPE="debootstrap --variant=minbase --include=$PACKAGES $SUITE ($(basename "$SCRIPT") script)"
STAMP=$ROOT/.vpn-test-recipe

log() { printf '[%s-prepare] %s\n' "$NAME" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and runs debootstrap)"

install_packages() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # The harness's TLS clients and test certificates use the host's openssl.
  command -v openssl >/dev/null || missing+=(openssl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" debian-archive-keyring >/dev/null
  fi
  [ -f "$SCRIPT" ] || die "$SCRIPT is missing (debootstrap too old?)"
}

# Unmounts whatever debootstrap left mounted under DIR (it mounts /proc and /sys while it installs),
# then removes DIR without crossing into another file system.
remove_tree() {
  local dir=$1 mnt
  while read -r mnt; do
    umount -l "$mnt" || true
  done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

build() {
  local tmp start=$SECONDS stale
  # What a run that was killed left behind.
  for stale in "$ROOT".tmp.* "$ROOT".old.*; do
    [ ! -d "$stale" ] || remove_tree "$stale"
  done
  rm -f "$ROOT".tmp.*.log
  tmp=$(mktemp -d "$ROOT.tmp.XXXXXX")
  # mktemp's 0700 would become the chroot's /: a non-root program in it could open nothing.
  chmod 0755 "$tmp"
  # shellcheck disable=SC2064 # $tmp is meant to be expanded now.
  trap "remove_tree '$tmp'" EXIT
  log "$RECIPE from $MIRROR into $tmp"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$MIRROR" "$SCRIPT" \
    >"$tmp.log" 2>&1; then
    tail -n 30 "$tmp.log" >&2
    die "debootstrap failed; its log is $tmp.log"
  fi
  log "debootstrap: $((SECONDS - start)) s"
  [ -x "$tmp$CHECK" ] || die "debootstrap succeeded but $tmp$CHECK is missing"
  # The apt lists and the .deb cache are of no use to the tests.
  rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/archives/*.deb
  printf '%s\n' "$RECIPE" >"$tmp/.vpn-test-recipe"
  local old=
  if [ -e "$ROOT" ]; then
    old=$(mktemp -u "$ROOT.old.XXXXXX")
    mv -T "$ROOT" "$old"
  fi
  mv -T "$tmp" "$ROOT"
  trap - EXIT
  rm -f "$tmp.log"
  [ -z "$old" ] || remove_tree "$old"
}

total=$SECONDS
if [ -x "$ROOT$CHECK" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$RECIPE" ]; then
  log "$ROOT is up to date ($RECIPE)"
else
  install_packages
  build
fi
log "$(chroot "$ROOT" "$CHECK" "$VERSION_FLAG" 2>&1 | head -n 1) at $ROOT"
log "done in $((SECONDS - total)) s"
