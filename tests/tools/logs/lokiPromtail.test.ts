/**
 * The rendered Loki and Promtail configs, read by the real programs: `loki -verify-config` (parses
 * the file into Loki's config structs, refusing unknown keys, then runs Loki's own validation of
 * schema, storage and compactor) and `promtail -check-syntax` (the same parsing, with relabel
 * rules, durations and regexes checked). Each broken variant must be refused for its own reason,
 * so a tool that passes everything fails these tests.
 *
 * Opt-in, as the binaries are not built by this repository: VPN_LOKI_BIN and VPN_PROMTAIL_BIN (or
 * VPN_LOG_VALIDATORS=1 with both under /opt/vpn-test-tools). Otherwise the suite says NOT RUN on
 * stderr and is reported as skipped, never as passed.
 *
 * The data directory: `-verify-config` neither creates nor opens the directories the file names
 * (checked with strace; the test below also renders one under a temporary directory and finds it
 * still absent), so the file is checked with its real paths (/loki/...) and needs no root.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { CATALOG } from "../../../config/catalog";
import { LokiConfigInput, renderLokiConfig } from "../../../render/loki";
import { PromtailConfigInput, renderPromtailConfig } from "../../../render/promtail";
import { logValidatorsSkipReason, runLogValidator } from "./harness";

const reason = logValidatorsSkipReason("Loki/Promtail validator tests");
const suite = reason === undefined ? describe : describe.skip;

/** What components/observability/loki.ts passes with the schema's defaults. */
const LOKI: LokiConfigInput = {
  port: CATALOG.loki.port,
  dataDir: CATALOG.loki.dataPath,
  retentionDays: 14,
  ingestionRateMb: 4,
  ingestionBurstMb: 8,
};

/** What components/observability/logShipper.ts passes. */
function promtailInput(stack: string): PromtailConfigInput {
  return {
    lokiPushUrl: "http://loki:3100/loki/api/v1/push",
    dockerHost: "unix:///var/run/docker.sock",
    project: "vpn-enterprise",
    stack,
    refreshSeconds: 15,
    listenPort: CATALOG.promtail.port,
    positionsFile: `${CATALOG.promtail.dataPath}/positions.yaml`,
  };
}

/** The rendered YAML with one change made through the yaml package's document model. */
function edited(text: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(text);
  edit(doc);
  const out = doc.toString({ lineWidth: 0 });
  if (out === text) throw new Error("the edit changed nothing");
  return out;
}

suite("loki -verify-config on the rendered loki.yaml", () => {
  test("the program's inputs are the ones used here", () => {
    expect([CATALOG.loki.port, CATALOG.loki.dataPath]).toEqual([3100, "/loki"]);
  });

  test.each([
    ["the defaults (14 days)", LOKI],
    ["a 3-day retention (dev)", { ...LOKI, retentionDays: 3 }],
    ["a query length limit", { ...LOKI, maxQueryDays: 7 }],
  ])("accepts %s", (_name, input) => {
    const run = runLogValidator("loki", renderLokiConfig(input));
    expect(run.output).toContain('msg="config is valid"');
    expect(run.status).toBe(0);
  });

  test("does not create the data directory, so the real paths need no root", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-loki-data-"));
    try {
      const dataDir = path.join(tmp, "data");
      const run = runLogValidator("loki", renderLokiConfig({ ...LOKI, dataDir }));
      expect(run.status).toBe(0);
      expect(fs.existsSync(dataDir)).toBe(false);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  const text = renderLokiConfig(LOKI);
  test.each([
    [
      "schema v11 with the tsdb store",
      edited(text, (d) => {
        d.setIn(["schema_config", "configs", 0, "schema"], "v11");
      }),
      "schema v13 is required",
    ],
    [
      "a weekly tsdb index period",
      edited(text, (d) => {
        d.setIn(["schema_config", "configs", 0, "index", "period"], "168h");
      }),
      "tsdb must always have periodic config for index set to 24h",
    ],
    [
      "retention without a delete request store",
      edited(text, (d) => d.deleteIn(["compactor", "delete_request_store"])),
      "compactor.delete-request-store should be configured when retention is enabled",
    ],
    [
      "an unknown key",
      edited(text, (d) => {
        d.setIn(["server", "no_such_option"], 1);
      }),
      "field no_such_option not found in type server.Config",
    ],
  ])("refuses %s", (_name, broken, message) => {
    const run = runLogValidator("loki", broken);
    expect(run.output).toContain(message);
    expect(run.status).not.toBe(0);
  });
});

suite("promtail -check-syntax on the rendered promtail.yaml", () => {
  test("the program's inputs are the ones used here", () => {
    expect([CATALOG.promtail.port, CATALOG.promtail.dataPath]).toEqual([9080, "/var/lib/promtail"]);
  });

  test.each(["dev", "prod"])("accepts the %s stack's file", (stack) => {
    const run = runLogValidator("promtail", renderPromtailConfig(promtailInput(stack)));
    expect(run.output).toContain("Valid config file! No syntax issues found");
    expect(run.status).toBe(0);
  });

  const text = renderPromtailConfig(promtailInput("prod"));
  const scrape = ["scrape_configs", 0];
  test.each([
    [
      "an unknown relabel action",
      edited(text, (d) => {
        d.setIn([...scrape, "relabel_configs", 0, "action"], "replce");
      }),
      'unknown relabel action "replce"',
    ],
    [
      "a relabel regex that does not compile",
      edited(text, (d) => {
        d.setIn([...scrape, "relabel_configs", 0, "regex"], "/(.*");
      }),
      "error parsing regexp: missing closing )",
    ],
    [
      "a refresh interval that is not a duration",
      edited(text, (d) => {
        d.setIn([...scrape, "docker_sd_configs", 0, "refresh_interval"], "fifteen");
      }),
      'not a valid duration string: "fifteen"',
    ],
    [
      "an unknown key",
      edited(text, (d) => {
        d.setIn([...scrape, "no_such_field"], 1);
      }),
      "field no_such_field not found",
    ],
  ])("refuses %s", (_name, broken, message) => {
    const run = runLogValidator("promtail", broken);
    expect(run.output).toContain(message);
    expect(run.status).not.toBe(0);
  });
});
