/**
 * The monitoring tier's files exactly as the whole program records them under mocks, once per stack
 * file and for a few service switches, under the real promtool (Prometheus 3.5) and amtool
 * (Alertmanager 0.33): the pieces the renderers' own tests check one by one, as the program puts
 * them together (scrape jobs from the catalog and the running containers, the rule file the config
 * names, the stack's certificate, the receivers from config and secrets, Grafana's datasources).
 */
import * as path from "path";
import { parse, parseDocument } from "yaml";
import { hostName } from "../../../components/workloadArgs";
import { CATALOG, CatalogEntry, SERVICE_NAMES, ServiceName } from "../../../config/catalog";
import { StackConfig, parseStackConfig } from "../../../config/load";
import { CERTIFICATE_EXPIRY_METRIC } from "../../../render/alertRules";
import {
  ProgramRun,
  RecordedResource,
  isSecretValue,
  labelsOf,
  reveal,
  runEachStack,
  runProgram,
  runWithServices,
  runningContainers,
  servicesWith,
  uploadsOf,
} from "../../program/harness";
import { PROJECT, ROOT, STACKS, StackName, cliConfig, projectValues } from "../../stackFiles";
import { expectToolOk } from "./harness";

type Upload = { file: string; content: unknown; permissions?: string };

const PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml";
const PROMETHEUS_RULES = "/etc/prometheus/rules/platform.yml";
const ALERTMANAGER_CONFIG = "/etc/alertmanager/alertmanager.yml";
const DATASOURCES = "/etc/grafana/provisioning/datasources/platform.yaml";
const DASHBOARD_PROVIDER = "/etc/grafana/provisioning/dashboards/platform.yaml";

const run = runEachStack(STACKS, cliConfig);
const configOf = (stack: StackName): StackConfig =>
  parseStackConfig(projectValues(stack), PROJECT, stack, ROOT);

/** The running containers of a service, by its alias (the `vpn-enterprise.service` label). */
const containersOf = (r: ProgramRun, alias: string): RecordedResource[] =>
  runningContainers(r).filter((c) => labelsOf(c)["vpn-enterprise.service"] === alias);

/** The aliases of every service that runs at least one container. */
const runningAliases = (r: ProgramRun): Set<string> =>
  new Set(runningContainers(r).map((c) => labelsOf(c)["vpn-enterprise.service"]));

/** What a service's containers get, carrier included: path -> upload. */
function uploadsByPath(r: ProgramRun, alias: string): Map<string, Upload> {
  const first = containersOf(r, alias).at(0);
  if (!first) throw new Error(`no running container of ${alias}`);
  return new Map((uploadsOf(r, first) as Upload[]).map((u) => [u.file, u]));
}

/** The text of one recorded file (secret wrappers removed). */
function fileOf(r: ProgramRun, alias: string, file: string): string {
  const upload = uploadsByPath(r, alias).get(file);
  const content = reveal(upload?.content);
  if (typeof content !== "string") throw new Error(`${alias} gets no ${file}`);
  return content;
}

/** Inside the run directory, a container path lives at the same path without the leading `/`. */
const inRunDir = (file: string): string => file.replace(/^\//, "");

interface PromConfig {
  rule_files: string[];
  scrape_configs: {
    job_name: string;
    metrics_path: string;
    static_configs: { targets: string[]; labels: Record<string, string> }[];
  }[];
}
interface RuleFile {
  groups: {
    name: string;
    rules: { alert?: string; record?: string; expr: string; labels?: Record<string, string> }[];
  }[];
}

/** A shell glob with `*` only (what rule_files uses here) matched against one path. */
function globMatches(glob: string, file: string): boolean {
  const pattern = glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/]*");
  return new RegExp(`^${pattern}$`).test(file);
}

/**
 * `promtool check config` on the recorded prometheus.yml with the recorded rule file in the same
 * layout. The config names its rules by absolute path (/etc/prometheus/rules/*.yml): in the
 * chroot that is the chroot's own /etc, shared by every run and holding none of these files, and a
 * glob matching nothing still passes (promtool checks no rules and says SUCCESS). So the files go
 * to etc/prometheus/... in the run directory, and only the rule_files entries are rewritten to the
 * same glob relative to the config's directory, which Prometheus resolves relative paths against.
 * Everything else promtool reads is the recorded text. Returns how many rules promtool checked.
 */
function checkRecordedConfig(r: ProgramRun): number {
  const config = fileOf(r, "prometheus", PROMETHEUS_CONFIG);
  const rules = fileOf(r, "prometheus", PROMETHEUS_RULES);
  const original = parse(config) as PromConfig;
  const relative = original.rule_files.map((glob) => {
    expect(glob.startsWith("/etc/prometheus/")).toBe(true);
    return path.posix.relative(path.posix.dirname(PROMETHEUS_CONFIG), glob);
  });
  const doc = parseDocument(config);
  doc.set("rule_files", relative);
  const rewritten = doc.toString();
  // The rewrite touched nothing but rule_files.
  expect(parse(rewritten)).toEqual({ ...original, rule_files: relative });
  // The recorded rule file is one the glob matches, as it is in the container.
  expect(original.rule_files.some((glob) => globMatches(glob, PROMETHEUS_RULES))).toBe(true);

  const run = expectToolOk(
    "promtool",
    ["check", "config", "--lint=all", "--lint-fatal", inRunDir(PROMETHEUS_CONFIG)],
    { [inRunDir(PROMETHEUS_CONFIG)]: rewritten, [inRunDir(PROMETHEUS_RULES)]: rules },
  );
  expect(run.output).toContain(
    `SUCCESS: ${inRunDir(PROMETHEUS_CONFIG)} is valid prometheus config file syntax`,
  );
  expect(run.output).toContain("SUCCESS: 1 rule files found");
  const found = new RegExp(
    `Checking ${inRunDir(PROMETHEUS_RULES).replace(/\./g, "\\.")}\\s+SUCCESS: (\\d+) rules found`,
  ).exec(run.output);
  return Number(found?.[1] ?? 0);
}

const ruleCount = (rules: RuleFile): number => rules.groups.reduce((n, g) => n + g.rules.length, 0);

/**
 * The scrape jobs the recorded containers call for: one per catalog service with `metrics` that
 * runs, one target per running container (its Docker name at the metrics port).
 */
function expectedJobs(r: ProgramRun): PromConfig["scrape_configs"] {
  return SERVICE_NAMES.flatMap((service) => {
    const entry: CatalogEntry = CATALOG[service];
    const alias = hostName(service);
    const containers = containersOf(r, alias);
    if (entry.metrics === undefined || containers.length === 0) return [];
    const { port, path: metricsPath } = entry.metrics;
    return [
      {
        job_name: alias,
        metrics_path: metricsPath,
        static_configs: containers
          .map((c) => String(c.inputs.name))
          .sort()
          .map((name) => ({
            targets: [`${name}:${port}`],
            labels: { service: alias, container: name },
          })),
      },
    ];
  });
}

function scrapeConfigs(r: ProgramRun): PromConfig["scrape_configs"] {
  const doc = parse(fileOf(r, "prometheus", PROMETHEUS_CONFIG)) as PromConfig;
  return doc.scrape_configs.map((job) => ({
    ...job,
    static_configs: [...job.static_configs].sort((a, b) =>
      a.targets[0].localeCompare(b.targets[0]),
    ),
  }));
}

/** The receivers `amtool config routes test` sends an alert with `labels` to. */
function receiversOf(config: string, labels: readonly string[]): string[] {
  const run = expectToolOk(
    "amtool",
    ["config", "routes", "test", `--config.file=${inRunDir(ALERTMANAGER_CONFIG)}`, ...labels],
    { [inRunDir(ALERTMANAGER_CONFIG)]: config },
  );
  return run.stdout.trim().split(",");
}

function checkAlertmanager(config: string): string {
  const run = expectToolOk("amtool", ["check-config", inRunDir(ALERTMANAGER_CONFIG)], {
    [inRunDir(ALERTMANAGER_CONFIG)]: config,
  });
  expect(run.output).toContain("SUCCESS");
  expect(run.output).toContain(" - 1 inhibit rules");
  return run.output;
}

const CRITICAL = ["alertname=ServiceDown", "severity=critical", "service=api"];
const WARNING = ["alertname=HighCpuUsage", "severity=warning", "service=api"];

interface Datasources {
  datasources: { name: string; type: string; uid: string; url: string }[];
}

/** Every datasource uid a dashboard refers to (panels, targets, variables, annotations). */
function datasourceUids(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) datasourceUids(v, into);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (key === "datasource" && typeof v === "object" && v !== null && "uid" in v) {
        into.add(String(v.uid));
      }
      datasourceUids(v, into);
    }
  }
  return into;
}

/** Grafana's recorded dashboards: file name -> parsed JSON. */
function dashboardsOf(r: ProgramRun): Map<string, { uid: string; json: unknown }> {
  const provider = parse(fileOf(r, "grafana", DASHBOARD_PROVIDER)) as {
    providers: { options: { path: string } }[];
  };
  const dir = provider.providers[0].options.path;
  const out = new Map<string, { uid: string; json: unknown }>();
  for (const [file, upload] of uploadsByPath(r, "grafana")) {
    if (path.posix.dirname(file) !== dir || !file.endsWith(".json")) continue;
    const json = JSON.parse(String(reveal(upload.content))) as { uid: string };
    out.set(path.posix.basename(file), { uid: json.uid, json });
  }
  return out;
}

/** Checks the datasources name only running services at their catalog port; returns their uids. */
function checkDatasources(r: ProgramRun): string[] {
  const doc = parse(fileOf(r, "grafana", DATASOURCES)) as Datasources;
  const running = runningAliases(r);
  for (const ds of doc.datasources) {
    const url = new URL(ds.url);
    const service = SERVICE_NAMES.find((s) => hostName(s) === url.hostname);
    expect({ datasource: ds.name, service, running: service && running.has(url.hostname) }).toEqual(
      { datasource: ds.name, service: expect.any(String) as unknown, running: true },
    );
    const entry: CatalogEntry = CATALOG[service as ServiceName];
    expect([ds.name, Number(url.port)]).toEqual([ds.name, entry.port]);
  }
  return doc.datasources.map((d) => d.uid);
}

describe.each(STACKS)("the %s stack's recorded monitoring files", (stack) => {
  test("promtool check config passes the recorded prometheus.yml and finds the recorded rules", () => {
    const r = run(stack);
    const rules = checkRecordedConfig(r);
    const recorded = parse(fileOf(r, "prometheus", PROMETHEUS_RULES)) as RuleFile;
    expect(rules).toBeGreaterThan(0);
    expect(rules).toBe(ruleCount(recorded));
  });

  test("promtool check rules passes the recorded rule file; the certificate rule follows TLS", () => {
    const r = run(stack);
    const cfg = configOf(stack);
    const text = fileOf(r, "prometheus", PROMETHEUS_RULES);
    const check = expectToolOk("promtool", ["check", "rules", inRunDir(PROMETHEUS_RULES)], {
      [inRunDir(PROMETHEUS_RULES)]: text,
    });
    const doc = parse(text) as RuleFile;
    expect(check.output).toContain(`SUCCESS: ${ruleCount(doc)} rules found`);

    const all = doc.groups.flatMap((g) => g.rules);
    const records = all.filter((x) => x.record === CERTIFICATE_EXPIRY_METRIC);
    const certAlerts = all.filter((x) => x.alert?.startsWith("Certificate")).map((x) => x.alert);
    const tls = cfg.tls.mode !== "off";
    // The stack files: prod serves a self-signed certificate, dev plain HTTP.
    expect([stack, cfg.tls.mode]).toEqual([stack, stack === "prod" ? "selfSigned" : "off"]);
    if (tls) {
      expect(records).toHaveLength(1);
      expect(records[0].labels).toEqual({ domain: cfg.domain });
      expect(cfg.domain).toBe(projectValues(stack).domain);
      // The expiry is the certificate's own, a constant in the future.
      const expiry = Number(/^vector\((\d+)\)$/.exec(records[0].expr)?.[1]);
      expect(expiry * 1000).toBeGreaterThan(Date.now());
      expect(certAlerts.sort()).toEqual(["CertificateExpiringSoon", "CertificateExpiringVerySoon"]);
    } else {
      expect(records).toEqual([]);
      expect(certAlerts).toEqual([]);
      expect(text).not.toContain(CERTIFICATE_EXPIRY_METRIC);
    }
  });

  test("one scrape job per running catalog service with metrics, one target per container", () => {
    const r = run(stack);
    const cfg = configOf(stack);
    const jobs = scrapeConfigs(r);
    expect(jobs).toEqual(expectedJobs(r));
    // Each job is a catalog service with metrics that the stack enables (and the other way round).
    const enabled = SERVICE_NAMES.filter(
      (s) => (CATALOG[s] as CatalogEntry).metrics !== undefined && cfg.services[s].enabled,
    ).map(hostName);
    expect(jobs.map((j) => j.job_name).sort()).toEqual(enabled.sort());
    const api = jobs.find((j) => j.job_name === "api");
    expect(api?.static_configs).toHaveLength(cfg.services.api.replicas);
    if (stack === "prod") {
      expect(api?.static_configs.map((s) => s.labels.container)).toEqual([
        "vpn-enterprise-prod-api-1",
        "vpn-enterprise-prod-api-2",
        "vpn-enterprise-prod-api-3",
      ]);
    }
  });

  test("amtool check-config passes the recorded alertmanager.yml; without channels alerts go to none", () => {
    const config = fileOf(run(stack), "alertmanager", ALERTMANAGER_CONFIG);
    checkAlertmanager(config);
    // The stack files configure neither email nor a webhook.
    expect(receiversOf(config, CRITICAL)).toEqual(["none"]);
    expect(receiversOf(config, WARNING)).toEqual(["none"]);
  });

  test("Grafana: datasources name only running services; dashboard uids unique and provisioned", () => {
    const r = run(stack);
    const uids = checkDatasources(r);
    expect(uids).toEqual(["prometheus", "loki"]);
    const dashboards = dashboardsOf(r);
    expect(dashboards.size).toBeGreaterThan(0);
    const dashboardUids = [...dashboards.values()].map((d) => d.uid);
    expect(new Set(dashboardUids).size).toBe(dashboardUids.length);
    for (const [name, d] of dashboards) {
      const used = [...datasourceUids(d.json)].filter((u) => u !== "-- Grafana --");
      expect([name, used.filter((u) => !uids.includes(u))]).toEqual([name, []]);
    }
  });
});

describe.each(STACKS)("%s with Redis disabled", (stack) => {
  const off = {
    redis: { enabled: false },
    api: { enabled: false },
    provisioner: { enabled: false },
  };
  let full: ProgramRun;
  let variant: ProgramRun;
  beforeAll(async () => {
    full = run(stack);
    variant = await runWithServices(stack, off);
  });

  test("Redis alone is refused: the API needs it, and the provisioner needs the API", async () => {
    const alone = await runProgram(servicesWith(stack, { redis: { enabled: false } }), stack);
    expect(alone.error?.message).toContain("services.api.enabled");
    expect(alone.error?.message).toContain("api needs redis");
  });

  test("the exporter's and the API's jobs go, every other job stays, promtool passes it", () => {
    const before = scrapeConfigs(full);
    const after = scrapeConfigs(variant);
    expect(after).toEqual(expectedJobs(variant));
    expect(before.map((j) => j.job_name)).toEqual(
      expect.arrayContaining(["redis-exporter", "api"]) as unknown,
    );
    expect(after).toEqual(
      before.filter((j) => j.job_name !== "redis-exporter" && j.job_name !== "api"),
    );
    expect(runningAliases(variant).has("redis-exporter")).toBe(false);

    const rules = checkRecordedConfig(variant);
    // The API's alerts go with it: fewer rules, none about http_requests.
    const variantRules = fileOf(variant, "prometheus", PROMETHEUS_RULES);
    expect(rules).toBe(ruleCount(parse(variantRules) as RuleFile));
    expect(rules).toBeLessThan(checkRecordedConfig(full));
    expect(variantRules).not.toContain("http_request");
  });
});

describe.each(STACKS)("%s with Alertmanager email and a critical-only webhook", (stack) => {
  const SMTP_PASSWORD = "smtp-Pa55word-given";
  const WEBHOOK_URL = "https://hooks.example.com/services/T0KEN-given";
  const alertmanager = {
    email: {
      to: ["ops@example.com", "oncall@example.com"],
      from: "alertmanager@example.com",
      smarthost: "smtp.example.com:587",
      authUsername: "alertmanager",
    },
    webhook: { criticalOnly: true },
  };
  let variant: ProgramRun;
  beforeAll(async () => {
    // runWithServices changes `services` only; the two credentials are `secrets` keys, so the
    // run takes the same config with those added (as `pulumi config set --secret` would).
    const config = servicesWith(stack, { alertmanager });
    const secrets = JSON.parse(config[`${PROJECT}:secrets`] ?? "{}") as Record<string, string>;
    variant = await runProgram(
      {
        ...config,
        [`${PROJECT}:secrets`]: JSON.stringify({
          ...secrets,
          alertmanagerSmtpPassword: SMTP_PASSWORD,
          alertmanagerWebhookUrl: WEBHOOK_URL,
        }),
      },
      stack,
    );
    if (variant.error) throw variant.error;
  });

  test("amtool check-config passes it; the credentials are files, uploaded as secrets", () => {
    const config = fileOf(variant, "alertmanager", ALERTMANAGER_CONFIG);
    const output = checkAlertmanager(config);
    expect(output).toContain(" - 2 receivers");
    expect(config).not.toContain(SMTP_PASSWORD);
    expect(config).not.toContain(WEBHOOK_URL);

    const doc = parse(config) as {
      receivers: {
        name: string;
        email_configs?: Record<string, unknown>[];
        webhook_configs?: Record<string, unknown>[];
      }[];
    };
    const email = doc.receivers.find((x) => x.name === "email")?.email_configs?.[0];
    const hook = doc.receivers.find((x) => x.name === "webhook")?.webhook_configs?.[0];
    expect(email).toMatchObject({
      to: "ops@example.com, oncall@example.com",
      from: "alertmanager@example.com",
      smarthost: "smtp.example.com:587",
      auth_username: "alertmanager",
    });
    // Each file the config names is uploaded with the given value, as a secret only its owner reads.
    const uploads = uploadsByPath(variant, "alertmanager");
    for (const [file, value] of [
      [String(email?.auth_password_file), SMTP_PASSWORD],
      [String(hook?.url_file), WEBHOOK_URL],
    ]) {
      const upload = uploads.get(file);
      expect([file, isSecretValue(upload?.content), reveal(upload?.content)]).toEqual([
        file,
        true,
        value,
      ]);
      expect(upload?.permissions).toBe("0400");
    }
  });

  test("amtool routes a critical alert to the webhook and email, a warning to email only", () => {
    const config = fileOf(variant, "alertmanager", ALERTMANAGER_CONFIG);
    expect(receiversOf(config, CRITICAL)).toEqual(["webhook", "email"]);
    expect(receiversOf(config, WARNING)).toEqual(["email"]);
  });
});

describe.each(STACKS)("%s with Loki (and Alloy) disabled", (stack) => {
  let full: ProgramRun;
  let variant: ProgramRun;
  beforeAll(async () => {
    full = run(stack);
    variant = await runWithServices(stack, { loki: { enabled: false }, alloy: { enabled: false } });
  });

  test("no Loki datasource, no dashboard that reads Loki, the others unchanged", () => {
    expect(runningAliases(variant).has("loki")).toBe(false);
    expect(checkDatasources(variant)).toEqual(["prometheus"]);
    expect(uploadsByPath(variant, "grafana").get(DATASOURCES)).toBeDefined();

    const before = dashboardsOf(full);
    const after = dashboardsOf(variant);
    const readsLoki = [...before]
      .filter(([, d]) => datasourceUids(d.json).has("loki"))
      .map(([name]) => name);
    // The logs dashboard is the one that reads Loki; it is not uploaded without it.
    expect(readsLoki).toEqual(["logs.json"]);
    expect([...after.keys()]).toEqual([...before.keys()].filter((n) => !readsLoki.includes(n)));
    for (const [name, d] of after) {
      expect([name, d.json]).toEqual([name, before.get(name)?.json]);
      expect([name, datasourceUids(d.json).has("loki")]).toEqual([name, false]);
    }
  });

  test("Loki's and Alloy's scrape jobs go too, and promtool passes the config", () => {
    const jobs = scrapeConfigs(variant).map((j) => j.job_name);
    expect(scrapeConfigs(variant)).toEqual(expectedJobs(variant));
    expect(jobs).not.toContain("loki");
    expect(jobs).not.toContain("alloy");
    expect(checkRecordedConfig(variant)).toBeGreaterThan(0);
  });
});
