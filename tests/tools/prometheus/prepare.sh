#!/usr/bin/env bash
# Prepares promtool and amtool for tests/tools/prometheus, as root, on a Debian bookworm machine: a
# Debian forky minbase chroot with Debian's promtool (Prometheus 3.5) and prometheus-alertmanager
# (0.33, for amtool and the alertmanager daemon), plus the prometheus server (3.5) that
# live.test.ts runs. Bookworm's are Prometheus 2.42 and Alertmanager 0.25, a major version behind
# the production images (Prometheus 3, Alertmanager 0.28): the rendered files are checked by the
# same generation of the tools that will read them.
#
# Environment: VPN_PROMETHEUS_ROOT (the chroot, default /opt/vpn-test-prometheus), DEBIAN_MIRROR.
set -euo pipefail

NAME=prometheus
ROOT=${VPN_PROMETHEUS_ROOT:-/opt/vpn-test-prometheus}
PACKAGES=promtool,prometheus-alertmanager,prometheus
CHECK=/usr/bin/promtool
VERSION_FLAG=--version
# shellcheck source=../forkyChroot.sh
source "$(dirname "$0")/../forkyChroot.sh"
