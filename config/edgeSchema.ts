/**
 * The edge tier's config keys (nginx, on top of the keys every service has), the stack's `tls`
 * block, and their cross-checks; the shared service keys and the stack schema are in schema.ts.
 * Pure: no Pulumi. Node's crypto checks the certificate files, nothing touches the disk.
 */
import * as crypto from "crypto";
import { z } from "zod";
import { CATALOG, CatalogEntry, SERVICE_NAMES, ServiceName } from "./catalog";
import { contains, parseCidr, parseIpv4 } from "./net";
import { strict } from "./strict";

export const TLS_MODES = ["off", "selfSigned", "files"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** The ports nginx listens on inside its container: HTTP, and HTTPS unless tls.mode is off. */
export const EDGE_HTTP_PORT = 80;
export const EDGE_HTTPS_PORT = 443;

/** Memory the cache tmpfs leaves nginx itself: workers and the shared zones (MB). */
export const EDGE_MEMORY_HEADROOM_MB = 64;

/** Catalog services with public routes: the ones nginx proxies to. */
export type RoutedServiceName = {
  [K in ServiceName]: (typeof CATALOG)[K] extends { routes: readonly unknown[] } ? K : never;
}[ServiceName];
export const ROUTED_SERVICES = SERVICE_NAMES.filter(
  (n): n is RoutedServiceName => (CATALOG[n] as CatalogEntry).routes !== undefined,
);

const MIME_TYPE = /^[a-z]+\/[a-z0-9.+-]+$/;
/** Printable ASCII but `"`, `\` and `$`: the value goes into an nginx double-quoted string. */
const NGINX_QUOTABLE = /^[\x20\x21\x23\x25-\x5b\x5d-\x7e]+$/;
const LOOPBACK = parseCidr("127.0.0.0/8") as NonNullable<ReturnType<typeof parseCidr>>;

export const REFERRER_POLICIES = [
  "no-referrer",
  "no-referrer-when-downgrade",
  "origin",
  "origin-when-cross-origin",
  "same-origin",
  "strict-origin",
  "strict-origin-when-cross-origin",
  "unsafe-url",
] as const;

export const DEFAULT_GZIP_TYPES = [
  "text/plain",
  "text/css",
  "application/json",
  "application/javascript",
  "text/xml",
  "application/xml",
  "image/svg+xml",
];

export const DEFAULT_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' wss:; frame-ancestors 'self'; base-uri 'self'; form-action 'self'";

/** Adds one issue per item that repeats an earlier one. */
function unique(what: string) {
  return (items: readonly string[], ctx: z.RefinementCtx) => {
    items.forEach((item, i) => {
      const first = items.indexOf(item);
      if (first < i) {
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `${what} listed once (${item} is also item [${first}])`,
        });
      }
    });
  };
}

const gzipSchema = strict({
  /** Compress responses; default true. */
  enabled: z.boolean().default(true),
  /** `gzip_comp_level`, 1 (fastest) to 9 (smallest); default 6. */
  level: z.int().min(1).max(9).default(6),
  /** Responses shorter than this are sent as they are; bytes, default 1024. */
  minLengthBytes: z.int().min(0).max(1048576).default(1024),
  /**
   * MIME types compressed besides text/html (which nginx always compresses, so it is refused
   * here); default the text, JSON, JavaScript, XML and SVG types.
   */
  types: z
    .array(
      z
        .string()
        .regex(MIME_TYPE, { error: "a lower-case MIME type such as application/json" })
        .refine((t) => t !== "text/html", {
          error:
            "a type other than text/html: nginx always compresses text/html, and listing it again makes nginx warn",
        }),
    )
    .min(1)
    .superRefine(unique("a MIME type"))
    .default(DEFAULT_GZIP_TYPES),
}).prefault({});

const timeoutsSchema = strict({
  /** `proxy_connect_timeout`; seconds, default 5 (nginx caps it at 75). */
  connectSeconds: z.int().min(1).max(75).default(5),
  /** `proxy_send_timeout`: the longest pause while sending a request upstream; seconds, default 60. */
  sendSeconds: z.int().min(1).max(3600).default(60),
  /** `proxy_read_timeout`: the longest pause in an upstream's response; seconds, default 60. */
  readSeconds: z.int().min(1).max(3600).default(60),
}).prefault({});

const routeOverrideSchema = strict({
  /** `proxy_read_timeout` for this service's routes; seconds, default the catalog's or timeouts'. */
  readTimeoutSeconds: z.int().min(1).max(3600).optional(),
  /** Largest request body for this service's routes; MB, default clientMaxBodyMb. */
  clientMaxBodyMb: z.int().min(1).max(10240).optional(),
}).optional();

const routesSchema = strict(
  Object.fromEntries(ROUTED_SERVICES.map((n) => [n, routeOverrideSchema])) as Record<
    RoutedServiceName,
    typeof routeOverrideSchema
  >,
).default({});

const upstreamSchema = strict({
  /** Idle connections to the backends kept open per worker (`keepalive`); default 32. */
  keepalive: z.int().min(1).max(1024).default(32),
  /** How long such an idle connection is kept; seconds, default 60. */
  keepaliveTimeoutSeconds: z.int().min(1).max(3600).default(60),
  /** Failed attempts within failTimeoutSeconds that take a backend out (0: never); default 3. */
  maxFails: z.int().min(0).max(100).default(3),
  /** The window for maxFails and how long a failed backend stays out; seconds, default 30. */
  failTimeoutSeconds: z.int().min(1).max(3600).default(30),
  /** Weight of each API replica in order (1 to 100), one per services.api.replicas; default all 1. */
  apiWeights: z.array(z.int().min(1).max(100)).optional(),
}).prefault({});

const rateLimitSchema = strict({
  /** Limit requests to /api/ per client address; the excess gets 429. Default true. */
  enabled: z.boolean().default(true),
  /** Sustained rate per client address; requests per second, default 10. */
  requestsPerSecond: z.int().min(1).max(100000).default(10),
  /** Requests above the rate answered at once before the excess gets 429; default 20. */
  burst: z.int().min(0).max(100000).default(20),
  /** Shared memory for the client addresses (about 16 000 per MB); MB, default 10. */
  zoneMb: z.int().min(1).max(1024).default(10),
}).prefault({});

const cacheSchema = strict({
  /**
   * Cache API responses; anonymous GET and HEAD requests only (none with a cookie or an
   * Authorization header). Default true.
   */
  enabled: z.boolean().default(true),
  /** Shared memory for the cache keys (about 8 000 per MB); MB, default 10. */
  zoneMb: z.int().min(1).max(1024).default(10),
  /**
   * Largest size of the cached bodies; MB, default 128. They live on a tmpfs counted in the
   * container's memory, so resources.memoryMb must be at least this plus 64.
   */
  maxSizeMb: z.int().min(1).max(65536).default(128),
  /** An entry nobody asked for this long is dropped; minutes, default 60. */
  inactiveMinutes: z.int().min(1).max(10080).default(60),
  /**
   * How long a 200 response is cached when the API says nothing; seconds, default 0: only what
   * the API marks cacheable (Cache-Control or Expires) is cached.
   */
  validSeconds: z.int().min(0).max(604800).default(0),
}).prefault({});

/** hstspreload.org's minimum max-age for the preload list: one year. */
const HSTS_PRELOAD_MIN_AGE = 31536000;

const hstsSchema = strict({
  /** Send Strict-Transport-Security (only with TLS on); default true. */
  enabled: z.boolean().default(true),
  /** `max-age`; seconds, default 31536000 (one year). */
  maxAgeSeconds: z.int().min(0).max(63072000).default(HSTS_PRELOAD_MIN_AGE),
  /** Cover every subdomain too; default true. */
  includeSubDomains: z.boolean().default(true),
  /** Ask for the browsers' preload list (hard to undo); default false. */
  preload: z.boolean().default(false),
})
  .superRefine((h, ctx) => {
    if (!h.preload) return;
    if (!h.includeSubDomains) {
      ctx.addIssue({
        code: "custom",
        path: ["includeSubDomains"],
        message: "true with preload: true (hstspreload.org requires includeSubDomains)",
      });
    }
    if (h.maxAgeSeconds < HSTS_PRELOAD_MIN_AGE) {
      ctx.addIssue({
        code: "custom",
        path: ["maxAgeSeconds"],
        message: `at least ${HSTS_PRELOAD_MIN_AGE} (one year) with preload: true (hstspreload.org's minimum)`,
      });
    }
  })
  .prefault({});

const headersSchema = strict({
  /** Content-Security-Policy of every response; default: own origin, inline scripts/styles, wss. */
  contentSecurityPolicy: z
    .string()
    .max(4096)
    .regex(NGINX_QUOTABLE, {
      error:
        'printable ASCII without ", \\, $ or a line break (the policy goes into an nginx double-quoted string, where $ would start a variable)',
    })
    .default(DEFAULT_CONTENT_SECURITY_POLICY),
  /** X-Frame-Options; default SAMEORIGIN (Grafana and n8n frame their own pages). */
  frameOptions: z.enum(["DENY", "SAMEORIGIN"]).default("SAMEORIGIN"),
  /** Referrer-Policy; default strict-origin-when-cross-origin. */
  referrerPolicy: z.enum(REFERRER_POLICIES).default("strict-origin-when-cross-origin"),
}).prefault({});

const tlsSessionSchema = strict({
  /** `ssl_session_cache` shared by the workers (about 4 000 sessions per MB); MB, default 10. */
  cacheMb: z.int().min(1).max(1024).default(10),
  /** `ssl_session_timeout`; minutes, default 60. */
  timeoutMinutes: z.int().min(1).max(1440).default(60),
}).prefault({});

function isAddressOrNetwork(text: string): boolean {
  if (parseIpv4(text) !== undefined) return true;
  const cidr = parseCidr(text);
  return cidr !== undefined && cidr.base === cidr.first;
}

const adminSchema = strict({
  /**
   * Source addresses allowed on the admin paths (/admin/ and /grafana/): IPv4 addresses or
   * networks in CIDR form; default [], meaning any address.
   */
  allow: z
    .array(
      z.string().refine(isAddressOrNetwork, {
        error:
          "an IPv4 address or a network in CIDR form with host bits zero, such as 203.0.113.7 or 10.0.0.0/8",
      }),
    )
    .superRefine(unique("an address or network"))
    .default([]),
  /** Ask for a login on the admin paths (user below, the generated edgeAdminPassword); default true. */
  basicAuth: z.boolean().default(true),
  /** The login's user name; default admin. */
  user: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "1 to 64 letters, digits, '.', '_' or '-'" })
    .default("admin"),
}).prefault({});

const smokeCheckSchema = strict({
  /** Check the platform through the edge after every `up` that changes what it serves; default true. */
  enabled: z.boolean().default(true),
  /**
   * Tries per check before it fails (services that just turned healthy may need a moment, and
   * nginx re-resolves a backend's name within 10 s); default 20.
   */
  attempts: z.int().min(1).max(200).default(20),
  /** Seconds between two tries of a check; default 3. */
  intervalSeconds: z.int().min(1).max(60).default(3),
  /** Seconds one request may take, TLS handshake included; default 10. */
  requestTimeoutSeconds: z.int().min(1).max(120).default(10),
  /**
   * With tls.mode files only: PEM certificate(s) of a private CA the served chain ends at. Without
   * it the check trusts the public CAs of the edge's image, as browsers would.
   */
  caCertificate: z.string().optional(),
}).prefault({});

/**
 * services.nginx's own keys. Its `ports` (the key every service has) mean something else here:
 * empty (the default) is 0.0.0.0:80 -> 80 and, unless tls.mode is off, 0.0.0.0:443 -> 443; a given
 * list maps host ports to container 80 or 443, on any address (the other services: loopback only).
 */
export const nginxExtras = {
  /** Exactly 1: the edge binds the host's ports. */
  replicas: z
    .int()
    .min(1)
    .max(1, { error: "exactly 1: the edge binds the host's ports" })
    .default(1),
  /** `worker_connections` per worker process; default 4096. */
  workerConnections: z.int().min(256).max(65535).default(4096),
  /** `worker_rlimit_nofile`: open files per worker, at least 2 × workerConnections; default 65535. */
  workerRlimitNofile: z.int().min(1024).max(1048576).default(65535),
  /** `keepalive_timeout` for client connections; seconds, default 65. */
  keepaliveTimeoutSeconds: z.int().min(1).max(3600).default(65),
  /** Largest request body (`client_max_body_size`); MB, default 10. */
  clientMaxBodyMb: z.int().min(1).max(10240).default(10),
  /** Response compression. */
  gzip: gzipSchema,
  /** Timeouts towards the backends; routes.<service>.readTimeoutSeconds overrides readSeconds. */
  timeouts: timeoutsSchema,
  /** Per routed service: read timeout and body size of its routes; default {} (the values above). */
  routes: routesSchema,
  /** Connections to the backends and how a failing one is taken out. */
  upstream: upstreamSchema,
  /** Requests to /api/ per client address; the excess gets 429. */
  rateLimit: rateLimitSchema,
  /** The API response cache (anonymous GET/HEAD only), on a tmpfs. */
  cache: cacheSchema,
  /** Strict-Transport-Security, sent only when tls.mode is not off. */
  hsts: hstsSchema,
  /** Security headers on every response. */
  headers: headersSchema,
  /** TLS session resumption (with tls.mode other than off). */
  tlsSession: tlsSessionSchema,
  /** Guards of the admin paths (/admin/ and /grafana/). */
  admin: adminSchema,
  /** How often the container looks for a new config generation to reload; seconds, default 5. */
  reloadCheckSeconds: z.int().min(1).max(300).default(5),
  /** The post-deploy smoke check: health, every enabled route and TLS, through nginx. */
  smokeCheck: smokeCheckSchema,
};

/** A published port as the service schema outputs it. */
export interface EdgePort {
  readonly hostIp: string;
  readonly host: number;
  readonly container?: number;
  readonly protocol: "tcp" | "udp";
}

/** The ports nginx publishes when `services.nginx.ports` is empty: 80, and 443 with TLS on. */
export function derivedEdgePorts(mode: TlsMode): EdgePort[] {
  const all = (port: number): EdgePort => ({
    hostIp: "0.0.0.0",
    host: port,
    container: port,
    protocol: "tcp",
  });
  return mode === "off" ? [all(EDGE_HTTP_PORT)] : [all(EDGE_HTTP_PORT), all(EDGE_HTTPS_PORT)];
}

interface NginxChecked {
  readonly workerConnections: number;
  readonly workerRlimitNofile: number;
  readonly resources: { readonly memoryMb: number };
  readonly cache: { readonly enabled: boolean; readonly maxSizeMb: number };
  readonly ports: readonly EdgePort[];
}

/** The checks between services.nginx's own keys. */
export function checkNginx(svc: NginxChecked, ctx: z.RefinementCtx): void {
  const needed = 2 * svc.workerConnections;
  if (svc.workerRlimitNofile < needed) {
    ctx.addIssue({
      code: "custom",
      path: ["workerRlimitNofile"],
      message: `at least ${needed}, twice workerConnections (${svc.workerConnections}): each proxied connection uses two file descriptors`,
    });
  }
  const memory = svc.resources.memoryMb;
  if (svc.cache.enabled && svc.cache.maxSizeMb + EDGE_MEMORY_HEADROOM_MB > memory) {
    ctx.addIssue({
      code: "custom",
      path: ["cache", "maxSizeMb"],
      message: `at most resources.memoryMb - ${EDGE_MEMORY_HEADROOM_MB} (${memory} - ${EDGE_MEMORY_HEADROOM_MB} = ${memory - EDGE_MEMORY_HEADROOM_MB}): the cache (cache.maxSizeMb ${svc.cache.maxSizeMb}) lives on a tmpfs counted in the container's memory; raise resources.memoryMb or lower cache.maxSizeMb`,
    });
  }
  svc.ports.forEach((p, i) => {
    if (p.container !== EDGE_HTTP_PORT && p.container !== EDGE_HTTPS_PORT) {
      ctx.addIssue({
        code: "custom",
        path: ["ports", i, "container"],
        message: `${EDGE_HTTP_PORT} or ${EDGE_HTTPS_PORT}, set explicitly: nginx listens on those in its container (the host port is free)`,
      });
    }
  });
}

interface EdgeStackChecked {
  readonly tls: { readonly mode: TlsMode };
  readonly services: {
    readonly [K in ServiceName]: {
      readonly enabled: boolean;
      readonly replicas: number;
      readonly ports: readonly EdgePort[];
    };
  } & {
    readonly nginx: {
      readonly upstream: { readonly apiWeights?: readonly number[] };
      readonly smokeCheck: { readonly caCertificate?: string };
    };
  };
}

/**
 * The edge's checks across the stack: nginx's ports against tls.mode, loopback-only ports for
 * every other service, one API weight per replica. Run on the config with the derived ports.
 */
export function checkEdge(cfg: EdgeStackChecked, ctx: z.RefinementCtx): void {
  const nginx = cfg.services.nginx;
  if (nginx.enabled) {
    const https = nginx.ports.flatMap((p, i) => (p.container === EDGE_HTTPS_PORT ? [i] : []));
    if (cfg.tls.mode === "off") {
      for (const i of https) {
        ctx.addIssue({
          code: "custom",
          path: ["services", "nginx", "ports", i, "container"],
          message: `${EDGE_HTTP_PORT}: nothing listens on ${EDGE_HTTPS_PORT} with tls.mode off`,
        });
      }
    } else if (https.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["services", "nginx", "ports"],
        message: `at least one mapping to container ${EDGE_HTTPS_PORT} with tls.mode ${cfg.tls.mode} (or no ports at all, for 0.0.0.0:80 and 0.0.0.0:443)`,
      });
    }
  }
  for (const name of SERVICE_NAMES) {
    const svc = cfg.services[name];
    if (name === "nginx" || !svc.enabled) continue;
    svc.ports.forEach((p, i) => {
      const ip = parseIpv4(p.hostIp);
      if (ip !== undefined && !contains(LOOPBACK, ip)) {
        ctx.addIssue({
          code: "custom",
          path: ["services", name, "ports", i, "hostIp"],
          message:
            "a loopback address such as 127.0.0.1: only the edge (services.nginx) publishes on other addresses",
        });
      }
    });
  }
  checkSmokeCa(nginx.smokeCheck.caCertificate, cfg.tls.mode, ctx);
  const weights = nginx.upstream.apiWeights;
  const replicas = cfg.services.api.replicas;
  if (weights !== undefined && weights.length !== replicas) {
    ctx.addIssue({
      code: "custom",
      path: ["services", "nginx", "upstream", "apiWeights"],
      message: `one weight per API replica: ${weights.length} given, services.api.replicas is ${replicas}`,
    });
  }
}

/** smokeCheck.caCertificate: only with tls.mode files, and only CERTIFICATE blocks that parse. */
function checkSmokeCa(ca: string | undefined, mode: TlsMode, ctx: z.RefinementCtx): void {
  if (ca === undefined) return;
  const path = ["services", "nginx", "smokeCheck", "caCertificate"];
  if (mode !== "files") {
    ctx.addIssue({
      code: "custom",
      path,
      message: `only with tls.mode: files (tls.mode is ${mode}: the check trusts the certificate the program generated, or there is no TLS); remove it`,
    });
    return;
  }
  const blocks = [...ca.matchAll(PEM_BLOCK)];
  const parses = (block: string) => {
    try {
      return new crypto.X509Certificate(block).ca;
    } catch {
      return undefined;
    }
  };
  if (
    blocks.length === 0 ||
    ca.replace(PEM_BLOCK, "").trim() !== "" ||
    blocks.some(([block, label]) => label !== "CERTIFICATE" || parses(block) === undefined)
  ) {
    ctx.addIssue({
      code: "custom",
      path,
      message:
        "PEM CA certificates that parse (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), nothing else",
    });
  }
}

export const tlsSchema = strict({
  /**
   * How the edge serves the domain: `off` (HTTP only, the dev stack), `selfSigned` (a certificate
   * the program generates) or `files` (certificate and privateKey below). Default selfSigned.
   * The public URLs the apps are given (https or http) follow it.
   */
  mode: z.enum(TLS_MODES).default("selfSigned"),
  /**
   * With mode files only: the PEM certificate for the domain, then its chain (intermediates), as
   * `pulumi config set --path 'tls.certificate' -- "$(cat fullchain.pem)"`.
   */
  certificate: z.string().optional(),
  /**
   * With mode files only: the certificate's PEM private key, unencrypted, as a secret:
   * `pulumi config set --secret --path 'tls.privateKey' -- "$(cat key.pem)"`.
   */
  privateKey: z.string().optional(),
  /** The certificate mode selfSigned generates. */
  selfSigned: strict({
    /** Validity of the generated certificate; days, default 365 (825 at most, as browsers allow). */
    validityDays: z.int().min(1).max(825).default(365),
    /** Its subject's organization (O); default "VPN Enterprise". */
    organization: z
      .string()
      .regex(/^[^\x00-\x1f\x7f/\\"$=]{1,64}$/, {
        error:
          '1 to 64 characters without control characters or / \\ " $ = (it goes into a subject)',
      })
      .default("VPN Enterprise"),
  }).prefault({}),
})
  .superRefine((tls, ctx) => {
    for (const key of ["certificate", "privateKey"] as const) {
      if (tls.mode !== "files" && tls[key] !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `only with tls.mode: files (tls.mode is ${tls.mode}); remove tls.${key}`,
        });
      }
    }
    if (tls.mode !== "files") return;
    if (tls.certificate === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["certificate"],
        message: `a PEM certificate for the domain, then its chain (required with tls.mode: files): pulumi config set --path 'tls.certificate' -- "$(cat fullchain.pem)"`,
      });
    }
    if (tls.privateKey === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["privateKey"],
        message: `the certificate's PEM private key (required with tls.mode: files): pulumi config set --secret --path 'tls.privateKey' -- "$(cat key.pem)"`,
      });
    }
  })
  .prefault({});

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

interface TlsChecked {
  readonly domain: string;
  readonly tls: {
    readonly mode: TlsMode;
    readonly certificate?: string;
    readonly privateKey?: string;
  };
}

/**
 * With tls.mode files: the certificate chain parses, the key parses and belongs to the first
 * (leaf) certificate, which covers `domain` and has not expired at `now`. Messages never quote the
 * key.
 */
export function checkTlsFiles(cfg: TlsChecked, ctx: z.RefinementCtx, now = new Date()): void {
  const { mode, certificate, privateKey } = cfg.tls;
  if (mode !== "files" || certificate === undefined || privateKey === undefined) return;
  const problem = (key: "certificate" | "privateKey", message: string) => {
    ctx.addIssue({ code: "custom", path: ["tls", key], message });
  };

  const blocks = [...certificate.matchAll(PEM_BLOCK)];
  if (blocks.length === 0 || certificate.replace(PEM_BLOCK, "").trim() !== "") {
    problem(
      "certificate",
      "PEM certificates only (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----, the leaf first, then its chain); this value has none, or text outside them",
    );
  }
  const certs = blocks.map(([block, label], i): crypto.X509Certificate | undefined => {
    if (label !== "CERTIFICATE") {
      problem(
        "certificate",
        `CERTIFICATE blocks only; block ${i + 1} is ${/PRIVATE KEY/.test(label) ? "a private key, which belongs in tls.privateKey (set with --secret)" : `a ${label}`}`,
      );
      return undefined;
    }
    try {
      return new crypto.X509Certificate(block);
    } catch (e) {
      problem(
        "certificate",
        `PEM certificates that parse; block ${i + 1} does not (${(e as Error).message})`,
      );
      return undefined;
    }
  });

  let key: crypto.KeyObject | undefined;
  try {
    key = crypto.createPrivateKey(privateKey);
  } catch {
    // The crypto error is not quoted: it says nothing useful here, and the value must never show.
    problem(
      "privateKey",
      "an unencrypted PEM private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY); this value does not parse as one",
    );
  }

  const leaf = certs[0];
  if (leaf === undefined) return;
  if (key !== undefined && !matches(leaf, key)) {
    problem(
      "privateKey",
      "the private key of tls.certificate's first (leaf) certificate; this key belongs to another certificate",
    );
  }
  if (leaf.checkHost(cfg.domain) === undefined) {
    problem(
      "certificate",
      `a certificate for the domain ${cfg.domain}; the first (leaf) certificate covers ${leaf.subjectAltName ?? leaf.subject.replace(/\n/g, ", ")}`,
    );
  }
  const expires = new Date(leaf.validTo);
  if (!(expires.getTime() > now.getTime())) {
    problem(
      "certificate",
      `a certificate that has not expired; the first (leaf) certificate expired on ${expires.toISOString()} (${leaf.validTo})`,
    );
  }
}

function matches(cert: crypto.X509Certificate, key: crypto.KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    // A key of another algorithm than the certificate's.
    return false;
  }
}
