/**
 * The edge's rendered nginx.conf and site.conf, run by a real nginx (Debian's 1.30 in a chroot; see
 * harness.ts) as the container runs it: as the nginx user, with the container's paths mounted.
 * `nginx -t` on both stacks, then the prod config on loopback ports in front of stub backends that
 * a fake Docker DNS points the backend names at.
 */
import * as fs from "fs";
import * as path from "path";
import { edgeSite } from "../../../components/edge/site";
import { MAIN_CONF, NginxSiteInput, SITE_DIR, renderSiteConf } from "../../../render/nginx";
import { STACKS } from "../../stackFiles";
import { freePort } from "../freePort";
import {
  FakeDns,
  NginxMounts,
  RunningNginx,
  Stub,
  nginxTest,
  request,
  requireNginx,
  startDns,
  startNginx,
  startStub,
  tlsHandshake,
  wsHandshake,
} from "./harness";
import {
  ADMIN_PASSWORD,
  DOMAIN,
  EDITOR_PASSWORD,
  NGINX_USER,
  secretsFor,
  siteMounts,
  stackConfig,
} from "./site";

beforeAll(() => {
  // Fails (never skips) without the chroot: the message says how to make it.
  requireNginx();
});

describe.each(STACKS)("the %s stack's rendered config", (stack) => {
  test("passes `nginx -t` with no backend name resolvable (they are resolved at run time)", () => {
    const site = edgeSite(stackConfig(stack));
    const result = nginxTest(siteMounts(site, secretsFor(site)), MAIN_CONF, NGINX_USER);
    expect(result.output).toContain("test is successful");
    expect(result.ok).toBe(true);
  });
});

describe("the dev edge: plain HTTP on loopback, no redirect, no HSTS", () => {
  let dns: FakeDns;
  let nginx: RunningNginx;
  const stubs: Stub[] = [];
  let http: number;

  beforeAll(async () => {
    dns = await startDns();
    http = await freePort();
    for (const [host, port, ip] of [
      ["vpn-enterprise-dev-api-1", 3000, "127.0.0.12"],
      ["web", 3001, "127.0.0.13"],
    ] as const) {
      stubs.push(await startStub({ name: host, host: ip, port }));
      dns.set(host, [ip]);
    }
    const site = {
      ...edgeSite(stackConfig("dev")),
      listen: { http },
      resolver: `127.0.0.1:${dns.port}`,
      resolverValidSeconds: 1,
    };
    nginx = await startNginx(siteMounts(site, secretsFor(site)), MAIN_CONF, {
      healthUrl: `http://127.0.0.1:${http}/health`,
      user: NGINX_USER,
    });
  });

  afterAll(async () => {
    await nginx.stop();
    for (const s of stubs) await s.close();
    await dns.close();
  });

  test("the API and the dashboard answer over HTTP; the admin paths need no login", async () => {
    const api = await request({ port: http, path: "/api/health", host: "localhost" });
    expect([api.status, (JSON.parse(api.body) as { url: string }).url]).toEqual([200, "/health"]);
    expect(api.headers["x-forwarded-proto"]).toBeUndefined();
    expect(api.headers["strict-transport-security"]).toBeUndefined();
    const web = await request({ port: http, path: "/", host: "localhost" });
    expect([web.status, web.headers["x-stub"]]).toEqual([200, "web"]);
    // n8n has no login in dev (editorProtection: none); its backend is simply not running here.
    expect((await request({ port: http, path: "/admin/n8n/", host: "localhost" })).status).toBe(
      502,
    );
  });
});

describe("the prod edge on loopback, in front of stub backends", () => {
  const auth = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  let dns: FakeDns;
  let nginx: RunningNginx;
  let mounts: NginxMounts;
  let site: NginxSiteInput;
  let http: number;
  let https: number;
  const stubs: Record<string, Stub> = {};
  const tls = { servername: DOMAIN };
  const get = (p: string, headers: Record<string, string> = {}) =>
    request({ port: https, path: p, host: DOMAIN, tls, headers });

  beforeAll(async () => {
    dns = await startDns();
    [http, https] = [await freePort(), await freePort()];
    // The backends at their catalog ports, each on its own loopback address.
    const backends: [string, string, number, string][] = [
      ["api1", "vpn-enterprise-prod-api-1", 3000, "127.0.0.2"],
      ["api2", "vpn-enterprise-prod-api-2", 3000, "127.0.0.3"],
      ["api3", "vpn-enterprise-prod-api-3", 3000, "127.0.0.4"],
      ["web", "web", 3001, "127.0.0.5"],
      ["ai", "python-ai", 5001, "127.0.0.6"],
      ["n8n", "n8n", 5678, "127.0.0.7"],
      ["grafana", "grafana", 3000, "127.0.0.8"],
    ];
    for (const [name, host, port, ip] of backends) {
      stubs[name] = await startStub({ name, host: ip, port });
      dns.set(host, [ip]);
    }
    // The stack's config; only what the container fixes differs: ports and the DNS server.
    site = {
      ...edgeSite(stackConfig("prod")),
      listen: { http, https },
      publicHttpsPort: https,
      resolver: `127.0.0.1:${dns.port}`,
      resolverValidSeconds: 1,
    };
    mounts = siteMounts(site, secretsFor(site));
    nginx = await startNginx(mounts, MAIN_CONF, {
      healthUrl: `http://127.0.0.1:${http}/health`,
      user: NGINX_USER,
    });
  });

  afterAll(async () => {
    await nginx.stop();
    for (const s of Object.values(stubs)) await s.close();
    await dns.close();
  });

  beforeEach(() => {
    for (const s of Object.values(stubs)) s.reset();
  });

  test("each route reaches its backend with the prefix handled and the proxy headers set", async () => {
    const cases: [string, string, string][] = [
      ["/api/users?page=2", "api", "/users?page=2"],
      ["/api/ai/predict", "ai", "/predict"],
      ["/dashboard/settings", "web", "/dashboard/settings"],
      ["/", "web", "/"],
    ];
    for (const [path_, stub, seen] of cases) {
      // A client's own X-Forwarded-For does not reach the backend: the edge sets it.
      const reply = await get(path_, { "x-forwarded-for": "203.0.113.9" });
      expect([path_, reply.status]).toEqual([path_, 200]);
      const body = JSON.parse(reply.body) as { stub: string; url: string; headers: Obj };
      expect([path_, body.stub.replace(/\d$/, ""), body.url]).toEqual([path_, stub, seen]);
      expect(body.headers).toMatchObject({
        host: DOMAIN,
        "x-real-ip": "127.0.0.1",
        "x-forwarded-for": "127.0.0.1",
        "x-forwarded-proto": "https",
      });
    }
  });

  test("HTTP answers 301 to HTTPS, except the health check and ACME challenges", async () => {
    const redirect = await request({ port: http, path: "/api/x?y=1", host: DOMAIN });
    expect([redirect.status, redirect.headers.location]).toEqual([
      301,
      `https://${DOMAIN}:${https}/api/x?y=1`,
    ]);
    // A forged Host header does not choose where the redirect goes.
    const forged = await request({ port: http, path: "/", host: "evil.example" });
    expect(forged.headers.location).toBe(`https://${DOMAIN}:${https}/`);
    const challenge = await request({ port: http, path: "/.well-known/acme-challenge/token-123" });
    expect([challenge.status, challenge.body]).toEqual([200, "challenge-answer"]);
    expect((await request({ port: http, path: "/health" })).status).toBe(200);
  });

  test("TLS 1.0 and 1.1 are refused, 1.2 and 1.3 accepted", () => {
    const result = (version: "tls1" | "tls1_1" | "tls1_2" | "tls1_3") =>
      tlsHandshake({ port: https, servername: DOMAIN, version });
    expect([result("tls1").ok, result("tls1_1").ok]).toEqual([false, false]);
    expect([result("tls1_2").protocol, result("tls1_3").protocol]).toEqual(["TLSv1.2", "TLSv1.3"]);
  });

  test("JSON answers are gzipped for clients that accept it, and only for them", async () => {
    // The stub echoes the request headers: a long one makes a long JSON answer.
    const padded = { "x-pad": "a".repeat(3000), "accept-encoding": "gzip" };
    const big = await get("/api/large", padded);
    expect([big.headers["content-encoding"], big.headers.vary]).toEqual([
      "gzip",
      "Accept-Encoding",
    ]);
    const plain = await get("/api/large", { "x-pad": "a".repeat(3000) });
    expect(plain.headers["content-encoding"]).toBeUndefined();
  });

  test("the security headers are on every answer, and nginx names no version", async () => {
    for (const reply of [await get("/"), await get("/api/x"), await get("/admin/")]) {
      expect(reply.headers).toMatchObject({
        "strict-transport-security": "max-age=31536000; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-frame-options": "SAMEORIGIN",
        "referrer-policy": "strict-origin-when-cross-origin",
        "content-security-policy": site.headers.contentSecurityPolicy,
        server: "nginx",
      });
    }
  });

  test("the n8n editor: login required, then websockets pass; the login is not forwarded", async () => {
    expect((await get("/admin/n8n/")).status).toBe(401);
    expect((await get("/admin/n8n/", { authorization: auth("admin", "wrong") })).status).toBe(401);
    // The edge admin's login is not the editor's.
    const adminLogin = auth("admin", ADMIN_PASSWORD);
    expect((await get("/admin/n8n/", { authorization: adminLogin })).status).toBe(401);
    const editor = auth("admin", EDITOR_PASSWORD);
    const ok = await get("/admin/n8n/rest/login", { authorization: editor });
    const body = JSON.parse(ok.body) as { stub: string; url: string; headers: Obj };
    expect([ok.status, body.stub, body.url]).toEqual([200, "n8n", "/rest/login"]);
    expect(body.headers.authorization).toBeUndefined();
    const ws = await wsHandshake({
      port: https,
      path: "/admin/n8n/rest/push",
      host: DOMAIN,
      tls,
      headers: { authorization: editor },
    });
    expect([ws.status, ws.headers["x-stub"], ws.echo]).toEqual([
      101,
      "n8n",
      expect.stringMatching(/^probe-/),
    ]);
    expect(stubs.n8n.upgrades.map((u) => u.url)).toEqual(["/rest/push"]);
  });

  test("admin paths without a service answer 404; nothing falls through to the dashboard", async () => {
    for (const p of ["/admin/", "/admin/users"]) {
      expect([p, (await get(p)).status]).toEqual([p, 404]);
    }
    expect(stubs.web.requests).toEqual([]);
  });

  test("Grafana at /grafana/: behind the admin login, path kept, login not forwarded, Live passes", async () => {
    expect((await get("/grafana/")).status).toBe(401);
    expect((await get("/grafana/", { authorization: auth("admin", "wrong") })).status).toBe(401);
    const admin = auth("admin", ADMIN_PASSWORD);
    const ok = await get("/grafana/d/vpn-api?orgId=1", { authorization: admin });
    const body = JSON.parse(ok.body) as { stub: string; url: string; headers: Obj };
    // Grafana serves from the sub-path itself (serve_from_sub_path): the prefix stays.
    expect([ok.status, body.stub, body.url]).toEqual([
      200,
      "grafana",
      "/grafana/d/vpn-api?orgId=1",
    ]);
    expect(body.headers.authorization).toBeUndefined();
    expect(ok.headers["x-frame-options"]).toBe("SAMEORIGIN");
    const ws = await wsHandshake({
      port: https,
      path: "/grafana/api/live/ws",
      host: DOMAIN,
      tls,
      headers: { authorization: admin },
    });
    expect([ws.status, ws.headers["x-stub"]]).toEqual([101, "grafana"]);
    expect(stubs.web.requests).toEqual([]);
  });

  test("the API upstream picks the replica with the fewest open requests (least_conn)", async () => {
    const held = [get("/api/__hold/1"), get("/api/__hold/2")];
    const deadline = Date.now() + 5000;
    const holding = () => ["api1", "api2", "api3"].filter((s) => stubs[s].held() > 0);
    while (holding().length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(holding()).toHaveLength(2);
    const free = ["api1", "api2", "api3"].find((s) => !holding().includes(s)) ?? "";
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push((JSON.parse((await get(`/api/quick/${i}`)).body) as { stub: string }).stub);
    }
    // Round robin would have sent four of these six to the busy replicas.
    expect(seen).toEqual(Array(6).fill(free));
    for (const s of Object.values(stubs)) s.releaseHeld();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
  });

  test("anonymous API responses the API marks cacheable are cached; logged-in ones never", async () => {
    const first = await get("/api/__cacheable/item");
    const second = await get("/api/__cacheable/item");
    expect([first.headers["x-cache-status"], second.headers["x-cache-status"]]).toEqual([
      "MISS",
      "HIT",
    ]);
    const asUser = await get("/api/__cacheable/item", { authorization: "Bearer t" });
    expect(asUser.headers["x-cache-status"]).toBe("BYPASS");
    const apiSeen = ["api1", "api2", "api3"].flatMap((s) => stubs[s].requests.map((r) => r.url));
    expect(apiSeen).toEqual(["/__cacheable/item", "/__cacheable/item"]);
  });

  test("a backend that disappears gets 502 while the rest keeps working; it is found again", async () => {
    dns.remove("web");
    await new Promise((r) => setTimeout(r, 2500));
    expect((await get("/")).status).toBe(502);
    expect((await get("/api/still-there")).status).toBe(200);
    dns.set("web", ["127.0.0.5"]);
    const deadline = Date.now() + 10000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = (await get("/")).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  });

  test("a disabled service's route answers 404 after a reload, not the route above it", async () => {
    const without = {
      ...site,
      routes: edgeSite(stackConfig("prod", { pythonAi: { enabled: false } })).routes,
    };
    fs.writeFileSync(
      path.join(mounts[SITE_DIR], "config/current/site.conf"),
      renderSiteConf(without),
    );
    await nginx.reload();
    expect((await get("/api/ai/predict")).status).toBe(404);
    expect(stubs.api1.requests.length + stubs.api2.requests.length).toBe(0);
    expect((await get("/api/users")).status).toBe(200);
    fs.writeFileSync(path.join(mounts[SITE_DIR], "config/current/site.conf"), renderSiteConf(site));
    await nginx.reload();
    expect((await get("/api/ai/predict")).status).toBe(200);
  });

  // Last: it spends the burst of 127.0.0.1, the address every request here comes from.
  test("a burst beyond the API's rate limit gets 429; the dashboard is not limited", async () => {
    const burst = async (p: string) =>
      (await Promise.all(Array.from({ length: 60 }, () => get(p)))).map((r) => r.status);
    const api = await burst("/api/limited");
    const limited = api.filter((s) => s === 429).length;
    // 20 of burst, plus what 10 r/s refills while the 60 arrive.
    expect(limited).toBeGreaterThanOrEqual(60 - 20 - 10);
    expect(api.filter((s) => s !== 429 && s !== 200)).toEqual([]);
    expect((await burst("/web-page")).every((s) => s === 200)).toBe(true);
  });
});

type Obj = Record<string, unknown>;
