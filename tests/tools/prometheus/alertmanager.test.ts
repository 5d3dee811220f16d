/**
 * The rendered alertmanager.yml under the real amtool (Alertmanager 0.33): `check-config` accepts
 * every receiver combination and rejects broken variants, and `config routes test` shows which
 * receivers each kind of alert reaches.
 */
import { parse, stringify } from "yaml";
import { AlertmanagerInput, renderAlertmanagerConfig } from "../../../render/alertmanager";
import { runTool } from "./harness";
import { email, route, webhook } from "../../alertmanagerInputs";

// amtool reads neither secret file when checking or routing, so they need not exist.
const variants: Readonly<Record<string, AlertmanagerInput>> = {
  "email only": { route, email },
  "webhook only": { route, webhook },
  "webhook only, critical only": { route, webhook: { ...webhook, criticalOnly: true } },
  "email and webhook": { route, email, webhook },
  "email and webhook, critical only": { route, email, webhook: { ...webhook, criticalOnly: true } },
  neither: { route },
};

function amtool(args: readonly string[], config: string) {
  return runTool("amtool", args, { "alertmanager.yml": config });
}

/** The receivers amtool routes an alert with `labels` to, e.g. ["webhook", "email"]. */
function receiversOf(input: AlertmanagerInput, labels: readonly string[]): string[] {
  const run = amtool(
    ["config", "routes", "test", "--config.file=alertmanager.yml", ...labels],
    renderAlertmanagerConfig(input),
  );
  if (run.status !== 0) throw new Error(`amtool config routes test failed:\n${run.output}`);
  return run.stdout.trim().split(",");
}

describe("amtool check-config", () => {
  test.each(Object.entries(variants))(
    "%s: valid, with the ServiceDown inhibit rule",
    (_, input) => {
      const run = amtool(["check-config", "alertmanager.yml"], renderAlertmanagerConfig(input));
      expect(run.status).toBe(0);
      expect(run.output).toContain("SUCCESS");
      expect(run.output).toContain(" - 1 inhibit rules");
    },
  );

  test("an undefined receiver is rejected, so the check bites", () => {
    const doc = parse(renderAlertmanagerConfig(variants.neither)) as {
      receivers: { name: string }[];
    };
    doc.receivers = [{ name: "someone-else" }];
    const run = amtool(["check-config", "alertmanager.yml"], stringify(doc));
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('undefined receiver "none"');
  });

  test("an inline secret beside its file is rejected: the file is the only place for it", () => {
    const doc = parse(renderAlertmanagerConfig(variants["email and webhook"])) as {
      receivers: { webhook_configs?: Record<string, unknown>[] }[];
    };
    const hook = doc.receivers.find((r) => r.webhook_configs)?.webhook_configs?.[0];
    if (!hook) throw new Error("no webhook config rendered");
    hook.url = "https://hooks.example.com/T0KEN";
    const run = amtool(["check-config", "alertmanager.yml"], stringify(doc));
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/at most one of url & url_file/);
  });
});

describe("amtool config routes test: which receivers an alert reaches", () => {
  const critical = ["alertname=ServiceDown", "severity=critical", "service=api"];
  const warning = ["alertname=HighCpuUsage", "severity=warning", "service=api"];

  test.each([
    ["email only", ["email"], ["email"]],
    ["webhook only", ["webhook"], ["webhook"]],
    ["webhook only, critical only", ["webhook"], ["none"]],
    ["email and webhook", ["webhook", "email"], ["webhook", "email"]],
    ["email and webhook, critical only", ["webhook", "email"], ["email"]],
    ["neither", ["none"], ["none"]],
  ])("%s: critical -> %p, warning -> %p", (name, forCritical, forWarning) => {
    expect(receiversOf(variants[name], critical)).toEqual(forCritical);
    expect(receiversOf(variants[name], warning)).toEqual(forWarning);
  });

  test("an alert without a severity label still reaches email, and the all-alerts webhook", () => {
    expect(receiversOf(variants["email and webhook, critical only"], ["alertname=X"])).toEqual([
      "email",
    ]);
    expect(receiversOf(variants["email and webhook"], ["alertname=X"])).toEqual([
      "webhook",
      "email",
    ]);
  });
});
