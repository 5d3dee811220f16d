/**
 * The rendered prometheus.yml under the real `promtool check config` (Prometheus 3.5), together
 * with the rendered rule file it names, and broken variants it must reject.
 */
import { parse, stringify } from "yaml";
import { DEFAULT_ALERT_THRESHOLDS, renderAlertRules } from "../../../render/alertRules";
import { PrometheusConfigInput, renderPrometheusConfig } from "../../../render/prometheus";
import { runTool } from "./harness";

const target = (address: string, service: string, container: string) => ({
  address,
  labels: { service, container },
});

const input: PrometheusConfigInput = {
  scrapeIntervalSeconds: 15,
  scrapeTimeoutSeconds: 10,
  evaluationIntervalSeconds: 15,
  externalLabels: { project: "vpn-enterprise", stack: "prod" },
  alertmanagers: ["alertmanager:9093"],
  // Relative, so promtool resolves it next to prometheus.yml in the run directory.
  ruleFiles: ["rules/*.yml"],
  jobs: [
    {
      name: "prometheus",
      metricsPath: "/metrics",
      targets: [target("prometheus:9090", "prometheus", "vpn-prod-prometheus")],
    },
    {
      name: "api",
      metricsPath: "/metrics",
      targets: [1, 2, 3].map((n) => target(`vpn-prod-api-${n}:3000`, "api", `vpn-prod-api-${n}`)),
    },
    {
      name: "cadvisor",
      metricsPath: "/metrics",
      targets: [target("cadvisor:8080", "cadvisor", "vpn-prod-cadvisor")],
    },
    {
      name: "node-exporter",
      metricsPath: "/metrics",
      targets: [target("node-exporter:9100", "node-exporter", "vpn-prod-node-exporter")],
    },
    {
      name: "postgres-exporter",
      metricsPath: "/metrics",
      targets: [target("postgres-exporter:9187", "postgres-exporter", "vpn-prod-pg-exporter")],
    },
  ],
};

const rules = renderAlertRules({
  thresholds: DEFAULT_ALERT_THRESHOLDS,
  sources: { cadvisor: true, nodeExporter: true, api: true, backups: true },
  certificate: { domain: "vpn.example.com", expiry: "2030-01-01T00:00:00Z" },
});

function checkConfig(config: string, ruleFile: string = rules) {
  return runTool("promtool", ["check", "config", "--lint=all", "--lint-fatal", "prometheus.yml"], {
    "prometheus.yml": config,
    "rules/vpn.yml": ruleFile,
  });
}

type ConfigDoc = {
  global: Record<string, unknown>;
  scrape_configs: { job_name: string }[];
};

test("the full config and the rule file it names pass promtool's check and lint", () => {
  const run = checkConfig(renderPrometheusConfig(input));
  expect(run.status).toBe(0);
  expect(run.output).toContain("SUCCESS: 1 rule files found");
  expect(run.output).toContain("SUCCESS: prometheus.yml is valid prometheus config file syntax");
  // promtool read the rendered rules, not just the config.
  expect(run.output).toMatch(/Checking rules\/vpn\.yml\s+SUCCESS: 12 rules found/);
});

test("without Alertmanager and rule files the config is still valid", () => {
  const config = renderPrometheusConfig({ ...input, alertmanagers: [], ruleFiles: [] });
  const run = checkConfig(config);
  expect(run.status).toBe(0);
  expect(run.output).not.toContain("rule files found");
});

test("a repeated job name is rejected by promtool, so the check bites", () => {
  const doc = parse(renderPrometheusConfig(input)) as ConfigDoc;
  doc.scrape_configs[2].job_name = doc.scrape_configs[1].job_name;
  const run = checkConfig(stringify(doc));
  expect(run.status).not.toBe(0);
  expect(run.output).toContain('found multiple scrape configs with job name "api"');
});

test("a scrape timeout above the interval, which the renderer refuses, promtool refuses too", () => {
  const doc = parse(renderPrometheusConfig(input)) as ConfigDoc;
  doc.global.scrape_timeout = "20s";
  const run = checkConfig(stringify(doc));
  expect(run.status).not.toBe(0);
  expect(run.output).toMatch(/scrape timeout greater than scrape interval/);
  expect(() => renderPrometheusConfig({ ...input, scrapeTimeoutSeconds: 20 })).toThrow(
    "scrapeTimeoutSeconds: given 20; allowed: at most scrapeIntervalSeconds (15)",
  );
});

test("a broken rule file named by the config fails the config check", () => {
  const run = checkConfig(renderPrometheusConfig(input), rules.replace("up == 0", "up == "));
  expect(run.status).not.toBe(0);
  expect(run.output).toContain("ServiceDown");
});
