/**
 * The post-deploy smoke check without mocks: its config keys, what it asks the edge for each stack
 * (components/edge/smokePlan.ts) and the script's refusals (render/smoke.ts). The script's
 * behaviour against a real nginx is in tests/tools/nginx/smoke.test.ts.
 */
import { CATALOG, CatalogEntry, SERVICE_NAMES } from "../../config/catalog";
import { parseStackConfig } from "../../config/load";
import { smokePlan } from "../../components/edge/smokePlan";
import { curlLogin, renderSmokeScript } from "../../render/smoke";
import { makeCertificate } from "../certs";
import { PROJECT, ROOT, projectValues } from "../stackFiles";
import { expectProblem } from "./configProblems";

const DOMAIN = "vpn.example.com";
const parse = (raw: Record<string, unknown>) => parseStackConfig(raw, PROJECT, "test", ROOT);
const withNginx = (nginx: Record<string, unknown>, rest: Record<string, unknown> = {}) => ({
  domain: DOMAIN,
  ...rest,
  services: { nginx, ...((rest.services as Record<string, unknown> | undefined) ?? {}) },
});
const stack = (name: "dev" | "prod") => parseStackConfig(projectValues(name), PROJECT, name, ROOT);

describe("services.nginx.smokeCheck", () => {
  test("is on by default: 20 tries 3 s apart, 10 s per request, the public CAs", () => {
    expect(parse({ domain: DOMAIN }).services.nginx.smokeCheck).toEqual({
      enabled: true,
      attempts: 20,
      intervalSeconds: 3,
      requestTimeoutSeconds: 10,
    });
  });

  test.each([
    ["attempts", 0, "smokeCheck.attempts", "a number >= 1"],
    ["attempts", 201, "smokeCheck.attempts", "a number <= 200"],
    ["intervalSeconds", 0.5, "smokeCheck.intervalSeconds", "an integer"],
    ["requestTimeoutSeconds", 121, "smokeCheck.requestTimeoutSeconds", "a number <= 120"],
    ["retries", 3, "smokeCheck.retries", "an unknown key; allowed keys: enabled, attempts"],
  ])("%s: %p is refused, naming the key", (key, value, path, fragment) => {
    expectProblem(withNginx({ smokeCheck: { [key]: value } }), `services.nginx.${path}`, fragment);
  });

  test("a CA is refused unless tls.mode is files, and must be CA certificates", () => {
    const ca = makeCertificate("ca.example.com").certPem;
    expectProblem(
      withNginx({ smokeCheck: { caCertificate: ca } }),
      "services.nginx.smokeCheck.caCertificate",
      "only with tls.mode: files (tls.mode is selfSigned",
    );
    const leaf = makeCertificate(DOMAIN);
    const files = {
      tls: { mode: "files", certificate: leaf.certPem, privateKey: leaf.keyPem },
    };
    for (const bad of ["not a pem", `${ca}\ntrailing text`, leaf.keyPem]) {
      expectProblem(
        withNginx({ smokeCheck: { caCertificate: bad } }, files),
        "services.nginx.smokeCheck.caCertificate",
        "PEM CA certificates that parse",
      );
    }
    expect(
      parse(withNginx({ smokeCheck: { caCertificate: ca } }, files)).services.nginx.smokeCheck
        .caCertificate,
    ).toBe(ca);
  });
});

describe("what the check asks the edge", () => {
  test("prod: health, HTTP to HTTPS, each route's probe, each guard refusing the anonymous", () => {
    const plan = smokePlan(stack("prod"));
    expect(plan.checks).toEqual([
      { name: "edge health", url: "https://vpn.example.com/health", expect: "2xx" },
      { name: "plain HTTP", url: "http://vpn.example.com/", expect: "https-redirect" },
      { name: "route /api/ (api)", url: "https://vpn.example.com/api/health", expect: "2xx" },
      { name: "route / (web)", url: "https://vpn.example.com/", expect: "2xx-3xx" },
      {
        name: "route /api/ai/ (pythonAi)",
        url: "https://vpn.example.com/api/ai/health",
        expect: "2xx",
      },
      {
        name: "route /admin/n8n/ (n8n), anonymous",
        url: "https://vpn.example.com/admin/n8n/healthz",
        expect: "401",
      },
      {
        name: "route /admin/n8n/ (n8n), logged in",
        url: "https://vpn.example.com/admin/n8n/healthz",
        expect: "2xx",
        login: "n8n",
      },
      {
        name: "route /grafana/ (grafana), anonymous",
        url: "https://vpn.example.com/grafana/api/health",
        expect: "401",
      },
      {
        name: "route /grafana/ (grafana), logged in",
        url: "https://vpn.example.com/grafana/api/health",
        expect: "2xx",
        login: "admin",
      },
    ]);
    expect(plan.notes).toEqual([]);
    expect(plan.logins).toEqual([
      { file: "admin.htpasswd", user: "admin", secret: "edgeAdminPassword", name: "admin" },
      { file: "n8n.htpasswd", user: "admin", secret: "n8nEditorPassword", name: "n8n" },
    ]);
  });

  test("dev: plain HTTP on localhost, no guard, no login", () => {
    const plan = smokePlan(stack("dev"));
    expect(plan.checks.map((c) => [c.url, c.expect])).toEqual([
      ["http://localhost/health", "2xx"],
      ["http://localhost/api/health", "2xx"],
      ["http://localhost/", "2xx-3xx"],
      ["http://localhost/api/ai/health", "2xx"],
      ["http://localhost/admin/n8n/healthz", "2xx"],
      ["http://localhost/grafana/api/health", "2xx"],
    ]);
    expect(plan.logins).toEqual([]);
  });

  test("every enabled route is checked; a disabled service's route is not", () => {
    const routes = SERVICE_NAMES.flatMap(
      (s) => (CATALOG[s] as CatalogEntry).routes?.map((r) => r.path) ?? [],
    );
    const checked = (cfg: ReturnType<typeof stack>) =>
      new Set(smokePlan(cfg).checks.flatMap((c) => /^route (\S+)/.exec(c.name)?.[1] ?? []));
    expect([...checked(stack("prod"))].sort()).toEqual([...routes].sort());
    const noAi = parse(
      withNginx({}, { services: { pythonAi: { enabled: false }, grafana: { enabled: false } } }),
    );
    expect(checked(noAi)).toEqual(new Set(["/api/", "/", "/admin/n8n/"]));
  });

  test("an allow-list that covers the edge network lets the check log in; one that does not gets 403 and a note", () => {
    const covering = smokePlan(
      parse(withNginx({ admin: { allow: ["172.16.0.0/12"] } }, { tls: { mode: "selfSigned" } })),
    );
    expect(covering.checks.filter((c) => c.name.startsWith("route /grafana/"))).toEqual([
      expect.objectContaining({ expect: "401" }),
      expect.objectContaining({ expect: "2xx", login: "admin" }),
    ]);
    const elsewhere = smokePlan(parse(withNginx({ admin: { allow: ["203.0.113.7"] } })));
    expect(elsewhere.checks.filter((c) => c.name.startsWith("route /grafana/"))).toEqual([
      {
        name: "route /grafana/ (grafana), anonymous",
        url: "https://vpn.example.com/grafana/api/health",
        expect: "403",
      },
    ]);
    expect(elsewhere.notes).toContain(
      "route /grafana/ (grafana): not probed behind its guard: services.nginx.admin.allow does not cover the edge network 172.21.0.0/24, where the check runs",
    );
    // The allow-list guards every admin path: no login is sent anywhere.
    expect(elsewhere.logins).toEqual([]);
  });

  test("without the admin login the guarded routes are probed as they are (the allow-list only)", () => {
    const plan = smokePlan(parse(withNginx({ admin: { basicAuth: false } })));
    expect(plan.checks.filter((c) => c.name.startsWith("route /grafana/"))).toEqual([
      {
        name: "route /grafana/ (grafana)",
        url: "https://vpn.example.com/grafana/api/health",
        expect: "2xx",
      },
    ]);
  });
});

describe("the script's refusals", () => {
  const input = {
    domain: DOMAIN,
    checks: [{ name: "edge health", url: `https://${DOMAIN}/health`, expect: "2xx" as const }],
    notes: [],
    attempts: 1,
    intervalSeconds: 1,
    requestTimeoutSeconds: 1,
    caFile: false,
    target: { host: "nginx", httpPort: 80, httpsPort: 443 },
    dir: "/run/smoke",
  };

  test("a URL on another host, with a port or a query, or text that would break the quoting", () => {
    for (const url of [
      "https://evil.example/health",
      `https://${DOMAIN}:8443/health`,
      `https://${DOMAIN}/health?x=1`,
    ]) {
      expect(() => renderSmokeScript({ ...input, checks: [{ ...input.checks[0], url }] })).toThrow(
        /is not a plain URL on vpn.example.com/,
      );
    }
    expect(() =>
      renderSmokeScript({ ...input, checks: [{ ...input.checks[0], name: "it's" }] }),
    ).toThrow(/no quotes/);
    expect(() => renderSmokeScript({ ...input, checks: [] })).toThrow(/no checks/);
  });

  test("a login is quoted as curl reads it, and a user with ':' is refused", () => {
    expect(curlLogin("admin", 'p"a\\ss')).toBe('user = "admin:p\\"a\\\\ss"\n');
    expect(() => curlLogin("a:b", "x")).toThrow(/no ':'/);
    expect(() => curlLogin("admin", "x\ny")).toThrow(/line breaks/);
  });
});
