/**
 * The post-deploy smoke check's script, as the program renders it for a stack, run by busybox sh
 * (the edge image's shell) with the host's curl against a real nginx serving the stack's rendered
 * config on loopback, in front of stub backends: it passes on a healthy edge and names the route,
 * the status and the TLS failure when one is not.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { smokePlan } from "../../../components/edge/smokePlan";
import { edgeSite } from "../../../components/edge/site";
import { MAIN_CONF, NginxSiteInput, TLS_CERT_FILE, TLS_KEY_FILE } from "../../../render/nginx";
import { curlLogin, renderSmokeScript } from "../../../render/smoke";
import { makeCertificate } from "../../certs";
import { freePort } from "../freePort";
import {
  FakeDns,
  RunningNginx,
  Stub,
  requireNginx,
  startDns,
  startNginx,
  startStub,
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

interface SmokeRun {
  readonly code: number;
  readonly lines: string[];
}

/** The backends of the prod stack's routes at their catalog ports, each on its own address. */
const BACKENDS: [string, string, number, number][] = [
  ["api1", "vpn-enterprise-prod-api-1", 3000, 2],
  ["api2", "vpn-enterprise-prod-api-2", 3000, 3],
  ["api3", "vpn-enterprise-prod-api-3", 3000, 4],
  ["web", "web", 3001, 5],
  ["ai", "python-ai", 5001, 6],
  ["n8n", "n8n", 5678, 7],
  ["grafana", "grafana", 3000, 8],
];

/** Few, quick tries: a failing check gives up within seconds here. */
const QUICK = { smokeCheck: { attempts: 2, intervalSeconds: 1, requestTimeoutSeconds: 5 } };

beforeAll(() => {
  requireNginx();
});

/** An edge like the prod stack's (with `nginx` extras), its stubs and the smoke files for it. */
class Edge {
  dns!: FakeDns;
  nginx!: RunningNginx;
  http!: number;
  https!: number;
  site!: NginxSiteInput;
  readonly stubs: Record<string, Stub> = {};
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-smoke-"));
  certPem = "";

  /** `certDomain`: the name the served certificate is made for (default the domain). */
  constructor(
    private readonly nginxExtras: Record<string, unknown>,
    private readonly certDomain = DOMAIN,
  ) {}

  get config() {
    return stackConfig("prod", { nginx: { ...QUICK, ...this.nginxExtras } });
  }

  async start(): Promise<void> {
    this.dns = await startDns();
    [this.http, this.https] = [await freePort(), await freePort()];
    for (const [name, host, port, last] of BACKENDS) {
      const ip = `127.0.0.${last}`;
      this.stubs[name] = await startStub({ name, host: ip, port });
      this.dns.set(host, [ip]);
    }
    this.site = {
      ...edgeSite(this.config),
      listen: { http: this.http, https: this.https },
      publicHttpsPort: this.https,
      resolver: `127.0.0.1:${this.dns.port}`,
      resolverValidSeconds: 1,
    };
    const secrets = secretsFor(this.site);
    if (this.certDomain !== DOMAIN) {
      const cert = makeCertificate(this.certDomain);
      secrets[TLS_CERT_FILE] = cert.certPem;
      secrets[TLS_KEY_FILE] = cert.keyPem;
    }
    this.certPem = secrets[TLS_CERT_FILE];
    this.nginx = await startNginx(siteMounts(this.site, secrets), MAIN_CONF, {
      healthUrl: `http://127.0.0.1:${this.http}/health`,
      user: NGINX_USER,
    });
  }

  /** Stops whatever start() got to. */
  async stop(): Promise<void> {
    if (this.nginx as RunningNginx | undefined) await this.nginx.stop();
    for (const s of Object.values(this.stubs)) await s.close();
    if (this.dns as FakeDns | undefined) await this.dns.close();
  }

  /**
   * Writes the script the program renders for this config, the CA it trusts (default: the served
   * certificate, as selfSigned does) and the logins, then runs it as the job would.
   */
  async smoke(
    opts: { ca?: string; passwords?: Record<string, string>; shell?: string[] } = {},
  ): Promise<SmokeRun> {
    const plan = smokePlan(this.config);
    const settings = this.config.services.nginx.smokeCheck;
    const script = renderSmokeScript({
      domain: DOMAIN,
      checks: plan.checks,
      notes: plan.notes,
      attempts: settings.attempts,
      intervalSeconds: settings.intervalSeconds,
      requestTimeoutSeconds: settings.requestTimeoutSeconds,
      caFile: true,
      target: { host: "nginx", httpPort: 80, httpsPort: 443 },
      dir: "/run/smoke",
    });
    fs.writeFileSync(path.join(this.dir, "check.sh"), script);
    fs.writeFileSync(path.join(this.dir, "ca.pem"), opts.ca ?? this.certPem);
    const passwords = {
      edgeAdminPassword: ADMIN_PASSWORD,
      n8nEditorPassword: EDITOR_PASSWORD,
      ...opts.passwords,
    };
    for (const login of plan.logins) {
      const password = passwords[login.secret];
      fs.writeFileSync(
        path.join(this.dir, `${login.name}.curlrc`),
        curlLogin(login.user, password),
      );
    }
    const shell = opts.shell ?? ["busybox", "sh"];
    // Asynchronous: the stubs answer from this process's event loop.
    return new Promise((resolve) => {
      execFile(
        shell[0],
        [...shell.slice(1), path.join(this.dir, "check.sh")],
        {
          env: {
            PATH: process.env.PATH,
            SMOKE_TARGET: "127.0.0.1",
            SMOKE_HTTP_PORT: String(this.http),
            SMOKE_HTTPS_PORT: String(this.https),
            SMOKE_DIR: this.dir,
          },
          timeout: 120000,
        },
        (error, stdout) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ code, lines: stdout.trim().split("\n") });
        },
      );
    });
  }
}

describe("the prod stack's smoke check against its edge", () => {
  const edge = new Edge({});
  beforeAll(() => edge.start());
  afterAll(() => edge.stop());

  test.each([["busybox", "sh"], ["dash"]])(
    "passes on a healthy edge, every check named (%s)",
    async (...shell) => {
      const run = await edge.smoke({ shell });
      expect(run.lines).toEqual([
        "PASS edge health: GET https://vpn.example.com/health -> 200",
        "PASS plain HTTP: GET http://vpn.example.com/ -> 301",
        "PASS route /api/ (api): GET https://vpn.example.com/api/health -> 200",
        "PASS route / (web): GET https://vpn.example.com/ -> 200",
        "PASS route /api/ai/ (pythonAi): GET https://vpn.example.com/api/ai/health -> 200",
        "PASS route /admin/n8n/ (n8n), anonymous: GET https://vpn.example.com/admin/n8n/healthz -> 401",
        "PASS route /admin/n8n/ (n8n), logged in: GET https://vpn.example.com/admin/n8n/healthz -> 200",
        "PASS route /grafana/ (grafana), anonymous: GET https://vpn.example.com/grafana/api/health -> 401",
        "PASS route /grafana/ (grafana), logged in: GET https://vpn.example.com/grafana/api/health -> 200",
        "all 9 checks passed",
      ]);
      expect(run.code).toBe(0);
      // The probes reached the backends at their own health paths.
      expect(edge.stubs.ai.requests.map((r) => r.url)).toContain("/health");
      expect(edge.stubs.n8n.requests.map((r) => r.url)).toContain("/healthz");
      expect(edge.stubs.grafana.requests.map((r) => r.url)).toContain("/grafana/api/health");
    },
  );

  test("a backend that does not answer fails the check with its route and nginx's status", async () => {
    await edge.stubs.ai.close();
    try {
      const run = await edge.smoke();
      expect(run.code).toBe(1);
      expect(run.lines.filter((l) => l.startsWith("FAIL"))).toEqual([
        "FAIL route /api/ai/ (pythonAi): GET https://vpn.example.com/api/ai/health -> 502, expected 2xx, after 2 tries",
      ]);
      expect(run.lines).toContain(
        "PASS route /api/ (api): GET https://vpn.example.com/api/health -> 200",
      );
      expect(run.lines.at(-1)).toBe("1 check(s) failed");
    } finally {
      edge.stubs.ai = await startStub({ name: "ai", host: "127.0.0.6", port: 5001 });
      edge.dns.set("python-ai", ["127.0.0.6"]);
    }
  });

  test("a certificate the check does not trust fails every HTTPS check with curl's reason", async () => {
    const other = makeCertificate(DOMAIN).certPem;
    const run = await edge.smoke({ ca: other });
    expect(run.code).toBe(1);
    const edgeHealth = run.lines.find((l) => l.startsWith("FAIL edge health"));
    expect(edgeHealth).toMatch(
      /^FAIL edge health: GET https:\/\/vpn\.example\.com\/health -> no answer \(curl: \(60\) SSL certificate problem: [^()]*\) after 2 tries$/,
    );
    // Plain HTTP needs no certificate; it still passes. The rest get one try each.
    expect(run.lines).toContain("PASS plain HTTP: GET http://vpn.example.com/ -> 301");
    expect(run.lines.filter((l) => l.startsWith("FAIL"))).toHaveLength(8);
  });

  test("a wrong login is reported as the 401 it got", async () => {
    const run = await edge.smoke({ passwords: { n8nEditorPassword: "not-the-password" } });
    expect(run.code).toBe(1);
    expect(run.lines.filter((l) => l.startsWith("FAIL"))).toEqual([
      "FAIL route /admin/n8n/ (n8n), logged in: GET https://vpn.example.com/admin/n8n/healthz -> 401, expected 2xx, after 2 tries",
    ]);
  });
});

describe("an edge serving a certificate made for another name", () => {
  const edge = new Edge({}, "other.example.com");
  beforeAll(() => edge.start());
  afterAll(() => edge.stop());

  test("fails the HTTPS checks even though the check trusts that certificate", async () => {
    const run = await edge.smoke();
    expect(run.code).toBe(1);
    expect(run.lines[0]).toMatch(
      /^FAIL edge health: GET https:\/\/vpn\.example\.com\/health -> no answer \(curl: \(60\) .*(subject name|does not match).*\) after 2 tries$/,
    );
  });
});

describe("an edge whose admin allow-list leaves out the edge network", () => {
  const edge = new Edge({ admin: { allow: ["203.0.113.0/24"] } });
  beforeAll(() => edge.start());
  afterAll(() => edge.stop());

  test("the guarded routes must refuse the check (403), and the script says what it left out", async () => {
    const run = await edge.smoke();
    expect(run.code).toBe(0);
    expect(run.lines).toEqual(
      expect.arrayContaining([
        "NOTE route /admin/n8n/ (n8n): not probed behind its guard: services.nginx.admin.allow does not cover the edge network 172.21.0.0/24, where the check runs",
        "PASS route /grafana/ (grafana), anonymous: GET https://vpn.example.com/grafana/api/health -> 403",
      ]),
    );
    expect(edge.stubs.grafana.requests).toEqual([]);
  });
});
