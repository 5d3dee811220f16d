/**
 * The post-deploy smoke check's script: requests through the edge, each retried until it gets the
 * answer it expects, one PASS or FAIL line per check, exit 1 when any failed. Pure: checks in,
 * POSIX sh out (busybox ash in the edge's image runs it; the tests run it with busybox and dash).
 */

/** What a check must get back. */
export type SmokeExpectation =
  /** 200-299. */
  | "2xx"
  /** 200-399: a page that may send an anonymous visitor to its login. */
  | "2xx-3xx"
  /** Exactly this status: a guard refusing an anonymous request. */
  | "401"
  | "403"
  /** 301 or 308 to `https://<domain>`: plain HTTP sent to HTTPS. */
  | "https-redirect";

export interface SmokeRequest {
  /** What the line names: `edge health`, `route /api/ (api)`, ... */
  readonly name: string;
  /** The URL as a user types it: `https://<domain>/api/health`. */
  readonly url: string;
  readonly expect: SmokeExpectation;
  /** A login to send: the base name of a curl config file (`user = "name:password"`) in the dir. */
  readonly login?: string;
}

export interface SmokeScriptInput {
  /** The public domain: every URL's host, the TLS server name, and what the certificate covers. */
  readonly domain: string;
  readonly checks: readonly SmokeRequest[];
  /** Lines printed as `NOTE ...`: what the check leaves out, and why. */
  readonly notes: readonly string[];
  readonly attempts: number;
  readonly intervalSeconds: number;
  readonly requestTimeoutSeconds: number;
  /** Trust the CA file `ca.pem` in the dir instead of the image's public CAs. */
  readonly caFile: boolean;
  /** Where the edge answers: a host name and its HTTP and HTTPS ports (the script's defaults). */
  readonly target: { readonly host: string; readonly httpPort: number; readonly httpsPort: number };
  /** The directory with `ca.pem` and the `<login>.curlrc` files (the script's default). */
  readonly dir: string;
  /** A comment line of the script: what makes it (and so the check) change. */
  readonly trigger?: string;
  /** Seconds to wait before the first request (nginx picking up a new config); default 0. */
  readonly settleSeconds?: number;
}

/** The curl config line of a login: `user = "name:password"`, quoted as curl reads it. */
export function curlLogin(user: string, password: string): string {
  if (/[\r\n]/.test(user + password)) throw new Error("curl login: no line breaks in a login");
  if (user.includes(":")) throw new Error(`curl login user ${JSON.stringify(user)}: no ':'`);
  const quoted = `${user}:${password}`.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `user = "${quoted}"\n`;
}

const DOMAIN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const SAFE_TEXT = /^[^'\r\n\\]*$/;

function sq(text: string, what: string): string {
  if (!SAFE_TEXT.test(text)) {
    throw new Error(
      `smoke check ${what} ${JSON.stringify(text)}: no quotes, backslashes or line breaks`,
    );
  }
  return `'${text}'`;
}

export function renderSmokeScript(input: SmokeScriptInput): string {
  if (!DOMAIN.test(input.domain)) throw new Error(`smoke check domain ${input.domain}: a DNS name`);
  if (input.checks.length === 0) throw new Error("smoke check: no checks");
  const settle = input.settleSeconds ?? 0;
  if (!Number.isInteger(settle) || settle < 0) throw new Error(`smoke check: settle ${settle}`);
  for (const n of [input.attempts, input.intervalSeconds, input.requestTimeoutSeconds]) {
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`smoke check: ${n} is not a positive integer`);
  }
  for (const c of input.checks) {
    const origin = new URL(c.url);
    if (origin.hostname !== input.domain || origin.port !== "" || origin.search || origin.hash) {
      throw new Error(`smoke check ${c.name}: ${c.url} is not a plain URL on ${input.domain}`);
    }
    if (c.login !== undefined && !/^[a-z0-9._-]+$/.test(c.login)) {
      throw new Error(`smoke check ${c.name}: login ${JSON.stringify(c.login)}: [a-z0-9._-]+`);
    }
  }
  const t = input.target;
  return [
    "#!/bin/sh",
    "# Rendered by the vpn-enterprise Pulumi program: the post-deploy smoke check (README,",
    '# "After a deploy"). Every request goes to the edge as a user\'s would, for the domain, through',
    "# curl's --connect-to; each check is tried until it gets its answer or runs out of attempts.",
    ...(input.trigger ? [`# Runs again when this changes: ${input.trigger}`] : []),
    "set -u",
    `domain=${sq(input.domain, "domain")}`,
    `target="\${SMOKE_TARGET:-${t.host}}"`,
    `http_port="\${SMOKE_HTTP_PORT:-${t.httpPort}}"`,
    `https_port="\${SMOKE_HTTPS_PORT:-${t.httpsPort}}"`,
    `dir="\${SMOKE_DIR:-${input.dir}}"`,
    `attempts=${input.attempts}`,
    `interval=${input.intervalSeconds}`,
    `timeout=${input.requestTimeoutSeconds}`,
    `trust=${input.caFile ? '"--cacert $dir/ca.pem"' : "''"}`,
    "failed=0",
    "if ! command -v curl >/dev/null 2>&1; then",
    '  echo "FAIL smoke check: this image has no curl (services.nginx.image must have it, as the official nginx:<version>-alpine does)"',
    "  exit 1",
    "fi",
    ...(input.settleSeconds
      ? [
          "# nginx serves a newly installed config after its next reload check.",
          `sleep "\${SMOKE_SETTLE_SECONDS:-${input.settleSeconds}}"`,
        ]
      : []),
    'err="$(mktemp)" || exit 1',
    "trap 'rm -f \"$err\"' EXIT",
    "",
    "# passes EXPECT CODE LOCATION: 0 when the answer is the one expected.",
    "passes() {",
    '  case "$1" in',
    '    2xx) case "$2" in 2??) return 0 ;; esac ;;',
    '    2xx-3xx) case "$2" in 2?? | 3??) return 0 ;; esac ;;',
    "    https-redirect)",
    '      case "$2" in 301 | 308)',
    '        case "$3" in "https://$domain/"* | "https://$domain:"*) return 0 ;; esac ;;',
    "      esac ;;",
    '    *) [ "$2" = "$1" ] && return 0 ;;',
    "  esac",
    "  return 1",
    "}",
    "",
    "# check NAME URL EXPECT [LOGIN]: PASS or FAIL, with what came back.",
    "check() {",
    "  name=$1 url=$2 expect=$3 login=${4:-}",
    "  auth=''",
    '  [ -n "$login" ] && auth="-K $dir/$login.curlrc"',
    "  # Once a check has failed, the rest get one try each: the platform has had its time.",
    "  tries=$attempts",
    '  [ "$failed" -gt 0 ] && tries=1',
    "  n=0",
    "  while :; do",
    "    n=$((n + 1))",
    "    # shellcheck disable=SC2086 # $trust and $auth are option pairs, split on purpose.",
    "    got=$(curl -sS -o /dev/null --max-time \"$timeout\" -w '%{http_code} %{redirect_url}' \\",
    '      --connect-to "$domain:80:$target:$http_port" --connect-to "$domain:443:$target:$https_port" \\',
    '      $trust $auth "$url" 2>"$err")',
    "    code=${got%% *} location=${got#* }",
    '    if passes "$expect" "$code" "$location"; then',
    '      echo "PASS $name: GET $url -> $code"',
    "      return 0",
    "    fi",
    '    [ "$n" -ge "$tries" ] && break',
    '    sleep "$interval"',
    "  done",
    "  failed=$((failed + 1))",
    '  if [ "$code" = "000" ] || [ -z "$code" ]; then',
    "    # curl's first line says what failed (the rest is advice for a terminal).",
    '    echo "FAIL $name: GET $url -> no answer ($(head -n 1 "$err")) after $n tries"',
    "  else",
    '    echo "FAIL $name: GET $url -> $code${location:+ to $location}, expected $expect, after $n tries"',
    "  fi",
    "}",
    "",
    ...input.notes.map((n) => `echo ${sq(`NOTE ${n}`, "note")}`),
    ...input.checks.map((c) =>
      [
        "check",
        sq(c.name, "name"),
        sq(c.url, "url"),
        c.expect,
        ...(c.login !== undefined ? [c.login] : []),
      ].join(" "),
    ),
    'if [ "$failed" -gt 0 ]; then',
    '  echo "$failed check(s) failed"',
    "  exit 1",
    "fi",
    `echo ${sq(`all ${input.checks.length} checks passed`, "summary")}`,
    "",
  ].join("\n");
}
