#!/usr/bin/env bash
# Prepares what tests/images/images.test.ts needs, as root, on a Debian bookworm machine with no
# access to Docker Hub: a running Docker engine (Debian's docker.io) and three local base images.
#
#   vpn-test/debian:bookworm       debootstrap --variant=minbase, then `docker import`
#   vpn-test/node-base:bookworm    + Debian's nodejs and npm (node and npm on PATH, as node:*-slim)
#   vpn-test/python-base:bookworm  + Debian's python3, python3-venv and python3-pip (python3 on PATH)
#   vpn-test/nginx-root:forky      the nginx 1.30 chroot of tests/tools/nginx/prepare.sh (run first), imported
#   vpn-test/nginx:forky           + what nginx:1.28.0-alpine has and the chroot lacks (see build_nginx)
#
# The bases also trust this machine's CA bundle (see HOST_CA_BUNDLE below).
# Idempotent: each step runs only when its result is missing or its recipe changed, so a second run
# takes seconds.
# Prints how long each step took. The images are kept (they are the cache of the next run); remove
# them with `docker rmi vpn-test/python-base:bookworm vpn-test/node-base:bookworm vpn-test/debian:bookworm`
# (and vpn-test/nginx:forky vpn-test/nginx-root:forky).
#
# Environment: DOCKERD_LOG (default /tmp/vpn-test-dockerd.log), DOCKERD_WAIT (seconds, default 60),
# DEBIAN_MIRROR (default: the first Debian mirror of /etc/apt/sources.list*), VPN_NGINX_ROOT (the
# nginx chroot, default /opt/vpn-test-nginx), VPN_BUSYBOX (a static busybox, default /bin/busybox).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
# Debian's client (20.10, the engine's own API 1.41, BuildKit built in) rather than a newer client
# that may come first on PATH: without the buildx plugin a newer client refuses DOCKER_BUILDKIT=1.
DOCKER=${VPN_DOCKER:-/usr/bin/docker}
SUITE=bookworm
DEBIAN_IMAGE=vpn-test/debian:$SUITE
NODE_IMAGE=vpn-test/node-base:$SUITE
PYTHON_IMAGE=vpn-test/python-base:$SUITE
DOCKERD_LOG=${DOCKERD_LOG:-/tmp/vpn-test-dockerd.log}
DOCKERD_WAIT=${DOCKERD_WAIT:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
NGINX_ROOT=${VPN_NGINX_ROOT:-/opt/vpn-test-nginx}
NGINX_ROOT=${NGINX_ROOT%/}
NGINX_ROOT_IMAGE=vpn-test/nginx-root:forky
NGINX_IMAGE=vpn-test/nginx:forky
BUSYBOX=${VPN_BUSYBOX:-/bin/busybox}

log() { printf '[prepare] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
# step NAME COMMAND...: runs COMMAND and logs how long it took.
step() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  log "$name: $((SECONDS - start)) s"
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts dockerd)"

updated=
apt_install() {
  if [ -z "$updated" ]; then
    apt-get update -qq
    updated=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_packages() {
  local missing=()
  [ -x /usr/sbin/dockerd ] && [ -x "$DOCKER" ] || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ -x "$BUSYBOX" ] || missing+=(busybox-static)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

start_dockerd() {
  if "$DOCKER" info >/dev/null 2>&1; then
    log "a Docker engine already answers"
    return
  fi
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid: its own session, so that it outlives the shell that started it.
  setsid /usr/sbin/dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  local pid=$! waited=0
  until "$DOCKER" info >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd (pid $pid) exited; its log is $DOCKERD_LOG"
    fi
    if [ "$waited" -ge "$DOCKERD_WAIT" ]; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd (pid $pid) did not answer \`docker info\` within ${DOCKERD_WAIT} s; its log is $DOCKERD_LOG"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "dockerd pid $pid ready after ${waited} s"
}

has_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then
    echo "$DEBIAN_MIRROR"
    return
  fi
  # deb822 (URIs: ...) and one-line (deb URI suite ...) sources; the first .../debian one wins.
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -nE 's#^URIs:[[:space:]]*(https?://[^[:space:]]*/debian)/?([[:space:]]|$).*#\1#p; s#^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(https?://[^[:space:]]*/debian)/?[[:space:]].*#\2#p' |
    head -n 1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

build_debian() {
  if has_image "$DEBIAN_IMAGE"; then
    log "$DEBIAN_IMAGE exists"
    return
  fi
  local mirror root
  mirror=$(debian_mirror)
  root=$(mktemp -d /tmp/vpn-test-rootfs.XXXXXX)
  log "debootstrap --variant=minbase $SUITE $root $mirror"
  local start=$SECONDS
  if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$root.log" 2>&1; then
    tail -n 30 "$root.log" >&2
    die "debootstrap failed; its log is $root.log"
  fi
  log "debootstrap: $((SECONDS - start)) s"
  # The apt lists and the .deb cache are not part of a base image (as in debian:*-slim).
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  step "docker import $DEBIAN_IMAGE" sh -c "tar -C '$root' -c . | '$DOCKER' import -c 'CMD [\"bash\"]' - '$DEBIAN_IMAGE' >/dev/null"
  rm -rf "$root" "$root.log"
}

# The CA bundle this machine trusts. Where HTTPS goes through an intercepting proxy (as here), the
# registries' certificates are signed by a CA that only this bundle holds, and npm ci or pip install
# inside a build fails with SELF_SIGNED_CERT_IN_CHAIN. The bases add it to their system store
# (update-ca-certificates), which Debian's node, npm and pip use; elsewhere it changes nothing.
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

# is_current TAG HASH: true (and says so) when TAG was built from the recipe HASH stands for.
is_current() {
  if [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "vpn-test.recipe"}}' "$1" 2>/dev/null)" = "$2" ]; then
    log "$1 exists"
    return 0
  fi
  return 1
}

# replace_image TAG COMMAND...: runs COMMAND, which (re)makes TAG, then removes the build TAG had
# before, untagged now (kept when something still uses it).
replace_image() {
  local tag=$1 old
  shift
  old=$("$DOCKER" image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  "$@"
  [ -z "$old" ] || "$DOCKER" rmi "$old" >/dev/null 2>&1 || true
}

# build_recipe TAG HASH RECIPE [FILE NAME]...: builds TAG from the Dockerfile RECIPE, labelled with
# HASH, in a context holding each FILE as NAME.
build_recipe() {
  local tag=$1 hash=$2 recipe=$3 ctx
  shift 3
  ctx=$(mktemp -d /tmp/vpn-test-image.XXXXXX)
  printf '%s\nLABEL vpn-test.recipe=%s\n' "$recipe" "$hash" >"$ctx/Dockerfile"
  while [ $# -gt 0 ]; do
    cp "$1" "$ctx/$2"
    shift 2
  done
  replace_image "$tag" step "docker build $tag" "$DOCKER" build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
}

# build_base TAG ENV PACKAGES...: an image FROM the Debian base with those packages, the host's CA
# bundle and that ENV line (none when ENV is empty). Rebuilt when its recipe changed: a label holds
# the hash of the recipe, the Debian base's id and the CA bundle.
build_base() {
  local tag=$1 env=$2
  shift 2
  local recipe hash ca=
  [ -s "$HOST_CA_BUNDLE" ] && ca=1
  recipe="FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends $* \\
 && rm -rf /var/lib/apt/lists/*
${ca:+COPY host-ca-bundle.crt /usr/local/share/ca-certificates/host-ca-bundle.crt
RUN update-ca-certificates}
${env:+ENV $env}
CMD [\"bash\"]"
  hash=$({
    "$DOCKER" image inspect -f '{{.Id}}' "$DEBIAN_IMAGE"
    printf '%s\n' "$recipe"
    [ -z "$ca" ] || cat "$HOST_CA_BUNDLE"
  } | sha256sum | cut -c1-16)
  is_current "$tag" "$hash" && return
  log "building $tag ($*)"
  if [ -n "$ca" ]; then
    build_recipe "$tag" "$hash" "$recipe" "$HOST_CA_BUNDLE" host-ca-bundle.crt
  else
    build_recipe "$tag" "$hash" "$recipe"
  fi
}

# The production edge runs nginx:1.28.0-alpine, which Docker Hub would give; here nginx 1.30 from the
# chroot of tests/tools/nginx/prepare.sh stands in for it (tests/images/edge.test.ts). That script is
# idempotent (seconds when the chroot is current), so this one runs it rather than trusting the order
# of its callers.
import_nginx_root() {
  step "tests/tools/nginx/prepare.sh" bash "$HERE/../tools/nginx/prepare.sh"
  local stamp=$NGINX_ROOT/.vpn-test-recipe hash
  [ -f "$stamp" ] || die "$stamp is missing after tests/tools/nginx/prepare.sh"
  # A rebuilt chroot writes a new stamp: its time is part of the recipe.
  hash=$({
    cat "$stamp"
    stat -c %Y "$stamp"
  } | sha256sum | cut -c1-16)
  is_current "$NGINX_ROOT_IMAGE" "$hash" && return
  # --one-file-system: whatever a test has mounted inside the chroot stays out.
  replace_image "$NGINX_ROOT_IMAGE" step "docker import $NGINX_ROOT_IMAGE" sh -c "tar -C '$NGINX_ROOT' --one-file-system -c . | '$DOCKER' import -c 'LABEL vpn-test.recipe=$hash' - '$NGINX_ROOT_IMAGE' >/dev/null"
}

# vpn-test/nginx:forky: the chroot made to behave like nginx:1.28.0-alpine where the program relies on
# it. busybox as /bin/sh and every applet first on PATH (the program's scripts and healthcheck run
# under busybox ash, wget, mv -T, ...); the nginx user and group 101; the default logs on the
# container's stdout and stderr; the official image's PATH, STOPSIGNAL and CMD. The chroot's tests
# leave mount points behind (/etc/nginx/site, /staging, /var/www/acme): the alpine image has none of
# them, and a directory there would change how Docker fills a new volume, so they go.
# Rebuilt when the recipe, the imported root or the busybox binary changed (a label holds the hash).
build_nginx() {
  local recipe hash
  recipe='FROM '"$NGINX_ROOT_IMAGE"'
COPY busybox /usr/local/bin/busybox
RUN ["/usr/local/bin/busybox", "--install", "-s", "/usr/local/bin"]
RUN ln -sfn /usr/local/bin/busybox /bin/sh \
 && printf "nginx:x:101:\n" >>/etc/group \
 && printf "nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n" >>/etc/passwd \
 && rm -rf /var/log/nginx/* /etc/nginx/site /staging /var/www/acme /var/cache/nginx \
 && ln -s /dev/stdout /var/log/nginx/access.log \
 && ln -s /dev/stderr /var/log/nginx/error.log \
 && mkdir -p /var/cache/nginx
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]'
  hash=$({
    "$DOCKER" image inspect -f '{{.Id}}' "$NGINX_ROOT_IMAGE"
    printf '%s\n' "$recipe"
    sha256sum <"$BUSYBOX"
  } | sha256sum | cut -c1-16)
  is_current "$NGINX_IMAGE" "$hash" && return
  # The image's libc is forky's, not this machine's: only a static binary runs in it for sure.
  if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is dynamically linked (install busybox-static)"; fi
  log "building $NGINX_IMAGE"
  build_recipe "$NGINX_IMAGE" "$hash" "$recipe" "$BUSYBOX" busybox
}

facts() {
  local server api buildkit=no
  server=$("$DOCKER" version -f '{{.Server.Version}}')
  api=$("$DOCKER" version -f '{{.Server.APIVersion}}')
  if DOCKER_BUILDKIT=1 "$DOCKER" build -q -t vpn-test/buildkit-probe - <<<"FROM $DEBIAN_IMAGE" >/dev/null 2>&1; then buildkit=yes; fi
  log "engine $server (API $api), client $("$DOCKER" version -f '{{.Client.Version}}'), BuildKit (DOCKER_BUILDKIT=1): $buildkit"
}

total=$SECONDS
install_packages
start_dockerd
build_debian
build_base "$NODE_IMAGE" "" nodejs npm ca-certificates
# The official python images set GPG_KEY (the release signing key's fingerprint, not a secret) and
# LANG; the services must start with them in the environment too.
build_base "$PYTHON_IMAGE" "LANG=C.UTF-8 GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305" \
  python3 python3-venv python3-pip ca-certificates
import_nginx_root
build_nginx
facts
log "done in $((SECONDS - total)) s"
