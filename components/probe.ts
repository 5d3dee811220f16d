/**
 * Healthcheck commands for images without the platform's own probe (docker/*): an HTTP GET of the
 * container's own port with what the image has.
 */

/** GET `path` with busybox wget (or `wget` at another path, as Loki's /busybox/wget); 2xx passes. */
export function wgetProbe(port: number, path: string, wget = "wget"): string[] {
  return ["CMD", wget, "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`];
}

/** GET `path` with bash's /dev/tcp alone, for images with neither curl nor wget; 200 passes. */
export function bashProbe(port: number, path: string): string[] {
  return [
    "CMD",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '`,
  ];
}
