/**
 * Every PromQL expression of the shipped dashboards, through promtool: each becomes a recording
 * rule, so `promtool check rules` parses and type-checks it as Prometheus 3 would.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import {
  DashboardFile,
  DashboardSummary,
  LOKI_DATASOURCE_UID,
  PROMETHEUS_DATASOURCE_UID,
  inspectDashboard,
} from "../../../render/grafana";
import { expectToolOk, runTool } from "./harness";

const DASHBOARD_DIR = path.resolve(__dirname, "../../../assets/grafana/dashboards");
const shipped: DashboardFile[] = fs
  .readdirSync(DASHBOARD_DIR)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => ({ name, json: fs.readFileSync(path.join(DASHBOARD_DIR, name), "utf8") }));
const UIDS = [PROMETHEUS_DATASOURCE_UID, LOKI_DATASOURCE_UID];

interface Checked {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
}

/**
 * A rule file with one group per dashboard and one recording rule `dashboard:check_<n>` per
 * expression (labelled with its dashboard and panel), and what each record stands for.
 */
function ruleFile(dashboards: readonly DashboardSummary[]): {
  text: string;
  records: Map<string, Checked>;
} {
  const records = new Map<string, Checked>();
  const groups = dashboards.map((d) => ({
    name: `dashboard ${d.uid}`,
    rules: d.expressions.map(({ panel, expr }) => {
      const record = `dashboard:check_${records.size + 1}`;
      records.set(record, { dashboard: d.uid, panel, expr });
      return { record, expr, labels: { dashboard: d.uid, panel } };
    }),
  }));
  return { text: stringify({ groups }), records };
}

const checkRules = (text: string) =>
  runTool("promtool", ["check", "rules", "rules.yml"], { "rules.yml": text });

test("promtool accepts every PromQL expression of every shipped dashboard", () => {
  const dashboards = shipped.map((f) => inspectDashboard(f, UIDS));
  const { text, records } = ruleFile(dashboards);
  // Only the logs dashboard has no Prometheus query; the others have many.
  for (const d of dashboards) {
    expect([d.uid, d.expressions.length > 0]).toEqual([d.uid, d.uid !== "vpn-logs"]);
  }
  const run = expectToolOk("promtool", ["check", "rules", "rules.yml"], { "rules.yml": text });
  expect(run.output).toContain(`SUCCESS: ${records.size} rules found`);
});

test("one broken expression fails the check, and the failure names its dashboard and panel", () => {
  const api = shipped.find((f) => f.name === "api.json") as DashboardFile;
  const doc = JSON.parse(api.json) as { panels: { title: string; targets: { expr: string }[] }[] };
  const panel = doc.panels.find((p) => p.title === "Request rate per replica");
  if (panel === undefined) throw new Error("api.json has no panel Request rate per replica");
  panel.targets[0].expr = "rate(x[5m]";
  const broken = { name: "api.json", json: JSON.stringify(doc) };

  // The dashboard check looks at datasources and variables, not at PromQL: promtool has to catch it.
  const dashboards = shipped.map((f) => inspectDashboard(f === api ? broken : f, UIDS));
  const { text, records } = ruleFile(dashboards);
  const run = checkRules(text);
  expect(run.status).not.toBe(0);

  const named = [...run.output.matchAll(/"(dashboard:check_\d+)": could not parse expression/g)];
  expect(named.map((m) => records.get(m[1]))).toEqual([
    { dashboard: "vpn-api", panel: "Request rate per replica", expr: "rate(x[5m]" },
  ]);
  expect(run.output).toContain('group "dashboard vpn-api"');
  expect(run.output).toContain("unclosed left parenthesis");
});

test("a well-formed expression of the wrong type fails too (promtool type-checks, not only parses)", () => {
  const { text } = ruleFile([
    { uid: "t", title: "T", expressions: [{ panel: "P", expr: "rate(up)" }] },
  ]);
  const run = checkRules(text);
  expect(run.status).not.toBe(0);
  expect(run.output).toMatch(/"dashboard:check_1".*expected type range vector/);
});
