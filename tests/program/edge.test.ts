/**
 * The edge under mocks, for each stack file: what nginx publishes, that the files its jobs install
 * are the catalog's routes for this stack, and that a change reaches only the part it must (a
 * route: the config job; a certificate: the secrets job; neither recreates nginx itself).
 */
import { parseStackConfig } from "../../config/load";
import { edgeSite } from "../../components/edge/site";
import { renderNginxConf, renderSiteConf } from "../../render/nginx";
import { makeCertificate } from "../certs";
import { PROJECT, ROOT, STACKS, StackName, cliConfig, projectValues } from "../stackFiles";
import {
  ProgramRun,
  RecordedResource,
  isSecretValue,
  labelsOf,
  reveal,
  runEachStack,
  runInChild,
  runProgram,
  runWithServices,
  runningContainers,
  uploadsOf,
  carrierOf,
} from "./harness";
import * as path from "path";

type Obj = Record<string, unknown>;
type Upload = { file: string; content: unknown; permissions: string };

const run = runEachStack(STACKS, cliConfig);
const containers = runningContainers;
const byService = (r: ProgramRun, service: string): RecordedResource | undefined =>
  containers(r).find((c) => labelsOf(c)["vpn-enterprise.service"] === service);
/** The files a job gets: its own uploads (the config job), or its carrier's (the secrets job). */
const filesOf = (r: ProgramRun, c: RecordedResource | undefined) =>
  (c ? uploadsOf(r, c) : []) as Upload[];
const fileOf = (r: ProgramRun, c: RecordedResource | undefined, name: string) =>
  reveal(filesOf(r, c).find((u) => u.file === `/staging/${name}`)?.content) as string | undefined;

/** Runs prod with `tls` replaced (e.g. a files-mode certificate). */
async function prodWithTls(tls: Obj): Promise<ProgramRun> {
  const r = await runProgram(
    { ...cliConfig("prod"), [`${PROJECT}:tls`]: JSON.stringify(tls) },
    "prod",
  );
  if (r.error) throw r.error;
  return r;
}

describe.each(STACKS)("the %s stack's edge", (stack) => {
  test("only nginx publishes beyond loopback; prod publishes exactly 80 and 443", () => {
    const r = run(stack);
    const published = containers(r).flatMap((c) =>
      (c.inputs.ports as { ip: string; external: number; internal: number }[]).map((p) => ({
        service: labelsOf(c)["vpn-enterprise.service"],
        ...p,
      })),
    );
    for (const p of published.filter((x) => x.service !== "nginx")) {
      expect({ ...p, loopback: p.ip.startsWith("127.") }).toMatchObject({ loopback: true });
    }
    if (stack === "prod") {
      expect(published.map((p) => [p.service, p.ip, p.external, p.internal])).toEqual([
        ["nginx", "0.0.0.0", 80, 80],
        ["nginx", "0.0.0.0", 443, 443],
      ]);
    }
  });

  test("the config job installs exactly the catalog's routes rendered for this stack", () => {
    const cfg = parseStackConfig(projectValues(stack), PROJECT, stack, ROOT);
    const r = run(stack);
    const job = byService(r, "nginx-config");
    expect(fileOf(r, job, "nginx.conf")).toBe(renderNginxConf(edgeSite(cfg)));
    expect(fileOf(r, job, "site.conf")).toBe(renderSiteConf(edgeSite(cfg)));
    const site = fileOf(r, job, "site.conf") ?? "";
    // One upstream server per API replica, least connections between several.
    const replicas = cfg.services.api.replicas;
    const servers = [...site.matchAll(/server (vpn-enterprise-\w+-api-\d+):3000 resolve/g)];
    expect(servers.map((m) => m[1])).toEqual(
      Array.from({ length: replicas }, (_, i) => `vpn-enterprise-${stack}-api-${i + 1}`),
    );
    expect(site).toMatch(/upstream api_backend \{[^}]*least_conn;/);
    expect(site).not.toMatch(/upstream web_backend \{[^}]*least_conn;/);
    for (const path of ["/api/", "/api/ai/", "/admin/n8n/", "/", "/admin/", "/grafana/"]) {
      expect(site).toContain(`location ${path} {`);
    }
    // With TLS (prod), HTTP redirects to the domain on the standard port; dev has no redirect.
    expect(site.includes("return 301 https://vpn.example.com$request_uri;")).toBe(stack === "prod");
    // Config files are not secret: a preview shows their diff.
    for (const u of filesOf(r, job)) expect(isSecretValue(u.content)).toBe(false);
  });

  test("nginx itself: non-root, read-only, its site volume read-only, no files of its own", () => {
    const nginx = byService(run(stack), "nginx");
    const i = nginx?.inputs ?? {};
    expect(i.user).toBe("101:101");
    expect(i.readOnly).toBe(true);
    expect(i.sysctls).toEqual({ "net.ipv4.ip_unprivileged_port_start": "0" });
    expect(i.uploads).toEqual([]);
    const volumes = (i.volumes as Obj[]).map((v) => [v.containerPath, v.readOnly]);
    expect(volumes).toContainEqual(["/etc/nginx/site", true]);
    // The temp files and proxy cache belong to the nginx user.
    expect((i.tmpfs as Obj)["/var/cache/nginx"]).toMatch(/uid=101,gid=101,mode=0700/);
    expect((i.entrypoints as string[]).join(" ")).toContain("nginx -s reload");
  });
});

test.each(STACKS)(
  "%s: the site volume is handed to nginx's user, then secrets, then the checked config, then nginx",
  (stack) => {
    const r = run(stack);
    const owner = byService(r, "nginx-volume-owner");
    expect([owner?.inputs.entrypoints, owner?.inputs.command]).toEqual([
      ["chown"],
      ["101:101", "/etc/nginx/site"],
    ]);
    const order = ["nginx-volume-owner", ...(stack === "prod" ? ["nginx-secrets"] : [])];
    order.push("nginx-config", "nginx");
    for (let i = 1; i < order.length; i++) {
      const before = byService(r, order[i - 1]);
      const after = byService(r, order[i]);
      expect([order[i], after?.dependencies]).toEqual([
        order[i],
        expect.arrayContaining([expect.stringContaining(String(before?.name))]) as unknown,
      ]);
    }
    // `nginx -t` in the config job binds 80 and 443 as the nginx user, in its own namespace.
    expect(byService(r, "nginx-config")?.inputs).toMatchObject({
      user: "101:101",
      networkMode: "none",
      sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
    });
  },
);

test("a config nginx refuses fails the deploy with nginx's message, and nginx is left alone", async () => {
  const out = await runInChild(
    path.join(ROOT, "index.ts"),
    "prod",
    cliConfig("prod"),
    { exitCode: 1, logs: 'nginx: [emerg] unknown directive "bogus" in site.conf:3\n' },
    "-nginx-config-1",
  );
  const error = out.errors.find((e) => e.name === "JobError");
  expect(error?.message).toContain("Installing the edge's nginx config (nginx -t) failed");
  expect(error?.message).toContain('unknown directive "bogus"');
  expect(out.containers).not.toContain("vpn-enterprise-prod-nginx-1");
  expect(out.containers).toContain("vpn-enterprise-prod-api-3");
});

test("prod guards /admin/ and /grafana/ with its login; dev (basicAuth: false) does not", () => {
  for (const stack of STACKS) {
    const site = fileOf(run(stack), byService(run(stack), "nginx-config"), "site.conf") ?? "";
    const guarded = [...site.matchAll(/location (\S+) \{[^}]*auth_basic_user_file/g)].map(
      (m) => m[1],
    );
    // Grafana's route and the n8n editor; /admin/ itself has no route: 404 without a login.
    expect(guarded.sort()).toEqual(stack === "prod" ? ["/admin/n8n/", "/grafana/"] : []);
    expect(site).toMatch(/location \/admin\/ \{\s*return 404;/);
  }
  const secrets = byService(run("prod"), "nginx-secrets");
  expect(fileOf(run("prod"), secrets, "admin.htpasswd")).toMatch(/^admin:\{SSHA\}/);
  expect(fileOf(run("prod"), secrets, "n8n.htpasswd")).toMatch(/^admin:\{SSHA\}/);
});

test("disabling a routed service changes the edge's config job only: nginx reloads, not restarts", async () => {
  const full = run("prod");
  const r = await runWithServices("prod", { pythonAi: { enabled: false } });
  expect(byService(r, "nginx")?.inputs).toEqual(byService(full, "nginx")?.inputs);
  expect(byService(r, "nginx-secrets")?.inputs).toEqual(byService(full, "nginx-secrets")?.inputs);
  const before = fileOf(full, byService(full, "nginx-config"), "site.conf") ?? "";
  const after = fileOf(r, byService(r, "nginx-config"), "site.conf") ?? "";
  expect(before).toContain("upstream python_ai_backend");
  expect(after).not.toContain("python_ai_backend");
  // 404 rather than falling through to the API's /api/ route.
  expect(after).toMatch(/location \/api\/ai\/ \{\s*return 404;/);
});

test("a new certificate changes the secrets job only; the key stays inside a secret upload", async () => {
  const first = makeCertificate("vpn.example.com");
  const second = makeCertificate("vpn.example.com");
  const a = await prodWithTls({
    mode: "files",
    certificate: first.certPem,
    privateKey: first.keyPem,
  });
  const b = await prodWithTls({
    mode: "files",
    certificate: second.certPem,
    privateKey: second.keyPem,
  });
  for (const service of ["nginx", "nginx-config"]) {
    expect(byService(b, service)?.inputs).toEqual(byService(a, service)?.inputs);
  }
  const secrets = byService(b, "nginx-secrets");
  expect(fileOf(b, secrets, "tls.crt")).toBe(second.certPem);
  expect(fileOf(b, secrets, "tls.key")).toBe(second.keyPem);
  const key = filesOf(b, secrets).find((u) => u.file === "/staging/tls.key");
  expect([isSecretValue(key?.content), key?.permissions]).toEqual([true, "0400"]);
  // Nowhere else (the job's carrier holds its uploads), not even inside another resource's inputs.
  const carrier = secrets && carrierOf(b, secrets);
  expect(carrier).toBeDefined();
  const elsewhere = b.resources.filter((x) => x !== carrier);
  const body = second.keyPem.split("\n")[1];
  for (const x of elsewhere) expect(JSON.stringify(reveal(x.inputs))).not.toContain(body);
  expect(b.outputs.edge.value).toMatchObject({
    certificateExpiry: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
  });
});

test("a self-signed certificate is made for the domain and kept until its last third", () => {
  const cert = run("prod").resources.find(
    (x) => x.type === "tls:index/selfSignedCert:SelfSignedCert",
  );
  expect(cert?.inputs).toMatchObject({
    dnsNames: ["vpn.example.com"],
    subject: { commonName: "vpn.example.com" },
    validityPeriodHours: 365 * 24,
    earlyRenewalHours: (365 * 24) / 3,
  });
  expect(run("dev").resources.some((x) => x.type.startsWith("tls:"))).toBe(false);
});

test.each(STACKS)(
  "%s: a stack that disables the edge has no nginx and no edge output",
  async (stack: StackName) => {
    const r = await runWithServices(stack, { nginx: { enabled: false } });
    expect(containers(r).filter((c) => String(c.inputs.name).includes("-nginx"))).toEqual([]);
    expect(r.outputs.edge.value).toBeNull();
  },
);
