/**
 * The monitoring tier's config keys (the stack's `monitoring` block, services.prometheus,
 * alertmanager, grafana, loki and the collectors) and their cross-checks, checked without mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, CatalogEntry, SERVICE_NAMES, ServiceName } from "../../config/catalog";
import { ConfigError, StackConfig, parseStackConfig } from "../../config/load";
import { MONITORING_SERVICES } from "../../config/monitoringSchema";
import { isPinnedImage } from "../../config/schema";
import { DEFAULT_ALERT_THRESHOLDS } from "../../render/alertRules";
import { PROJECT, ROOT, STACKS, projectValues } from "../stackFiles";
import { expectProblem, problemsOf } from "./configProblems";

const base = { domain: "vpn.example.com" };
const ns = `${PROJECT}:`;
const parse = (raw: Record<string, unknown>) => parseStackConfig(raw, PROJECT, "test", ROOT);
const services = (body: Record<string, unknown>, rest: Record<string, unknown> = {}) => ({
  ...base,
  ...rest,
  services: body,
});
const entry = (name: ServiceName): CatalogEntry => CATALOG[name];

/** The services overrides that run `name`: promtail only replaces alloy, never runs beside it. */
const running = (name: ServiceName, body: Record<string, unknown> = {}) =>
  name === "promtail"
    ? { alloy: { enabled: false }, promtail: { enabled: true, ...body } }
    : { [name]: body };

/** The whole ConfigError text for `raw`, to check what it must not show. */
function errorText(raw: Record<string, unknown>): string {
  try {
    parse(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

const SOCKET_READERS = ["alloy", "promtail", "cadvisor"] as const;
/** The socket readers the socket's group is enough for (cadvisor also reads root-only paths). */
const GROUP_READERS = ["alloy", "promtail"] as const;
const ROOT_BY_DEFAULT = new Set<ServiceName>(SOCKET_READERS);
const STATEFUL_MONITORING = MONITORING_SERVICES.filter((n) => entry(n).dataPath !== undefined);
const DISPOSABLE = new Set<ServiceName>(["alloy", "promtail"]);
const email = {
  to: ["oncall@example.com"],
  from: "alertmanager@example.com",
  smarthost: "smtp.example.com:587",
};
const WEBHOOK_URL = "https://hooks.example.com/services/T000/B000/tokenTOKENtoken";

describe("the catalog's monitoring tier", () => {
  test("eleven services, in catalog order after the other tiers", () => {
    expect(MONITORING_SERVICES).toEqual([
      "prometheus",
      "alertmanager",
      "grafana",
      "loki",
      "alloy",
      "promtail",
      "nginxExporter",
      "postgresExporter",
      "redisExporter",
      "cadvisor",
      "nodeExporter",
    ]);
    expect(SERVICE_NAMES.slice(-MONITORING_SERVICES.length)).toEqual(MONITORING_SERVICES);
  });

  test("exporters follow what they watch; alloy, promtail and cadvisor read the socket", () => {
    const follows = MONITORING_SERVICES.filter((n) => entry(n).follows !== undefined);
    expect(Object.fromEntries(follows.map((n) => [n, entry(n).follows]))).toEqual({
      nginxExporter: "nginx",
      postgresExporter: "postgres",
      redisExporter: "redis",
    });
    expect(SERVICE_NAMES.filter((n) => entry(n).dockerSocket === true)).toEqual([
      ...SOCKET_READERS,
    ]);
    expect(SERVICE_NAMES.filter((n) => entry(n).disposableData === true)).toEqual([...DISPOSABLE]);
  });

  test("only the socket readers have a reason to run as root", () => {
    for (const name of SERVICE_NAMES) {
      expect([name, entry(name).rootReason !== undefined]).toEqual([
        name,
        ROOT_BY_DEFAULT.has(name),
      ]);
    }
  });
});

describe("defaults a platform team gets without writing anything", () => {
  const cfg = parse(base);
  const s = cfg.services;

  test("the monitoring block: on, the standard Docker socket, no group id", () => {
    expect(cfg.monitoring).toEqual({
      enabled: true,
      dockerSocket: { path: "/var/run/docker.sock" },
    });
    expect(cfg.monitoring.dockerSocket.groupId).toBeUndefined();
  });

  test.each(MONITORING_SERVICES)("%s: the catalog's pinned image, user and resources", (name) => {
    const d = entry(name).defaults;
    const svc = s[name];
    expect(typeof d.image).toBe("string");
    expect(svc.image).toEqual({ ref: d.image });
    expect(isPinnedImage(svc.image.ref ?? "")).toBe(true);
    expect(svc.image.ref).not.toMatch(/:latest$/);
    expect(svc.user).toBe(d.user);
    expect(svc.resources).toEqual({ cpus: d.cpus, memoryMb: d.memoryMb, pidsLimit: d.pidsLimit });
    expect(svc.replicas).toBe(1);
    expect(svc.ports).toEqual([]);
    expect(svc.env).toEqual({});
  });

  test("cadvisor, alloy and promtail run as root (0:0); every other one as a non-root user", () => {
    for (const name of MONITORING_SERVICES) {
      const user = s[name].user;
      if (ROOT_BY_DEFAULT.has(name)) {
        expect([name, user]).toEqual([name, "0:0"]);
      } else {
        expect([name, user]).toEqual([name, expect.stringMatching(/^[1-9]\d*:\d+$/)]);
      }
    }
  });

  test("every monitoring service is on except promtail: alloy is the log shipper", () => {
    const enabled = MONITORING_SERVICES.filter((n) => s[n].enabled);
    expect(enabled).toEqual(MONITORING_SERVICES.filter((n) => n !== "promtail"));
    expect(s.alloy.enabled).toBe(true);
    expect(s.promtail.enabled).toBe(false);
  });

  test("the log shippers' volumes are disposable; the other monitoring volumes are protected", () => {
    expect(STATEFUL_MONITORING).toEqual([
      "prometheus",
      "alertmanager",
      "grafana",
      "loki",
      "alloy",
      "promtail",
    ]);
    for (const name of STATEFUL_MONITORING) {
      const svc = s[name];
      const protection = "dataProtection" in svc ? svc.dataProtection : undefined;
      const on = !DISPOSABLE.has(name);
      expect([name, protection]).toEqual([
        name,
        { protect: on, retainOnDelete: on, keepWhenDisabled: on },
      ]);
    }
  });

  test("prometheus: 15 s scrapes with a 10 s timeout, 15 s rule evaluation, 15 days kept", () => {
    expect(s.prometheus).toMatchObject({
      scrapeIntervalSeconds: 15,
      scrapeTimeoutSeconds: 10,
      evaluationIntervalSeconds: 15,
    });
    expect(s.prometheus.retention).toEqual({ days: 15 });
  });

  test("prometheus: the alert thresholds are the alert rules' defaults, as documented", () => {
    // Their values are asserted once, with the renderer (tests/unit/prometheusRender.test.ts).
    expect(s.prometheus.alerts).toEqual(DEFAULT_ALERT_THRESHOLDS);
  });

  test("alertmanager: grouped by alertname, 10 s wait, 10 s interval, repeat hourly; no receivers", () => {
    expect(s.alertmanager.route).toEqual({
      groupBy: ["alertname"],
      groupWaitSeconds: 10,
      groupIntervalSeconds: 10,
      repeatIntervalMinutes: 60,
    });
    expect(s.alertmanager.email).toBeUndefined();
    expect(s.alertmanager.webhook).toBeUndefined();
  });

  test("grafana: no anonymous viewers, no sign-up", () => {
    expect(s.grafana.anonymousViewer).toBe(false);
    expect(s.grafana.allowSignUp).toBe(false);
  });

  test("loki: 14 days kept, 4 MB/s with bursts of 8 MB", () => {
    expect(s.loki).toMatchObject({ retentionDays: 14, ingestionRateMb: 4, ingestionBurstMb: 8 });
  });

  test("no alerting secret is needed, and none is invented", () => {
    expect(cfg.secrets.alertmanagerSmtpPassword).toBeUndefined();
    expect(cfg.secrets.alertmanagerWebhookUrl).toBeUndefined();
  });
});

describe("the stack files", () => {
  const parsed = Object.fromEntries(
    STACKS.map((stack) => [stack, parseStackConfig(projectValues(stack), PROJECT, stack, ROOT)]),
  ) as Record<(typeof STACKS)[number], StackConfig>;

  /** The monitoring services each stack file sets keys for. */
  const NAMED: Record<(typeof STACKS)[number], ServiceName[]> = {
    dev: ["prometheus", "loki"],
    prod: [],
  };

  test.each(STACKS)(
    "%s parses with the monitoring tier on and its yaml's monitoring keys kept",
    (stack) => {
      const cfg = parsed[stack];
      const values = projectValues(stack);
      expect(cfg.monitoring).toMatchObject(values.monitoring ?? {});
      expect(cfg.monitoring.enabled).toBe(true);
      expect(MONITORING_SERVICES.filter((n) => cfg.services[n].enabled)).toEqual(
        MONITORING_SERVICES.filter((n) => n !== "promtail"),
      );
      const yaml = (values.services ?? {}) as Partial<Record<ServiceName, object>>;
      const named = MONITORING_SERVICES.filter((n) => yaml[n] !== undefined);
      expect(named).toEqual(NAMED[stack]);
      for (const name of named) {
        expect([name, cfg.services[name]]).toMatchObject([name, yaml[name]]);
      }
      for (const name of MONITORING_SERVICES) {
        expect([name, cfg.services[name].ports]).toEqual([name, []]);
      }
    },
  );

  test("dev keeps 3 days of metrics and logs on volumes a developer may lose", () => {
    const s = parsed.dev.services;
    expect(s.prometheus.retention.days).toBe(3);
    expect(s.loki.retentionDays).toBe(3);
    for (const svc of [s.prometheus, s.alertmanager, s.grafana, s.loki]) {
      expect(svc.dataProtection).toMatchObject({ protect: false, retainOnDelete: false });
    }
    expect(s.alloy.dataProtection).toEqual({
      protect: false,
      retainOnDelete: false,
      keepWhenDisabled: false,
    });
  });

  test("prod takes the defaults: 15 days of metrics, 14 of logs, protected volumes", () => {
    const s = parsed.prod.services;
    expect(s.prometheus.retention).toEqual({ days: 15 });
    expect(s.loki.retentionDays).toBe(14);
    for (const svc of [s.prometheus, s.alertmanager, s.grafana, s.loki]) {
      expect(svc.dataProtection).toEqual({
        protect: true,
        retainOnDelete: true,
        keepWhenDisabled: true,
      });
    }
  });
});

describe("monitoring.enabled: false", () => {
  const baseline = parse(base);

  test("turns off every monitoring service, even one enabled explicitly", () => {
    const cfg = parse({
      ...base,
      monitoring: { enabled: false },
      services: Object.fromEntries(MONITORING_SERVICES.map((n) => [n, { enabled: true }])),
    });
    expect(cfg.monitoring.enabled).toBe(false);
    expect(MONITORING_SERVICES.filter((n) => cfg.services[n].enabled)).toEqual([]);
  });

  test("the other tiers stay exactly as they were", () => {
    const cfg = parse({ ...base, monitoring: { enabled: false } });
    for (const name of SERVICE_NAMES.filter((n) => entry(n).tier !== "monitoring")) {
      expect([name, cfg.services[name]]).toEqual([name, baseline.services[name]]);
    }
    expect(cfg.networks).toEqual(baseline.networks);
  });

  test("the checks of a service switched off this way do not apply", () => {
    // Both shippers on, a wildcard port, a webhook without its URL: all moot with the tier off.
    const cfg = parse({
      ...base,
      monitoring: { enabled: false },
      services: {
        promtail: { enabled: true },
        grafana: { enabled: true, ports: [{ hostIp: "0.0.0.0", host: 3000 }] },
        alertmanager: { webhook: {} },
      },
    });
    expect(cfg.services.grafana.enabled).toBe(false);
    expect(cfg.services.promtail.enabled).toBe(false);
  });

  test("a wrong type is still refused", () => {
    expectProblem(
      { ...base, monitoring: { enabled: "no" } },
      "monitoring.enabled",
      `${ns}monitoring.enabled: given "no"; allowed: a boolean`,
    );
  });
});

describe("exporters follow what they watch", () => {
  test("without Redis (and the API, which needs it) redisExporter is off, the others stay", () => {
    const cfg = parse(
      services({
        redis: { enabled: false },
        api: { enabled: false },
        redisExporter: { enabled: true },
      }),
    );
    expect(cfg.services.redisExporter.enabled).toBe(false);
    expect(cfg.services.postgresExporter.enabled).toBe(true);
    expect(cfg.services.nginxExporter.enabled).toBe(true);
  });

  test("disabling Redis alone is refused for the API, never for its exporter", () => {
    const problems = problemsOf(services({ redis: { enabled: false } }));
    expect(problems).toEqual([
      `${ns}services.api.enabled: given nothing (so the default); allowed: false while services.redis is disabled (api needs redis); enable redis or disable api`,
    ]);
  });

  test("without PostgreSQL (and backup and API) postgresExporter is off, the others stay", () => {
    const cfg = parse(
      services({
        postgres: { enabled: false },
        backup: { enabled: false },
        api: { enabled: false },
      }),
    );
    expect(cfg.services.postgresExporter.enabled).toBe(false);
    expect(cfg.services.redisExporter.enabled).toBe(true);
    expect(cfg.services.nginxExporter.enabled).toBe(true);
  });

  test("disabling PostgreSQL alone is refused for backup and the API, never for its exporter", () => {
    const problems = problemsOf(services({ postgres: { enabled: false } }));
    expect(problems).toEqual([
      `${ns}services.backup.enabled: given nothing (so the default); allowed: false while services.postgres.enabled is false (there is nothing to back up)`,
      `${ns}services.api.enabled: given nothing (so the default); allowed: false while services.postgres is disabled (api needs postgres); enable postgres or disable api`,
    ]);
  });

  test("without nginx nginxExporter is off; Redis and PostgreSQL keep theirs", () => {
    const cfg = parse(services({ nginx: { enabled: false } }));
    expect(cfg.services.nginxExporter.enabled).toBe(false);
    expect(cfg.services.postgresExporter.enabled).toBe(true);
    expect(cfg.services.redisExporter.enabled).toBe(true);
  });

  test("an exporter can still be switched off on its own", () => {
    const cfg = parse(
      services({ nodeExporter: { enabled: false }, nginxExporter: { enabled: false } }),
    );
    expect(cfg.services.nodeExporter.enabled).toBe(false);
    expect(cfg.services.nginxExporter.enabled).toBe(false);
    expect(cfg.services.nginx.enabled).toBe(true);
  });
});

describe("one log shipper", () => {
  test("alloy and promtail both on is refused on services.promtail.enabled", () => {
    expect(problemsOf(services({ promtail: { enabled: true } }))).toEqual([
      `${ns}services.promtail.enabled: given true; allowed: false while services.alloy is enabled (one log shipper: disable alloy to ship with promtail)`,
    ]);
  });

  test("promtail alone is accepted, root by default with a disposable volume", () => {
    const cfg = parse(services(running("promtail")));
    expect(cfg.services.alloy.enabled).toBe(false);
    expect(cfg.services.promtail).toMatchObject({
      enabled: true,
      user: "0:0",
      image: { ref: "grafana/promtail:3.5.1" },
      dataProtection: { protect: false, retainOnDelete: false, keepWhenDisabled: false },
    });
  });

  test("a shipper needs Loki", () => {
    expectProblem(
      services({ loki: { enabled: false } }),
      "services.alloy.enabled",
      `${ns}services.alloy.enabled: given nothing (so the default); allowed: false while services.loki is disabled (alloy needs loki); enable loki or disable alloy`,
    );
  });
});

describe("the Docker socket", () => {
  test("cadvisor stays root even with the socket's group: it also reads /var/lib/docker", () => {
    for (const extra of [{}, { monitoring: { dockerSocket: { groupId: 998 } } }]) {
      expect(problemsOf(services({ cadvisor: { user: "473:998" } }, extra))).toEqual([
        `${ns}services.cadvisor.user: given "473:998"; allowed: root (the default): cadvisor reads the Docker socket and /var/lib/docker (root's, 0710); the socket's group does not open that`,
      ]);
    }
  });

  test("uid 0 written another way is root: refused where root is, accepted for cadvisor", () => {
    for (const user of ["00:00", "000", "00"]) {
      expect(problemsOf(services({ prometheus: { user } }))).toEqual([
        `${ns}services.prometheus.user: given ${JSON.stringify(user)}; allowed: a numeric non-root uid or uid:gid, such as 1001:1001`,
      ]);
      expect(parse(services({ cadvisor: { user } })).services.cadvisor.user).toBe(user);
    }
  });

  test("a shipper's dataProtection keeps the disposable defaults for the keys it does not set", () => {
    const cfg = parse(services({ alloy: { dataProtection: { keepWhenDisabled: false } } }));
    expect(cfg.services.alloy.dataProtection).toEqual({
      protect: false,
      retainOnDelete: false,
      keepWhenDisabled: false,
    });
  });

  test.each(GROUP_READERS)(
    "%s as a non-root user needs monitoring.dockerSocket.groupId",
    (name) => {
      expect(problemsOf(services(running(name, { user: "473:473" })))).toEqual([
        `${ns}services.${name}.user: given "473:473"; allowed: root (the default) unless monitoring.dockerSocket.groupId is set: ${name} reads the Docker socket, which only root and the socket's group may open`,
      ]);
    },
  );

  test.each(GROUP_READERS)("%s as a non-root user is accepted with the group id", (name) => {
    const cfg = parse(
      services(running(name, { user: "473:998" }), {
        monitoring: { dockerSocket: { groupId: 998 } },
      }),
    );
    expect(cfg.services[name].user).toBe("473:998");
    expect(cfg.monitoring.dockerSocket).toEqual({ path: "/var/run/docker.sock", groupId: 998 });
  });

  test("a group id is not a reason to leave root: the default users stay", () => {
    const cfg = parse({ ...base, monitoring: { dockerSocket: { groupId: 998 } } });
    expect(cfg.services.alloy.user).toBe("0:0");
    expect(cfg.services.cadvisor.user).toBe("0:0");
  });

  test("another absolute socket path is kept", () => {
    const cfg = parse({
      ...base,
      monitoring: { dockerSocket: { path: "/run/user/1000/docker.sock" } },
    });
    expect(cfg.monitoring.dockerSocket.path).toBe("/run/user/1000/docker.sock");
  });

  test.each<[string, Record<string, unknown>, string]>([
    [
      "a relative path",
      { path: "var/run/docker.sock" },
      `${ns}monitoring.dockerSocket.path: given "var/run/docker.sock"; allowed: an absolute path on the Docker host`,
    ],
    [
      "a URL instead of a path",
      { path: "unix:///var/run/docker.sock" },
      `${ns}monitoring.dockerSocket.path: given "unix:///var/run/docker.sock"; allowed: an absolute path on the Docker host`,
    ],
    [
      "group id 0 (root's group)",
      { groupId: 0 },
      `${ns}monitoring.dockerSocket.groupId: given 0; allowed: a number >= 1`,
    ],
    [
      "a group name",
      { groupId: "docker" },
      `${ns}monitoring.dockerSocket.groupId: given "docker"; allowed: a number`,
    ],
  ])("refused: %s", (_what, dockerSocket, line) => {
    expect(problemsOf({ ...base, monitoring: { dockerSocket } })).toEqual([line]);
  });
});

describe("root only with the catalog's reason", () => {
  const NOT_ROOT = MONITORING_SERVICES.filter((n) => !ROOT_BY_DEFAULT.has(n));

  test.each(NOT_ROOT)("%s is refused user 0:0 and 0", (name) => {
    for (const user of ["0:0", "0"]) {
      expect(problemsOf(services({ [name]: { user } }))).toEqual([
        `${ns}services.${name}.user: given ${JSON.stringify(user)}; allowed: a numeric non-root uid or uid:gid, such as 1001:1001`,
      ]);
    }
  });

  test.each(NOT_ROOT)("%s may run as another non-root user", (name) => {
    expect(parse(services({ [name]: { user: "12345:12345" } })).services[name].user).toBe(
      "12345:12345",
    );
  });

  test("cadvisor may run as root, given explicitly either way", () => {
    expect(parse(services({ cadvisor: { user: "0:0" } })).services.cadvisor.user).toBe("0:0");
    expect(parse(services({ cadvisor: { user: "0" } })).services.cadvisor.user).toBe("0");
  });

  test("a user name is refused even where root is allowed", () => {
    expectProblem(
      services({ cadvisor: { user: "root" } }),
      "services.cadvisor.user",
      `${ns}services.cadvisor.user: given "root"; allowed: a numeric uid or uid:gid, such as 1001:1001 (or 0:0, root, the default)`,
    );
  });
});

describe("alertmanager receivers and their secrets", () => {
  test("email with a login and its password is accepted; the password comes back as a secret", async () => {
    const cfg = parse(
      services(
        { alertmanager: { email: { ...email, authUsername: "alerts" } } },
        { secrets: { alertmanagerSmtpPassword: "smtp-pass" } },
      ),
    );
    expect(cfg.services.alertmanager.email).toEqual({
      ...email,
      authUsername: "alerts",
      requireTls: true,
    });
    const password = cfg.secrets.alertmanagerSmtpPassword;
    expect(password && (await pulumi.isSecret(password))).toBe(true);
  });

  test("email without a login needs no password", () => {
    const cfg = parse(services({ alertmanager: { email: { ...email, requireTls: false } } }));
    expect(cfg.services.alertmanager.email).toEqual({ ...email, requireTls: false });
  });

  test("a login without secrets.alertmanagerSmtpPassword is refused, saying how to set it", () => {
    const problems = problemsOf(
      services({ alertmanager: { email: { ...email, authUsername: "alerts" } } }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^vpn-enterprise:secrets\.alertmanagerSmtpPassword: given /);
    expect(problems[0]).toContain(
      "; allowed: the SMTP password (required with services.alertmanager.email.authUsername): pulumi config set --secret --path 'vpn-enterprise:secrets.alertmanagerSmtpPassword'",
    );
  });

  test("the SMTP password without a login is refused", () => {
    expect(problemsOf({ ...base, secrets: { alertmanagerSmtpPassword: "smtp-pass" } })).toEqual([
      `${ns}secrets.alertmanagerSmtpPassword: given a secret value (not shown); allowed: nothing unless services.alertmanager.email.authUsername is set (no login to use it)`,
    ]);
  });

  test("a webhook with its URL is accepted; the URL comes back as a secret", async () => {
    const cfg = parse(
      services(
        { alertmanager: { webhook: {} } },
        { secrets: { alertmanagerWebhookUrl: WEBHOOK_URL } },
      ),
    );
    expect(cfg.services.alertmanager.webhook).toEqual({ sendResolved: true, criticalOnly: false });
    const url = cfg.secrets.alertmanagerWebhookUrl;
    expect(url && (await pulumi.isSecret(url))).toBe(true);
  });

  test("a webhook without secrets.alertmanagerWebhookUrl is refused, saying how to set it", () => {
    const problems = problemsOf(services({ alertmanager: { webhook: { criticalOnly: true } } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^vpn-enterprise:secrets\.alertmanagerWebhookUrl: given /);
    expect(problems[0]).toContain(
      "; allowed: the webhook's URL (required with services.alertmanager.webhook): pulumi config set --secret --path 'vpn-enterprise:secrets.alertmanagerWebhookUrl'",
    );
  });

  test("the webhook URL without a webhook is refused, and not shown", () => {
    const raw = { ...base, secrets: { alertmanagerWebhookUrl: WEBHOOK_URL } };
    expect(problemsOf(raw)).toEqual([
      `${ns}secrets.alertmanagerWebhookUrl: given a secret value (not shown); allowed: nothing unless services.alertmanager.webhook is set`,
    ]);
    expect(errorText(raw)).not.toContain("tokenTOKENtoken");
  });

  test("a URL that is not http(s) is refused, and not shown", () => {
    const url = "ftp://hooks.example.com/T000/secretTOKEN";
    const raw = services(
      { alertmanager: { webhook: {} } },
      { secrets: { alertmanagerWebhookUrl: url } },
    );
    expect(problemsOf(raw)).toEqual([
      `${ns}secrets.alertmanagerWebhookUrl: given a secret value (not shown); allowed: an http(s) URL`,
    ]);
    const text = errorText(raw);
    expect(text).not.toContain(url);
    expect(text).not.toContain("secretTOKEN");
    expect(text).not.toContain("hooks.example.com");
  });

  test("the secrets' checks do not apply with alertmanager off", () => {
    const cfg = parse(
      services(
        { alertmanager: { enabled: false, webhook: {} } },
        { secrets: { alertmanagerSmtpPassword: "smtp-pass" } },
      ),
    );
    expect(cfg.services.alertmanager.enabled).toBe(false);
  });

  test.each<[string, Record<string, unknown>, string]>([
    [
      "a recipient without a domain",
      { ...email, to: ["oncall"] },
      `${ns}services.alertmanager.email.to[0]: given "oncall"; allowed: an email address`,
    ],
    [
      "a sender with a display name",
      { ...email, from: "Alerts <alertmanager@example.com>" },
      `${ns}services.alertmanager.email.from: given "Alerts <alertmanager@example.com>"; allowed: an email address`,
    ],
    [
      "no recipient",
      { ...email, to: [] },
      `${ns}services.alertmanager.email.to: given []; allowed: at least 1 item(s)`,
    ],
    [
      "a smarthost without a port",
      { ...email, smarthost: "smtp.example.com" },
      `${ns}services.alertmanager.email.smarthost: given "smtp.example.com"; allowed: host:port (port 1 to 65535), such as smtp.example.com:587`,
    ],
    [
      "a smarthost on port 0",
      { ...email, smarthost: "smtp.example.com:0" },
      `${ns}services.alertmanager.email.smarthost: given "smtp.example.com:0"; allowed: host:port (port 1 to 65535), such as smtp.example.com:587`,
    ],
    [
      "a smarthost on port 99999",
      { ...email, smarthost: "smtp.example.com:99999" },
      `${ns}services.alertmanager.email.smarthost: given "smtp.example.com:99999"; allowed: host:port (port 1 to 65535), such as smtp.example.com:587`,
    ],
    [
      "a smarthost as a URL",
      { ...email, smarthost: "smtp://smtp.example.com:587" },
      `${ns}services.alertmanager.email.smarthost: given "smtp://smtp.example.com:587"; allowed: host:port (port 1 to 65535), such as smtp.example.com:587`,
    ],
    [
      "no smarthost",
      { to: email.to, from: email.from },
      `${ns}services.alertmanager.email.smarthost: given nothing; allowed: a string (required)`,
    ],
    [
      "an empty login",
      { ...email, authUsername: "" },
      `${ns}services.alertmanager.email.authUsername: given ""; allowed: at least 1 characters`,
    ],
  ])("email refused: %s", (_what, body, line) => {
    // The password is given, so the only problem left is the one in the email block.
    const secrets = { alertmanagerSmtpPassword: "smtp-pass" };
    const raw = services(
      { alertmanager: { email: { authUsername: "alerts", ...body } } },
      { secrets },
    );
    expect(problemsOf(raw)).toEqual([line]);
  });

  test.each<[string, Record<string, unknown>, string]>([
    [
      "a group-by that is not a label name",
      { groupBy: ["alert-name"] },
      `${ns}services.alertmanager.route.groupBy[0]: given "alert-name"; allowed: a Prometheus label name`,
    ],
    [
      "an empty group-by",
      { groupBy: [] },
      `${ns}services.alertmanager.route.groupBy: given []; allowed: at least 1 item(s)`,
    ],
    [
      "a group interval of 0",
      { groupIntervalSeconds: 0 },
      `${ns}services.alertmanager.route.groupIntervalSeconds: given 0; allowed: a number >= 1`,
    ],
    [
      "a repeat interval over a week",
      { repeatIntervalMinutes: 10081 },
      `${ns}services.alertmanager.route.repeatIntervalMinutes: given 10081; allowed: a number <= 10080`,
    ],
  ])("route refused: %s", (_what, route, line) => {
    expect(problemsOf(services({ alertmanager: { route } }))).toEqual([line]);
  });

  test("a route of its own is kept", () => {
    const route = {
      groupBy: ["alertname", "service"],
      groupWaitSeconds: 0,
      groupIntervalSeconds: 300,
      repeatIntervalMinutes: 240,
    };
    expect(parse(services({ alertmanager: { route } })).services.alertmanager.route).toEqual(route);
  });
});

describe("services.prometheus", () => {
  test("a scrape timeout longer than the interval is refused", () => {
    expect(problemsOf(services({ prometheus: { scrapeTimeoutSeconds: 20 } }))).toEqual([
      `${ns}services.prometheus.scrapeTimeoutSeconds: given 20; allowed: at most scrapeIntervalSeconds (15)`,
    ]);
    expect(
      problemsOf(services({ prometheus: { scrapeIntervalSeconds: 5, scrapeTimeoutSeconds: 6 } })),
    ).toEqual([
      `${ns}services.prometheus.scrapeTimeoutSeconds: given 6; allowed: at most scrapeIntervalSeconds (5)`,
    ]);
  });

  test("a timeout equal to the interval, and a longer interval, are accepted", () => {
    const p = parse(
      services({ prometheus: { scrapeIntervalSeconds: 30, scrapeTimeoutSeconds: 30 } }),
    ).services.prometheus;
    expect(p).toMatchObject({ scrapeIntervalSeconds: 30, scrapeTimeoutSeconds: 30 });
  });

  test("certificateDays must leave the last 3 days to the critical alert", () => {
    expect(problemsOf(services({ prometheus: { alerts: { certificateDays: 3 } } }))).toEqual([
      `${ns}services.prometheus.alerts.certificateDays: given 3; allowed: a number >= 4 (the last 3 days are CertificateExpiringVerySoon's)`,
    ]);
    const p = parse(services({ prometheus: { alerts: { certificateDays: 4 } } })).services
      .prometheus;
    expect(p.alerts).toEqual({ ...DEFAULT_ALERT_THRESHOLDS, certificateDays: 4 });
  });

  test("own thresholds and retention are kept, the rest stay defaults", () => {
    const p = parse(
      services({
        prometheus: {
          retention: { days: 30, sizeGb: 20 },
          alerts: { cpuPercent: 95, p95Seconds: 0.5, backupMaxAgeHours: 50 },
        },
      }),
    ).services.prometheus;
    expect(p.retention).toEqual({ days: 30, sizeGb: 20 });
    expect(p.alerts).toEqual({
      ...DEFAULT_ALERT_THRESHOLDS,
      cpuPercent: 95,
      p95Seconds: 0.5,
      backupMaxAgeHours: 50,
    });
  });

  test.each<[string, Record<string, unknown>, string]>([
    [
      "no retention days",
      { retention: { days: 0 } },
      `${ns}services.prometheus.retention.days: given 0; allowed: a number >= 1`,
    ],
    [
      "a retention size of 0 GB",
      { retention: { sizeGb: 0 } },
      `${ns}services.prometheus.retention.sizeGb: given 0; allowed: a number >= 1`,
    ],
    [
      "a scrape interval under 5 s",
      { scrapeIntervalSeconds: 4, scrapeTimeoutSeconds: 4 },
      `${ns}services.prometheus.scrapeIntervalSeconds: given 4; allowed: a number >= 5`,
    ],
    [
      "a fractional evaluation interval",
      { evaluationIntervalSeconds: 7.5 },
      `${ns}services.prometheus.evaluationIntervalSeconds: given 7.5; allowed: an integer`,
    ],
    [
      "a CPU threshold of 0 percent",
      { alerts: { cpuPercent: 0 } },
      `${ns}services.prometheus.alerts.cpuPercent: given 0; allowed: a number > 0`,
    ],
    [
      "a memory threshold over 100 percent",
      { alerts: { memoryPercent: 101 } },
      `${ns}services.prometheus.alerts.memoryPercent: given 101; allowed: a number <= 100`,
    ],
    [
      "a certificate window over a year",
      { alerts: { certificateDays: 366 } },
      `${ns}services.prometheus.alerts.certificateDays: given 366; allowed: a number <= 365`,
    ],
    [
      "a latency window over a day",
      { alerts: { latencyMinutes: 1441 } },
      `${ns}services.prometheus.alerts.latencyMinutes: given 1441; allowed: a number <= 1440`,
    ],
  ])("refused: %s", (_what, body, line) => {
    expect(problemsOf(services({ prometheus: body }))).toEqual([line]);
  });
});

describe("services.loki", () => {
  test("a burst below the rate is refused, naming the burst", () => {
    expect(problemsOf(services({ loki: { ingestionRateMb: 10 } }))).toEqual([
      `${ns}services.loki.ingestionBurstMb: given nothing (so the default); allowed: at least ingestionRateMb (10)`,
    ]);
    expect(problemsOf(services({ loki: { ingestionRateMb: 6, ingestionBurstMb: 5 } }))).toEqual([
      `${ns}services.loki.ingestionBurstMb: given 5; allowed: at least ingestionRateMb (6)`,
    ]);
  });

  test("a burst equal to the rate is accepted", () => {
    const l = parse(
      services({ loki: { retentionDays: 30, ingestionRateMb: 16, ingestionBurstMb: 16 } }),
    ).services.loki;
    expect(l).toMatchObject({ retentionDays: 30, ingestionRateMb: 16, ingestionBurstMb: 16 });
  });

  test("no retention days is refused", () => {
    expect(problemsOf(services({ loki: { retentionDays: 0 } }))).toEqual([
      `${ns}services.loki.retentionDays: given 0; allowed: a number >= 1`,
    ]);
  });
});

describe("services.grafana", () => {
  test("anonymous viewers and sign-up when asked for", () => {
    const g = parse(services({ grafana: { anonymousViewer: true, allowSignUp: true } })).services
      .grafana;
    expect(g).toMatchObject({ anonymousViewer: true, allowSignUp: true });
  });

  test("a string for a boolean is refused", () => {
    expect(problemsOf(services({ grafana: { allowSignUp: "no" } }))).toEqual([
      `${ns}services.grafana.allowSignUp: given "no"; allowed: a boolean`,
    ]);
  });
});

describe("unknown keys are refused, with a hint when one is close", () => {
  const GRAFANA_KEYS =
    "enabled, image, replicas, resources, user, env, ports, dataProtection, anonymousViewer, allowSignUp";
  test.each<[string, Record<string, unknown>, string]>([
    [
      "services.grafana.anonymousViewr",
      services({ grafana: { anonymousViewr: true } }),
      `${ns}services.grafana.anonymousViewr: given true, an unknown key (did you mean "anonymousViewer"?); allowed keys: ${GRAFANA_KEYS}`,
    ],
    [
      "monitoring.dockerSockt",
      { ...base, monitoring: { dockerSockt: {} } },
      `${ns}monitoring.dockerSockt: given {}, an unknown key (did you mean "dockerSocket"?); allowed keys: enabled, dockerSocket`,
    ],
    [
      "monitoring.dockerSocket.groupid",
      { ...base, monitoring: { dockerSocket: { groupid: 998 } } },
      `${ns}monitoring.dockerSocket.groupid: given 998, an unknown key (did you mean "groupId"?); allowed keys: path, groupId`,
    ],
    [
      "services.prometheus.alerts.cpuPercnt",
      services({ prometheus: { alerts: { cpuPercnt: 70 } } }),
      `${ns}services.prometheus.alerts.cpuPercnt: given 70, an unknown key (did you mean "cpuPercent"?); allowed keys: serviceDownMinutes, cpuPercent, cpuMinutes, memoryPercent, memoryMinutes, diskFreePercent, diskMinutes, errorRatePercent, errorRateMinutes, p95Seconds, latencyMinutes, backupMaxAgeHours, certificateDays`,
    ],
    [
      "services.prometheus.retention.day",
      services({ prometheus: { retention: { day: 7 } } }),
      `${ns}services.prometheus.retention.day: given 7, an unknown key (did you mean "days"?); allowed keys: days, sizeGb`,
    ],
    [
      "services.alertmanager.route.groupby",
      services({ alertmanager: { route: { groupby: ["service"] } } }),
      `${ns}services.alertmanager.route.groupby: given ["service"], an unknown key (did you mean "groupBy"?); allowed keys: groupBy, groupWaitSeconds, groupIntervalSeconds, repeatIntervalMinutes`,
    ],
    [
      "services.alertmanager.webhook.sendResolve",
      services(
        { alertmanager: { webhook: { sendResolve: false } } },
        { secrets: { alertmanagerWebhookUrl: WEBHOOK_URL } },
      ),
      `${ns}services.alertmanager.webhook.sendResolve: given false, an unknown key (did you mean "sendResolved"?); allowed keys: sendResolved, criticalOnly`,
    ],
    [
      "services.loki.retentionDay",
      services({ loki: { retentionDay: 7 } }),
      `${ns}services.loki.retentionDay: given 7, an unknown key (did you mean "retentionDays"?); allowed keys: enabled, image, replicas, resources, user, env, ports, dataProtection, retentionDays, ingestionRateMb, ingestionBurstMb`,
    ],
    [
      "services.cadvisor.dataProtection (a service without a volume)",
      services({ cadvisor: { dataProtection: { protect: false } } }),
      `${ns}services.cadvisor.dataProtection: given {"protect":false}, an unknown key; allowed keys: enabled, image, replicas, resources, user, env, ports`,
    ],
  ])("%s", (_key, raw, line) => {
    expect(problemsOf(raw)).toEqual([line]);
  });

  test("no hint when nothing is close", () => {
    const [line] = problemsOf(services({ prometheus: { scrapeInterval: 30 } }));
    expect(line).toMatch(
      /^vpn-enterprise:services\.prometheus\.scrapeInterval: given 30, an unknown key; allowed keys: /,
    );
    expect(line).not.toContain("did you mean");
  });

  test("a misspelt secret gets the hint, and its value is not shown", () => {
    const raw = { ...base, secrets: { alertmanagerWebhookURL: WEBHOOK_URL } };
    const [line] = problemsOf(raw);
    expect(line).toMatch(
      /^vpn-enterprise:secrets\.alertmanagerWebhookURL: given a secret value \(not shown\), an unknown key \(did you mean "alertmanagerWebhookUrl"\?\); allowed keys: /,
    );
    expect(errorText(raw)).not.toContain("tokenTOKENtoken");
  });
});

describe("published ports: loopback only", () => {
  const withPort = MONITORING_SERVICES.filter((n) => entry(n).port !== undefined);

  test("every monitoring service listens on a port", () => {
    expect(withPort).toEqual(MONITORING_SERVICES);
  });

  test.each(withPort)("%s on 0.0.0.0 is refused", (name) => {
    const port = entry(name).port ?? 0;
    const raw = services(
      running(name, { ports: [{ hostIp: "0.0.0.0", host: 19000, container: port }] }),
    );
    expect(problemsOf(raw)).toEqual([
      `${ns}services.${name}.ports[0].hostIp: given "0.0.0.0"; allowed: a loopback address such as 127.0.0.1: only the edge (services.nginx) publishes on other addresses`,
    ]);
  });

  test.each(withPort)("%s on 127.0.0.1 is accepted", (name) => {
    const port = entry(name).port ?? 0;
    const cfg = parse(
      services(running(name, { ports: [{ hostIp: "127.0.0.1", host: 19000, container: port }] })),
    );
    expect(cfg.services[name].ports).toEqual([
      { hostIp: "127.0.0.1", host: 19000, container: port, protocol: "tcp" },
    ]);
  });

  test("grafana on a LAN address is refused too; on loopback by default hostIp", () => {
    expectProblem(
      services({ grafana: { ports: [{ hostIp: "192.168.1.10", host: 3000 }] } }),
      "services.grafana.ports[0].hostIp",
      "only the edge (services.nginx) publishes on other addresses",
    );
    expect(
      parse(services({ grafana: { ports: [{ host: 3000 }] } })).services.grafana.ports,
    ).toEqual([{ hostIp: "127.0.0.1", host: 3000, protocol: "tcp" }]);
  });
});

describe("the monitoring logins' passwords", () => {
  test.each(["postgresMonitorPassword", "redisMonitorPassword"])(
    "%s may be given (16+ characters) and comes back as a secret",
    async (name) => {
      const cfg = parse({ ...base, secrets: { [name]: "a-long-monitor-secret" } });
      const value = (cfg.secrets as Record<string, pulumi.Output<string> | undefined>)[name];
      expect(value && (await pulumi.isSecret(value))).toBe(true);
    },
  );

  test.each(["postgresMonitorPassword", "redisMonitorPassword"])(
    "%s under 16 characters is refused without showing it",
    (name) => {
      const raw = { ...base, secrets: { [name]: "short-secret" } };
      expect(problemsOf(raw)).toEqual([
        `${ns}secrets.${name}: given a secret value (not shown); allowed: at least 16 characters`,
      ]);
      expect(errorText(raw)).not.toContain("short-secret");
    },
  );
});

describe("what an alerting error shows", () => {
  const email = {
    to: ["ops@example.com"],
    from: "alerts@example.com",
    smarthost: "smtp.example.com:587",
  };

  test("a required secret that is missing is given as nothing", () => {
    expect(
      problemsOf(services({ alertmanager: { email: { ...email, authUsername: "x" } } })),
    ).toEqual([
      `${ns}secrets.alertmanagerSmtpPassword: given nothing; allowed: the SMTP password (required with services.alertmanager.email.authUsername): pulumi config set --secret --path 'vpn-enterprise:secrets.alertmanagerSmtpPassword'`,
    ]);
    expect(problemsOf(services({ alertmanager: { webhook: {} } }))).toEqual([
      `${ns}secrets.alertmanagerWebhookUrl: given nothing; allowed: the webhook's URL (required with services.alertmanager.webhook): pulumi config set --secret --path 'vpn-enterprise:secrets.alertmanagerWebhookUrl'`,
    ]);
  });

  test("a URL or password put in the wrong place is not shown", () => {
    const token = "T0/B0/SECRET-TOKEN";
    const raw = services({
      alertmanager: {
        webhook: { url: `https://hooks.slack.com/services/${token}` },
        email: { ...email, authPassword: "hunter2-hunter2" },
      },
    });
    const text = errorText(raw);
    expect(text).not.toContain(token);
    expect(text).not.toContain("hunter2");
    expect(problemsOf(raw)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^vpn-enterprise:services\.alertmanager\.webhook\.url: given a value \(not shown: URLs and passwords belong under secrets\), an unknown key/,
        ),
        expect.stringMatching(
          /^vpn-enterprise:services\.alertmanager\.email\.authPassword: given a value \(not shown: URLs and passwords belong under secrets\), an unknown key/,
        ),
      ]),
    );
  });
});

test("a stack's env may not set what the platform wires into Grafana and the exporters", () => {
  expect(
    problemsOf(
      services({
        grafana: { env: { GF_SERVER_ROOT_URL: "http://elsewhere/", GF_LOG_LEVEL: "debug" } },
        redisExporter: { env: { REDIS_ADDR: "redis://other:6379" } },
      }),
    ),
  ).toEqual([
    `${ns}services.grafana.env.GF_SERVER_ROOT_URL: given "http://elsewhere/"; allowed: a name the platform does not set itself (it sets GF_SERVER_ROOT_URL from the rest of the config)`,
    `${ns}services.redisExporter.env.REDIS_ADDR: given "redis://other:6379"; allowed: a name the platform does not set itself (it sets REDIS_ADDR from the rest of the config)`,
  ]);
});
