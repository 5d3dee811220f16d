#!/usr/bin/env bash
# The everyday Pulumi commands behind package.json's scripts (`npm run preview:dev`, `up:prod`...):
#
#   scripts/pulumi.sh <preview|up|destroy|refresh|outputs> <stack> [more pulumi arguments...]
#
# State goes to the backend in PULUMI_BACKEND_URL when it is set (the team's backend, e.g. Pulumi
# Cloud or a bucket); otherwise to a local file backend in ./.pulumi-state (ignored by git), created
# when missing. PULUMI_ORG, when set, names the Pulumi Cloud organisation of the stack (the CI's
# PULUMI_ORG variable), as in `<org>/<stack>`. preview and up create the stack when it does not
# exist yet; destroy, refresh and outputs never do, so a typo there fails instead of making a stack.
# preview and up apply the policy pack in policy/ with that stack's policy/config.<stack>.json.
# outputs prints the outputs as JSON with secrets masked; pass --show-secrets to see them.
set -euo pipefail

die() {
  printf 'scripts/pulumi.sh: %s\n' "$*" >&2
  exit 2
}

usage="usage: scripts/pulumi.sh <preview|up|destroy|refresh|outputs> <stack> [pulumi args...]"
[ $# -ge 2 ] || die "$usage"
command=$1
stack=$2
shift 2

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

stacks=$(find . -maxdepth 1 -name 'Pulumi.*.yaml' | sed -E 's|^\./Pulumi\.(.*)\.yaml$|\1|' |
  sort | paste -sd ' ' -)
[ -f "Pulumi.$stack.yaml" ] || die "no stack file Pulumi.$stack.yaml (stacks here: ${stacks:-none})"

case $command in
  preview | up | destroy | refresh | outputs) ;;
  *) die "unknown command '$command' (one of: preview, up, destroy, refresh, outputs)" ;;
esac

policy=()
if [ "$command" = preview ] || [ "$command" = up ]; then
  [ -d policy ] || die "policy/ (the policy pack that preview and up apply) is missing"
  [ -f "policy/config.$stack.json" ] ||
    die "policy/config.$stack.json (the policy pack's config for $stack) is missing"
  policy=(--policy-pack "$root/policy" --policy-pack-config "$root/policy/config.$stack.json")
fi

command -v pulumi >/dev/null || die "the Pulumi CLI is not on PATH (README, Prerequisites)"

# The URL itself is not printed: a backend URL may carry a password (postgres://user:pass@...).
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$root/.pulumi-state"
  backend="local file backend ./.pulumi-state"
else
  backend="PULUMI_BACKEND_URL (${PULUMI_BACKEND_URL%%:*})"
fi
ref=${PULUMI_ORG:+$PULUMI_ORG/}$stack
printf 'scripts/pulumi.sh: %s on stack %s, %s\n' "$command" "$ref" "$backend" >&2

case $command in
  preview | up)
    pulumi stack select --create "$ref"
    exec pulumi "$command" --stack "$ref" "${policy[@]}" "$@"
    ;;
  destroy | refresh) exec pulumi "$command" --stack "$ref" "$@" ;;
  outputs) exec pulumi stack output --stack "$ref" --json "$@" ;;
esac
