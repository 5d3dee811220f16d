#!/usr/bin/env bash
# Prepares the nginx that tests/tools/nginx/harness.ts runs, as root, on a Debian bookworm machine:
# a Debian forky minbase chroot with Debian's nginx (1.30). Bookworm's own nginx (1.22) is too old
# for what the rendered config uses and the production image (nginx 1.28) has: `server <name>:<port>
# resolve;` in an upstream needs open-source nginx >= 1.27.3.
#
# Environment: VPN_NGINX_ROOT (the chroot, default /opt/vpn-test-nginx), DEBIAN_MIRROR.
set -euo pipefail

NAME=nginx
ROOT=${VPN_NGINX_ROOT:-/opt/vpn-test-nginx}
# `nginx` alone: since 1.26 Debian's nginx-light is a transitional package (nginx plus the echo
# module). nginx has ssl, http_v2, stub_status and realip built in; no CA bundle is needed, as the
# tests never verify an upstream's certificate.
PACKAGES=nginx
CHECK=/usr/sbin/nginx
VERSION_FLAG=-v
# shellcheck source=../forkyChroot.sh
source "$(dirname "$0")/../forkyChroot.sh"
