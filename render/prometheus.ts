/**
 * prometheus.yml for the platform's Prometheus 3. Pure: typed values in, file text out. Every
 * problem with the input is reported at once, each naming its field, before anything is rendered.
 */
import { stringify } from "yaml";

export interface ScrapeTarget {
  /** `host:port` the metrics are read from (a container alias on a shared network). */
  readonly address: string;
  /** Labels on every series of this target, e.g. `{ service: "api", container: "vpn-prod-api-2" }`. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface ScrapeJob {
  /** The `job` label; unique in the file. */
  readonly name: string;
  /** Path of the metrics endpoint, e.g. `/metrics`. */
  readonly metricsPath: string;
  /** At least one; a service without targets gets no job. */
  readonly targets: readonly ScrapeTarget[];
}

export interface PrometheusConfigInput {
  /** How often every target is scraped, in seconds. */
  readonly scrapeIntervalSeconds: number;
  /** How long a scrape may take, in seconds; at most scrapeIntervalSeconds. */
  readonly scrapeTimeoutSeconds: number;
  /** How often the rules are evaluated, in seconds. */
  readonly evaluationIntervalSeconds: number;
  /** Labels added to every alert and remote sample, e.g. `{ project, stack }`. */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** `host:port` of each Alertmanager; empty: no alerting block (rules still evaluate). */
  readonly alertmanagers: readonly string[];
  /** Rule file paths or globs, e.g. `/etc/prometheus/rules/*.yml`. */
  readonly ruleFiles: readonly string[];
  readonly jobs: readonly ScrapeJob[];
}

/** Job names the renderer accepts: short, lower-case, safe in URLs and dashboards. */
export const JOB_NAME_PATTERN = /^[a-z][a-z0-9_-]*$/;
/** Prometheus' own label name rule (the classic one, which every consumer understands). */
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_IN_BRACKETS = /^\[[0-9A-Fa-f:.]+\]$/;

/** A value as error messages show it: strings quoted, lists and objects as JSON. */
export function given(value: unknown): string {
  if (typeof value === "string" || (typeof value === "object" && value !== null)) {
    return JSON.stringify(value);
  }
  return String(value);
}

/** Array.isArray without losing the element type of a readonly array. */
export function isList<T>(value: readonly T[] | null | undefined): value is readonly T[] {
  return Array.isArray(value);
}

/** True for `name:port` or `[ipv6]:port` with a port from 1 to 65535. */
export function isHostPort(value: unknown): boolean {
  if (typeof value !== "string") return false;
  const colon = value.lastIndexOf(":");
  if (colon < 1) return false;
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return false;
  return DNS_NAME.test(host) || IPV6_IN_BRACKETS.test(host);
}

/**
 * Problems with one label set. `__` names are Prometheus' internal ones (dropped or reinterpreted
 * after relabelling); `reserved` are names the file sets itself, which a label would silently
 * replace. An empty value is the same as no label, so it is refused rather than lost quietly.
 */
export function labelProblems(
  field: string,
  labels: Readonly<Record<string, string>> | null | undefined,
  reserved: readonly string[] = [],
): string[] {
  if (typeof labels !== "object" || labels === null) {
    return [`${field}: given ${given(labels)}; allowed: an object of label names to values`];
  }
  const problems: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME_PATTERN.test(name) || name.startsWith("__")) {
      problems.push(
        `${field}: label name ${given(name)}; allowed: ${String(LABEL_NAME_PATTERN)}, not starting with __`,
      );
    } else if (reserved.includes(name)) {
      problems.push(`${field}.${name}: set by Prometheus from the job; allowed: any other name`);
    } else if (typeof value !== "string" || value === "") {
      problems.push(`${field}.${name}: given ${given(value)}; allowed: a non-empty string`);
    }
  }
  return problems;
}

function secondsProblem(field: string, value: number): string[] {
  return Number.isSafeInteger(value) && value >= 1
    ? []
    : [`${field}: given ${given(value)}; allowed: a whole number of seconds, at least 1`];
}

function jobProblems(jobs: readonly ScrapeJob[] | null | undefined): string[] {
  if (!isList(jobs)) return [`jobs: given ${given(jobs)}; allowed: a list of scrape jobs`];
  const problems: string[] = [];
  const seen = new Set<string>();
  jobs.forEach((job, j) => {
    const field = `jobs[${j}]`;
    if (typeof job.name !== "string" || !JOB_NAME_PATTERN.test(job.name)) {
      problems.push(
        `${field}.name: given ${given(job.name)}; allowed: ${String(JOB_NAME_PATTERN)}`,
      );
    } else if (seen.has(job.name)) {
      problems.push(`${field}.name: given ${given(job.name)}; allowed: a name no other job has`);
    }
    seen.add(job.name);
    if (typeof job.metricsPath !== "string" || !/^\/[^\s?#]*$/.test(job.metricsPath)) {
      problems.push(
        `${field}.metricsPath: given ${given(job.metricsPath)}; allowed: a path starting with /, without spaces, ? or #`,
      );
    }
    if (!isList(job.targets) || job.targets.length === 0) {
      problems.push(`${field}.targets: given ${given(job.targets)}; allowed: at least one target`);
      return;
    }
    job.targets.forEach((target, t) => {
      if (!isHostPort(target.address)) {
        problems.push(
          `${field}.targets[${t}].address: given ${given(target.address)}; allowed: host:port`,
        );
      }
      problems.push(...labelProblems(`${field}.targets[${t}].labels`, target.labels, ["job"]));
    });
  });
  return problems;
}

function problemsOf(input: PrometheusConfigInput): string[] {
  const problems = [
    ...secondsProblem("scrapeIntervalSeconds", input.scrapeIntervalSeconds),
    ...secondsProblem("scrapeTimeoutSeconds", input.scrapeTimeoutSeconds),
    ...secondsProblem("evaluationIntervalSeconds", input.evaluationIntervalSeconds),
  ];
  // Prometheus refuses a timeout longer than the interval: the next scrape would overlap it.
  if (input.scrapeTimeoutSeconds > input.scrapeIntervalSeconds) {
    problems.push(
      `scrapeTimeoutSeconds: given ${given(input.scrapeTimeoutSeconds)}; allowed: at most scrapeIntervalSeconds (${given(input.scrapeIntervalSeconds)})`,
    );
  }
  problems.push(...labelProblems("externalLabels", input.externalLabels));
  if (!isList(input.alertmanagers)) {
    problems.push(
      `alertmanagers: given ${given(input.alertmanagers)}; allowed: a list of host:port`,
    );
  } else {
    input.alertmanagers.forEach((address, i) => {
      if (!isHostPort(address)) {
        problems.push(`alertmanagers[${i}]: given ${given(address)}; allowed: host:port`);
      }
    });
  }
  if (!isList(input.ruleFiles)) {
    problems.push(`ruleFiles: given ${given(input.ruleFiles)}; allowed: a list of paths`);
  } else {
    input.ruleFiles.forEach((file, i) => {
      if (typeof file !== "string" || file.trim() === "" || /[\r\n\0]/.test(file)) {
        problems.push(`ruleFiles[${i}]: given ${given(file)}; allowed: a file path or glob`);
      }
    });
  }
  return [...problems, ...jobProblems(input.jobs)];
}

export function renderPrometheusConfig(input: PrometheusConfigInput): string {
  const problems = problemsOf(input);
  if (problems.length > 0) {
    throw new Error(`prometheus.yml: ${problems.join("; ")}`);
  }
  const doc = {
    global: {
      scrape_interval: `${input.scrapeIntervalSeconds}s`,
      scrape_timeout: `${input.scrapeTimeoutSeconds}s`,
      evaluation_interval: `${input.evaluationIntervalSeconds}s`,
      external_labels: { ...input.externalLabels },
    },
    ...(input.alertmanagers.length > 0
      ? {
          alerting: {
            alertmanagers: [{ static_configs: [{ targets: [...input.alertmanagers] }] }],
          },
        }
      : {}),
    rule_files: [...input.ruleFiles],
    scrape_configs: input.jobs.map((job) => ({
      job_name: job.name,
      metrics_path: job.metricsPath,
      // One static config per target: each container carries its own service/container labels.
      static_configs: job.targets.map((target) => ({
        targets: [target.address],
        labels: { ...target.labels },
      })),
    })),
  };
  return `# Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.\n${stringify(doc)}`;
}
