/**
 * The edge tier's config keys (services.nginx) and the stack's `tls` block, checked without mocks.
 * The files-mode certificates are real ones, made by the host's openssl for each run.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, CatalogEntry, SERVICE_NAMES } from "../../config/catalog";
import {
  DEFAULT_CONTENT_SECURITY_POLICY,
  DEFAULT_GZIP_TYPES,
  ROUTED_SERVICES,
} from "../../config/edgeSchema";
import { ConfigError, parseStackConfig } from "../../config/load";
import { PROJECT, ROOT, STACKS, projectValues } from "../stackFiles";
import { expectProblem, problemsOf } from "./configProblems";

const DOMAIN = "vpn.example.com";
const base = { domain: DOMAIN };
const parse = (raw: Record<string, unknown>) => parseStackConfig(raw, PROJECT, "test", ROOT);
const nginx = (body: Record<string, unknown>, rest: Record<string, unknown> = {}) => ({
  ...base,
  ...rest,
  services: { nginx: body, ...((rest.services as Record<string, unknown> | undefined) ?? {}) },
});
const wildcard = (port: number) => ({
  hostIp: "0.0.0.0",
  host: port,
  container: port,
  protocol: "tcp",
});

describe("services.nginx defaults", () => {
  const cfg = parse(base);
  const n = cfg.services.nginx;

  test("the catalog entry: first, on the edge, app and monitoring networks, the image's nginx user", () => {
    expect(SERVICE_NAMES[0]).toBe("nginx");
    expect(CATALOG.nginx).toMatchObject({
      tier: "edge",
      networks: ["edge", "app", "monitoring"],
      port: 80,
      health: "/health",
    });
    expect(n).toMatchObject({
      enabled: true,
      replicas: 1,
      image: { ref: "nginx:1.28.0-alpine" },
      user: "101:101",
      resources: { cpus: 0.5, memoryMb: 256, pidsLimit: 256 },
    });
  });

  test("every edge key has the documented default", () => {
    expect(n).toMatchObject({
      workerConnections: 4096,
      workerRlimitNofile: 65535,
      keepaliveTimeoutSeconds: 65,
      clientMaxBodyMb: 10,
      gzip: { enabled: true, level: 6, minLengthBytes: 1024, types: DEFAULT_GZIP_TYPES },
      timeouts: { connectSeconds: 5, sendSeconds: 60, readSeconds: 60 },
      routes: {},
      upstream: {
        keepalive: 32,
        keepaliveTimeoutSeconds: 60,
        maxFails: 3,
        failTimeoutSeconds: 30,
      },
      rateLimit: { enabled: true, requestsPerSecond: 10, burst: 20, zoneMb: 10 },
      cache: { enabled: true, zoneMb: 10, maxSizeMb: 128, inactiveMinutes: 60, validSeconds: 0 },
      hsts: { enabled: true, maxAgeSeconds: 31536000, includeSubDomains: true, preload: false },
      headers: {
        contentSecurityPolicy: DEFAULT_CONTENT_SECURITY_POLICY,
        frameOptions: "SAMEORIGIN",
        referrerPolicy: "strict-origin-when-cross-origin",
      },
      tlsSession: { cacheMb: 10, timeoutMinutes: 60 },
      admin: { allow: [], basicAuth: true, user: "admin" },
      reloadCheckSeconds: 5,
    });
    expect(n.upstream.apiWeights).toBeUndefined();
    expect(n.gzip.types).not.toContain("text/html");
  });

  test("tls: selfSigned for a year, no files", () => {
    expect(cfg.tls).toEqual({
      mode: "selfSigned",
      privateKey: undefined,
      selfSigned: { validityDays: 365, organization: "VPN Enterprise" },
    });
  });

  test("the routed services come from the catalog's routes", () => {
    const expected = SERVICE_NAMES.filter((s) => (CATALOG[s] as CatalogEntry).routes);
    expect(ROUTED_SERVICES).toEqual(expected);
    expect([...ROUTED_SERVICES].sort()).toEqual(["api", "grafana", "n8n", "pythonAi", "web"]);
  });

  test("dev keeps the edge on loopback without an admin login; prod takes the defaults", () => {
    const [dev, prod] = STACKS.map((s) => parseStackConfig(projectValues(s), PROJECT, s, ROOT));
    expect(dev.services.nginx.ports).toEqual([
      { hostIp: "127.0.0.1", host: 80, container: 80, protocol: "tcp" },
    ]);
    expect(dev.services.nginx.admin.basicAuth).toBe(false);
    expect(prod.services.nginx.ports).toEqual([wildcard(80), wildcard(443)]);
    expect(prod.services.nginx.admin.basicAuth).toBe(true);
  });
});

describe("services.nginx accepts good values", () => {
  test.each<[string, Record<string, unknown>]>([
    ["replicas 1", { replicas: 1 }],
    [
      "file limit exactly twice the connections",
      { workerConnections: 8192, workerRlimitNofile: 16384 },
    ],
    ["a keepalive timeout of an hour", { keepaliveTimeoutSeconds: 3600 }],
    ["a 10 GB body limit", { clientMaxBodyMb: 10240 }],
    ["gzip off, level 9, own types", { gzip: { enabled: false, level: 9, types: ["text/csv"] } }],
    ["nginx's longest connect timeout", { timeouts: { connectSeconds: 75, readSeconds: 3600 } }],
    ["route overrides", { routes: { pythonAi: { readTimeoutSeconds: 300 }, web: {} } }],
    ["upstream tuning", { upstream: { keepalive: 1, maxFails: 0, failTimeoutSeconds: 1 } }],
    ["rate limit without burst", { rateLimit: { burst: 0, requestsPerSecond: 100000 } }],
    [
      "a bigger cache with the memory for it",
      { cache: { maxSizeMb: 448 }, resources: { memoryMb: 512 } },
    ],
    ["a big cache while the cache is off", { cache: { enabled: false, maxSizeMb: 4096 } }],
    ["HSTS preload by the list's rules", { hsts: { preload: true, maxAgeSeconds: 63072000 } }],
    ["HSTS off", { hsts: { enabled: false, maxAgeSeconds: 0, includeSubDomains: false } }],
    [
      "own headers",
      {
        headers: {
          contentSecurityPolicy: "default-src 'none'",
          frameOptions: "DENY",
          referrerPolicy: "no-referrer",
        },
      },
    ],
    ["a TLS session cache", { tlsSession: { cacheMb: 1, timeoutMinutes: 1440 } }],
    [
      "an admin allow-list and user",
      { admin: { allow: ["203.0.113.7", "10.0.0.0/8", "192.168.1.0/24"], user: "ops.team-1" } },
    ],
    ["a reload check every minute", { reloadCheckSeconds: 60 }],
  ])("%s", (_name, body) => {
    const n = parse(nginx(body)).services.nginx;
    expect(n).toMatchObject(body);
  });

  test("one API weight per replica", () => {
    const cfg = parse(
      nginx({ upstream: { apiWeights: [3, 1] } }, { services: { api: { replicas: 2 } } }),
    );
    expect(cfg.services.nginx.upstream.apiWeights).toEqual([3, 1]);
  });
});

// Each bad services.nginx block, the key the error must name, and a fragment of what it must say.
const BAD: [string, Record<string, unknown>, string, string][] = [
  ["two replicas", { replicas: 2 }, "replicas", "exactly 1: the edge binds the host's ports"],
  ["too few worker connections", { workerConnections: 128 }, "workerConnections", ">= 256"],
  [
    "worker connections not whole",
    { workerConnections: 4096.5 },
    "workerConnections",
    "an integer",
  ],
  ["file limit too small", { workerRlimitNofile: 512 }, "workerRlimitNofile", ">= 1024"],
  [
    "file limit under twice the connections",
    { workerConnections: 8192, workerRlimitNofile: 16383 },
    "workerRlimitNofile",
    "at least 16384, twice workerConnections (8192)",
  ],
  ["keepalive of 0 s", { keepaliveTimeoutSeconds: 0 }, "keepaliveTimeoutSeconds", ">= 1"],
  ["body limit over 10 GB", { clientMaxBodyMb: 10241 }, "clientMaxBodyMb", "<= 10240"],
  ["gzip level 10", { gzip: { level: 10 } }, "gzip.level", "<= 9"],
  ["gzip min length negative", { gzip: { minLengthBytes: -1 } }, "gzip.minLengthBytes", ">= 0"],
  ["gzip with no types", { gzip: { types: [] } }, "gzip.types", "at least 1 item"],
  ["gzip type not a MIME type", { gzip: { types: ["JSON"] } }, "gzip.types[0]", "MIME type"],
  [
    "gzip type text/html",
    { gzip: { types: ["text/css", "text/html"] } },
    "gzip.types[1]",
    "nginx always compresses text/html",
  ],
  [
    "gzip type twice",
    { gzip: { types: ["text/css", "text/plain", "text/css"] } },
    "gzip.types[2]",
    "listed once (text/css is also item [0])",
  ],
  ["gzip unknown key", { gzip: { lvl: 1 } }, "gzip.lvl", "allowed keys: enabled, level"],
  [
    "connect timeout over 75 s",
    { timeouts: { connectSeconds: 76 } },
    "timeouts.connectSeconds",
    "<= 75",
  ],
  ["send timeout 0", { timeouts: { sendSeconds: 0 } }, "timeouts.sendSeconds", ">= 1"],
  [
    "read timeout over an hour",
    { timeouts: { readSeconds: 3601 } },
    "timeouts.readSeconds",
    "<= 3600",
  ],
  [
    "route for a service without routes",
    { routes: { postgres: { readTimeoutSeconds: 5 } } },
    "routes.postgres",
    "allowed keys: api, web, pythonAi, n8n",
  ],
  [
    "route read timeout 0",
    { routes: { api: { readTimeoutSeconds: 0 } } },
    "routes.api.readTimeoutSeconds",
    ">= 1",
  ],
  [
    "route body limit too big",
    { routes: { n8n: { clientMaxBodyMb: 20000 } } },
    "routes.n8n.clientMaxBodyMb",
    "<= 10240",
  ],
  [
    "route unknown key",
    { routes: { web: { timeout: 5 } } },
    "routes.web.timeout",
    "an unknown key",
  ],
  ["upstream keepalive 0", { upstream: { keepalive: 0 } }, "upstream.keepalive", ">= 1"],
  ["max fails over 100", { upstream: { maxFails: 101 } }, "upstream.maxFails", "<= 100"],
  [
    "fail timeout 0",
    { upstream: { failTimeoutSeconds: 0 } },
    "upstream.failTimeoutSeconds",
    ">= 1",
  ],
  [
    "upstream keepalive timeout too long",
    { upstream: { keepaliveTimeoutSeconds: 4000 } },
    "upstream.keepaliveTimeoutSeconds",
    "<= 3600",
  ],
  ["API weight 0", { upstream: { apiWeights: [0] } }, "upstream.apiWeights[0]", ">= 1"],
  [
    "more API weights than replicas",
    { upstream: { apiWeights: [1, 2] } },
    "services.nginx.upstream.apiWeights",
    "one weight per API replica: 2 given, services.api.replicas is 1",
  ],
  ["rate 0", { rateLimit: { requestsPerSecond: 0 } }, "rateLimit.requestsPerSecond", ">= 1"],
  ["negative burst", { rateLimit: { burst: -1 } }, "rateLimit.burst", ">= 0"],
  ["rate zone too big", { rateLimit: { zoneMb: 2048 } }, "rateLimit.zoneMb", "<= 1024"],
  ["rate limit not boolean", { rateLimit: { enabled: "yes" } }, "rateLimit.enabled", "a boolean"],
  ["cache zone 0", { cache: { zoneMb: 0 } }, "cache.zoneMb", ">= 1"],
  [
    "cache inactive over a week",
    { cache: { inactiveMinutes: 10081 } },
    "cache.inactiveMinutes",
    "<= 10080",
  ],
  ["cache valid negative", { cache: { validSeconds: -1 } }, "cache.validSeconds", ">= 0"],
  [
    "cache bigger than the memory allows",
    { cache: { maxSizeMb: 256 } },
    "cache.maxSizeMb",
    "at most resources.memoryMb - 64 (256 - 64 = 192): the cache (cache.maxSizeMb 256) lives on a tmpfs",
  ],
  [
    "HSTS max-age over two years",
    { hsts: { maxAgeSeconds: 63072001 } },
    "hsts.maxAgeSeconds",
    "<= 63072000",
  ],
  [
    "HSTS preload without subdomains",
    { hsts: { preload: true, includeSubDomains: false } },
    "hsts.includeSubDomains",
    "hstspreload.org requires includeSubDomains",
  ],
  [
    "HSTS preload under a year",
    { hsts: { preload: true, maxAgeSeconds: 86400 } },
    "hsts.maxAgeSeconds",
    "at least 31536000 (one year) with preload: true",
  ],
  [
    "CSP with a $",
    { headers: { contentSecurityPolicy: "default-src $host" } },
    "headers.contentSecurityPolicy",
    "where $ would start a variable",
  ],
  [
    "CSP with a double quote",
    { headers: { contentSecurityPolicy: "default-src 'self' \"x\"" } },
    "headers.contentSecurityPolicy",
    "nginx double-quoted string",
  ],
  [
    "CSP with a backslash",
    { headers: { contentSecurityPolicy: "default-src \\'self'" } },
    "headers.contentSecurityPolicy",
    "printable ASCII",
  ],
  [
    "CSP with a line break",
    { headers: { contentSecurityPolicy: "default-src 'self';\nimg-src *" } },
    "headers.contentSecurityPolicy",
    "a line break",
  ],
  [
    "CSP empty",
    { headers: { contentSecurityPolicy: "" } },
    "headers.contentSecurityPolicy",
    "printable ASCII",
  ],
  [
    "CSP too long",
    { headers: { contentSecurityPolicy: "a".repeat(4097) } },
    "headers.contentSecurityPolicy",
    "at most 4096 characters",
  ],
  [
    "frame options ALLOW-FROM",
    { headers: { frameOptions: "ALLOW-FROM x" } },
    "headers.frameOptions",
    '"DENY", "SAMEORIGIN"',
  ],
  [
    "unknown referrer policy",
    { headers: { referrerPolicy: "never" } },
    "headers.referrerPolicy",
    '"no-referrer"',
  ],
  ["TLS session cache 0", { tlsSession: { cacheMb: 0 } }, "tlsSession.cacheMb", ">= 1"],
  [
    "TLS session over a day",
    { tlsSession: { timeoutMinutes: 1441 } },
    "tlsSession.timeoutMinutes",
    "<= 1440",
  ],
  [
    "admin allow a host name",
    { admin: { allow: ["office.example.com"] } },
    "admin.allow[0]",
    "an IPv4 address or a network in CIDR form",
  ],
  [
    "admin allow with host bits",
    { admin: { allow: ["10.0.0.1/8"] } },
    "admin.allow[0]",
    "host bits zero",
  ],
  [
    "admin allow twice",
    { admin: { allow: ["10.0.0.0/8", "203.0.113.7", "10.0.0.0/8"] } },
    "admin.allow[2]",
    "listed once (10.0.0.0/8 is also item [0])",
  ],
  [
    "admin user with a space",
    { admin: { user: "the admin" } },
    "admin.user",
    "1 to 64 letters, digits",
  ],
  ["admin basicAuth not boolean", { admin: { basicAuth: "off" } }, "admin.basicAuth", "a boolean"],
  ["reload check 0", { reloadCheckSeconds: 0 }, "reloadCheckSeconds", ">= 1"],
  ["reload check over 5 min", { reloadCheckSeconds: 301 }, "reloadCheckSeconds", "<= 300"],
  [
    "unknown nginx key",
    { workerConnection: 1024 },
    "workerConnection",
    'did you mean "workerConnections"',
  ],
];

describe("services.nginx refuses bad values, naming the key", () => {
  test.each(BAD)("%s", (_name, body, key, fragment) => {
    expectProblem(
      nginx(body),
      key.startsWith("services.") ? key : `services.nginx.${key}`,
      fragment,
    );
  });
});

describe("published ports", () => {
  test.each<[string, Record<string, unknown>, unknown[]]>([
    ["tls off: 0.0.0.0:80 only", { tls: { mode: "off" } }, [wildcard(80)]],
    [
      "tls selfSigned: 0.0.0.0:80 and 0.0.0.0:443",
      { tls: { mode: "selfSigned" } },
      [wildcard(80), wildcard(443)],
    ],
  ])("an empty list is derived: %s", (_name, raw, ports) => {
    expect(parse({ ...base, ...raw }).services.nginx.ports).toEqual(ports);
    expect(
      parse({ ...base, ...raw, services: { nginx: { ports: [] } } }).services.nginx.ports,
    ).toEqual(ports);
  });

  test("given ports are kept as they are", () => {
    const ports = [
      { hostIp: "203.0.113.7", host: 8080, container: 80, protocol: "tcp" },
      { hostIp: "203.0.113.7", host: 8443, container: 443, protocol: "tcp" },
    ];
    expect(parse(nginx({ ports })).services.nginx.ports).toEqual(ports);
  });

  test("the derived 0.0.0.0:80 clashes with another service's port 80", () => {
    expectProblem(
      { ...base, services: { web: { ports: [{ hostIp: "127.0.0.1", host: 80 }] } } },
      "services.web.ports[0].host",
      "services.nginx.ports[0] already publishes 0.0.0.0:80/tcp",
    );
    expectProblem(
      { ...base, services: { web: { ports: [{ hostIp: "127.0.0.1", host: 443 }] } } },
      "services.web.ports[0].host",
      "services.nginx.ports[1] already publishes 0.0.0.0:443/tcp",
    );
  });

  test("no clash once nginx is off, or on loopback ports of its own", () => {
    const web = { ports: [{ hostIp: "127.0.0.1", host: 80 }] };
    expect(
      parse({ ...base, services: { nginx: { enabled: false }, web } }).services.web.ports,
    ).toHaveLength(1);
    const own = {
      ports: [
        { hostIp: "127.0.0.2", host: 80, container: 80 },
        { hostIp: "127.0.0.2", host: 443, container: 443 },
      ],
    };
    expect(parse({ ...base, services: { nginx: own, web } }).services.nginx.ports).toHaveLength(2);
  });

  test("any other service publishes on loopback only", () => {
    expectProblem(
      { ...base, services: { web: { ports: [{ hostIp: "0.0.0.0", host: 3001 }] } } },
      "services.web.ports[0].hostIp",
      "a loopback address such as 127.0.0.1: only the edge (services.nginx) publishes on other addresses",
    );
    expectProblem(
      { ...base, services: { api: { ports: [{ hostIp: "192.168.1.10", host: 3000 }] } } },
      "services.api.ports[0].hostIp",
      "only the edge (services.nginx)",
    );
    expect(
      parse({ ...base, services: { web: { ports: [{ hostIp: "127.0.0.53", host: 3001 }] } } })
        .services.web.ports,
    ).toEqual([{ hostIp: "127.0.0.53", host: 3001, protocol: "tcp" }]);
  });

  test("a port of nginx's maps to container 80 or 443, set explicitly", () => {
    expectProblem(
      nginx({ ports: [{ host: 8080 }] }),
      "services.nginx.ports[0].container",
      "80 or 443",
    );
    expectProblem(
      nginx({
        ports: [
          { host: 8080, container: 8080 },
          { host: 443, container: 443 },
        ],
      }),
      "services.nginx.ports[0].container",
      "80 or 443, set explicitly",
    );
  });

  test("443 is refused with tls.mode off, and required with TLS on", () => {
    expectProblem(
      nginx({ ports: [wildcard(80), wildcard(443)] }, { tls: { mode: "off" } }),
      "services.nginx.ports[1].container",
      "nothing listens on 443 with tls.mode off",
    );
    expectProblem(
      nginx({ ports: [wildcard(80)] }, { tls: { mode: "selfSigned" } }),
      "services.nginx.ports",
      "at least one mapping to container 443 with tls.mode selfSigned",
    );
    expect(
      parse(nginx({ ports: [wildcard(80)] }, { tls: { mode: "off" } })).services.nginx.ports,
    ).toEqual([wildcard(80)]);
  });
});

describe("tls", () => {
  test("selfSigned settings", () => {
    const cfg = parse({
      ...base,
      tls: { selfSigned: { validityDays: 825, organization: "ACME, Inc." } },
    });
    expect(cfg.tls.selfSigned).toEqual({ validityDays: 825, organization: "ACME, Inc." });
    expectProblem(
      { ...base, tls: { selfSigned: { validityDays: 826 } } },
      "tls.selfSigned.validityDays",
      "<= 825",
    );
    expectProblem(
      { ...base, tls: { selfSigned: { validityDays: 0 } } },
      "tls.selfSigned.validityDays",
      ">= 1",
    );
    expectProblem(
      { ...base, tls: { selfSigned: { organization: "" } } },
      "tls.selfSigned.organization",
      "1 to 64 characters",
    );
    expectProblem(
      { ...base, tls: { selfSigned: { organization: "A/O=B" } } },
      "tls.selfSigned.organization",
      "1 to 64 characters",
    );
    expectProblem(
      { ...base, tls: { selfSigned: { organization: "x".repeat(65) } } },
      "tls.selfSigned.organization",
      "1 to 64 characters",
    );
  });

  test("certificate and privateKey only with mode files", () => {
    for (const mode of ["off", "selfSigned"]) {
      expectProblem(
        { ...base, tls: { mode, certificate: "x" } },
        "tls.certificate",
        "only with tls.mode: files",
      );
      expectProblem(
        { ...base, tls: { mode, privateKey: "x" } },
        "tls.privateKey",
        "only with tls.mode: files",
      );
    }
  });

  test("mode files needs both", () => {
    const problems = problemsOf({ ...base, tls: { mode: "files" } });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^vpn-enterprise:tls\.certificate: given nothing.*required with tls\.mode: files/,
        ),
        expect.stringMatching(
          /^vpn-enterprise:tls\.privateKey: given nothing.*pulumi config set --secret --path 'tls\.privateKey'/,
        ),
      ]),
    );
  });
});

describe("tls.mode files, with certificates openssl makes", () => {
  let dir: string;
  const pem = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  /** A self-signed certificate for `domain` valid `days` from now, and its key. */
  const selfSigned = (name: string, domain: string, days = 30) =>
    openssl(
      "req",
      "-x509",
      ...newKey,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      String(days),
      "-subj",
      `/CN=${domain}`,
      "-addext",
      `subjectAltName=DNS:${domain}`,
    );

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-tls-"));
    selfSigned("good", DOMAIN);
    selfSigned("other", DOMAIN);
    selfSigned("wrongDomain", "elsewhere.example.org");
    // openssl 3.0 has no -not_before/-not_after (3.4 adds them): `openssl ca` takes explicit dates.
    fs.mkdirSync(path.join(dir, "issued"));
    fs.writeFileSync(path.join(dir, "index.txt"), "");
    fs.writeFileSync(path.join(dir, "serial"), "01\n");
    fs.writeFileSync(
      path.join(dir, "ca.cnf"),
      [
        "[ca]",
        "default_ca = expired",
        "[expired]",
        "database = index.txt",
        "new_certs_dir = issued",
        "serial = serial",
        "default_md = sha256",
        "policy = any",
        "copy_extensions = copy",
        "[any]",
        "commonName = supplied",
        "",
      ].join("\n"),
    );
    openssl(
      "req",
      "-new",
      ...newKey,
      "-keyout",
      "expired.key",
      "-out",
      "expired.csr",
      "-subj",
      `/CN=${DOMAIN}`,
      "-addext",
      `subjectAltName=DNS:${DOMAIN}`,
    );
    openssl(
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-selfsign",
      "-keyfile",
      "expired.key",
      "-in",
      "expired.csr",
      "-out",
      "expired.crt",
      "-notext",
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200201000000Z",
    );
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const files = (
    certificate: string,
    privateKey: string,
    services: Record<string, unknown> = {},
  ) => ({
    ...base,
    tls: { mode: "files", certificate, privateKey },
    services,
  });
  /** The base64 lines of a key: none of them may appear in an error. */
  const keyBody = (key: string) =>
    key.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
  const expectKeyHidden = (raw: Record<string, unknown>, key: string) => {
    let error: ConfigError | undefined;
    try {
      parse(raw);
    } catch (e) {
      if (e instanceof ConfigError) error = e;
    }
    expect(error).toBeDefined();
    const text = error ? error.message : "";
    for (const line of keyBody(key)) expect(text).not.toContain(line);
    expect(text).not.toContain(key.slice(0, 40));
  };

  test("a matching pair for the domain is accepted; the key comes back as a Pulumi secret", async () => {
    const cfg = parse(files(pem("good.crt"), pem("good.key")));
    expect(cfg.tls.mode).toBe("files");
    expect(cfg.tls.certificate).toBe(pem("good.crt"));
    const key = cfg.tls.privateKey;
    expect(key && (await pulumi.isSecret(key))).toBe(true);
    expect(JSON.stringify(cfg.tls)).not.toContain(keyBody(pem("good.key"))[0]);
    expect(cfg.services.nginx.ports).toEqual([wildcard(80), wildcard(443)]);
  });

  test("a leaf followed by its chain is accepted: each block parses", () => {
    const chain = pem("good.crt") + pem("other.crt");
    expect(parse(files(chain, pem("good.key"))).tls.certificate).toBe(chain);
  });

  test("a key of another certificate", () => {
    const raw = files(pem("good.crt"), pem("other.key"));
    expectProblem(raw, "tls.privateKey", "this key belongs to another certificate");
    expectKeyHidden(raw, pem("other.key"));
  });

  test("a certificate for another domain", () => {
    const raw = files(pem("wrongDomain.crt"), pem("wrongDomain.key"));
    expectProblem(
      raw,
      "tls.certificate",
      `a certificate for the domain ${DOMAIN}; the first (leaf) certificate covers DNS:elsewhere.example.org`,
    );
    expectKeyHidden(raw, pem("wrongDomain.key"));
  });

  test("an expired certificate, with when it expired", () => {
    const raw = files(pem("expired.crt"), pem("expired.key"));
    expectProblem(raw, "tls.certificate", "expired on 2020-02-01T00:00:00.000Z");
    expectKeyHidden(raw, pem("expired.key"));
  });

  test("garbage in either PEM", () => {
    const broken =
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    expectProblem(files(broken, pem("good.key")), "tls.certificate", "block 1 does not");
    expectProblem(files("hello", pem("good.key")), "tls.certificate", "PEM certificates only");
    expectProblem(
      files(pem("good.crt") + "trailing words", pem("good.key")),
      "tls.certificate",
      "text outside them",
    );
    expectProblem(
      files(pem("good.crt") + broken, pem("good.key")),
      "tls.certificate",
      "block 2 does not",
    );
    const badKey =
      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWdhcmJhZ2UtMTIzNDU2Nzg5MA==\n-----END PRIVATE KEY-----\n";
    expectProblem(files(pem("good.crt"), badKey), "tls.privateKey", "does not parse as one");
    expectKeyHidden(files(pem("good.crt"), badKey), badKey);
  });

  test("a key pasted into the certificate is refused and not shown", () => {
    const raw = files(pem("good.crt") + pem("good.key"), pem("good.key"));
    expectProblem(
      raw,
      "tls.certificate",
      "block 2 is a private key, which belongs in tls.privateKey",
    );
    expectKeyHidden(raw, pem("good.key"));
  });

  test("a key under a misspelt name, in the wrong mode or outside tls is not shown", () => {
    const key = pem("good.key");
    expectKeyHidden(
      { ...base, tls: { mode: "files", certificate: pem("good.crt"), privatekey: key } },
      key,
    );
    expectKeyHidden({ ...base, tls: { mode: "off", privateKey: key } }, key);
    expectKeyHidden({ ...base, tls: key }, key);
    expectKeyHidden({ ...base, tsl: { privateKey: key } }, key);
  });

  test("several problems at once, each naming its key", () => {
    const problems = problemsOf(files(pem("wrongDomain.crt"), pem("other.key")));
    expect(problems.filter((p) => p.startsWith(`${PROJECT}:tls.privateKey:`))).toHaveLength(1);
    expect(problems.filter((p) => p.startsWith(`${PROJECT}:tls.certificate:`))).toHaveLength(1);
  });
});
