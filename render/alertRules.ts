/**
 * The platform's Prometheus alert rules, as one rule file. Pure: typed values in, file text out.
 *
 * Every alert carries `severity` (critical or warning) and the labels Alertmanager routes and
 * inhibits on: `service` and `container` where the metric is about one. cAdvisor's series describe
 * other containers than the one scraped, so their `service`/`container` come from the Docker labels
 * cAdvisor exposes (`container_label_vpn_enterprise_service`, `name`) instead of the target's.
 */
import { stringify } from "yaml";
import { given } from "./prometheus";

export interface AlertThresholds {
  /** `up == 0` for this long fires ServiceDown, in minutes. */
  readonly serviceDownMinutes: number;
  /** A container's CPU use, in percent of its CPU limit (containers without a limit are skipped). */
  readonly cpuPercent: number;
  /** The window the CPU use is averaged over, in minutes. */
  readonly cpuMinutes: number;
  /** A container's working set, in percent of its memory limit. */
  readonly memoryPercent: number;
  /** How long the memory use stays above memoryPercent before it fires, in minutes. */
  readonly memoryMinutes: number;
  /** Free space of a real (not tmpfs/overlay) filesystem, in percent, below which it fires. */
  readonly diskFreePercent: number;
  /** How long the free space stays below diskFreePercent before it fires, in minutes. */
  readonly diskMinutes: number;
  /** Share of HTTP 5xx answers of a service, in percent. */
  readonly errorRatePercent: number;
  /** The window the error share is measured over, in minutes. */
  readonly errorRateMinutes: number;
  /** 95th percentile of a service's response time, in seconds. */
  readonly p95Seconds: number;
  /** The window the percentile is measured over, in minutes. */
  readonly latencyMinutes: number;
  /** Age of the last successful backup, in hours, above which it fires. */
  readonly backupMaxAgeHours: number;
  /** Days before the edge certificate expires that the warning fires; more than 3. */
  readonly certificateDays: number;
}

export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = Object.freeze({
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

export interface AlertRulesInput {
  readonly thresholds: AlertThresholds;
  /** Which sources exist in this stack; a rule whose metrics nobody exports is left out. */
  readonly sources: {
    readonly cadvisor: boolean;
    readonly nodeExporter: boolean;
    readonly api: boolean;
    readonly backups: boolean;
  };
  /** The edge certificate's expiry (RFC 3339) and its domain; null without TLS. */
  readonly certificate: { readonly domain: string; readonly expiry: string } | null;
  /**
   * The stack whose containers the cAdvisor rules watch (their `vpn-enterprise.stack` label):
   * cAdvisor sees every container of the host, another stack's too. Default: any platform stack.
   */
  readonly stack?: string;
}

export const ALERT_NAMES = [
  "ServiceDown",
  "HighCpuUsage",
  "HighMemoryUsage",
  "DiskSpaceLow",
  "HighErrorRate",
  "SlowResponses",
  "BackupTooOld",
  "BackupMetricsMissing",
  "BackupFailed",
  "CertificateExpiringSoon",
  "CertificateExpiringVerySoon",
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** The series the certificate's expiry is recorded as (a Unix time, labelled with the domain). */
export const CERTIFICATE_EXPIRY_METRIC = "vpn_tls_certificate_expiry_timestamp_seconds";
/** Below this many days CertificateExpiringVerySoon (critical) takes over from the warning. */
export const CERTIFICATE_CRITICAL_DAYS = 3;

/** Filesystems that are not disks: memory, container layers and kernel views. */
const PSEUDO_FILESYSTEMS = [
  "tmpfs",
  "devtmpfs",
  "ramfs",
  "overlay",
  "squashfs",
  "nsfs",
  "proc",
  "sysfs",
  "cgroup2?",
  "autofs",
  "fuse\\..*",
  "tracefs",
  "debugfs",
  "securityfs",
  "devpts",
  "mqueue",
  "hugetlbfs",
  "binfmt_misc",
  "configfs",
  "pstore",
  "bpf",
  "rpc_pipefs",
  "iso9660",
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const DOMAIN =
  /^(\*\.)?(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

interface AlertRule {
  readonly alert: AlertName;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: "critical" | "warning" };
  readonly annotations: { readonly summary: string; readonly description: string };
}
interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}
interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (AlertRule | RecordingRule)[];
}

/** A Prometheus duration for a whole number of seconds, in the largest unit that divides it. */
export function promDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

type ThresholdKey = keyof AlertThresholds;

interface ThresholdRule {
  /** Seconds per unit for durations (Prometheus takes whole seconds); 0 for other numbers. */
  readonly unit: number;
  /** Exclusive lower bound. */
  readonly above: number;
  readonly max?: { readonly value: number; readonly included: boolean };
}

const PERCENT: ThresholdRule = { unit: 0, above: 0, max: { value: 100, included: true } };
const MINUTES: ThresholdRule = { unit: 60, above: 0 };

const THRESHOLD_RULES: Readonly<Record<ThresholdKey, ThresholdRule>> = {
  serviceDownMinutes: MINUTES,
  cpuPercent: PERCENT,
  cpuMinutes: MINUTES,
  memoryPercent: PERCENT,
  memoryMinutes: MINUTES,
  // 100% free would fire on every filesystem.
  diskFreePercent: { unit: 0, above: 0, max: { value: 100, included: false } },
  diskMinutes: MINUTES,
  errorRatePercent: PERCENT,
  errorRateMinutes: MINUTES,
  p95Seconds: { unit: 0, above: 0 },
  latencyMinutes: MINUTES,
  backupMaxAgeHours: { unit: 3600, above: 0 },
  certificateDays: { unit: 86400, above: CERTIFICATE_CRITICAL_DAYS },
};

function allowedRange(rule: ThresholdRule): string {
  const max = rule.max;
  const upper = max ? ` and ${max.included ? "at most" : "less than"} ${max.value}` : "";
  return `a number greater than ${rule.above}${upper}${rule.unit === 0 ? "" : " (whole seconds)"}`;
}

function thresholdProblems(thresholds: AlertThresholds | null | undefined): string[] {
  if (typeof thresholds !== "object" || thresholds === null) {
    return [`thresholds: given ${given(thresholds)}; allowed: an object of thresholds`];
  }
  const problems: string[] = [];
  for (const key of Object.keys(THRESHOLD_RULES) as ThresholdKey[]) {
    const rule = THRESHOLD_RULES[key];
    const value: unknown = thresholds[key];
    const max = rule.max;
    const ok =
      typeof value === "number" &&
      Number.isFinite(value) &&
      value > rule.above &&
      (!max || (max.included ? value <= max.value : value < max.value)) &&
      (rule.unit === 0 || Number.isSafeInteger(value * rule.unit));
    if (!ok) {
      problems.push(`thresholds.${key}: given ${given(value)}; allowed: ${allowedRange(rule)}`);
    }
  }
  return problems;
}

function certificateProblems(certificate: AlertRulesInput["certificate"]): string[] {
  if (certificate === null) return [];
  if (typeof certificate !== "object") {
    return [`certificate: given ${given(certificate)}; allowed: { domain, expiry } or null`];
  }
  const problems: string[] = [];
  if (typeof certificate.domain !== "string" || !DOMAIN.test(certificate.domain)) {
    problems.push(
      `certificate.domain: given ${given(certificate.domain)}; allowed: a DNS name (optionally *.name)`,
    );
  }
  if (
    typeof certificate.expiry !== "string" ||
    !RFC3339.test(certificate.expiry) ||
    Number.isNaN(Date.parse(certificate.expiry))
  ) {
    problems.push(
      `certificate.expiry: given ${given(certificate.expiry)}; allowed: an RFC 3339 time such as 2026-01-31T12:00:00Z`,
    );
  }
  return problems;
}

function sourceProblems(sources: AlertRulesInput["sources"] | null | undefined): string[] {
  const keys = ["cadvisor", "nodeExporter", "api", "backups"] as const;
  if (typeof sources !== "object" || sources === null) {
    return [`sources: given ${given(sources)}; allowed: { ${keys.join(", ")} } of booleans`];
  }
  const problems = keys
    .filter((key) => typeof sources[key] !== "boolean")
    .map((key) => `sources.${key}: given ${given(sources[key])}; allowed: true or false`);
  // The backup metrics reach Prometheus only through node-exporter's textfile collector; without
  // it BackupMetricsMissing would fire for ever.
  if (sources.backups && !sources.nodeExporter) {
    problems.push(
      "sources.backups: given true; allowed: false while sources.nodeExporter is false",
    );
  }
  return problems;
}

/**
 * `expr` aggregated per platform container, with `service` and `container` taken from the Docker
 * labels cAdvisor exposes (the target's own labels name cAdvisor itself).
 */
function perContainer(aggregation: "sum" | "max", expr: string): string {
  return [
    `${aggregation} by (service, container) (`,
    `  label_replace(`,
    `    label_replace(${expr}, "service", "$1", "container_label_vpn_enterprise_service", "(.+)"),`,
    `    "container", "$1", "name", "(.+)"`,
    `  )`,
    `)`,
  ].join("\n");
}

/** Only the platform's containers (of one stack): cAdvisor also reports cgroups without a name. */
function platformContainers(stack: string | undefined): string {
  const own = stack === undefined ? "" : `,container_label_vpn_enterprise_stack="${stack}"`;
  return `name!="",container_label_vpn_enterprise_service!=""${own}`;
}

function availabilityRules(t: AlertThresholds): AlertRule[] {
  const downFor = promDuration(t.serviceDownMinutes * 60);
  return [
    {
      alert: "ServiceDown",
      expr: "up == 0",
      for: downFor,
      labels: { severity: "critical" },
      annotations: {
        summary: "{{ $labels.service }} is down",
        description: `{{ $labels.container }} ({{ $labels.instance }}, job {{ $labels.job }}) has not answered Prometheus for ${downFor}.`,
      },
    },
  ];
}

function containerRules(t: AlertThresholds, stack: string | undefined): AlertRule[] {
  const ours = platformContainers(stack);
  const cpuWindow = promDuration(t.cpuMinutes * 60);
  const memoryFor = promDuration(t.memoryMinutes * 60);
  const used = perContainer(
    "sum",
    `rate(container_cpu_usage_seconds_total{${ours}}[${cpuWindow}])`,
  );
  // A quota of 0 or -1 means "no limit"; those containers have no percentage to compare.
  const limit = perContainer(
    "max",
    `(container_spec_cpu_quota{${ours}} > 0) / container_spec_cpu_period{${ours}}`,
  );
  const workingSet = perContainer("max", `container_memory_working_set_bytes{${ours}}`);
  const memoryLimit = perContainer("max", `container_spec_memory_limit_bytes{${ours}} > 0`);
  return [
    {
      alert: "HighCpuUsage",
      expr: `100 * ${used}\n/\n${limit}\n> ${t.cpuPercent}`,
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.service }} uses much of its CPU limit",
        description: `{{ $labels.container }} ({{ $labels.service }}) used {{ $value | printf "%.1f" }}% of its CPU limit on average over ${cpuWindow} (threshold ${t.cpuPercent}%).`,
      },
    },
    {
      alert: "HighMemoryUsage",
      expr: `100 * ${workingSet}\n/\n${memoryLimit}\n> ${t.memoryPercent}`,
      for: memoryFor,
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.service }} is close to its memory limit",
        description: `{{ $labels.container }} ({{ $labels.service }}) has used {{ $value | printf "%.1f" }}% of its memory limit for ${memoryFor} (threshold ${t.memoryPercent}%).`,
      },
    },
  ];
}

function diskRules(t: AlertThresholds): AlertRule[] {
  // A raw (backquoted) PromQL string, so the regex's backslashes are not string escapes.
  const real = `fstype!~\`${PSEUDO_FILESYSTEMS.join("|")}\``;
  const diskFor = promDuration(t.diskMinutes * 60);
  return [
    {
      alert: "DiskSpaceLow",
      expr: [
        `100 * node_filesystem_avail_bytes{${real}}`,
        `/ (node_filesystem_size_bytes{${real}} > 0)`,
        `< ${t.diskFreePercent}`,
      ].join("\n"),
      for: diskFor,
      labels: { severity: "critical" },
      annotations: {
        summary: "Disk space low on {{ $labels.mountpoint }}",
        description: `Only {{ $value | printf "%.1f" }}% of {{ $labels.mountpoint }} ({{ $labels.device }}, {{ $labels.fstype }}) has been free for ${diskFor} (threshold ${t.diskFreePercent}%).`,
      },
    },
  ];
}

function apiRules(t: AlertThresholds): AlertRule[] {
  const errorWindow = promDuration(t.errorRateMinutes * 60);
  const latencyWindow = promDuration(t.latencyMinutes * 60);
  return [
    {
      alert: "HighErrorRate",
      // Services without requests drop out of the denominator instead of dividing by zero.
      expr: [
        `100 * sum by (service) (rate(http_requests_total{status=~"5.."}[${errorWindow}]))`,
        `/ (sum by (service) (rate(http_requests_total[${errorWindow}])) > 0)`,
        `> ${t.errorRatePercent}`,
      ].join("\n"),
      labels: { severity: "critical" },
      annotations: {
        summary: "{{ $labels.service }} answers with many server errors",
        description: `{{ $value | printf "%.1f" }}% of the requests to {{ $labels.service }} over ${errorWindow} got a 5xx answer (threshold ${t.errorRatePercent}%).`,
      },
    },
    {
      alert: "SlowResponses",
      // With no requests in the window the quantile is NaN, which no comparison passes.
      expr: [
        "histogram_quantile(0.95,",
        `  sum by (service, le) (rate(http_request_duration_seconds_bucket[${latencyWindow}]))`,
        `) > ${t.p95Seconds}`,
      ].join("\n"),
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.service }} answers slowly",
        description: `95% of the requests to {{ $labels.service }} over ${latencyWindow} took up to {{ $value | humanizeDuration }} (threshold ${t.p95Seconds}s).`,
      },
    },
  ];
}

function backupRules(t: AlertThresholds): AlertRule[] {
  const maxAgeSeconds = t.backupMaxAgeHours * 3600;
  const maxAge = promDuration(maxAgeSeconds);
  return [
    {
      alert: "BackupTooOld",
      // A stamp of 0 (no backup ever succeeded) is 1970, so it is too old as well.
      expr: `time() - vpn_backup_last_success_timestamp_seconds > ${maxAgeSeconds}`,
      labels: { severity: "critical" },
      annotations: {
        summary: "No recent backup of {{ $labels.database }}",
        description: `The last successful backup of {{ $labels.database }} is {{ $value | humanizeDuration }} old (limit ${maxAge}); an age counted from 1970 means none ever succeeded.`,
      },
    },
    {
      alert: "BackupMetricsMissing",
      // Before the first attempt the textfile does not exist; an attempt is due well within maxAge.
      // `for` rather than absent_over_time: a fresh Prometheus has no history and would fire at once.
      expr: "absent(vpn_backup_last_success_timestamp_seconds)",
      for: maxAge,
      labels: { severity: "critical" },
      annotations: {
        summary: `No backup status for ${maxAge}`,
        description: `node-exporter has reported no vpn_backup_last_success_timestamp_seconds for ${maxAge}: the backup job has not run, or its textfile (vpn_backup.prom) is not read.`,
      },
    },
    {
      alert: "BackupFailed",
      expr: "vpn_backup_last_attempt_success == 0",
      labels: { severity: "warning" },
      annotations: {
        summary: "The last backup of {{ $labels.database }} failed",
        description:
          "The last backup attempt of {{ $labels.database }} failed (see the backup job's log); the previous backup is still the newest.",
      },
    },
  ];
}

function certificateRules(
  t: AlertThresholds,
  certificate: NonNullable<AlertRulesInput["certificate"]>,
): (AlertRule | RecordingRule)[] {
  const expiry = Math.floor(Date.parse(certificate.expiry) / 1000);
  const daysLeft = `(${CERTIFICATE_EXPIRY_METRIC} - time()) / 86400`;
  return [
    {
      // The certificate is known when the program renders this file, so its expiry is a constant.
      record: CERTIFICATE_EXPIRY_METRIC,
      expr: `vector(${expiry})`,
      labels: { domain: certificate.domain },
    },
    {
      alert: "CertificateExpiringSoon",
      // The last CERTIFICATE_CRITICAL_DAYS belong to the critical alert, so only one fires.
      expr: `${daysLeft} < ${t.certificateDays} >= ${CERTIFICATE_CRITICAL_DAYS}`,
      labels: { severity: "warning" },
      annotations: {
        summary: "The TLS certificate of {{ $labels.domain }} expires soon",
        description: `The TLS certificate of {{ $labels.domain }} expires in {{ $value | printf "%.1f" }} days (${certificate.expiry}; warning from ${t.certificateDays} days).`,
      },
    },
    {
      alert: "CertificateExpiringVerySoon",
      expr: `${daysLeft} < ${CERTIFICATE_CRITICAL_DAYS}`,
      labels: { severity: "critical" },
      annotations: {
        summary: "The TLS certificate of {{ $labels.domain }} expires within days or has expired",
        description: `The TLS certificate of {{ $labels.domain }} expires in {{ $value | printf "%.1f" }} days (${certificate.expiry}); a negative number means it has expired.`,
      },
    },
  ];
}

/** One Prometheus rule file (`groups:`) with the alerts whose metrics this stack exports. */
export function renderAlertRules(input: AlertRulesInput): string {
  const problems = [
    ...thresholdProblems(input.thresholds),
    ...sourceProblems(input.sources),
    ...certificateProblems(input.certificate),
    ...(input.stack === undefined || /^[A-Za-z0-9_.-]{1,100}$/.test(input.stack)
      ? []
      : [`stack: given ${given(input.stack)}; allowed: 1 to 100 letters, digits, _, . or -`]),
  ];
  if (problems.length > 0) {
    throw new Error(`alert rules: ${problems.join("; ")}`);
  }
  const t = input.thresholds;
  const { sources, certificate } = input;
  const groups: RuleGroup[] = [
    { name: "vpn-availability", rules: availabilityRules(t) },
    { name: "vpn-containers", rules: sources.cadvisor ? containerRules(t, input.stack) : [] },
    { name: "vpn-disks", rules: sources.nodeExporter ? diskRules(t) : [] },
    { name: "vpn-api", rules: sources.api ? apiRules(t) : [] },
    { name: "vpn-backups", rules: sources.backups ? backupRules(t) : [] },
    { name: "vpn-certificates", rules: certificate ? certificateRules(t, certificate) : [] },
  ];
  const doc = { groups: groups.filter((group) => group.rules.length > 0) };
  return `# Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.\n${stringify(doc, { lineWidth: 0 })}`;
}
