#!/usr/bin/env bash
# Gives a CI job the SSH identity that reaches the prod Docker host (Pulumi.prod.yaml's
# `docker:host: ssh://...`; the Docker provider runs the `ssh` client, which reads ~/.ssh). Meant
# for a fresh, throwaway runner: it adds to ~/.ssh and never removes anything.
#
#   DEPLOY_SSH_KEY          the private key, unencrypted OpenSSH or PEM (a secret)
#   DEPLOY_SSH_KNOWN_HOSTS  the host's public keys, known_hosts lines (`ssh-keyscan -H <host>`)
#
# Neither value is ever printed: they only go into files made under umask 077, and the checks
# below report by name. Host keys are checked strictly, so a server that is not in
# DEPLOY_SSH_KNOWN_HOSTS is refused instead of trusted on first use.
set -euo pipefail

die() {
  printf 'ci-ssh-key: %s\n' "$*" >&2
  exit 1
}

[ -n "${DEPLOY_SSH_KEY:-}" ] ||
  die "DEPLOY_SSH_KEY is empty (CI: set the PROD_SSH_PRIVATE_KEY secret)"
[ -n "${DEPLOY_SSH_KNOWN_HOSTS:-}" ] ||
  die "DEPLOY_SSH_KNOWN_HOSTS is empty (CI: set the PROD_SSH_KNOWN_HOSTS variable)"
command -v ssh-keygen >/dev/null || die "ssh-keygen is missing (install the OpenSSH client)"

umask 077
dir=$HOME/.ssh
key=$dir/vpn-enterprise-deploy
mkdir -p "$dir"
chmod 0700 "$dir"

# Secrets pasted from Windows carry CRs, which OpenSSH refuses; trailing newlines are made one.
# printf is a builtin, so the key never appears in a process list.
text=$(printf '%s' "${DEPLOY_SSH_KEY//$'\r'/}")
printf '%s\n' "$text" >"$key"
ssh-keygen -y -P '' -f "$key" >/dev/null 2>&1 ||
  die "DEPLOY_SSH_KEY is not a private key OpenSSH can read without a passphrase"

known=$dir/known_hosts
printf '%s\n' "${DEPLOY_SSH_KNOWN_HOSTS//$'\r'/}" >>"$known"
ssh-keygen -l -f "$known" >/dev/null 2>&1 || die "DEPLOY_SSH_KNOWN_HOSTS holds no host key"

marker="# vpn-enterprise deploy key (scripts/ci-ssh-key.sh)"
if ! grep -qxF "$marker" "$dir/config" 2>/dev/null; then
  cat >>"$dir/config" <<EOF
$marker
Host *
  IdentityFile $key
  IdentitiesOnly yes
  StrictHostKeyChecking yes
  UserKnownHostsFile $known
EOF
fi
printf 'ci-ssh-key: deploy key and %s host key(s) installed in %s\n' \
  "$(ssh-keygen -l -f "$known" | wc -l)" "$dir" >&2
