#!/usr/bin/env bash
# Prepares the nginx that tests/tools/nginx/harness.ts runs, as root, on a Debian bookworm machine:
# a Debian forky minbase chroot with Debian's nginx (1.30). Bookworm's own nginx (1.22) is too old
# for what the rendered config uses and the production image (nginx 1.28) has: `server <name>:<port>
# resolve;` in an upstream needs open-source nginx >= 1.27.3.
#
# Idempotent: the chroot is rebuilt only when it is missing or its recipe (suite and packages)
# changed, so a second run takes seconds. It is built in a temporary directory next to its place and
# renamed into place at the end, so a failed run never leaves half a chroot behind.
# Prints how long it took and the nginx version.
#
# Environment: VPN_NGINX_ROOT (the chroot, default /opt/vpn-test-nginx), DEBIAN_MIRROR (default
# http://deb.debian.org/debian).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
ROOT=${VPN_NGINX_ROOT:-/opt/vpn-test-nginx}
ROOT=${ROOT%/}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=forky
# Debian has no debootstrap script for forky yet; it is built like sid.
SCRIPT=/usr/share/debootstrap/scripts/sid
# `nginx` alone: since 1.26 Debian's nginx-light is a transitional package (nginx plus the echo
# module). nginx has ssl, http_v2, stub_status and realip built in; no CA bundle is needed, as the
# tests never verify an upstream's certificate.
PACKAGES=nginx
RECIPE="debootstrap --variant=minbase --include=$PACKAGES $SUITE ($(basename "$SCRIPT") script)"
STAMP=$ROOT/.vpn-test-recipe

log() { printf '[nginx-prepare] %s\n' "$*" >&2; }
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
  # mktemp's 0700 would become the chroot's /: nginx's workers (www-data) could open nothing.
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
  [ -x "$tmp/usr/sbin/nginx" ] || die "debootstrap succeeded but $tmp/usr/sbin/nginx is missing"
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
if [ -x "$ROOT/usr/sbin/nginx" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$RECIPE" ]; then
  log "$ROOT is up to date ($RECIPE)"
else
  install_packages
  build
fi
log "$(chroot "$ROOT" /usr/sbin/nginx -v 2>&1) at $ROOT"
log "done in $((SECONDS - total)) s"
