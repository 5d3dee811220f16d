/**
 * The rendered rule files under the real promtool (Prometheus 3.5): `check rules` accepts them and
 * rejects broken variants, and `test rules` shows every alert firing for the series it is about and
 * staying quiet for the ones just inside its threshold.
 */
import { parse, stringify } from "yaml";
import {
  ALERT_NAMES,
  AlertRulesInput,
  AlertThresholds,
  DEFAULT_ALERT_THRESHOLDS,
  renderAlertRules,
} from "../../../render/alertRules";
import { runTool } from "./harness";

const ALL_SOURCES = { cadvisor: true, nodeExporter: true, api: true, backups: true };
const NO_SOURCES = { cadvisor: false, nodeExporter: false, api: false, backups: false };
/** 20 days after the Unix epoch, where promtool's test clock starts. */
const CERTIFICATE = { domain: "vpn.example.com", expiry: "1970-01-21T00:00:00Z" };

const full: AlertRulesInput = {
  thresholds: DEFAULT_ALERT_THRESHOLDS,
  sources: ALL_SOURCES,
  certificate: CERTIFICATE,
};

function rulesWith(thresholds: Partial<AlertThresholds> = {}): string {
  return renderAlertRules({ ...full, thresholds: { ...DEFAULT_ALERT_THRESHOLDS, ...thresholds } });
}

type Labels = Readonly<Record<string, string>>;

/** A promtool series selector: `name{a="b",...}`. */
function series(name: string, labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${pairs.join(",")}}`;
}

interface InputSeries {
  readonly series: string;
  readonly values: string;
}
interface AlertCheck {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts: readonly {
    readonly exp_labels: Labels;
    readonly exp_annotations?: Labels;
  }[];
}
interface TestGroup {
  readonly name: string;
  readonly interval: string;
  readonly input_series: readonly InputSeries[];
  readonly alert_rule_test?: readonly AlertCheck[];
  readonly promql_expr_test?: readonly object[];
}

/** Runs `promtool test rules` on one test file over `rules`. */
function promtoolTest(rules: string, tests: readonly TestGroup[], evaluationInterval = "15s") {
  const testFile = stringify({
    rule_files: ["rules.yml"],
    evaluation_interval: evaluationInterval,
    tests,
  });
  return runTool("promtool", ["test", "rules", "tests.yml"], {
    "rules.yml": rules,
    "tests.yml": testFile,
  });
}

/**
 * Every alertname a passing expectRuleTestsPass run saw fire (a check with non-empty exp_alerts).
 * The last test of this file compares it with ALERT_NAMES.
 */
const firedAlerts = new Set<string>();

function expectRuleTestsPass(rules: string, tests: readonly TestGroup[], interval?: string): void {
  const run = promtoolTest(rules, tests, interval);
  if (run.status !== 0) throw new Error(`promtool test rules failed:\n${run.output}`);
  expect(run.output).toContain("SUCCESS");
  for (const group of tests) {
    for (const check of group.alert_rule_test ?? []) {
      if (check.exp_alerts.length > 0) firedAlerts.add(check.alertname);
    }
  }
}

/** Labels Prometheus attaches to every series of a target (prometheus.yml sets service/container). */
const target = (job: string, instance: string, service: string, container: string): Labels => ({
  job,
  instance,
  service,
  container,
});
const API_1 = target("api", "api-1:3000", "api", "vpn-prod-api-1");
const API_2 = target("api", "api-2:3000", "api", "vpn-prod-api-2");
const API_3 = target("api", "api-3:3000", "api", "vpn-prod-api-3");
const WEB = target("web", "web:3000", "web", "vpn-prod-web-1");
const PYTHON_AI = target("python-ai", "python-ai:5000", "python-ai", "vpn-prod-python-ai-1");
const CADVISOR = target("cadvisor", "cadvisor:8080", "cadvisor", "vpn-prod-cadvisor");
const NODE = target("node-exporter", "node-exporter:9100", "node-exporter", "vpn-prod-node-exp");

/** A cAdvisor series about container `name` of platform service `service`. */
const cadvisorOf = (service: string, name: string): Labels => ({
  ...CADVISOR,
  id: `/system.slice/docker-${name}.scope`,
  image: `vpn/${service}:1`,
  name,
  container_label_vpn_enterprise_service: service,
});

type Expected = { readonly exp_labels: Labels; readonly exp_annotations: Labels };

/**
 * The alerts as promtool must report them, annotations included: promtool compares annotations
 * exactly, which also proves the label and value templating.
 */
const fires = {
  serviceDown: (labels: Labels, after: string): Expected => ({
    exp_labels: { ...labels, severity: "critical" },
    exp_annotations: {
      summary: `${labels.service} is down`,
      description: `${labels.container} (${labels.instance}, job ${labels.job}) has not answered Prometheus for ${after}.`,
    },
  }),
  diskSpaceLow: (labels: Labels, free: string): Expected => ({
    exp_labels: { ...labels, severity: "critical" },
    exp_annotations: {
      summary: `Disk space low on ${labels.mountpoint}`,
      description: `Only ${free}% of ${labels.mountpoint} (${labels.device}, ${labels.fstype}) has been free for 5m (threshold 10%).`,
    },
  }),
  highErrorRate: (service: string, percent: string, threshold: number): Expected => ({
    exp_labels: { service, severity: "critical" },
    exp_annotations: {
      summary: `${service} answers with many server errors`,
      description: `${percent}% of the requests to ${service} over 5m got a 5xx answer (threshold ${threshold}%).`,
    },
  }),
  backupTooOld: (database: string, age: string, limit: string): Expected => ({
    exp_labels: { ...NODE, database, severity: "critical" },
    exp_annotations: {
      summary: `No recent backup of ${database}`,
      description: `The last successful backup of ${database} is ${age} old (limit ${limit}); an age counted from 1970 means none ever succeeded.`,
    },
  }),
  certificateSoon: (days: string, warnFrom: number): Expected => ({
    exp_labels: { domain: CERTIFICATE.domain, severity: "warning" },
    exp_annotations: {
      summary: `The TLS certificate of ${CERTIFICATE.domain} expires soon`,
      description: `The TLS certificate of ${CERTIFICATE.domain} expires in ${days} days (${CERTIFICATE.expiry}; warning from ${warnFrom} days).`,
    },
  }),
  certificateVerySoon: (days: string): Expected => ({
    exp_labels: { domain: CERTIFICATE.domain, severity: "critical" },
    exp_annotations: {
      summary: `The TLS certificate of ${CERTIFICATE.domain} expires within days or has expired`,
      description: `The TLS certificate of ${CERTIFICATE.domain} expires in ${days} days (${CERTIFICATE.expiry}); a negative number means it has expired.`,
    },
  }),
};

describe("promtool check rules", () => {
  function check(rules: string) {
    return runTool("promtool", ["check", "rules", "--lint=all", "--lint-fatal", "rules.yml"], {
      "rules.yml": rules,
    });
  }

  test("every source and a certificate: all alerts and the expiry recording rule pass the lint", () => {
    const run = check(renderAlertRules(full));
    expect(run.output).toContain(`SUCCESS: ${ALERT_NAMES.length + 1} rules found`);
    expect(run.status).toBe(0);
  });

  test("no optional source and no certificate: ServiceDown alone passes", () => {
    const run = check(
      renderAlertRules({
        thresholds: DEFAULT_ALERT_THRESHOLDS,
        sources: NO_SOURCES,
        certificate: null,
      }),
    );
    expect(run.output).toContain("SUCCESS: 1 rules found");
    expect(run.status).toBe(0);
  });

  test("non-default thresholds with fractions of a minute still make valid durations", () => {
    const run = check(
      rulesWith({ serviceDownMinutes: 0.5, backupMaxAgeHours: 36.5, p95Seconds: 0.25 }),
    );
    expect(run.status).toBe(0);
  });

  test("a broken expression and a repeated group name are rejected, so the check bites", () => {
    const doc = parse(renderAlertRules(full)) as {
      groups: { name: string; rules: { alert?: string; expr: string }[] }[];
    };
    const api = doc.groups.find((g) => g.name === "vpn-api");
    const rule = api?.rules.find((r) => r.alert === "HighErrorRate");
    if (!rule) throw new Error("HighErrorRate missing from the rendered rules");
    rule.expr = rule.expr.replace(/\)\s*>/, " >");
    const broken = check(stringify(doc));
    expect(broken.status).not.toBe(0);
    expect(broken.output).toContain("HighErrorRate");

    const repeated = parse(renderAlertRules(full)) as { groups: { name: string }[] };
    repeated.groups[1].name = repeated.groups[0].name;
    const run = check(stringify(repeated));
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/repeated/);
  });
});

describe("promtool test rules: each alert fires for bad series and not for good ones", () => {
  test("the test harness itself fails on a wrong expectation", () => {
    const run = promtoolTest(rulesWith(), [
      {
        name: "a target that is up cannot be reported down",
        interval: "15s",
        input_series: [{ series: series("up", API_1), values: "1x10" }],
        alert_rule_test: [
          { eval_time: "2m", alertname: "ServiceDown", exp_alerts: [{ exp_labels: API_1 }] },
        ],
      },
    ]);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("ServiceDown");
  });

  const downSeries: InputSeries[] = [
    { series: series("up", API_1), values: "1 0x12" }, // down from 15s on
    { series: series("up", API_2), values: "1x4 0x8" }, // down from 75s on
    { series: series("up", API_3), values: "1 1 0 0 1x9" }, // a 30-second blip
  ];

  test("ServiceDown: down for a minute fires, a 30-second blip or 45 seconds down does not", () => {
    expectRuleTestsPass(rulesWith(), [
      {
        name: "ServiceDown",
        interval: "15s",
        input_series: downSeries,
        alert_rule_test: [
          { eval_time: "45s", alertname: "ServiceDown", exp_alerts: [] },
          {
            eval_time: "2m",
            alertname: "ServiceDown",
            exp_alerts: [fires.serviceDown(API_1, "1m")],
          },
          {
            eval_time: "2m30s",
            alertname: "ServiceDown",
            exp_alerts: [fires.serviceDown(API_1, "1m"), fires.serviceDown(API_2, "1m")],
          },
        ],
      },
    ]);
  });

  test("ServiceDown with serviceDownMinutes 3: two minutes down is not enough", () => {
    expectRuleTestsPass(rulesWith({ serviceDownMinutes: 3 }), [
      {
        name: "ServiceDown after 3m",
        interval: "15s",
        input_series: downSeries.map((s) => ({ ...s, values: `${s.values} 0x20` })),
        alert_rule_test: [
          { eval_time: "2m30s", alertname: "ServiceDown", exp_alerts: [] },
          {
            eval_time: "3m30s",
            alertname: "ServiceDown",
            exp_alerts: [fires.serviceDown(API_1, "3m")],
          },
        ],
      },
    ]);
  });

  // 15-second samples of CPU seconds: 6.75 per sample is 0.45 cores, 5.25 is 0.35 cores.
  const cpuSeries: InputSeries[] = [
    ...[
      ["api", "vpn-prod-api-1", "6.75", "50000"], // 90% of half a core
      ["web", "vpn-prod-web-1", "5.25", "50000"], // 70% of half a core
      ["ollama", "vpn-prod-ollama-1", "60", "-1"], // 4 cores, no limit
    ].flatMap(([service, name, perSample, quota]) => [
      {
        series: series("container_cpu_usage_seconds_total", cadvisorOf(service, name)),
        values: `0+${perSample}x40`,
      },
      {
        series: series("container_spec_cpu_quota", cadvisorOf(service, name)),
        values: `${quota}x40`,
      },
      {
        series: series("container_spec_cpu_period", cadvisorOf(service, name)),
        values: "100000x40",
      },
    ]),
    // No quota series at all: cAdvisor leaves it out for containers without a CPU limit.
    {
      series: series("container_cpu_usage_seconds_total", cadvisorOf("n8n", "vpn-prod-n8n-1")),
      values: "0+30x40",
    },
  ];

  test("HighCpuUsage: 90% of the container's own limit fires, 70% and unlimited containers do not", () => {
    expectRuleTestsPass(rulesWith(), [
      {
        name: "HighCpuUsage",
        interval: "15s",
        input_series: cpuSeries,
        alert_rule_test: [
          {
            eval_time: "6m",
            alertname: "HighCpuUsage",
            exp_alerts: [
              {
                exp_labels: { service: "api", container: "vpn-prod-api-1", severity: "warning" },
                exp_annotations: {
                  summary: "api uses much of its CPU limit",
                  description:
                    "vpn-prod-api-1 (api) used 90.0% of its CPU limit on average over 5m (threshold 80%).",
                },
              },
            ],
          },
        ],
      },
    ]);
  });

  test("HighCpuUsage with cpuPercent 95: 90% does not fire", () => {
    expectRuleTestsPass(rulesWith({ cpuPercent: 95 }), [
      {
        name: "HighCpuUsage at 95",
        interval: "15s",
        input_series: cpuSeries,
        alert_rule_test: [{ eval_time: "6m", alertname: "HighCpuUsage", exp_alerts: [] }],
      },
    ]);
  });

  test("with a stack, the container rules watch that stack's containers only (cAdvisor sees the host)", () => {
    const labelled = (stack: string): InputSeries[] =>
      cpuSeries.map((s) => ({
        ...s,
        series: s.series.replace("{", `{container_label_vpn_enterprise_stack="${stack}",`),
      }));
    const rules = renderAlertRules({ ...full, stack: "prod" });
    expectRuleTestsPass(rules, [
      {
        name: "HighCpuUsage of another stack",
        interval: "15s",
        input_series: labelled("dev"),
        alert_rule_test: [{ eval_time: "6m", alertname: "HighCpuUsage", exp_alerts: [] }],
      },
      {
        name: "HighCpuUsage of this stack",
        interval: "15s",
        input_series: labelled("prod"),
        alert_rule_test: [
          {
            eval_time: "6m",
            alertname: "HighCpuUsage",
            exp_alerts: [
              {
                exp_labels: { service: "api", container: "vpn-prod-api-1", severity: "warning" },
                exp_annotations: {
                  summary: "api uses much of its CPU limit",
                  description:
                    "vpn-prod-api-1 (api) used 90.0% of its CPU limit on average over 5m (threshold 80%).",
                },
              },
            ],
          },
        ],
      },
    ]);
  });

  test("HighMemoryUsage: 95% for 5 minutes fires; 80%, a 3-minute spike and no limit do not", () => {
    const memory = (service: string, name: string, workingSet: string, limit: string) => [
      {
        series: series("container_memory_working_set_bytes", cadvisorOf(service, name)),
        values: workingSet,
      },
      {
        series: series("container_spec_memory_limit_bytes", cadvisorOf(service, name)),
        values: `${limit}x40`,
      },
    ];
    expectRuleTestsPass(rulesWith(), [
      {
        name: "HighMemoryUsage",
        interval: "15s",
        input_series: [
          ...memory("api", "vpn-prod-api-1", "950000000x40", "1000000000"),
          ...memory("web", "vpn-prod-web-1", "800000000x40", "1000000000"),
          ...memory("python-ai", "vpn-prod-python-ai-1", "950000000x12 500000000x28", "1000000000"),
          ...memory("ollama", "vpn-prod-ollama-1", "8000000000x40", "0"),
        ],
        alert_rule_test: [
          { eval_time: "4m", alertname: "HighMemoryUsage", exp_alerts: [] },
          {
            eval_time: "6m",
            alertname: "HighMemoryUsage",
            exp_alerts: [
              {
                exp_labels: { service: "api", container: "vpn-prod-api-1", severity: "warning" },
                exp_annotations: {
                  summary: "api is close to its memory limit",
                  description:
                    "vpn-prod-api-1 (api) has used 95.0% of its memory limit for 5m (threshold 90%).",
                },
              },
            ],
          },
        ],
      },
    ]);
  });

  test("DiskSpaceLow: 5% free on a disk fires; 50% free, tmpfs and overlay do not", () => {
    const fs = (
      mountpoint: string,
      fstype: string,
      device: string,
      avail: number,
      size: number,
    ) => {
      const labels = { ...NODE, mountpoint, fstype, device };
      return [
        { series: series("node_filesystem_avail_bytes", labels), values: `${avail}x40` },
        { series: series("node_filesystem_size_bytes", labels), values: `${size}x40` },
      ];
    };
    expectRuleTestsPass(rulesWith(), [
      {
        name: "DiskSpaceLow",
        interval: "15s",
        input_series: [
          ...fs("/", "ext4", "/dev/sda1", 5e9, 100e9),
          ...fs("/data", "xfs", "/dev/sdb1", 50e9, 100e9),
          ...fs("/run", "tmpfs", "tmpfs", 1e6, 100e6),
          ...fs("/var/lib/docker/overlay2/x/merged", "overlay", "overlay", 1e9, 100e9),
        ],
        alert_rule_test: [
          { eval_time: "4m", alertname: "DiskSpaceLow", exp_alerts: [] },
          {
            eval_time: "6m",
            alertname: "DiskSpaceLow",
            exp_alerts: [
              {
                ...fires.diskSpaceLow(
                  { ...NODE, mountpoint: "/", fstype: "ext4", device: "/dev/sda1" },
                  "5.0",
                ),
              },
            ],
          },
        ],
      },
    ]);
  });

  // 15-second samples of request counters: 135 + 15 is 10 req/s with 10% errors, 144 + 6 is 4%.
  const request = (labels: Labels, status: string, perSample: string): InputSeries => ({
    series: series("http_requests_total", { ...labels, method: "GET", route: "/users", status }),
    values: `0+${perSample}x40`,
  });
  const errorSeries = [
    request(API_1, "200", "135"),
    request(API_1, "500", "15"),
    request(WEB, "200", "144"),
    request(WEB, "503", "6"),
    request(PYTHON_AI, "200", "0"), // no traffic at all: 0/0 must not alert
    request(PYTHON_AI, "500", "0"),
  ];

  test("HighErrorRate: 10% errors fire, 4% and a service without traffic do not", () => {
    expectRuleTestsPass(rulesWith(), [
      {
        name: "HighErrorRate",
        interval: "15s",
        input_series: errorSeries,
        alert_rule_test: [
          {
            eval_time: "6m",
            alertname: "HighErrorRate",
            exp_alerts: [fires.highErrorRate("api", "10.0", 5)],
          },
        ],
      },
    ]);
  });

  test("HighErrorRate with errorRatePercent 3: the 4% service fires too", () => {
    expectRuleTestsPass(rulesWith({ errorRatePercent: 3 }), [
      {
        name: "HighErrorRate at 3",
        interval: "15s",
        input_series: errorSeries,
        alert_rule_test: [
          {
            eval_time: "6m",
            alertname: "HighErrorRate",
            exp_alerts: [
              fires.highErrorRate("api", "10.0", 3),
              fires.highErrorRate("web", "4.0", 3),
            ],
          },
        ],
      },
    ]);
  });

  const bucket = (labels: Labels, le: string, perSample: number): InputSeries => ({
    series: series("http_request_duration_seconds_bucket", {
      ...labels,
      method: "GET",
      route: "/users",
      status: "200",
      le,
    }),
    values: `0+${perSample}x60`,
  });
  // api: 10% under 1s, the rest between 1s and 2.5s (p95 about 2.4s); web: all under 0.5s.
  const latencySeries = [
    ...(
      [
        ["0.5", 0],
        ["1", 10],
        ["2.5", 100],
        ["+Inf", 100],
      ] as const
    ).map(([le, n]) => bucket(API_1, le, n)),
    ...(
      [
        ["0.1", 50],
        ["0.5", 100],
        ["1", 100],
        ["2.5", 100],
        ["+Inf", 100],
      ] as const
    ).map(([le, n]) => bucket(WEB, le, n)),
    ...["0.5", "1", "+Inf"].map((le) => bucket(PYTHON_AI, le, 0)),
  ];

  test("SlowResponses: a p95 of about 2.4s fires; a fast service and one without traffic do not", () => {
    expectRuleTestsPass(rulesWith(), [
      {
        name: "SlowResponses",
        interval: "15s",
        input_series: latencySeries,
        alert_rule_test: [
          {
            eval_time: "12m",
            alertname: "SlowResponses",
            exp_alerts: [
              {
                exp_labels: { service: "api", severity: "warning" },
                exp_annotations: {
                  summary: "api answers slowly",
                  // Linear within the 1s-2.5s bucket: 1 + (95 - 10) / 90 * 1.5 = 2.417.
                  description:
                    "95% of the requests to api over 10m took up to 2.417s (threshold 1s).",
                },
              },
            ],
          },
        ],
      },
    ]);
  });

  test("SlowResponses with p95Seconds 3: 2.4s does not fire", () => {
    expectRuleTestsPass(rulesWith({ p95Seconds: 3 }), [
      {
        name: "SlowResponses at 3s",
        interval: "15s",
        input_series: latencySeries,
        alert_rule_test: [{ eval_time: "12m", alertname: "SlowResponses", exp_alerts: [] }],
      },
    ]);
  });

  // Evaluated at 30h: a stamp of 10800 is 27 hours old, 18000 is 25 hours old, 0 is never.
  const backupSeries = [
    ["platform", "10800"],
    ["analytics", "18000"],
    ["n8n", "0"],
  ].map(([database, stamp]) => ({
    series: series("vpn_backup_last_success_timestamp_seconds", { ...NODE, database }),
    values: `${stamp}x370`,
  }));

  test("BackupTooOld: 27 hours old and never fire, 25 hours old does not", () => {
    expectRuleTestsPass(
      rulesWith(),
      [
        {
          name: "BackupTooOld",
          interval: "5m",
          input_series: backupSeries,
          alert_rule_test: [
            {
              eval_time: "30h",
              alertname: "BackupTooOld",
              exp_alerts: [
                fires.backupTooOld("platform", "1d 3h 0m 0s", "26h"),
                fires.backupTooOld("n8n", "1d 6h 0m 0s", "26h"),
              ],
            },
          ],
        },
      ],
      "5m",
    );
  });

  test("BackupTooOld with backupMaxAgeHours 28: only the backup that never succeeded fires", () => {
    expectRuleTestsPass(
      rulesWith({ backupMaxAgeHours: 28 }),
      [
        {
          name: "BackupTooOld at 28h",
          interval: "5m",
          input_series: backupSeries,
          alert_rule_test: [
            {
              eval_time: "30h",
              alertname: "BackupTooOld",
              exp_alerts: [fires.backupTooOld("n8n", "1d 6h 0m 0s", "28h")],
            },
          ],
        },
      ],
      "5m",
    );
  });

  test("BackupMetricsMissing: no backup metric for 26 hours fires, for 25 hours or with one does not", () => {
    expectRuleTestsPass(
      rulesWith(),
      [
        {
          name: "BackupMetricsMissing without metrics",
          interval: "5m",
          input_series: [{ series: series("up", NODE), values: "1x340" }],
          alert_rule_test: [
            { eval_time: "25h", alertname: "BackupMetricsMissing", exp_alerts: [] },
            {
              eval_time: "27h",
              alertname: "BackupMetricsMissing",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical" },
                  exp_annotations: {
                    summary: "No backup status for 26h",
                    description:
                      "node-exporter has reported no vpn_backup_last_success_timestamp_seconds for 26h: the backup job has not run, or its textfile (vpn_backup.prom) is not read.",
                  },
                },
              ],
            },
          ],
        },
        {
          name: "BackupMetricsMissing with metrics",
          interval: "5m",
          input_series: backupSeries,
          alert_rule_test: [
            { eval_time: "27h", alertname: "BackupMetricsMissing", exp_alerts: [] },
          ],
        },
      ],
      "5m",
    );
  });

  test("BackupFailed: a failed last attempt fires, a successful one does not", () => {
    expectRuleTestsPass(rulesWith(), [
      {
        name: "BackupFailed",
        interval: "15s",
        input_series: [
          {
            series: series("vpn_backup_last_attempt_success", { ...NODE, database: "platform" }),
            values: "0x10",
          },
          {
            series: series("vpn_backup_last_attempt_success", { ...NODE, database: "analytics" }),
            values: "1x10",
          },
        ],
        alert_rule_test: [
          {
            eval_time: "1m",
            alertname: "BackupFailed",
            exp_alerts: [
              {
                exp_labels: { ...NODE, database: "platform", severity: "warning" },
                exp_annotations: {
                  summary: "The last backup of platform failed",
                  description:
                    "The last backup attempt of platform failed (see the backup job's log); the previous backup is still the newest.",
                },
              },
            ],
          },
        ],
      },
    ]);
  });

  /** The certificate alerts at each time (hours since the epoch; the expiry is at 480h). */
  const certificateChecks = (
    name: string,
    alertname: string,
    at: readonly (readonly [string, readonly Expected[]])[],
  ): TestGroup => ({
    name,
    interval: "1h",
    input_series: [],
    alert_rule_test: at.map(([eval_time, exp_alerts]) => ({ eval_time, alertname, exp_alerts })),
  });

  test("the certificate's expiry is recorded with its domain, as Unix seconds", () => {
    expectRuleTestsPass(
      rulesWith(),
      [
        {
          name: "expiry recording",
          interval: "1h",
          input_series: [],
          promql_expr_test: [
            {
              expr: "vpn_tls_certificate_expiry_timestamp_seconds",
              eval_time: "1h",
              exp_samples: [
                {
                  labels: `vpn_tls_certificate_expiry_timestamp_seconds{domain="${CERTIFICATE.domain}"}`,
                  value: 20 * 86400,
                },
              ],
            },
          ],
        },
      ],
      "1h",
    );
  });

  test("CertificateExpiringSoon: 10 days out fires, 20 days out and the last 3 days do not", () => {
    expectRuleTestsPass(
      rulesWith(),
      [
        certificateChecks("CertificateExpiringSoon", "CertificateExpiringSoon", [
          ["0h", []], // 20 days left
          ["240h", [fires.certificateSoon("10.0", 14)]],
          ["400h", [fires.certificateSoon("3.3", 14)]],
          ["432h", []], // 2 days left: the critical alert's
          ["504h", []], // expired a day ago
        ]),
      ],
      "1h",
    );
  });

  test("CertificateExpiringVerySoon: 2 days out and expired fire, 10 and 3.3 days out do not", () => {
    expectRuleTestsPass(
      rulesWith(),
      [
        certificateChecks("CertificateExpiringVerySoon", "CertificateExpiringVerySoon", [
          ["0h", []],
          ["240h", []],
          ["400h", []],
          ["432h", [fires.certificateVerySoon("2.0")]],
          ["504h", [fires.certificateVerySoon("-1.0")]],
        ]),
      ],
      "1h",
    );
  });

  test("CertificateExpiringSoon with certificateDays 25: 20 days out fires", () => {
    expectRuleTestsPass(
      rulesWith({ certificateDays: 25 }),
      [
        certificateChecks("certificateDays 25", "CertificateExpiringSoon", [
          ["0h", [fires.certificateSoon("20.0", 25)]],
        ]),
      ],
      "1h",
    );
  });

  // Must stay the last test: jest runs a file's tests in order, so by now every firing case above
  // has recorded its alertname in firedAlerts. Under a `-t` filter that skips those cases it fails.
  test("every alert name is covered by a firing case above", () => {
    const alerts: readonly string[] = ALERT_NAMES;
    const unfired = alerts.filter((name) => !firedAlerts.has(name));
    const unknown = [...firedAlerts].filter((name) => !alerts.includes(name));
    expect({
      "alerts without a firing case": unfired,
      "fired alerts not in ALERT_NAMES": unknown,
    }).toEqual({
      "alerts without a firing case": [],
      "fired alerts not in ALERT_NAMES": [],
    });
  });
});
