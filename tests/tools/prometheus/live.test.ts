/**
 * The rendered files under the REAL daemons, not just their checkers: Alertmanager 0.33 delivers
 * to a webhook and over SMTP with the credentials read from the files the config names, routes
 * criticalOnly and inhibits as rendered; Prometheus 3.5 scrapes every rendered target, evaluates
 * every rendered rule without error, fires the fast alerts for the bad series only, and its
 * rendered alerting block really delivers them to Alertmanager. Needs root and the chroot of
 * tests/tools/prometheus/prepare.sh; without them it fails, naming the fix.
 */
import { parse } from "yaml";
import { AlertmanagerInput, renderAlertmanagerConfig } from "../../../render/alertmanager";
import { DEFAULT_ALERT_THRESHOLDS, renderAlertRules } from "../../../render/alertRules";
import { ScrapeJob, renderPrometheusConfig } from "../../../render/prometheus";
import {
  Daemon,
  Mail,
  MetricsStub,
  SECRETS_DIR,
  SmtpSink,
  WebhookMessage,
  WebhookSink,
  freePort,
  getJson,
  postJson,
  requireDaemons,
  sleep,
  startAlertmanager,
  startMetricsStub,
  startPrometheus,
  startSmtpSink,
  startWebhookSink,
  waitFor,
} from "./daemons";

jest.setTimeout(60000);

type Labels = Readonly<Partial<Record<string, string>>>;

/** What GET /api/v2/alerts of Alertmanager answers, as far as these tests read it. */
interface AmAlert {
  readonly labels: Labels;
  readonly receivers: readonly { readonly name: string }[];
  readonly status: { readonly state: string; readonly inhibitedBy: readonly string[] };
}

/** Alerts Alertmanager holds, by alertname. */
async function amAlerts(am: Daemon, alertname?: string): Promise<AmAlert[]> {
  const alerts = await getJson<AmAlert[]>(`${am.url}/api/v2/alerts`);
  return alerts.filter((a) => alertname === undefined || a.labels.alertname === alertname);
}

// --- Alertmanager end to end -----------------------------------------------------------------

const SMTP_PASSWORD = "p4ss from the file: not in alertmanager.yml";
const SMTP_USER = "alertmanager";
const MAIL_TO = ["ops@example.com", "oncall@example.com"];

function alertmanagerInput(smtpPort: number, criticalOnly: boolean): AlertmanagerInput {
  return {
    route: {
      groupBy: ["alertname"],
      groupWaitSeconds: 0,
      groupIntervalSeconds: 1,
      repeatIntervalMinutes: 60,
    },
    email: {
      to: MAIL_TO,
      from: "alertmanager@example.com",
      smarthost: `127.0.0.1:${smtpPort}`,
      authUsername: SMTP_USER,
      authPasswordFile: `${SECRETS_DIR}/smtp_password`,
      requireTls: false,
    },
    webhook: { urlFile: `${SECRETS_DIR}/webhook_url`, sendResolved: true, criticalOnly },
  };
}

/** An alert as a client (or Prometheus) posts it to /api/v2/alerts. */
function alert(labels: Labels) {
  return {
    labels,
    annotations: { summary: `${labels.alertname ?? ""} (test)` },
    startsAt: new Date(),
  };
}

const SERVICE_DOWN = {
  alertname: "ServiceDown",
  severity: "critical",
  service: "api",
  container: "vpn-test-api-1",
};
const SLOW_WEB = { alertname: "SlowResponses", severity: "warning", service: "web" };
const HIGH_CPU_API = {
  alertname: "HighCpuUsage",
  severity: "warning",
  service: "api",
  container: "vpn-test-api-1",
};
/** The same warning for a replica that is up: not explained by the other one being down. */
const HIGH_CPU_SURVIVOR = { ...HIGH_CPU_API, container: "vpn-test-api-2" };

function webhookGot(sink: WebhookSink, alertname: string): WebhookMessage | undefined {
  return sink.messages.find((m) => m.alerts.some((a) => a.labels.alertname === alertname));
}

/** The mail about `alertname`: its subject carries the group's labels (alertname). */
function mailAbout(sink: SmtpSink, alertname: string): Mail | undefined {
  return sink.mails.find((m) => new RegExp(`^Subject: .*\\b${alertname}\\b`, "m").test(m.data));
}

describe("Alertmanager delivers the rendered routes to a real webhook and SMTP server", () => {
  let smtp: SmtpSink;
  let webhook: WebhookSink;
  let am: Daemon | undefined;
  // What beforeAll got to start: afterAll closes it even when beforeAll failed half-way.
  const sinks: (SmtpSink | WebhookSink)[] = [];

  beforeAll(async () => {
    requireDaemons();
    smtp = await startSmtpSink();
    sinks.push(smtp);
    webhook = await startWebhookSink();
    sinks.push(webhook);
  });

  afterEach(async () => {
    await am?.stop();
    am = undefined;
    for (const sink of sinks) {
      if ("mails" in sink) sink.mails.length = 0;
      else sink.messages.length = 0;
    }
  });

  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
  });

  function start(criticalOnly: boolean): Promise<Daemon> {
    return startAlertmanager({
      config: renderAlertmanagerConfig(alertmanagerInput(smtp.port, criticalOnly)),
      // As the component writes the secrets: the value itself, nothing appended.
      secrets: { smtp_password: SMTP_PASSWORD, webhook_url: webhook.url },
    });
  }

  test("a critical alert reaches the webhook (url_file) and both mail recipients, authenticated with the password file", async () => {
    am = await start(false);
    await postJson(`${am.url}/api/v2/alerts`, [alert(SERVICE_DOWN)]);

    const hook = await waitFor("webhook gets ServiceDown", () =>
      webhookGot(webhook, "ServiceDown"),
    );
    expect(hook.receiver).toBe("webhook");
    expect(hook.status).toBe("firing");
    expect(hook.alerts).toHaveLength(1);
    expect(hook.alerts[0]?.labels).toEqual(SERVICE_DOWN);

    const mail = await waitFor("mail about ServiceDown", () => mailAbout(smtp, "ServiceDown"));
    expect(mail.to).toEqual(MAIL_TO);
    expect(mail.from).toBe("alertmanager@example.com");
    expect(mail.data).toMatch(/^To: ops@example\.com, oncall@example\.com$/m);
    // Go's PLAIN auth is allowed here only because 127.0.0.1 is localhost (no TLS offered).
    expect(mail.auth).toEqual({ mechanism: "PLAIN", username: SMTP_USER, password: SMTP_PASSWORD });

    // Without criticalOnly a warning reaches the webhook as well: the control for the next test.
    await postJson(`${am.url}/api/v2/alerts`, [alert(SLOW_WEB)]);
    await waitFor("webhook gets SlowResponses", () => webhookGot(webhook, "SlowResponses"));
    await waitFor("mail about SlowResponses", () => mailAbout(smtp, "SlowResponses"));
  });

  test("criticalOnly: a warning is mailed but not posted; a warning of a container that is down is inhibited", async () => {
    am = await start(true);
    const url = `${am.url}/api/v2/alerts`;
    await postJson(url, [alert(SERVICE_DOWN)]);
    await waitFor("webhook gets ServiceDown", () => webhookGot(webhook, "ServiceDown"));
    await waitFor("mail about ServiceDown", () => mailAbout(smtp, "ServiceDown"));

    // ServiceDown is known to the inhibitor now (it was notified), so the order cannot race.
    await postJson(url, [alert(SLOW_WEB), alert(HIGH_CPU_API), alert(HIGH_CPU_SURVIVOR)]);
    const mail = await waitFor("mail about SlowResponses", () => mailAbout(smtp, "SlowResponses"));
    expect(mail.auth?.password).toBe(SMTP_PASSWORD);

    // Alertmanager's own view of the routing and inhibition.
    const only = async (alertname: string) => {
      const list = am ? await amAlerts(am, alertname) : [];
      expect(list).toHaveLength(1);
      return list[0];
    };
    const slow = await only("SlowResponses");
    expect(slow.receivers.map((r) => r.name)).toEqual(["email"]);
    expect(slow.status.state).toBe("active");
    const down = await only("ServiceDown");
    expect(down.receivers.map((r) => r.name).sort()).toEqual(["email", "webhook"]);
    const cpu = await amAlerts(am, "HighCpuUsage");
    const state = (container: string) =>
      cpu.find((a) => a.labels.container === container)?.status.state;
    expect([state(HIGH_CPU_API.container), state(HIGH_CPU_SURVIVOR.container)]).toEqual([
      "suppressed",
      "active",
    ]);
    await waitFor("mail about HighCpuUsage", () => mailAbout(smtp, "HighCpuUsage"));

    // A few group intervals more, in which a wrongly routed notification would have been sent.
    await sleep(2500);
    expect(webhookGot(webhook, "SlowResponses")).toBeUndefined();
    expect(webhookGot(webhook, "HighCpuUsage")).toBeUndefined();
    expect(webhook.messages.flatMap((m) => m.alerts.map((a) => a.labels.alertname))).toEqual([
      "ServiceDown",
    ]);
  });
});

// --- Prometheus end to end -------------------------------------------------------------------

const EXTERNAL_LABELS = { project: "vpn-enterprise", stack: "live-test" };
const CERT_DOMAIN = "vpn.example.com";

/** Prometheus text format, one line per sample: [name, labels, value]. */
function exposition(samples: readonly (readonly [string, Labels, number])[]): string {
  return samples
    .map(([name, labels, value]) => {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      return `${name}{${pairs.join(",")}} ${value}\n`;
    })
    .join("");
}

/** An API replica: 10% 5xx answers (HighErrorRate), all fast (no SlowResponses). */
function apiMetrics(since: number): () => string {
  return () => {
    const t = (Date.now() - since) / 1000 + 1;
    const ok = { method: "GET", route: "/api/users", status: "200" };
    const failed = { ...ok, status: "500" };
    const bucket = (le: string, n: number) =>
      ["http_request_duration_seconds_bucket", { ...ok, le }, n] as const;
    return exposition([
      ["http_requests_total", ok, 90 * t],
      ["http_requests_total", failed, 10 * t],
      bucket("0.1", 80 * t),
      bucket("0.5", 90 * t),
      bucket("1", 90 * t),
      bucket("+Inf", 90 * t),
      ["http_request_duration_seconds_sum", ok, 9 * t],
      ["http_request_duration_seconds_count", ok, 90 * t],
    ]);
  };
}

/** Filesystems (one real one low, a tmpfs lower) and the backup textfile (vpn's last attempt failed). */
function nodeMetrics(): string {
  const now = Math.floor(Date.now() / 1000);
  const fs = (device: string, fstype: string, mountpoint: string, avail: number) => [
    ["node_filesystem_avail_bytes", { device, fstype, mountpoint }, avail] as const,
    ["node_filesystem_size_bytes", { device, fstype, mountpoint }, 100e9] as const,
  ];
  return exposition([
    ...fs("/dev/sda1", "ext4", "/", 50e9),
    ...fs("/dev/sdb1", "xfs", "/var/lib/docker", 5e9),
    ...fs("tmpfs", "tmpfs", "/dev/shm", 1e9),
    ["vpn_backup_last_success_timestamp_seconds", { database: "vpn" }, now - 7200],
    ["vpn_backup_last_attempt_success", { database: "vpn" }, 0],
    ["vpn_backup_last_attempt_timestamp_seconds", { database: "vpn" }, now - 60],
    ["vpn_backup_last_success_timestamp_seconds", { database: "n8n" }, now - 3600],
    ["vpn_backup_last_attempt_success", { database: "n8n" }, 1],
    ["vpn_backup_last_attempt_timestamp_seconds", { database: "n8n" }, now - 3600],
  ]);
}

/**
 * cAdvisor: api-1 over its CPU and memory limits, api-2 well within, a nameless cgroup busy. A
 * rate over the rule's 5m window divides by the whole window while the series is seconds old, so
 * api-1's counter climbs 60 CPU-seconds a second: over the limit within seconds, not minutes.
 */
function cadvisorMetrics(since: number): () => string {
  return () => {
    const t = (Date.now() - since) / 1000 + 1;
    const c = (n: number) => ({
      id: `/docker/${n}`,
      name: `vpn-test-api-${n}`,
      container_label_vpn_enterprise_service: "api",
    });
    return exposition([
      ["container_cpu_usage_seconds_total", c(1), 60 * t],
      ["container_spec_cpu_quota", c(1), 50000],
      ["container_spec_cpu_period", c(1), 100000],
      ["container_memory_working_set_bytes", c(1), 95e6],
      ["container_spec_memory_limit_bytes", c(1), 100e6],
      ["container_cpu_usage_seconds_total", c(2), 0.1 * t],
      ["container_spec_cpu_quota", c(2), 100000],
      ["container_spec_cpu_period", c(2), 100000],
      ["container_memory_working_set_bytes", c(2), 50e6],
      ["container_spec_memory_limit_bytes", c(2), 100e6],
      ["container_cpu_usage_seconds_total", { id: "/system.slice" }, 5 * t],
    ]);
  };
}

interface PromTarget {
  readonly labels: Labels;
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}
interface PromRule {
  readonly name: string;
  readonly type: string;
  readonly health: string;
  readonly lastError?: string;
}
interface PromAlert {
  readonly labels: Labels;
  readonly state: string;
}
interface Envelope<T> {
  readonly status: string;
  readonly data: T;
}

/** The labels an alert is told apart by, besides its name (the rest is job/instance/external). */
const KEY_LABELS = ["severity", "service", "container", "database", "domain", "mountpoint"];

function alertKey(a: { labels: Labels; state?: string }): string {
  const keys = KEY_LABELS.filter((k) => a.labels[k] !== undefined).map(
    (k) => `${k}=${a.labels[k] ?? ""}`,
  );
  return [a.state ?? "", a.labels.alertname ?? "", ...keys].join(" ").trim();
}

describe("Prometheus runs the rendered prometheus.yml and rules against live targets", () => {
  const stubs: Partial<Record<string, MetricsStub>> = {};
  let webhook: WebhookSink;
  let am: Daemon | undefined;
  let prom: Daemon | undefined;
  // Everything beforeAll got to start, closed in reverse order even when it failed half-way.
  const started: (() => Promise<unknown>)[] = [];
  let rules: string;
  const api = (path: string) => getJson<Envelope<unknown>>(`${prom?.url ?? ""}${path}`);
  const targets = async () =>
    ((await api("/api/v1/targets")) as Envelope<{ activeTargets: PromTarget[] }>).data
      .activeTargets;
  const promAlerts = async () =>
    ((await api("/api/v1/alerts")) as Envelope<{ alerts: PromAlert[] }>).data.alerts;

  beforeAll(async () => {
    requireDaemons();
    const since = Date.now();
    const stub = async (container: string, host: string, metrics: () => string) => {
      const s = await startMetricsStub(host, metrics);
      stubs[container] = s;
      started.push(() => s.stop());
    };
    for (const n of [1, 2, 3]) {
      await stub(`vpn-test-api-${n}`, `127.0.0.${10 + n}`, apiMetrics(since));
    }
    await stub("vpn-test-node-exporter", "127.0.0.20", nodeMetrics);
    await stub("vpn-test-cadvisor", "127.0.0.21", cadvisorMetrics(since));

    webhook = await startWebhookSink();
    started.push(() => webhook.close());
    am = await startAlertmanager({
      config: renderAlertmanagerConfig({
        route: {
          groupBy: ["alertname"],
          groupWaitSeconds: 0,
          groupIntervalSeconds: 1,
          repeatIntervalMinutes: 60,
        },
        webhook: {
          urlFile: `${SECRETS_DIR}/webhook_url`,
          sendResolved: false,
          criticalOnly: false,
        },
      }),
      secrets: { webhook_url: webhook.url },
    });
    const amStarted = am;
    started.push(() => amStarted.stop());

    const promPort = await freePort();
    const job = (name: string, containers: readonly string[]): ScrapeJob => ({
      name,
      metricsPath: "/metrics",
      targets: containers.map((container) => ({
        address: stubs[container]?.address ?? "",
        labels: { service: name, container },
      })),
    });
    const config = renderPrometheusConfig({
      scrapeIntervalSeconds: 1,
      scrapeTimeoutSeconds: 1,
      evaluationIntervalSeconds: 1,
      externalLabels: EXTERNAL_LABELS,
      alertmanagers: [`127.0.0.1:${am.port}`],
      ruleFiles: ["/etc/prometheus/rules/*.yml"],
      jobs: [
        job("api", ["vpn-test-api-1", "vpn-test-api-2", "vpn-test-api-3"]),
        job("node-exporter", ["vpn-test-node-exporter"]),
        job("cadvisor", ["vpn-test-cadvisor"]),
        // The two daemons' own metrics: real exporters, not stubs.
        {
          name: "alertmanager",
          metricsPath: "/metrics",
          targets: [
            {
              address: `127.0.0.1:${am.port}`,
              labels: { service: "alertmanager", container: "vpn-test-alertmanager" },
            },
          ],
        },
        {
          name: "prometheus",
          metricsPath: "/metrics",
          targets: [
            {
              address: `127.0.0.1:${promPort}`,
              labels: { service: "prometheus", container: "vpn-test-prometheus" },
            },
          ],
        },
      ],
    });
    // A day left: CertificateExpiringVerySoon's range.
    const expiry = new Date(Date.now() + 86400_000).toISOString();
    rules = renderAlertRules({
      thresholds: DEFAULT_ALERT_THRESHOLDS,
      sources: { cadvisor: true, nodeExporter: true, api: true, backups: true },
      certificate: { domain: CERT_DOMAIN, expiry },
    });
    prom = await startPrometheus({
      config,
      rules: { "platform.yml": rules },
      port: promPort,
      // Prometheus drops what fires before its Alertmanager discovery has settled (about 5 s after
      // start, when the constant certificate rule has already fired) and sends a firing alert
      // again only every resend-delay (1m by default): a shorter one keeps this test in seconds.
      flags: ["--rules.alert.resend-delay=1s"],
    });
    const promStarted = prom;
    started.push(() => promStarted.stop());
  });

  afterAll(async () => {
    for (const stop of started.reverse()) await stop();
  });

  test("every rendered target is scraped and up, with its service and container labels", async () => {
    const expected = [
      "api vpn-test-api-1",
      "api vpn-test-api-2",
      "api vpn-test-api-3",
      "node-exporter vpn-test-node-exporter",
      "cadvisor vpn-test-cadvisor",
      "alertmanager vpn-test-alertmanager",
      "prometheus vpn-test-prometheus",
    ].sort();
    const all = await waitFor("every target up", async () => {
      const list = await targets();
      return list.length === expected.length && list.every((t) => t.health === "up")
        ? list
        : undefined;
    });
    expect(all.map((t) => `${t.labels.service} ${t.labels.container}`).sort()).toEqual(expected);
    for (const t of all) {
      expect(t.labels.job).toBe(t.labels.service);
      expect(t.lastError).toBe("");
      const stub = t.labels.container ? stubs[t.labels.container] : undefined;
      if (stub) expect(t.scrapeUrl).toBe(`http://${stub.address}/metrics`);
    }
  });

  test("every rendered rule group and rule is loaded and evaluates without error", async () => {
    const file = parse(rules) as {
      groups: { name: string; rules: Partial<Record<string, string>>[] }[];
    };
    const rendered = file.groups.map((g) => ({
      name: g.name,
      rules: g.rules.map((r) => r.alert ?? r.record ?? ""),
    }));
    // Every group of the full rule set, so nothing below is vacuous.
    expect(rendered.map((g) => g.name)).toEqual([
      "vpn-availability",
      "vpn-containers",
      "vpn-disks",
      "vpn-api",
      "vpn-backups",
      "vpn-certificates",
    ]);
    type Groups = Envelope<{ groups: { name: string; file: string; rules: PromRule[] }[] }>;
    const groups = await waitFor("every rule evaluated", async () => {
      const list = ((await api("/api/v1/rules")) as Groups).data.groups;
      return list.every((g) => g.rules.every((r) => r.health !== "unknown")) ? list : undefined;
    });
    // The API lists the groups by name; within a group the file's order is kept.
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(
      groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => r.name) })).sort(byName),
    ).toEqual([...rendered].sort(byName));
    for (const g of groups) {
      expect(g.file).toBe("/etc/prometheus/rules/platform.yml");
      for (const r of g.rules) {
        expect({ rule: r.name, health: r.health, lastError: r.lastError ?? "" }).toEqual({
          rule: r.name,
          health: "ok",
          lastError: "",
        });
      }
    }
  });

  test("the fast alerts fire for the bad series only, and reach Alertmanager and its webhook with the external labels", async () => {
    // No `for` on these: they fire at the first evaluation that sees their series (a rate needs two).
    const firing = [
      "firing BackupFailed severity=warning service=node-exporter container=vpn-test-node-exporter database=vpn",
      `firing CertificateExpiringVerySoon severity=critical domain=${CERT_DOMAIN}`,
      "firing HighErrorRate severity=critical service=api",
      "firing HighCpuUsage severity=warning service=api container=vpn-test-api-1",
    ];
    // Their `for` is minutes: pending for now, and only for the bad series (not the tmpfs).
    const pending = [
      "pending DiskSpaceLow severity=critical service=node-exporter container=vpn-test-node-exporter mountpoint=/var/lib/docker",
      "pending HighMemoryUsage severity=warning service=api container=vpn-test-api-1",
    ];
    const expected = [...firing, ...pending].sort();
    const seen = await waitFor("the fast alerts firing", async () => {
      const keys = (await promAlerts()).map(alertKey).sort();
      if (!expected.every((k) => keys.includes(k))) throw new Error(`seen: ${keys.join("; ")}`);
      return keys;
    });
    // Nothing else: no ServiceDown, SlowResponses, BackupTooOld, CertificateExpiringSoon, ...
    expect(seen).toEqual(expected);

    const names = firing.map((k) => k.split(" ")[1] ?? "");
    const delivered = await waitFor("Alertmanager holds every firing alert", async () => {
      const alerts = am ? await amAlerts(am) : [];
      if (!names.every((n) => alerts.some((a) => a.labels.alertname === n))) {
        throw new Error(`Alertmanager holds: ${alerts.map((a) => alertKey(a)).join("; ")}`);
      }
      return alerts;
    });
    // Prometheus sends firing alerts only, each with the external labels of prometheus.yml.
    expect(delivered.map((a) => alertKey({ ...a, state: "firing" })).sort()).toEqual(
      [...firing].sort(),
    );
    for (const a of delivered) expect(a.labels).toMatchObject(EXTERNAL_LABELS);

    const hook = await waitFor("webhook gets BackupFailed", () =>
      webhookGot(webhook, "BackupFailed"),
    );
    expect(hook.alerts[0]?.labels).toMatchObject({
      ...EXTERNAL_LABELS,
      alertname: "BackupFailed",
      database: "vpn",
    });
  });

  test("a stopped API replica's target goes down and ServiceDown is pending for that container", async () => {
    await stubs["vpn-test-api-2"]?.stop();
    const down = await waitFor("vpn-test-api-2 down", async () =>
      (await targets()).find((t) => t.labels.container === "vpn-test-api-2" && t.health === "down"),
    );
    expect(down.lastError).not.toBe("");
    const stillUp = (await targets()).filter((t) => t.health === "up");
    expect(stillUp.map((t) => t.labels.container)).not.toContain("vpn-test-api-2");
    expect(stillUp).toHaveLength(6);

    const serviceDown = await waitFor("ServiceDown pending", async () => {
      const list = (await promAlerts()).filter((a) => a.labels.alertname === "ServiceDown");
      return list.length > 0 ? list : undefined;
    });
    expect(serviceDown.map(alertKey)).toEqual([
      "pending ServiceDown severity=critical service=api container=vpn-test-api-2",
    ]);
  });
});
