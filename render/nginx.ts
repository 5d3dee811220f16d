/**
 * nginx.conf and site.conf for the edge. Pure: typed values in, file text out.
 *
 * Layout inside the container (see render/nginxScripts.ts for how a generation is installed):
 *   /etc/nginx/site/config/current/{nginx.conf,site.conf}   the rendered files (this module)
 *   /etc/nginx/site/secrets/current/{tls.crt,tls.key,*.htpasswd}
 * nginx runs with `-c .../config/current/nginx.conf`, so `include site.conf` resolves next to it and
 * a reload reads whichever generation `current` points at by then.
 */
import { formatIpv4, parseCidr } from "../config/net";

export const SITE_DIR = "/etc/nginx/site";
export const CONFIG_DIR = `${SITE_DIR}/config/current`;
export const SECRETS_DIR = `${SITE_DIR}/secrets/current`;
export const MAIN_CONF = `${CONFIG_DIR}/nginx.conf`;
/** Temp files and the proxy cache: a tmpfs owned by the nginx user. */
export const CACHE_DIR = "/var/cache/nginx";
/** Where an ACME client drops HTTP-01 challenge files (a volume shared with it). */
export const ACME_DIR = "/var/www/acme";
export const PID_FILE = "/tmp/nginx.pid";
export const TLS_CERT_FILE = "tls.crt";
export const TLS_KEY_FILE = "tls.key";
/** Docker's embedded DNS server, which every container on a user-defined network can ask. */
export const DOCKER_DNS = "127.0.0.11";
/** Paths that are for operators only; each is guarded by the admin allow-list and login. */
export const ADMIN_PATHS = ["/admin/", "/grafana/"] as const;

export interface UpstreamServer {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

export interface NginxRoute {
  /** Path prefix, with a leading and a trailing slash (`/` for the dashboard). */
  readonly path: string;
  /** Upstream block name (e.g. api_backend). */
  readonly upstream: string;
  /** Backend servers; empty when the service is disabled, and then the path answers 404. */
  readonly servers: readonly UpstreamServer[];
  /** Pick the server with the fewest active connections (several replicas). */
  readonly leastConn: boolean;
  /** Remove the prefix before passing the request on (`/api/users` -> `/users`). */
  readonly stripPrefix: boolean;
  /** Pass WebSocket upgrades through. */
  readonly websocket: boolean;
  /** Limit requests per client address (rateLimit below). */
  readonly rateLimited: boolean;
  /** Cache anonymous GET/HEAD responses (cache below). */
  readonly cached: boolean;
  readonly readTimeoutSeconds: number;
  readonly clientMaxBodyMb: number;
  /** Basic-auth file under SECRETS_DIR for this path instead of the admin one. */
  readonly userFile?: string;
}

export interface NginxSiteInput {
  readonly domain: string;
  /** Ports nginx listens on inside the container; https absent when TLS is off. */
  readonly listen: { readonly http: number; readonly https?: number };
  /** The host port browsers reach HTTPS on (the redirect target). */
  readonly publicHttpsPort: number;
  /** `host[:port]` of the DNS server that re-resolves backend names (Docker's in a container). */
  readonly resolver: string;
  readonly resolverValidSeconds: number;
  readonly routes: readonly NginxRoute[];
  readonly workerConnections: number;
  readonly workerRlimitNofile: number;
  readonly keepaliveTimeoutSeconds: number;
  readonly clientMaxBodyMb: number;
  readonly gzip: {
    readonly enabled: boolean;
    readonly level: number;
    readonly minLengthBytes: number;
    readonly types: readonly string[];
  };
  readonly timeouts: {
    readonly connectSeconds: number;
    readonly sendSeconds: number;
    readonly readSeconds: number;
  };
  readonly upstream: {
    readonly keepalive: number;
    readonly keepaliveTimeoutSeconds: number;
    readonly maxFails: number;
    readonly failTimeoutSeconds: number;
  };
  readonly rateLimit: {
    readonly enabled: boolean;
    readonly requestsPerSecond: number;
    readonly burst: number;
    readonly zoneMb: number;
  };
  readonly cache: {
    readonly enabled: boolean;
    readonly zoneMb: number;
    readonly maxSizeMb: number;
    readonly inactiveMinutes: number;
    readonly validSeconds: number;
  };
  /** Absent when TLS is off: then there is one plain HTTP server and no redirect. */
  readonly tls?: {
    readonly sessionCacheMb: number;
    readonly sessionTimeoutMinutes: number;
    readonly hsts?: {
      readonly maxAgeSeconds: number;
      readonly includeSubDomains: boolean;
      readonly preload: boolean;
    };
  };
  readonly headers: {
    readonly contentSecurityPolicy: string;
    readonly frameOptions: "DENY" | "SAMEORIGIN";
    readonly referrerPolicy: string;
  };
  /** Guards of ADMIN_PATHS: source addresses allowed (empty: any) and a basic-auth file. */
  readonly admin: { readonly allow: readonly string[]; readonly userFile?: string };
  /** stub_status for the metrics exporter: its own port, answered only to these networks. Absent: none. */
  readonly status?: {
    readonly port: number;
    readonly path: string;
    readonly allow: readonly string[] /* CIDRs */;
  };
}

/** Everything nginx.conf needs before the site: process, events, http-wide settings. */
export function renderNginxConf(site: NginxSiteInput): string {
  const g = site.gzip;
  const lines = [
    "# Rendered by the vpn-enterprise Pulumi program; changes here are overwritten.",
    "worker_processes auto;",
    `worker_rlimit_nofile ${site.workerRlimitNofile};`,
    // No `user`: the whole container runs as the image's unprivileged nginx user.
    `pid ${PID_FILE};`,
    "error_log stderr warn;",
    "",
    "events {",
    `    worker_connections ${site.workerConnections};`,
    "    use epoll;",
    "    multi_accept on;",
    "}",
    "",
    "http {",
    // Nothing is served from disk but ACME challenges; no mime.types needed.
    "    default_type application/octet-stream;",
    "    server_tokens off;",
    "    sendfile on;",
    "    tcp_nopush on;",
    "    tcp_nodelay on;",
    `    keepalive_timeout ${site.keepaliveTimeoutSeconds}s;`,
    `    client_max_body_size ${site.clientMaxBodyMb}m;`,
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
      (t) => `    ${t}_temp_path ${CACHE_DIR}/${t}_temp;`,
    ),
    "",
    `    log_format json escape=json '${accessLogFormat()}';`,
    "    access_log /dev/stdout json;",
    "",
    ...(g.enabled
      ? [
          "    gzip on;",
          `    gzip_comp_level ${g.level};`,
          `    gzip_min_length ${g.minLengthBytes};`,
          "    gzip_proxied any;",
          "    gzip_vary on;",
          `    gzip_types ${g.types.join(" ")};`,
        ]
      : ["    gzip off;"]),
    "",
    // Backend names are looked up at run time through Docker's DNS, never only at start: with
    // `resolve` on every upstream server nginx starts while a backend is absent (its requests get
    // 502) and follows a replaced container to its new address. `valid` bounds how long a stale
    // answer is used; ipv6=off because the tier networks are IPv4 only.
    `    resolver ${site.resolver} valid=${site.resolverValidSeconds}s ipv6=off;`,
    "    resolver_timeout 5s;",
    "",
    "    map $http_upgrade $connection_upgrade {",
    "        default upgrade;",
    "        '' close;",
    "    }",
    ...(site.rateLimit.enabled
      ? [
          `    limit_req_zone $binary_remote_addr zone=api_limit:${site.rateLimit.zoneMb}m rate=${site.rateLimit.requestsPerSecond}r/s;`,
          "    limit_req_status 429;",
          "    limit_req_log_level warn;",
        ]
      : []),
    ...(site.cache.enabled
      ? [
          `    proxy_cache_path ${CACHE_DIR}/proxy levels=1:2 keys_zone=api_cache:${site.cache.zoneMb}m max_size=${site.cache.maxSizeMb}m inactive=${site.cache.inactiveMinutes}m use_temp_path=off;`,
        ]
      : []),
    ...(site.tls
      ? [
          "",
          // Mozilla's "intermediate" profile: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers
          // (its DHE ones left out: they need a dhparam file, which nginx has not).
          "    ssl_protocols TLSv1.2 TLSv1.3;",
          `    ssl_ciphers ${INTERMEDIATE_CIPHERS};`,
          "    ssl_prefer_server_ciphers off;",
          `    ssl_session_cache shared:TLS:${site.tls.sessionCacheMb}m;`,
          `    ssl_session_timeout ${site.tls.sessionTimeoutMinutes}m;`,
          "    ssl_session_tickets off;",
        ]
      : []),
    "",
    "    include site.conf;",
    "}",
    "",
  ];
  return lines.join("\n");
}

const INTERMEDIATE_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

function accessLogFormat(): string {
  const fields: Record<string, string> = {
    time: "$time_iso8601",
    remote_addr: "$remote_addr",
    request_id: "$request_id",
    method: "$request_method",
    uri: "$request_uri",
    status: "$status",
    bytes_sent: "$body_bytes_sent",
    request_time: "$request_time",
    upstream_addr: "$upstream_addr",
    upstream_status: "$upstream_status",
    upstream_response_time: "$upstream_response_time",
    host: "$host",
    user_agent: "$http_user_agent",
    referer: "$http_referer",
  };
  return `{${Object.entries(fields)
    .map(([k, v]) => `"${k}":"${v}"`)
    .join(",")}}`;
}

/**
 * Upstreams and servers: the routes, the health endpoint, the HTTP->HTTPS redirect, and the
 * stub_status server when `status` is given. Throws, naming the field, on an invalid `status`.
 */
export function renderSiteConf(site: NginxSiteInput): string {
  const problems = statusProblems(site);
  if (problems.length > 0) throw new Error(`site.conf: ${problems.join("; ")}`);
  const out: string[] = [
    "# Rendered by the vpn-enterprise Pulumi program; changes here are overwritten.",
  ];
  for (const route of site.routes) {
    if (route.servers.length > 0) out.push("", ...upstreamBlock(site, route));
  }
  const locations = locationBlocks(site);
  if (site.tls) {
    const port = site.publicHttpsPort === 443 ? "" : `:${site.publicHttpsPort}`;
    out.push(
      "",
      "server {",
      `    listen ${site.listen.http} default_server;`,
      "    server_name _;",
      ...indent(healthLocation()),
      ...indent(acmeLocation()),
      "    location / {",
      // The configured domain, not $host: a forged Host header must not pick the redirect target.
      `        return 301 https://${site.domain}${port}$request_uri;`,
      "    }",
      "}",
      "",
      "server {",
      `    listen ${site.listen.https} ssl default_server;`,
      "    http2 on;",
      `    server_name ${site.domain};`,
      `    ssl_certificate ${SECRETS_DIR}/${TLS_CERT_FILE};`,
      `    ssl_certificate_key ${SECRETS_DIR}/${TLS_KEY_FILE};`,
      ...indent(healthLocation()),
      ...indent(locations),
      "}",
    );
  } else {
    out.push(
      "",
      "server {",
      `    listen ${site.listen.http} default_server;`,
      `    server_name ${site.domain};`,
      ...indent(healthLocation()),
      ...indent(locations),
      "}",
    );
  }
  if (site.status) out.push("", ...statusServer(site.status));
  return out.join("\n") + "\n";
}

type StatusInput = NonNullable<NginxSiteInput["status"]>;

/** Letters, digits and `._~/-` only: the path is written into the config unquoted. */
const STATUS_PATH = /^\/[A-Za-z0-9._~/-]*$/;

function statusProblems(site: NginxSiteInput): string[] {
  const status = site.status;
  if (!status) return [];
  const problems: string[] = [];
  const { port } = status;
  const publicPorts = [site.listen.http, site.listen.https].filter((p) => p !== undefined);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`status.port: an integer from 1 to 65535, got ${String(port)}`);
  } else if (publicPorts.includes(port)) {
    // The public servers must never answer stub_status (and nginx refuses two default servers).
    problems.push(
      `status.port: must differ from the public ports (${publicPorts.join(", ")}), got ${port}`,
    );
  }
  if (!STATUS_PATH.test(status.path)) {
    problems.push(
      `status.path: an absolute path of letters, digits and ._~/- (e.g. /stub_status), got ${JSON.stringify(status.path)}`,
    );
  }
  if (status.allow.length === 0) {
    problems.push("status.allow: at least one CIDR (an empty list would deny every scraper)");
  }
  status.allow.forEach((text, i) => {
    const cidr = parseCidr(text);
    if (!cidr) {
      problems.push(
        `status.allow[${i}]: an IPv4 CIDR (e.g. 10.0.3.0/24), got ${JSON.stringify(text)}`,
      );
    } else if (cidr.base !== cidr.first) {
      // nginx would accept it with a warning and drop the host bits; say what it would mean.
      problems.push(
        `status.allow[${i}]: ${text} has host bits set; the network is ${formatIpv4(cidr.first)}/${cidr.prefix}`,
      );
    }
  });
  return problems;
}

/**
 * stub_status on a port of its own, for the metrics exporter on the monitoring network. The public
 * servers never carry it; here it answers only the allowed networks, and every other path is 404.
 * No security headers: nothing here is rendered by a browser, and stub_status is plain text.
 */
function statusServer(status: StatusInput): string[] {
  return [
    "server {",
    `    listen ${status.port} default_server;`,
    "    server_name _;",
    `    location = ${status.path} {`,
    "        stub_status;",
    // Scraped every few seconds: logging each scrape would drown the access log.
    "        access_log off;",
    ...status.allow.map((cidr) => `        allow ${cidr};`),
    "        deny all;",
    "    }",
    "    location / {",
    "        return 404;",
    "    }",
    "}",
  ];
}

function indent(lines: readonly string[]): string[] {
  return lines.map((l) => (l === "" ? l : `    ${l}`));
}

function healthLocation(): string[] {
  return [
    "location = /health {",
    "    access_log off;",
    "    default_type text/plain;",
    '    return 200 "ok\\n";',
    "}",
  ];
}

function acmeLocation(): string[] {
  return [
    "location /.well-known/acme-challenge/ {",
    `    root ${ACME_DIR};`,
    "    default_type text/plain;",
    "}",
  ];
}

function upstreamBlock(site: NginxSiteInput, route: NginxRoute): string[] {
  const u = site.upstream;
  return [
    `upstream ${route.upstream} {`,
    // `resolve` keeps the peers in shared memory, which needs a zone.
    `    zone ${route.upstream} 64k;`,
    ...(route.leastConn ? ["    least_conn;"] : []),
    ...route.servers.map(
      (s) =>
        `    server ${s.host}:${s.port} resolve weight=${s.weight} max_fails=${u.maxFails} fail_timeout=${u.failTimeoutSeconds}s;`,
    ),
    `    keepalive ${u.keepalive};`,
    `    keepalive_timeout ${u.keepaliveTimeoutSeconds}s;`,
    "}",
  ];
}

/** True when `path` lies under `prefix` (both with trailing slashes). */
function under(path: string, prefix: string): boolean {
  return path.startsWith(prefix);
}

function locationBlocks(site: NginxSiteInput): string[] {
  const byPath = new Map(site.routes.map((r) => [r.path, r]));
  // Every route, every admin path and `/`: an admin path no route claims answers 404 rather than
  // falling through to the dashboard, and nothing falls back to serving files from disk.
  const paths = [...new Set([...byPath.keys(), ...ADMIN_PATHS, "/"])].sort(
    (a, b) => b.length - a.length || a.localeCompare(b),
  );
  return paths.flatMap((path) => ["", ...location(site, path, byPath.get(path))]);
}

/**
 * How a route is guarded: on an admin path, the allow-list (empty: any source) and the basic-auth
 * file it asks a login from (none: no login); undefined for a public route.
 */
export function routeGuard(
  site: Pick<NginxSiteInput, "admin">,
  route: Pick<NginxRoute, "path" | "userFile">,
): { readonly allow: readonly string[]; readonly userFile?: string } | undefined {
  if (!ADMIN_PATHS.some((p) => under(route.path, p))) return undefined;
  return { allow: site.admin.allow, userFile: route.userFile ?? site.admin.userFile };
}

function location(site: NginxSiteInput, path: string, route: NginxRoute | undefined): string[] {
  const body: string[] = [];
  if (!route || route.servers.length === 0) {
    // A disabled service's path: 404 here, so it cannot reach a route above it (/api/ai/ -> /api/).
    body.push("return 404;", ...securityHeaders(site));
    return [`location ${path} {`, ...indent(body), "}"];
  }
  const guard = routeGuard(site, route);
  const userFile = guard?.userFile;
  if (guard) {
    for (const source of guard.allow) body.push(`allow ${source};`);
    if (guard.allow.length > 0) body.push("deny all;");
  }
  if (userFile) {
    body.push(
      'auth_basic "VPN Enterprise admin";',
      `auth_basic_user_file ${SECRETS_DIR}/${userFile};`,
    );
  }
  if (route.rateLimited && site.rateLimit.enabled) {
    body.push(`limit_req zone=api_limit burst=${site.rateLimit.burst} nodelay;`);
  }
  body.push(
    `proxy_pass http://${route.upstream}${route.stripPrefix ? "/" : ""};`,
    "proxy_http_version 1.1;",
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    // The edge is the first proxy: what a client claims in its own X-Forwarded-For is dropped.
    "proxy_set_header X-Forwarded-For $remote_addr;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    ...(route.websocket
      ? [
          "proxy_set_header Upgrade $http_upgrade;",
          "proxy_set_header Connection $connection_upgrade;",
        ]
      : // An empty Connection header lets the upstream keepalive pool reuse the connection.
        ['proxy_set_header Connection "";']),
    // The edge's own login is not the backend's business (Grafana would try it as its own).
    ...(userFile ? ['proxy_set_header Authorization "";'] : []),
    `proxy_connect_timeout ${site.timeouts.connectSeconds}s;`,
    `proxy_send_timeout ${site.timeouts.sendSeconds}s;`,
    `proxy_read_timeout ${route.readTimeoutSeconds}s;`,
    `client_max_body_size ${route.clientMaxBodyMb}m;`,
  );
  if (route.cached && site.cache.enabled) {
    body.push(
      "proxy_cache api_cache;",
      "proxy_cache_methods GET HEAD;",
      // Only anonymous requests: a response for one user must never be served to another.
      "proxy_cache_bypass $http_authorization $http_cookie;",
      "proxy_no_cache $http_authorization $http_cookie;",
      ...(site.cache.validSeconds > 0
        ? [`proxy_cache_valid 200 ${site.cache.validSeconds}s;`]
        : []),
      "proxy_cache_use_stale error timeout updating http_502 http_503 http_504;",
      "proxy_cache_lock on;",
      "add_header X-Cache-Status $upstream_cache_status always;",
    );
  }
  // add_header in a location replaces every inherited one, so each location carries them all.
  body.push(...securityHeaders(site));
  return [`location ${path} {`, ...indent(body), "}"];
}

function securityHeaders(site: NginxSiteInput): string[] {
  const h = site.headers;
  const hsts = site.tls?.hsts;
  return [
    'add_header X-Content-Type-Options "nosniff" always;',
    `add_header X-Frame-Options "${h.frameOptions}" always;`,
    `add_header Referrer-Policy "${h.referrerPolicy}" always;`,
    `add_header Content-Security-Policy "${h.contentSecurityPolicy}" always;`,
    ...(hsts
      ? [
          `add_header Strict-Transport-Security "max-age=${hsts.maxAgeSeconds}${hsts.includeSubDomains ? "; includeSubDomains" : ""}${hsts.preload ? "; preload" : ""}" always;`,
        ]
      : []),
  ];
}
