/**
 * The monitoring tier under Pulumi mocks, per stack file: what the program records for Prometheus,
 * Grafana, Alertmanager, the log shipper and the exporters. The files themselves are checked by
 * promtool and amtool in tests/tools/prometheus/program.test.ts.
 */
import { parse } from "yaml";
import { CATALOG, CatalogEntry, MONITOR_USER, SERVICE_NAMES } from "../../config/catalog";
import { parseStackConfig } from "../../config/load";
import { hostName } from "../../components/workload";
import { PROJECT, ROOT, STACKS, StackName, cliConfig, projectValues } from "../stackFiles";
import {
  ProgramRun,
  RecordedResource,
  envOf,
  isSecretValue,
  labelsOf,
  reveal,
  runEachStack,
  runProgram,
  runningContainers,
  servicesWith,
  uploadsOf,
} from "./harness";

type Obj = Record<string, unknown>;
interface Job {
  job_name: string;
  metrics_path: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
}

const run = runEachStack(STACKS, cliConfig);
const MONITORING = SERVICE_NAMES.filter((n) => CATALOG[n].tier === "monitoring").map(hostName);

const byService = (r: ProgramRun, service: string): RecordedResource | undefined =>
  runningContainers(r).find((c) => labelsOf(c)["vpn-enterprise.service"] === service);
const services = (r: ProgramRun) =>
  runningContainers(r).map((c) => labelsOf(c)["vpn-enterprise.service"]);

/** The content of the file `path` the program puts into `service`'s containers. */
function fileIn(r: ProgramRun, service: string, path: string): string {
  const c = byService(r, service);
  if (!c) throw new Error(`no ${service} container`);
  const upload = uploadsOf(r, c).find((u) => u.file === path);
  if (!upload) throw new Error(`${service} has no ${path}`);
  return String(reveal(upload.content));
}

const prometheusYml = (r: ProgramRun) =>
  parse(fileIn(r, "prometheus", "/etc/prometheus/prometheus.yml")) as { scrape_configs: Job[] };
const rules = (r: ProgramRun) => fileIn(r, "prometheus", "/etc/prometheus/rules/platform.yml");

/** A stack's CLI config with the top-level keys of `change` replaced. */
function configWith(stack: StackName, change: Record<string, unknown>): Record<string, string> {
  const config = { ...cliConfig(stack) };
  for (const [k, v] of Object.entries(change)) config[`${PROJECT}:${k}`] = JSON.stringify(v);
  return config;
}

/** The whole stack with configWith(stack, change). */
async function withConfig(stack: StackName, change: Record<string, unknown>): Promise<ProgramRun> {
  const r = await runProgram(configWith(stack, change), stack);
  if (r.error) throw r.error;
  return r;
}

/**
 * The monitoring tier alone (fixtures/monitoring.ts) with a stack's CLI config: for what varies one
 * monitoring setting, without running the whole stack again. Its baseline is `tier(stack)`.
 */
async function runMonitoring(stack: StackName, config = cliConfig(stack)): Promise<ProgramRun> {
  const r = await runProgram(config, stack, { program: "./fixtures/monitoring" });
  if (r.error) throw r.error;
  return r;
}
const tier = (stack: StackName) => runMonitoring(stack);

describe.each(STACKS)("the %s stack's monitoring", (stack) => {
  const cfg = parseStackConfig(projectValues(stack), PROJECT, stack, ROOT);

  test("every enabled service with metrics has a scrape job, each container a target of its own", () => {
    const r = run(stack);
    const jobs = prometheusYml(r).scrape_configs;
    const expected = SERVICE_NAMES.filter(
      (n) => (CATALOG[n] as CatalogEntry).metrics !== undefined && cfg.services[n].enabled,
    );
    expect(jobs.map((j) => j.job_name).sort()).toEqual(expected.map(hostName).sort());
    for (const name of expected) {
      const job = jobs.find((j) => j.job_name === hostName(name));
      const containers = byServiceAll(r, hostName(name)).map((c) => String(c.inputs.name));
      const metrics = (CATALOG[name] as CatalogEntry).metrics;
      expect(job?.metrics_path).toBe(metrics?.path);
      expect(job?.static_configs.flatMap((s) => s.targets)).toEqual(
        containers.map((c) => `${c}:${String(metrics?.port)}`),
      );
      expect(job?.static_configs.map((s) => s.labels)).toEqual(
        containers.map((container) => ({ service: hostName(name), container })),
      );
    }
    // The API: one target per replica (3 in prod), so a dead replica is a target down.
    const api = jobs.find((j) => j.job_name === "api");
    expect(api?.static_configs).toHaveLength(cfg.services.api.replicas);
  });

  test("Prometheus can reach every target: each scraped service shares a network with it", () => {
    const prometheus = CATALOG.prometheus.networks as readonly string[];
    for (const name of SERVICE_NAMES) {
      const entry: CatalogEntry = CATALOG[name];
      if (!entry.metrics) continue;
      expect([name, entry.networks.some((n) => prometheus.includes(n))]).toEqual([name, true]);
    }
  });

  test("no monitoring container publishes a port; the stub_status port is never published", () => {
    const r = run(stack);
    for (const c of runningContainers(r)) {
      const service = labelsOf(c)["vpn-enterprise.service"];
      const ports = c.inputs.ports as Obj[];
      if (MONITORING.includes(service)) expect([service, ports]).toEqual([service, []]);
      expect(ports.map((p) => p.internal)).not.toContain(8080);
    }
  });

  test("the Docker socket is mounted read-only, into alloy and cadvisor only; host binds read-only (at their top)", () => {
    const r = run(stack);
    const socketUsers: string[] = [];
    for (const c of runningContainers(r)) {
      const service = labelsOf(c)["vpn-enterprise.service"];
      const binds = (c.inputs.volumes as Obj[]).filter((v) => v.hostPath !== undefined);
      if (binds.some((b) => b.hostPath === "/var/run/docker.sock")) socketUsers.push(service);
      if (MONITORING.includes(service)) {
        for (const b of binds)
          expect([service, b.hostPath, b.readOnly]).toEqual([service, b.hostPath, true]);
      }
    }
    expect(socketUsers.sort()).toEqual(["alloy", "cadvisor"]);
    const cadvisor = byService(r, "cadvisor");
    expect(cadvisor?.inputs.volumes).toEqual(
      expect.arrayContaining([
        { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
        { hostPath: "/var/lib/docker", containerPath: "/var/lib/docker", readOnly: true },
      ]),
    );
  });

  test("Grafana: admin password from a file, no anonymous access, no sign-up, served at /grafana/", () => {
    const r = run(stack);
    const grafana = byService(r, "grafana");
    if (!grafana) throw new Error("no grafana");
    const env = envOf(grafana);
    const https = stack === "prod";
    expect(env).toMatchObject({
      GF_SERVER_ROOT_URL: `${https ? "https" : "http"}://${cfg.domain}/grafana/`,
      GF_SERVER_SERVE_FROM_SUB_PATH: "true",
      GF_SECURITY_ADMIN_PASSWORD__FILE: "/run/secrets/grafana_admin_password",
      GF_AUTH_ANONYMOUS_ENABLED: "false",
      GF_USERS_ALLOW_SIGN_UP: "false",
      GF_SECURITY_COOKIE_SECURE: String(https),
    });
    expect(Object.keys(env).filter((k) => /PASSWORD$/.test(k))).toEqual([]);
    const password = uploadsOf(r, grafana).find(
      (u) => u.file === "/run/secrets/grafana_admin_password",
    );
    expect(isSecretValue(password?.content)).toBe(true);
    const datasources = parse(
      fileIn(r, "grafana", "/etc/grafana/provisioning/datasources/platform.yaml"),
    ) as { datasources: { uid: string; url: string }[] };
    expect(datasources.datasources.map((d) => [d.uid, d.url])).toEqual([
      ["prometheus", "http://prometheus:9090"],
      ["loki", "http://loki:3100"],
    ]);
    const dashboards = uploadsOf(r, grafana)
      .map((u) => String(u.file))
      .filter((f) => f.startsWith("/etc/grafana/dashboards/"));
    expect(dashboards).toHaveLength(6);
  });

  test("the exporters log in with the monitoring logins, whose passwords are secret files", () => {
    const r = run(stack);
    const pg = byService(r, "postgres-exporter");
    if (!pg) throw new Error("no postgres-exporter");
    expect(envOf(pg)).toMatchObject({
      DATA_SOURCE_USER: MONITOR_USER,
      DATA_SOURCE_PASS_FILE: "/run/secrets/postgres_monitor_password",
    });
    const redis = byService(r, "redis-exporter");
    if (!redis) throw new Error("no redis-exporter");
    expect(envOf(redis)).toMatchObject({
      REDIS_USER: MONITOR_USER,
      REDIS_EXPORTER_CONFIG_COMMAND: "-",
    });
    for (const c of [pg, redis]) {
      const secrets = uploadsOf(r, c).filter((u) => String(u.file).startsWith("/run/secrets/"));
      expect(secrets.length).toBeGreaterThan(0);
      for (const s of secrets) expect(isSecretValue(s.content)).toBe(true);
    }
    // The role and the ACL user exist because the exporters do.
    expect(fileIn(r, "postgres-migrate", "/opt/vpn-postgres/init.sql")).toContain(
      `GRANT pg_monitor TO "${MONITOR_USER}";`,
    );
    expect(fileIn(r, "redis", "/run/redis-users/users.acl")).toMatch(
      new RegExp(
        `^user ${MONITOR_USER} on #[0-9a-f]{64} resetkeys resetchannels -@all \\+ping \\+info`,
        "m",
      ),
    );
  });

  test("the rules: a certificate alert where the edge serves TLS (prod), none without (dev)", () => {
    const text = rules(run(stack));
    if (stack === "prod") {
      expect(text).toContain("vpn_tls_certificate_expiry_timestamp_seconds");
      expect(text).toContain(`domain: ${cfg.domain}`);
    } else {
      expect(text).not.toContain("vpn_tls_certificate_expiry_timestamp_seconds");
    }
    for (const alert of [
      "ServiceDown",
      "HighCpuUsage",
      "DiskSpaceLow",
      "HighErrorRate",
      "BackupTooOld",
    ]) {
      expect(text).toContain(`alert: ${alert}`);
    }
  });
});

function byServiceAll(r: ProgramRun, service: string): RecordedResource[] {
  return runningContainers(r).filter((c) => labelsOf(c)["vpn-enterprise.service"] === service);
}

describe.each(STACKS)("the %s stack's monitoring tier alone (fixtures/monitoring.ts)", (stack) => {
  test("records what the whole stack records for the tier: same names, inputs and options", async () => {
    const alone = await tier(stack);
    const whole = run(stack);
    const names = new Set(alone.resources.map((x) => x.name));
    const ofTier = whole.resources.filter(
      (x) => labelsOf(x)["vpn-enterprise.tier"] === "monitoring",
    );
    expect(ofTier.length).toBeGreaterThan(0);
    expect(ofTier.map((x) => x.name).filter((n) => !names.has(n))).toEqual([]);
    // What reaches the tier from outside it: the data tier's ready (the exporters' gate) and, where
    // the edge serves TLS (prod), its certificate: a gate, and the certificate rules in Prometheus's
    // files (whose hash then differs). Those rules aside, the rest must be equal.
    const allGroups = (r: ProgramRun) => (parse(rules(r)) as { groups: { name: string }[] }).groups;
    const groups = (r: ProgramRun) => allGroups(r).filter((g) => g.name !== "vpn-certificates");
    const certified = allGroups(whole).some((g) => g.name === "vpn-certificates");
    if (certified) expect(groups(alone)).toEqual(groups(whole));
    else expect(rules(alone)).toBe(rules(whole));
    const comparable = (x: RecordedResource) => {
      const own = {
        ...x,
        dependencies: x.dependencies.filter((u) => names.has(u.slice(u.lastIndexOf("::") + 2))),
      };
      if (!certified || !x.name.startsWith("vpn-prometheus-")) return own;
      const uploads = ((x.inputs.uploads ?? []) as Obj[]).map((u) =>
        u.file === "/etc/prometheus/rules/platform.yml" ? { ...u, content: "(compared above)" } : u,
      );
      return JSON.parse(
        JSON.stringify({ ...own, inputs: { ...x.inputs, uploads } })
          .replace(/(files-etc-prometheus)-[0-9a-f]{12}/g, "$1-(hash)")
          .replace(/("vpn-enterprise.files-sha256","value":)"[0-9a-f]{64}"/g, '$1"(hash)"'),
      ) as unknown;
    };
    const byName = new Map(whole.resources.map((x) => [x.name, x]));
    for (const x of alone.resources) {
      const y = byName.get(x.name);
      expect([x.name, comparable(x)]).toEqual([x.name, y && comparable(y)]);
    }
  });
});

describe("switches", () => {
  test("monitoring.enabled false: no monitoring container, no stub_status, no monitoring logins", async () => {
    const r = await withConfig("prod", { monitoring: { enabled: false } });
    expect(services(r).filter((s) => MONITORING.includes(s))).toEqual([]);
    const site = runningContainers(r).find(
      (c) => labelsOf(c)["vpn-enterprise.service"] === "nginx-config",
    );
    expect(JSON.stringify(site?.inputs.uploads)).not.toContain("stub_status");
    expect(fileIn(r, "postgres-migrate", "/opt/vpn-postgres/init.sql")).not.toContain(MONITOR_USER);
    expect(fileIn(r, "redis", "/run/secrets/redis.conf")).not.toContain(MONITOR_USER);
    expect(r.outputs.monitoring.value).toBeNull();
    // The rest of the platform is untouched.
    const full = run("prod");
    expect(services(r).sort()).toEqual(
      services(full)
        .filter((s) => !MONITORING.includes(s))
        .sort(),
    );
  });

  test("disabling node-exporter removes its job, its container and the rules that need its metrics", async () => {
    // The tier alone makes all of these while node-exporter is on: the checks below can fail.
    const base = await tier("prod");
    expect(services(base)).toContain("node-exporter");
    expect(prometheusYml(base).scrape_configs.map((j) => j.job_name)).toContain("node-exporter");
    for (const alert of ["DiskSpaceLow", "BackupTooOld", "BackupFailed"]) {
      expect(rules(base)).toContain(`alert: ${alert}`);
    }
    const r = await runMonitoring(
      "prod",
      servicesWith("prod", { nodeExporter: { enabled: false } }),
    );
    expect(services(r)).not.toContain("node-exporter");
    const jobs = prometheusYml(r).scrape_configs.map((j) => j.job_name);
    expect(jobs).not.toContain("node-exporter");
    expect(jobs).toContain("cadvisor");
    const text = rules(r);
    for (const alert of ["DiskSpaceLow", "BackupTooOld", "BackupFailed"]) {
      expect(text).not.toContain(`alert: ${alert}`);
    }
    expect(text).toContain("alert: HighCpuUsage");
  });

  test("an exporter follows what it watches: Redis off takes redis-exporter and its job along", async () => {
    const base = await tier("dev");
    expect(services(base)).toContain("redis-exporter");
    expect(prometheusYml(base).scrape_configs.map((j) => j.job_name)).toContain("redis-exporter");
    const r = await runMonitoring(
      "dev",
      servicesWith("dev", {
        redis: { enabled: false },
        api: { enabled: false },
        provisioner: { enabled: false },
      }),
    );
    expect(services(r)).not.toContain("redis-exporter");
    expect(prometheusYml(r).scrape_configs.map((j) => j.job_name)).not.toContain("redis-exporter");
    expect(services(r)).toContain("postgres-exporter");
  });

  test("Promtail instead of Alloy: the same socket access and Loki, its own config", async () => {
    expect(services(await tier("prod"))).toContain("alloy");
    const r = await runMonitoring(
      "prod",
      servicesWith("prod", { alloy: { enabled: false }, promtail: { enabled: true } }),
    );
    expect(services(r)).not.toContain("alloy");
    const promtail = byService(r, "promtail");
    expect(promtail?.inputs.user).toBe("0:0");
    expect(promtail?.inputs.volumes).toEqual(
      expect.arrayContaining([
        { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
      ]),
    );
    const conf = parse(fileIn(r, "promtail", "/etc/promtail/promtail.yaml")) as {
      clients: { url: string }[];
    };
    expect(conf.clients).toEqual([{ url: "http://loki:3100/loki/api/v1/push" }]);
    expect(prometheusYml(r).scrape_configs.map((j) => j.job_name)).toContain("promtail");
  });

  test("a socket group instead of root: the shipper runs as its user with the group added", async () => {
    const r = await runMonitoring(
      "prod",
      configWith("prod", {
        monitoring: { dockerSocket: { groupId: 998 } },
        services: {
          ...(JSON.parse(cliConfig("prod")[`${PROJECT}:services`]) as Obj),
          alloy: { user: "473:473" },
        },
      }),
    );
    const alloy = byService(r, "alloy");
    expect([alloy?.inputs.user, alloy?.inputs.groupAdds]).toEqual(["473:473", ["998"]]);
    expect(byService(r, "cadvisor")?.inputs.groupAdds).toEqual(["998"]);
    // Its positions volume is handed to its user first (Docker makes a new volume root's).
    const owner = byService(r, "alloy-volume-owner");
    expect([owner?.inputs.entrypoints, owner?.inputs.command]).toEqual([
      ["chown"],
      ["473:473", "/var/lib/alloy-storage"],
    ]);
    expect(byService(await tier("prod"), "alloy-volume-owner")).toBeUndefined();
  });

  test("Alertmanager gets the SMTP password and the webhook URL as secret files, never in its config", async () => {
    const smtp = "smtp-password-for-tests-123";
    const url = "https://hooks.example.com/services/T000/B000/secret-token";
    const r = await runMonitoring(
      "prod",
      configWith("prod", {
        secrets: { alertmanagerSmtpPassword: smtp, alertmanagerWebhookUrl: url },
        services: {
          ...(JSON.parse(cliConfig("prod")[`${PROJECT}:services`]) as Obj),
          alertmanager: {
            email: {
              to: ["ops@example.com"],
              from: "alerts@example.com",
              smarthost: "smtp.example.com:587",
              authUsername: "alerts",
            },
            webhook: { criticalOnly: true },
          },
        },
      }),
    );
    const am = byService(r, "alertmanager");
    if (!am) throw new Error("no alertmanager");
    const config = fileIn(r, "alertmanager", "/etc/alertmanager/alertmanager.yml");
    expect(config).toContain("auth_password_file: /run/secrets/smtp_password");
    expect(config).toContain("url_file: /run/secrets/webhook_url");
    const uploads = uploadsOf(r, am);
    for (const [file, value] of [
      ["/run/secrets/smtp_password", smtp],
      ["/run/secrets/webhook_url", url],
    ]) {
      const u = uploads.find((x) => x.file === file);
      expect([file, isSecretValue(u?.content), reveal(u?.content)]).toEqual([file, true, value]);
    }
    const exposed = JSON.stringify([am.inputs.envs, am.inputs.command, am.inputs.labels, config]);
    expect(exposed).not.toContain(smtp);
    expect(exposed).not.toContain("secret-token");
  });
});
