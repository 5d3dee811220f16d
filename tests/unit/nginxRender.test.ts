/** renderSiteConf's stub_status server, checked without nginx (tests/tools/nginx runs it for real). */
import { NginxSiteInput, renderSiteConf } from "../../render/nginx";

const route = {
  path: "/",
  upstream: "web_backend",
  servers: [{ host: "web", port: 3001, weight: 1 }],
  leastConn: false,
  stripPrefix: false,
  websocket: false,
  rateLimited: false,
  cached: false,
  readTimeoutSeconds: 60,
  clientMaxBodyMb: 10,
};

const plain: NginxSiteInput = {
  domain: "vpn.example.com",
  listen: { http: 80 },
  publicHttpsPort: 443,
  resolver: "127.0.0.11",
  resolverValidSeconds: 10,
  routes: [route],
  workerConnections: 1024,
  workerRlimitNofile: 4096,
  keepaliveTimeoutSeconds: 65,
  clientMaxBodyMb: 10,
  gzip: { enabled: true, level: 5, minLengthBytes: 1024, types: ["application/json"] },
  timeouts: { connectSeconds: 5, sendSeconds: 60, readSeconds: 60 },
  upstream: { keepalive: 32, keepaliveTimeoutSeconds: 60, maxFails: 3, failTimeoutSeconds: 30 },
  rateLimit: { enabled: false, requestsPerSecond: 10, burst: 20, zoneMb: 10 },
  cache: { enabled: false, zoneMb: 10, maxSizeMb: 100, inactiveMinutes: 60, validSeconds: 0 },
  headers: {
    contentSecurityPolicy: "default-src 'self'",
    frameOptions: "DENY",
    referrerPolicy: "no-referrer",
  },
  admin: { allow: [] },
};
const tls: NginxSiteInput = {
  ...plain,
  listen: { http: 80, https: 443 },
  tls: { sessionCacheMb: 10, sessionTimeoutMinutes: 60 },
};
const status = { port: 8080, path: "/stub_status", allow: ["172.20.3.0/24", "10.9.0.0/16"] };

/** The `server { ... }` blocks of a site.conf, each as its text. */
function servers(conf: string): string[] {
  return conf.split(/\n(?=server \{)/).filter((block) => block.startsWith("server {"));
}

/** The message of the error renderSiteConf throws; fails the test when it does not throw. */
function refusal(site: NginxSiteInput): string {
  try {
    renderSiteConf(site);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`renderSiteConf accepted ${JSON.stringify(site.status)}`);
}

describe.each([
  ["plain HTTP", plain, 1],
  ["TLS", tls, 2],
] as const)("the status server, %s", (_, site, publicServers) => {
  test("absent without `status`: no stub_status anywhere", () => {
    const conf = renderSiteConf(site);
    expect(conf).not.toContain("stub_status");
    expect(servers(conf)).toHaveLength(publicServers);
  });

  test("with `status`: the public servers are unchanged and one server is added after them", () => {
    const without = renderSiteConf(site);
    const conf = renderSiteConf({ ...site, status });
    expect(conf.startsWith(without)).toBe(true);
    expect(servers(conf)).toHaveLength(publicServers + 1);
    expect(servers(conf).slice(0, publicServers).join("")).not.toContain("stub_status");
  });

  test("it listens on the status port only, serves the path to the allowed networks, 404 else", () => {
    const block = servers(renderSiteConf({ ...site, status })).at(-1) ?? "";
    expect(block.split("\n").filter((l) => l.trim().startsWith("listen "))).toEqual([
      "    listen 8080 default_server;",
    ]);
    expect(block).not.toMatch(/\bssl\b/);
    expect(block).toContain(
      [
        "    location = /stub_status {",
        "        stub_status;",
        "        access_log off;",
        "        allow 172.20.3.0/24;",
        "        allow 10.9.0.0/16;",
        "        deny all;",
        "    }",
        "    location / {",
        "        return 404;",
        "    }",
      ].join("\n"),
    );
    expect(block.match(/stub_status;/g)).toHaveLength(1);
  });
});

describe("the status server's input is validated, naming the field", () => {
  const withStatus = (over: Partial<typeof status>, site: NginxSiteInput = tls) => ({
    ...site,
    status: { ...status, ...over },
  });

  test.each([0, 65536, -1, 80.5, Number.NaN])("port %p is out of range", (port) => {
    expect(refusal(withStatus({ port }))).toBe(
      `site.conf: status.port: an integer from 1 to 65535, got ${String(port)}`,
    );
  });

  test("the port must not be a public one", () => {
    expect(refusal(withStatus({ port: 80 }))).toBe(
      "site.conf: status.port: must differ from the public ports (80, 443), got 80",
    );
    expect(refusal(withStatus({ port: 443 }))).toContain("status.port: must differ");
    expect(refusal(withStatus({ port: 80 }, plain))).toContain("public ports (80), got 80");
    // 443 is no public port when TLS is off.
    expect(renderSiteConf(withStatus({ port: 443 }, plain))).toContain("listen 443 default_server");
  });

  test.each(["stub_status", "", "/stub status", "/s;allow all", "/s{", '/"x"', "/a\nb"])(
    "path %p is refused",
    (path) => {
      expect(refusal(withStatus({ path }))).toBe(
        `site.conf: status.path: an absolute path of letters, digits and ._~/- (e.g. /stub_status), got ${JSON.stringify(path)}`,
      );
    },
  );

  test("allow needs at least one CIDR, each a valid IPv4 network", () => {
    expect(refusal(withStatus({ allow: [] }))).toBe(
      "site.conf: status.allow: at least one CIDR (an empty list would deny every scraper)",
    );
    expect(refusal(withStatus({ allow: ["10.0.0.0/8", "10.0.0.0/33"] }))).toBe(
      'site.conf: status.allow[1]: an IPv4 CIDR (e.g. 10.0.3.0/24), got "10.0.0.0/33"',
    );
    for (const bad of ["all", "10.0.0.1", "256.0.0.0/8", "fd00::/8", "10.0.0.0/8; allow all"]) {
      expect(refusal(withStatus({ allow: [bad] }))).toContain("status.allow[0]: an IPv4 CIDR");
    }
    expect(refusal(withStatus({ allow: ["172.20.3.7/24"] }))).toBe(
      "site.conf: status.allow[0]: 172.20.3.7/24 has host bits set; the network is 172.20.3.0/24",
    );
  });

  test("every problem is reported at once", () => {
    const message = refusal(withStatus({ port: 443, path: "x", allow: ["nope"] }));
    expect(message).toMatch(/status\.port: .*; status\.path: .*; status\.allow\[0\]: /);
  });

  test("the boundary values are accepted", () => {
    for (const port of [1, 65535]) {
      expect(renderSiteConf(withStatus({ port }))).toContain(`listen ${port} default_server;`);
    }
    expect(renderSiteConf(withStatus({ path: "/", allow: ["0.0.0.0/0"] }))).toContain(
      "location = / {",
    );
  });
});
