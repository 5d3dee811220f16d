/** prometheus.yml and the alert rule file as data, and every input the renderers refuse. */
import { parse } from "yaml";
import {
  ALERT_NAMES,
  AlertRulesInput,
  AlertThresholds,
  CERTIFICATE_EXPIRY_METRIC,
  DEFAULT_ALERT_THRESHOLDS,
  promDuration,
  renderAlertRules,
} from "../../render/alertRules";
import {
  PrometheusConfigInput,
  ScrapeJob,
  isHostPort,
  renderPrometheusConfig,
} from "../../render/prometheus";

/** The message of the error `render` throws; fails the test when it does not throw. */
function refusal(render: () => string): string {
  try {
    render();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the renderer to refuse the input");
}

describe("prometheus.yml", () => {
  const api: ScrapeJob = {
    name: "api",
    metricsPath: "/metrics",
    targets: [1, 2].map((n) => ({
      address: `vpn-prod-api-${n}:3000`,
      labels: { service: "api", container: `vpn-prod-api-${n}` },
    })),
  };
  const base: PrometheusConfigInput = {
    scrapeIntervalSeconds: 15,
    scrapeTimeoutSeconds: 10,
    evaluationIntervalSeconds: 30,
    externalLabels: { project: "vpn-enterprise", stack: "prod" },
    alertmanagers: ["alertmanager:9093"],
    ruleFiles: ["/etc/prometheus/rules/*.yml"],
    jobs: [
      api,
      {
        name: "node-exporter",
        metricsPath: "/metrics",
        targets: [{ address: "node-exporter:9100", labels: { service: "node-exporter" } }],
      },
    ],
  };

  interface Doc {
    global: Record<string, unknown>;
    alerting?: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    rule_files: string[];
    scrape_configs: {
      job_name: string;
      metrics_path: string;
      static_configs: { targets: string[]; labels: Record<string, string> }[];
    }[];
  }
  const doc = (input: PrometheusConfigInput) => parse(renderPrometheusConfig(input)) as Doc;
  const refused = (input: unknown) =>
    refusal(() => renderPrometheusConfig(input as PrometheusConfigInput));
  const withJob = (job: Partial<ScrapeJob>) => ({ ...base, jobs: [{ ...api, ...job }] });

  test("global settings are durations in seconds, with the external labels", () => {
    expect(doc(base).global).toEqual({
      scrape_interval: "15s",
      scrape_timeout: "10s",
      evaluation_interval: "30s",
      external_labels: { project: "vpn-enterprise", stack: "prod" },
    });
  });

  test("the alerting block names each Alertmanager, and is left out without one", () => {
    expect(doc(base).alerting).toEqual({
      alertmanagers: [{ static_configs: [{ targets: ["alertmanager:9093"] }] }],
    });
    const text = renderPrometheusConfig({ ...base, alertmanagers: [] });
    expect((parse(text) as Doc).alerting).toBeUndefined();
    expect(text).not.toMatch(/alerting/);
  });

  test("rule files are listed as given", () => {
    expect(doc(base).rule_files).toEqual(["/etc/prometheus/rules/*.yml"]);
    expect(doc({ ...base, ruleFiles: [] }).rule_files).toEqual([]);
  });

  test("one scrape config per job, one static config per target with its own labels", () => {
    expect(doc(base).scrape_configs).toEqual([
      {
        job_name: "api",
        metrics_path: "/metrics",
        static_configs: [
          {
            targets: ["vpn-prod-api-1:3000"],
            labels: { service: "api", container: "vpn-prod-api-1" },
          },
          {
            targets: ["vpn-prod-api-2:3000"],
            labels: { service: "api", container: "vpn-prod-api-2" },
          },
        ],
      },
      {
        job_name: "node-exporter",
        metrics_path: "/metrics",
        static_configs: [{ targets: ["node-exporter:9100"], labels: { service: "node-exporter" } }],
      },
    ]);
  });

  test("the file says it is rendered, and no key Prometheus 3 dropped is used", () => {
    const text = renderPrometheusConfig(base);
    expect(text.startsWith("# Rendered by the vpn-enterprise Pulumi program")).toBe(true);
    expect(text).not.toMatch(/scrape_classic_histograms|query_log|bearer_token:/);
  });

  test.each([
    ["api:3000", true],
    ["10.0.0.7:9100", true],
    ["[::1]:9090", true],
    ["vpn-prod-api-1.internal:1", true],
    ["x", false],
    [":3000", false],
    ["api:", false],
    ["api:0", false],
    ["api:65536", false],
    ["api:30a", false],
    ["http://api:3000", false],
    ["-api:3000", false],
    ["api 1:3000", false],
  ])("isHostPort(%p) is %p", (address, ok) => {
    expect(isHostPort(address)).toBe(ok);
  });

  describe("refusals name the field", () => {
    test("an address that is not host:port, in the form the brief gives", () => {
      const jobs = [api, api, { ...api, name: "web", targets: [{ address: "x", labels: {} }] }];
      expect(refused({ ...base, jobs: jobs.map((j, i) => ({ ...j, name: `job${i}` })) })).toMatch(
        'jobs[2].targets[0].address: given "x"; allowed: host:port',
      );
    });

    test.each(["API", "1api", "api.v2", "", "api job"])("job name %p", (name) => {
      expect(refused(withJob({ name }))).toMatch(
        `jobs[0].name: given ${JSON.stringify(name)}; allowed: /^[a-z][a-z0-9_-]*$/`,
      );
    });

    test("two jobs with one name", () => {
      expect(refused({ ...base, jobs: [api, api] })).toMatch(
        'jobs[1].name: given "api"; allowed: a name no other job has',
      );
    });

    test.each(["metrics", "", "/metrics?x=1", "/a b"])("metrics path %p", (metricsPath) => {
      expect(refused(withJob({ metricsPath }))).toMatch(
        /jobs\[0\]\.metricsPath: given .*; allowed: a path/,
      );
    });

    test("a job without targets", () => {
      expect(refused(withJob({ targets: [] }))).toMatch(
        "jobs[0].targets: given []; allowed: at least one target",
      );
    });

    test.each([
      ["1service", "label name"],
      ["__address__", "label name"],
      ["service-name", "label name"],
    ])("target label name %p", (name) => {
      expect(
        refused(withJob({ targets: [{ address: "api:3000", labels: { [name]: "x" } }] })),
      ).toMatch(
        `jobs[0].targets[0].labels: label name ${JSON.stringify(name)}; allowed: /^[a-zA-Z_][a-zA-Z0-9_]*$/, not starting with __`,
      );
    });

    test("a target label that would replace the job label", () => {
      expect(
        refused(withJob({ targets: [{ address: "api:3000", labels: { job: "x" } }] })),
      ).toMatch("jobs[0].targets[0].labels.job: set by Prometheus from the job");
    });

    test("an empty label value, which Prometheus would drop silently", () => {
      expect(refused({ ...base, externalLabels: { stack: "" } })).toMatch(
        'externalLabels.stack: given ""; allowed: a non-empty string',
      );
    });

    test("an external label name starting with __", () => {
      expect(refused({ ...base, externalLabels: { __stack: "prod" } })).toMatch(
        'externalLabels: label name "__stack"',
      );
    });

    test.each(["scrapeIntervalSeconds", "scrapeTimeoutSeconds", "evaluationIntervalSeconds"])(
      "%s must be a whole number of seconds from 1",
      (field) => {
        for (const value of [0, -5, 1.5, Number.NaN]) {
          expect(refused({ ...base, [field]: value })).toMatch(
            `${field}: given ${String(value)}; allowed: a whole number of seconds, at least 1`,
          );
        }
      },
    );

    test("a timeout longer than the interval", () => {
      expect(refused({ ...base, scrapeTimeoutSeconds: 16 })).toMatch(
        "scrapeTimeoutSeconds: given 16; allowed: at most scrapeIntervalSeconds (15)",
      );
      expect(() => renderPrometheusConfig({ ...base, scrapeTimeoutSeconds: 15 })).not.toThrow();
    });

    test("an Alertmanager address that is not host:port", () => {
      expect(refused({ ...base, alertmanagers: ["http://alertmanager:9093"] })).toMatch(
        'alertmanagers[0]: given "http://alertmanager:9093"; allowed: host:port',
      );
    });

    test("an empty rule file path", () => {
      expect(refused({ ...base, ruleFiles: ["a.yml", " "] })).toMatch(
        'ruleFiles[1]: given " "; allowed: a file path or glob',
      );
    });

    test("every problem is reported at once, prefixed with the file", () => {
      const message = refused({
        ...base,
        scrapeIntervalSeconds: 0,
        alertmanagers: ["am"],
        jobs: [{ ...api, name: "Bad" }],
      });
      expect(message).toMatch(/^prometheus\.yml: /);
      expect(message).toMatch(/scrapeIntervalSeconds/);
      expect(message).toMatch(/alertmanagers\[0\]/);
      expect(message).toMatch(/jobs\[0\]\.name/);
    });
  });
});

describe("alert rules", () => {
  const ALL = { cadvisor: true, nodeExporter: true, api: true, backups: true };
  const NONE = { cadvisor: false, nodeExporter: false, api: false, backups: false };
  const certificate = { domain: "vpn.example.com", expiry: "2030-01-01T00:00:00Z" };
  const full: AlertRulesInput = { thresholds: DEFAULT_ALERT_THRESHOLDS, sources: ALL, certificate };

  interface Rule {
    alert?: string;
    record?: string;
    expr: string;
    for?: string;
    labels: Record<string, string>;
    annotations?: { summary: string; description: string };
  }
  const groups = (input: AlertRulesInput) =>
    (parse(renderAlertRules(input)) as { groups: { name: string; rules: Rule[] }[] }).groups;
  const rules = (input: AlertRulesInput) => groups(input).flatMap((g) => g.rules);
  const alert = (name: string, input: AlertRulesInput = full) => {
    const found = rules(input).find((r) => r.alert === name);
    if (!found) throw new Error(`${name} not rendered`);
    return found;
  };
  const alertNames = (input: AlertRulesInput) =>
    rules(input).flatMap((r) => (r.alert === undefined ? [] : [r.alert]));
  const withThresholds = (thresholds: Partial<AlertThresholds>): AlertRulesInput => ({
    ...full,
    thresholds: { ...DEFAULT_ALERT_THRESHOLDS, ...thresholds },
  });
  const refused = (input: unknown) => refusal(() => renderAlertRules(input as AlertRulesInput));

  test("the defaults are the guide's, and frozen", () => {
    expect(DEFAULT_ALERT_THRESHOLDS).toEqual({
      serviceDownMinutes: 1,
      cpuPercent: 80,
      cpuMinutes: 5,
      memoryPercent: 90,
      memoryMinutes: 5,
      diskFreePercent: 10,
      diskMinutes: 5,
      errorRatePercent: 5,
      errorRateMinutes: 5,
      p95Seconds: 1,
      latencyMinutes: 10,
      backupMaxAgeHours: 26,
      certificateDays: 14,
    });
    expect(Object.isFrozen(DEFAULT_ALERT_THRESHOLDS)).toBe(true);
  });

  test("with every source and a certificate, each alert of ALERT_NAMES is rendered once", () => {
    expect(alertNames(full)).toEqual([...ALERT_NAMES]);
  });

  test("every alert has a severity, a summary and a description", () => {
    const severities = Object.fromEntries(
      rules(full).flatMap((r) => (r.alert ? [[r.alert, r.labels.severity]] : [])),
    );
    expect(severities).toEqual({
      ServiceDown: "critical",
      HighCpuUsage: "warning",
      HighMemoryUsage: "warning",
      DiskSpaceLow: "critical",
      HighErrorRate: "critical",
      SlowResponses: "warning",
      BackupTooOld: "critical",
      BackupMetricsMissing: "critical",
      BackupFailed: "warning",
      CertificateExpiringSoon: "warning",
      CertificateExpiringVerySoon: "critical",
    });
    for (const rule of rules(full).filter((r) => r.alert)) {
      expect(rule.annotations?.summary).toMatch(/\S/);
      expect(rule.annotations?.description).toMatch(/\S/);
    }
  });

  test("no optional source and no certificate leaves ServiceDown alone", () => {
    const input = { ...full, sources: NONE, certificate: null };
    expect(alertNames(input)).toEqual(["ServiceDown"]);
    expect(groups(input).map((g) => g.name)).toEqual(["vpn-availability"]);
  });

  test.each([
    ["cadvisor", ["HighCpuUsage", "HighMemoryUsage"]],
    ["nodeExporter", ["DiskSpaceLow"]],
    ["api", ["HighErrorRate", "SlowResponses"]],
  ] as const)("the %s source adds %p", (source, added) => {
    const input = { ...full, sources: { ...NONE, [source]: true }, certificate: null };
    expect(alertNames(input)).toEqual(["ServiceDown", ...added]);
  });

  test("backups (read through node-exporter) add the three backup alerts", () => {
    const input = {
      ...full,
      sources: { ...NONE, nodeExporter: true, backups: true },
      certificate: null,
    };
    expect(alertNames(input)).toEqual([
      "ServiceDown",
      "DiskSpaceLow",
      "BackupTooOld",
      "BackupMetricsMissing",
      "BackupFailed",
    ]);
  });

  test("the certificate's expiry is recorded as a constant with its domain, before its alerts", () => {
    const group = groups(full).find((g) => g.name === "vpn-certificates");
    expect(group?.rules[0]).toEqual({
      record: CERTIFICATE_EXPIRY_METRIC,
      expr: `vector(${Date.UTC(2030, 0, 1) / 1000})`,
      labels: { domain: "vpn.example.com" },
    });
    expect(alert("CertificateExpiringSoon").expr).toBe(
      `(${CERTIFICATE_EXPIRY_METRIC} - time()) / 86400 < 14 >= 3`,
    );
    expect(alert("CertificateExpiringVerySoon").expr).toBe(
      `(${CERTIFICATE_EXPIRY_METRIC} - time()) / 86400 < 3`,
    );
    expect(groups({ ...full, certificate: null }).map((g) => g.name)).not.toContain(
      "vpn-certificates",
    );
  });

  test("an expiry with an offset and fractions is recorded in whole Unix seconds", () => {
    const input = {
      ...full,
      certificate: { domain: "*.example.com", expiry: "2030-01-01T02:00:00.900+02:00" },
    };
    expect(rules(input).find((r) => r.record)?.expr).toBe(`vector(${Date.UTC(2030, 0, 1) / 1000})`);
  });

  test("ServiceDown is `up == 0` held for serviceDownMinutes", () => {
    expect(alert("ServiceDown")).toMatchObject({ expr: "up == 0", for: "1m" });
    expect(alert("ServiceDown", withThresholds({ serviceDownMinutes: 0.5 })).for).toBe("30s");
    expect(alert("ServiceDown").annotations?.summary).toBe("{{ $labels.service }} is down");
  });

  test("cAdvisor alerts name the service from its Docker label and compare to the limits", () => {
    const cpu = alert("HighCpuUsage", withThresholds({ cpuPercent: 70, cpuMinutes: 3 }));
    expect(cpu.expr).toContain("rate(container_cpu_usage_seconds_total{");
    expect(cpu.expr).toContain("[3m]");
    expect(cpu.expr).toContain("container_spec_cpu_quota{");
    expect(cpu.expr).toContain("> 0) / container_spec_cpu_period{");
    expect(cpu.expr).toMatch(/> 70$/);
    expect(cpu.for).toBeUndefined();
    for (const name of ["HighCpuUsage", "HighMemoryUsage"]) {
      const rule = alert(name);
      expect(rule.expr).toContain('"service", "$1", "container_label_vpn_enterprise_service"');
      expect(rule.expr).toContain('"container", "$1", "name"');
      expect(rule.expr).toContain('name!=""');
      expect(rule.annotations?.description).toContain("{{ $labels.container }}");
      expect(rule.annotations?.description).toContain("{{ $value");
    }
    const memory = alert(
      "HighMemoryUsage",
      withThresholds({ memoryPercent: 75, memoryMinutes: 10 }),
    );
    expect(memory.expr).toContain("container_spec_memory_limit_bytes{");
    expect(memory.expr).toMatch(/> 75$/);
    expect(memory.for).toBe("10m");
  });

  test("DiskSpaceLow leaves out tmpfs, overlay and other pseudo filesystems", () => {
    const disk = alert("DiskSpaceLow", withThresholds({ diskFreePercent: 15, diskMinutes: 2 }));
    expect(disk.expr).toMatch(/fstype!~`[^`]*\btmpfs\b[^`]*\boverlay\b/);
    expect(disk.expr).toMatch(/< 15$/);
    expect(disk.for).toBe("2m");
  });

  test("HighErrorRate is the 5xx share over its window, with empty traffic out of the denominator", () => {
    const rule = alert(
      "HighErrorRate",
      withThresholds({ errorRatePercent: 2.5, errorRateMinutes: 15 }),
    );
    expect(rule.expr).toBe(
      [
        '100 * sum by (service) (rate(http_requests_total{status=~"5.."}[15m]))',
        "/ (sum by (service) (rate(http_requests_total[15m])) > 0)",
        "> 2.5",
      ].join("\n"),
    );
  });

  test("SlowResponses is the p95 of the duration histogram per service", () => {
    const rule = alert("SlowResponses", withThresholds({ p95Seconds: 0.5, latencyMinutes: 20 }));
    expect(rule.expr).toContain("histogram_quantile(0.95,");
    expect(rule.expr).toContain(
      "sum by (service, le) (rate(http_request_duration_seconds_bucket[20m]))",
    );
    expect(rule.expr).toMatch(/> 0.5$/);
  });

  test("backup alerts: age in seconds, absence held for the same time, a failed attempt", () => {
    const input = withThresholds({ backupMaxAgeHours: 48 });
    expect(alert("BackupTooOld", input).expr).toBe(
      "time() - vpn_backup_last_success_timestamp_seconds > 172800",
    );
    expect(alert("BackupMetricsMissing", input)).toMatchObject({
      expr: "absent(vpn_backup_last_success_timestamp_seconds)",
      for: "48h",
    });
    expect(alert("BackupFailed").expr).toBe("vpn_backup_last_attempt_success == 0");
  });

  test.each([
    [0, "0s"],
    [30, "30s"],
    [60, "1m"],
    [90, "90s"],
    [3600, "1h"],
    [93600, "26h"],
    [5400, "90m"],
  ])("promDuration(%p) is %p", (seconds, text) => {
    expect(promDuration(seconds)).toBe(text);
  });

  test("the rendered file is YAML with a header and multi-line expressions kept readable", () => {
    const text = renderAlertRules(full);
    expect(text.startsWith("# Rendered by the vpn-enterprise Pulumi program")).toBe(true);
    expect(text).toMatch(/expr: \|-\n\s+100 \* sum by \(service, container\)/);
  });

  describe("refusals name the field", () => {
    const minutes = [
      "serviceDownMinutes",
      "cpuMinutes",
      "memoryMinutes",
      "diskMinutes",
      "errorRateMinutes",
      "latencyMinutes",
    ] as const;
    test.each(minutes)("%s: positive, in whole seconds", (key) => {
      for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 0.001]) {
        expect(refused(withThresholds({ [key]: value }))).toMatch(
          `thresholds.${key}: given ${String(value)}; allowed: a number greater than 0 (whole seconds)`,
        );
      }
    });

    test.each(["cpuPercent", "memoryPercent", "errorRatePercent"] as const)(
      "%s: in (0, 100]",
      (key) => {
        for (const value of [0, -3, 100.5]) {
          expect(refused(withThresholds({ [key]: value }))).toMatch(
            `thresholds.${key}: given ${String(value)}; allowed: a number greater than 0 and at most 100`,
          );
        }
        expect(() => renderAlertRules(withThresholds({ [key]: 100 }))).not.toThrow();
      },
    );

    test("diskFreePercent: in (0, 100), since 100% free would fire everywhere", () => {
      expect(refused(withThresholds({ diskFreePercent: 100 }))).toMatch(
        "thresholds.diskFreePercent: given 100; allowed: a number greater than 0 and less than 100",
      );
    });

    test("p95Seconds and backupMaxAgeHours: positive", () => {
      expect(refused(withThresholds({ p95Seconds: 0 }))).toMatch(
        "thresholds.p95Seconds: given 0; allowed: a number greater than 0",
      );
      expect(refused(withThresholds({ backupMaxAgeHours: -26 }))).toMatch(
        "thresholds.backupMaxAgeHours: given -26; allowed: a number greater than 0 (whole seconds)",
      );
    });

    test("certificateDays: more than the 3 days of the critical alert", () => {
      expect(refused(withThresholds({ certificateDays: 3 }))).toMatch(
        "thresholds.certificateDays: given 3; allowed: a number greater than 3 (whole seconds)",
      );
    });

    test("a threshold that is not a number", () => {
      expect(refused(withThresholds({ cpuPercent: "80" as unknown as number }))).toMatch(
        'thresholds.cpuPercent: given "80"',
      );
      expect(refused({ ...full, thresholds: undefined })).toMatch("thresholds: given undefined");
    });

    test.each(["2030-01-01", "2030-13-01T00:00:00Z", "tomorrow", "2030-01-01 00:00:00Z", ""])(
      "certificate expiry %p",
      (expiry) => {
        expect(refused({ ...full, certificate: { ...certificate, expiry } })).toMatch(
          `certificate.expiry: given ${JSON.stringify(expiry)}; allowed: an RFC 3339 time`,
        );
      },
    );

    test.each(["", "https://vpn.example.com", "vpn_example.com", "-vpn.example.com", "a..b"])(
      "certificate domain %p",
      (domain) => {
        expect(refused({ ...full, certificate: { ...certificate, domain } })).toMatch(
          `certificate.domain: given ${JSON.stringify(domain)}; allowed: a DNS name`,
        );
      },
    );

    test("a source that is not a boolean", () => {
      expect(refused({ ...full, sources: { ...ALL, api: "yes" } })).toMatch(
        'sources.api: given "yes"; allowed: true or false',
      );
    });

    test("backups without node-exporter, whose textfile collector exports them", () => {
      expect(refused({ ...full, sources: { ...ALL, nodeExporter: false } })).toMatch(
        "sources.backups: given true; allowed: false while sources.nodeExporter is false",
      );
    });

    test("every problem is reported at once, prefixed with the file", () => {
      const message = refused({
        ...withThresholds({ cpuPercent: 0, latencyMinutes: 0 }),
        certificate: { domain: "", expiry: "" },
      });
      expect(message).toMatch(/^alert rules: /);
      for (const field of [
        "cpuPercent",
        "latencyMinutes",
        "certificate.domain",
        "certificate.expiry",
      ]) {
        expect(message).toContain(field);
      }
    });
  });
});
