/**
 * The two shell scripts that let the edge take a new config or certificate without a new container.
 * Pure: values in, POSIX sh text out (busybox ash in the image).
 *
 * A oneShot job copies the rendered files into the site volume as a new generation directory
 * (`gen-<hash>`), checks it with `nginx -t`, and then atomically points `current` at it. The nginx
 * container runs nginx on `config/current/nginx.conf` plus a small watcher that reloads nginx
 * (a graceful reload: open connections finish on the old workers) when either `current` moves.
 */
import { SITE_DIR } from "./nginx";

export type SiteKind = "config" | "secrets";

/**
 * The job's script. Arguments: kind (config|secrets) and the staging directory the files were
 * uploaded to. The generation is named after a hash of the files, so the same files always make
 * the same generation. A config generation must pass `nginx -t` before it becomes current; the
 * job then fails with nginx's message and the running edge keeps its current generation.
 * The previous generation is kept: a running nginx reads basic-auth files on every request until
 * it has reloaded.
 *
 * A third argument, for the config: the open-file limit the server's container will ask for. The
 * job runs without one, so its hard limit is what the engine gives a container by default; where
 * that is lower, the engine may be unable to raise it (runc: "error setting rlimit type 7:
 * operation not permitted", with no word of the setting), so the job fails first and names it.
 */
export function installScript(): string {
  return `set -eu
kind=$1 staging=$2 nofile=\${3:-}
if [ -n "$nofile" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then
    echo "services.nginx.workerRlimitNofile is $nofile, but this Docker engine gives a container at most $hard open files (ulimit -Hn) and may not be allowed to raise that (runc: error setting rlimit type 7). Set services.nginx.workerRlimitNofile to at most $hard (and at least 2 x workerConnections), or raise the engine's limit (LimitNOFILE of the docker service, or dockerd --default-ulimit nofile=$nofile:$nofile)." >&2
    exit 1
  fi
fi
generation=gen-$(cd "$staging" && find . -type f | sort | while read -r f; do
  printf '%s\n' "$f"
  cat "$f"
done | sha256sum | cut -c1-16)
dir=${SITE_DIR}/$kind
new=$dir/$generation
mkdir -p "$dir"
if [ ! -d "$new" ]; then
  rm -rf "$dir/.incoming"
  cp -R "$staging/." "$dir/.incoming"
  mv "$dir/.incoming" "$new"
fi
if [ "$kind" = config ]; then
  nginx -t -c "$new/nginx.conf"
fi
previous=$(readlink "$dir/current" 2>/dev/null || true)
ln -sfn "$generation" "$dir/.next"
mv -fT "$dir/.next" "$dir/current"
for old in "$dir"/gen-*; do
  name=\${old##*/}
  if [ "$name" != "$generation" ] && [ "$name" != "$previous" ]; then rm -rf "$old"; fi
done
echo "edge: $kind generation $generation is current (previous: \${previous:-none})"
`;
}

/**
 * The nginx container's entrypoint: start nginx on the current generation, and every
 * `checkSeconds` reload it if a job moved `current`. A generation nginx refuses is reported once
 * and the running one stays.
 */
export function startScript(checkSeconds: number): string {
  return `set -eu
conf=${SITE_DIR}/config/current/nginx.conf
generation() {
  printf '%s %s' "$(readlink ${SITE_DIR}/config/current || true)" "$(readlink ${SITE_DIR}/secrets/current || true)"
}
loaded=$(generation)
(
  refused=
  while sleep ${checkSeconds}; do
    now=$(generation)
    if [ "$now" = "$loaded" ] || [ "$now" = "$refused" ]; then continue; fi
    if nginx -t -q -c "$conf" && nginx -s reload -c "$conf"; then
      echo "edge: reloaded for generation $now"
      loaded=$now
    else
      echo "edge: generation $now refused; still serving $loaded" >&2
      refused=$now
    fi
  done
) &
exec nginx -c "$conf" -g 'daemon off;'
`;
}
