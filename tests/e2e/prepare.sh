#!/usr/bin/env bash
# Prepares the real-engine suite (tests/e2e), as root. On this project's CI machines, which reach no
# Pulumi download site and no image registry: the Pulumi CLI and the program's plugins from a
# toolchain built from source, and local stand-ins for every registry image the e2e stacks run, both
# from ../shared. Elsewhere (GitHub's runners: the test workflow installs the CLI, the images are
# pulled): the Pulumi CLI on PATH, its plugins and the images downloaded as a user's would be. For
# this project's tests only; the program knows nothing of either.
#
#   sudo bash tests/e2e/prepare.sh
#
# Environment:
#   VPN_E2E_SHARED     where the toolchain and the stand-ins' recipes are: pulumi-toolchain/
#                      pulumi-toolchain-linux-amd64.tar.xz and e2e-images/build.sh (default: ../shared
#                      beside the checkout, else /work/shared, where this project's machines have it)
#   VPN_E2E_PULUMI_DIR where the CLI and the plugins go (default /opt/vpn-e2e/pulumi); the suite
#                      finds them there
#   VPN_E2E_IMAGE_GROUPS  the stand-in groups to build (default: core monitoring apps; the prod
#                      stack runs n8n and Ollama, the `apps` group: real builds, about 8 minutes
#                      on 2 cores the first time, seconds afterwards)
# Idempotent: the toolchain is unpacked again only when the archive changed, and build.sh rebuilds
# only what changed (seconds otherwise).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${VPN_E2E_SHARED:-}" ]; then
  SHARED=$VPN_E2E_SHARED
elif [ -d "$ROOT/../shared/pulumi-toolchain" ]; then
  SHARED=$(cd "$ROOT/../shared" && pwd)
else
  SHARED=/work/shared
fi
DEST=${VPN_E2E_PULUMI_DIR:-/opt/vpn-e2e/pulumi}
ARCHIVE=$SHARED/pulumi-toolchain/pulumi-toolchain-linux-amd64.tar.xz
BUILD=$SHARED/e2e-images/build.sh
read -r -a GROUPS_WANTED <<<"${VPN_E2E_IMAGE_GROUPS:-core monitoring apps}"

log() { printf '[e2e-prepare] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (dockerd, debootstrap, image builds)"
total=$SECONDS

if [ ! -f "$ARCHIVE" ]; then
  # No toolchain here: the CLI a user has, with its own plugins and the registries' images.
  pulumi=$(command -v pulumi) ||
    die "no Pulumi toolchain at $ARCHIVE (set VPN_E2E_SHARED) and no pulumi on PATH"
  rm -rf "$DEST"
  mkdir -p "$DEST"
  ln -s "$pulumi" "$DEST/pulumi"
  log "no toolchain archive: $(pulumi version) from $pulumi; plugins and images are downloaded"
  bash "$ROOT/tests/images/prepare.sh"
  log "done in $((SECONDS - total)) s"
  exit 0
fi
[ -f "$BUILD" ] || die "no $BUILD beside the toolchain (set VPN_E2E_SHARED)"
command -v xz >/dev/null || {
  apt-get update -qq
  apt-get install -y -qq xz-utils >/dev/null
}
# The toolchain: unpacked again only when the archive is another one.
sum=$(sha256sum "$ARCHIVE" | cut -d' ' -f1)
if [ "$(cat "$DEST/.archive-sha256" 2>/dev/null || true)" != "$sum" ]; then
  log "unpacking the Pulumi toolchain into $DEST"
  rm -rf "$DEST"
  mkdir -p "$DEST"
  tar -xJf "$ARCHIVE" -C "$DEST"
  printf '%s\n' "$sum" >"$DEST/.archive-sha256"
fi
for bin in pulumi pulumi-language-nodejs pulumi-resource-docker pulumi-resource-random pulumi-resource-tls pulumi-resource-command; do
  [ -x "$DEST/$bin" ] || die "the toolchain has no $bin"
done
export PATH=$DEST:$PATH PULUMI_SKIP_UPDATE_CHECK=1
# The resource plugins as installed ones, at the versions of the program's npm packages (from the
# lock file, so this runs before npm ci as well), so the engine uses them without "using
# pulumi-resource-X from $PATH" on every run.
for plugin in docker random tls command; do
  version=$(node -p "require('$ROOT/package-lock.json').packages['node_modules/@pulumi/$plugin'].version" 2>/dev/null) ||
    die "package-lock.json names no @pulumi/$plugin"
  if ! pulumi plugin ls 2>/dev/null | grep -Eq "^$plugin +resource +$version "; then
    log "installing the $plugin $version resource plugin"
    pulumi plugin install resource "$plugin" "$version" --file "$DEST/pulumi-resource-$plugin" >/dev/null
  fi
done
log "$(pulumi version) ($DEST)"

# The stand-ins (its first step is tests/images/prepare.sh: dockerd, the Debian bases).
log "building the stand-in images: ${GROUPS_WANTED[*]}"
bash "$BUILD" "$ROOT" "${GROUPS_WANTED[@]}"
log "done in $((SECONDS - total)) s"
