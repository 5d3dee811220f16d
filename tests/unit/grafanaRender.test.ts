/** Grafana's provisioning files, the dashboard checks, and the shipped dashboards against both. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  DASHBOARD_FOLDER,
  DashboardFile,
  GrafanaProvisioningInput,
  LOKI_DATASOURCE_UID,
  PROMETHEUS_DATASOURCE_UID,
  dashboardsFor,
  inspectDashboard,
  provisionedDatasourceUids,
  renderDashboardProvider,
  renderDatasources,
} from "../../render/grafana";

const DASHBOARD_DIR = path.resolve(__dirname, "../../assets/grafana/dashboards");
const shipped: DashboardFile[] = fs
  .readdirSync(DASHBOARD_DIR)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => ({ name, json: fs.readFileSync(path.join(DASHBOARD_DIR, name), "utf8") }));

const BOTH = [PROMETHEUS_DATASOURCE_UID, LOKI_DATASOURCE_UID];
const PROM = { type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID };
const LOKI = { type: "loki", uid: LOKI_DATASOURCE_UID };

const input: GrafanaProvisioningInput = {
  prometheusUrl: "http://prometheus:9090",
  lokiUrl: "http://loki:3100",
  dashboardsDir: "/etc/grafana/dashboards",
  scrapeIntervalSeconds: 15,
};
const withoutLoki: GrafanaProvisioningInput = {
  prometheusUrl: input.prometheusUrl,
  dashboardsDir: input.dashboardsDir,
  scrapeIntervalSeconds: input.scrapeIntervalSeconds,
};

/** The message of the error `run` throws; fails the test when it does not throw. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a refusal");
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { datasource?: { type: string; uid: string }; expr: string }[];
  panels?: Panel[];
}
interface Dashboard {
  id: unknown;
  uid: string;
  title: string;
  editable: boolean;
  schemaVersion: number;
  time: { from: string; to: string };
  templating: { list: { name: string; datasource?: { uid: string } }[] };
  panels: Panel[];
}
const parsed = (file: DashboardFile) => JSON.parse(file.json) as Dashboard;
const panelsOf = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

describe("datasources", () => {
  test("Prometheus is the default and Loki is added with fixed uids, neither editable", () => {
    expect(parse(renderDatasources(input))).toEqual({
      apiVersion: 1,
      prune: true,
      datasources: [
        {
          name: "Prometheus",
          type: "prometheus",
          uid: "prometheus",
          access: "proxy",
          url: "http://prometheus:9090",
          isDefault: true,
          editable: false,
          jsonData: { timeInterval: "15s", httpMethod: "POST" },
        },
        {
          name: "Loki",
          type: "loki",
          uid: "loki",
          access: "proxy",
          url: "http://loki:3100",
          isDefault: false,
          editable: false,
          jsonData: { maxLines: 1000 },
        },
      ],
    });
    expect(provisionedDatasourceUids(input)).toEqual(BOTH);
  });

  test("without Loki only Prometheus is provisioned", () => {
    const file = parse(renderDatasources(withoutLoki)) as { datasources: { uid: string }[] };
    expect(file.datasources.map((d) => d.uid)).toEqual([PROMETHEUS_DATASOURCE_UID]);
    expect(provisionedDatasourceUids(withoutLoki)).toEqual([PROMETHEUS_DATASOURCE_UID]);
  });

  test("the time interval is the scrape interval, and URLs come back as given", () => {
    const url = "http://prometheus:9090/prom: #x";
    const file = parse(
      renderDatasources({ ...withoutLoki, prometheusUrl: url, scrapeIntervalSeconds: 30 }),
    ) as { datasources: { url: string; jsonData: { timeInterval: string } }[] };
    expect(file.datasources[0].url).toBe(url);
    expect(file.datasources[0].jsonData.timeInterval).toBe("30s");
  });

  test.each(["prometheus:9090", "ftp://prometheus:9090", "not a url", ""])(
    "prometheusUrl %p is refused",
    (prometheusUrl) => {
      expect(refusal(() => renderDatasources({ ...input, prometheusUrl }))).toMatch(
        `grafana datasources: prometheusUrl: an http(s) URL, got ${JSON.stringify(prometheusUrl)}`,
      );
    },
  );

  test("a URL with credentials is refused (Grafana would store them in plain text)", () => {
    expect(
      refusal(() => renderDatasources({ ...input, lokiUrl: "http://admin:pw@loki:3100" })),
    ).toMatch("lokiUrl: a URL without credentials");
  });

  test.each([0, -15, 1.5, Number.NaN])("scrapeIntervalSeconds %p is refused", (seconds) => {
    expect(refusal(() => renderDatasources({ ...input, scrapeIntervalSeconds: seconds }))).toMatch(
      "scrapeIntervalSeconds: a positive integer (seconds)",
    );
  });

  test("every problem is reported at once", () => {
    const message = refusal(() =>
      renderDatasources({ ...input, prometheusUrl: "x", lokiUrl: "y", scrapeIntervalSeconds: 0 }),
    );
    expect(message).toMatch(/prometheusUrl.*lokiUrl.*scrapeIntervalSeconds/);
  });
});

describe("dashboard provider", () => {
  test("one read-only file provider for the dashboards directory, in the platform's folder", () => {
    expect(parse(renderDashboardProvider(input))).toEqual({
      apiVersion: 1,
      providers: [
        {
          name: "vpn-enterprise",
          orgId: 1,
          folder: DASHBOARD_FOLDER,
          folderUid: "vpn-enterprise",
          type: "file",
          disableDeletion: true,
          allowUiUpdates: false,
          updateIntervalSeconds: 30,
          options: { path: "/etc/grafana/dashboards", foldersFromFilesStructure: false },
        },
      ],
    });
    expect(DASHBOARD_FOLDER).toBe("VPN Enterprise");
  });

  test.each(["dashboards", "", "/etc/grafana/x\ny: 1"])("dashboardsDir %p is refused", (dir) => {
    expect(refusal(() => renderDashboardProvider({ ...input, dashboardsDir: dir }))).toMatch(
      "grafana dashboard provider: dashboardsDir: an absolute path",
    );
  });
});

describe("shipped dashboards", () => {
  test("the six dashboards, each with its own uid and title", () => {
    const listed = shipped.map((f) => {
      const { uid, title } = inspectDashboard(f, BOTH);
      return [f.name, uid, title];
    });
    expect(listed).toEqual([
      ["api.json", "vpn-api", "API performance"],
      ["containers.json", "vpn-containers", "Containers overview"],
      ["databases.json", "vpn-databases", "Databases"],
      ["logs.json", "vpn-logs", "Logs"],
      ["nginx.json", "vpn-nginx", "Nginx edge"],
      ["system.json", "vpn-system", "System resources"],
    ]);
    // dashboardsFor refuses a set with a repeated name, uid or title.
    expect(dashboardsFor(shipped, BOTH)).toEqual(shipped);
  });

  test.each(shipped.map((f) => [f.name, f] as const))(
    "%s follows the house rules for provisioned dashboards",
    (_name, file) => {
      const d = parsed(file);
      expect(d.id).toBeNull();
      expect(d.editable).toBe(false);
      expect(d.schemaVersion).toBe(41);
      expect(d.time).toEqual({ from: "now-6h", to: "now" });
      // Errors and the promtool check name panels by title, so a title says which panel it is.
      const titles = panelsOf(d).map((p) => p.title);
      expect(titles.filter((t, i) => titles.indexOf(t) !== i)).toEqual([]);
      for (const panel of panelsOf(d)) {
        const allowed = ["row", "timeseries", "stat", "gauge", "table"];
        expect([...allowed, ...(d.uid === "vpn-logs" ? ["logs"] : [])]).toContain(panel.type);
        if (panel.type === "row") continue;
        // A datasource on the panel and on each query: nothing falls back to "the default".
        const uids = [
          panel.datasource?.uid,
          ...(panel.targets ?? []).map((t) => t.datasource?.uid),
        ];
        expect(uids.every((uid) => uid !== undefined && BOTH.includes(uid))).toBe(true);
        expect(uids.includes(LOKI_DATASOURCE_UID)).toBe(d.uid === "vpn-logs");
      }
    },
  );

  test.each(shipped.map((f) => [f.name, f] as const))(
    "%s: panels stay within the 24 columns and do not overlap",
    (_name, file) => {
      const boxes = panelsOf(parsed(file)).map((p) => ({ title: p.title, ...p.gridPos }));
      for (const [i, a] of boxes.entries()) {
        expect(a.x >= 0 && a.w >= 1 && a.x + a.w <= 24 && a.h >= 1).toBe(true);
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap ? `${a.title} overlaps ${b.title}` : "").toBe("");
        }
      }
    },
  );

  /** The metric names an expression reads (strings, label lists and matchers left out). */
  function metricsOf(expr: string): string[] {
    const bare = expr
      .replace(/"(?:[^"\\]|\\.)*"/g, '""')
      .replace(/\{[^}]*\}/g, "")
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
      .replace(/\[[^\]]*\]/g, "");
    const keywords = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);
    return [...bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)]
      .filter(
        (m) => (m[2] as string | undefined) === undefined && !keywords.has(m[1].toLowerCase()),
      )
      .map((m) => m[1]);
  }

  // The series the platform's exporters and the API expose (see each exporter's documentation):
  // a misspelt metric name is valid PromQL, so promtool would not notice it.
  const EXPOSED = new Set([
    "up",
    ...["container_cpu_usage_seconds_total", "container_spec_cpu_quota"],
    ...["container_spec_cpu_period", "container_memory_working_set_bytes"],
    ...["container_spec_memory_limit_bytes", "container_start_time_seconds"],
    ...["container_network_receive_bytes_total", "container_network_transmit_bytes_total"],
    ...["nginx_up", "nginx_connections_active", "nginx_connections_reading"],
    ...["nginx_connections_writing", "nginx_connections_waiting", "nginx_connections_accepted"],
    ...["nginx_connections_handled", "nginx_http_requests_total"],
    ...["http_requests_total", "http_request_duration_seconds_bucket"],
    ...["pg_up", "pg_stat_database_numbackends", "pg_settings_max_connections"],
    ...["pg_stat_database_xact_commit", "pg_stat_database_xact_rollback"],
    ...["pg_stat_database_blks_hit", "pg_stat_database_blks_read", "pg_database_size_bytes"],
    ...["redis_up", "redis_connected_clients", "redis_memory_used_bytes"],
    ...["redis_memory_max_bytes", "redis_commands_processed_total", "redis_keyspace_hits_total"],
    ...["redis_keyspace_misses_total", "redis_db_keys"],
    ...["vpn_backup_last_success_timestamp_seconds", "vpn_backup_last_attempt_success"],
    ...["vpn_backup_last_size_bytes"],
    ...["node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes"],
    ...["node_filesystem_avail_bytes", "node_filesystem_size_bytes"],
    ...["node_load1", "node_load5", "node_load15"],
    ...["node_network_receive_bytes_total", "node_network_transmit_bytes_total"],
  ]);

  test("the metric-name reader finds names and skips labels, strings and functions", () => {
    expect(
      metricsOf(
        'sum by (le) (rate(a_total{x="b_total"}[5m])) / on (name) c_bytes > 0 or vector(0)',
      ),
    ).toEqual(["a_total", "c_bytes"]);
  });

  test("each dashboard reads only series the platform exposes, and the ones it is about", () => {
    const about: Record<string, string[]> = {
      "vpn-containers": [
        ...["container_cpu_usage_seconds_total", "container_spec_cpu_quota"],
        ...["container_memory_working_set_bytes", "container_spec_memory_limit_bytes"],
        ...["container_start_time_seconds", "container_network_receive_bytes_total"],
        ...["container_network_transmit_bytes_total", "up"],
      ],
      "vpn-nginx": [
        ...["nginx_connections_active", "nginx_connections_reading", "nginx_connections_writing"],
        ...["nginx_connections_waiting", "nginx_http_requests_total"],
        ...["nginx_connections_accepted", "nginx_connections_handled"],
      ],
      "vpn-api": ["http_requests_total", "http_request_duration_seconds_bucket", "up"],
      "vpn-databases": [
        ...["pg_up", "pg_stat_database_numbackends", "pg_settings_max_connections"],
        ...["pg_stat_database_xact_commit", "pg_stat_database_xact_rollback"],
        ...["pg_stat_database_blks_hit", "pg_database_size_bytes", "redis_up"],
        ...["redis_connected_clients", "redis_memory_used_bytes", "redis_memory_max_bytes"],
        ...["redis_keyspace_hits_total", "redis_commands_processed_total"],
      ],
      "vpn-system": [
        ...["node_cpu_seconds_total", "node_memory_MemAvailable_bytes"],
        ...["node_filesystem_avail_bytes", "node_load1", "node_network_receive_bytes_total"],
      ],
      "vpn-logs": [],
    };
    for (const file of shipped) {
      const { uid, expressions } = inspectDashboard(file, BOTH);
      const read = new Set(expressions.flatMap((e) => metricsOf(e.expr)));
      expect([uid, [...read].filter((m) => !EXPOSED.has(m))]).toEqual([uid, []]);
      expect([uid, about[uid].filter((m) => !read.has(m))]).toEqual([uid, []]);
    }
  });

  test("API latency has p50, p95 and p99 and a per-replica rate by the container label", () => {
    const api = shipped.find((f) => f.name === "api.json");
    const exprs = inspectDashboard(api as DashboardFile, BOTH).expressions.map((e) => e.expr);
    for (const q of ["0.5", "0.95", "0.99"]) {
      expect(exprs.some((e) => e.startsWith(`histogram_quantile(${q}, sum by (le) (`))).toBe(true);
    }
    expect(exprs).toContain(
      'sum by (container) (rate(http_requests_total{service="api", container=~".+"}[5m]))',
    );
  });

  test("the logs dashboard has a logs panel and a service variable from Loki's service label", () => {
    const logs = parsed(shipped.find((f) => f.name === "logs.json") as DashboardFile);
    expect(logs.panels.map((p) => p.type)).toContain("logs");
    const service = logs.templating.list.find((v) => v.name === "service");
    expect(service).toMatchObject({
      type: "query",
      datasource: LOKI,
      query: { type: 1, label: "service" },
    });
    expect(logs.panels.every((p) => p.targets?.every((t) => t.expr.includes("$service")))).toBe(
      true,
    );
  });
});

/** A minimal dashboard: one Prometheus timeseries panel, with `panel` and `dashboard` overrides. */
function mini(
  panel: Record<string, unknown> = {},
  dashboard: Record<string, unknown> = {},
): DashboardFile {
  return {
    name: "mini.json",
    json: JSON.stringify({
      uid: "mini",
      title: "Mini",
      panels: [
        {
          id: 1,
          type: "timeseries",
          title: "Requests",
          datasource: PROM,
          targets: [{ refId: "A", datasource: PROM, expr: "up" }],
          ...panel,
        },
      ],
      ...dashboard,
    }),
  };
}
const promTarget = (expr: string) => ({ refId: "A", datasource: PROM, expr });
const variable = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: "custom",
  query: "a,b",
  ...extra,
});

describe("inspectDashboard", () => {
  test("returns the uid, the title and each Prometheus expression with its panel", () => {
    expect(inspectDashboard(mini(), [PROMETHEUS_DATASOURCE_UID])).toEqual({
      uid: "mini",
      title: "Mini",
      expressions: [{ panel: "Requests", expr: "up" }],
    });
  });

  test("Grafana's variables become values promtool accepts, in every syntax", () => {
    const expr =
      'rate(x{a=~"$svc", b="${svc}", c=~"${svc:regex}", d="[[svc]]"}[$__rate_interval])' +
      " + increase(y[$__range]) + z[${__interval}] + $k * $__range_s + w[$step]";
    const file = mini(
      { targets: [promTarget(expr)] },
      {
        templating: {
          list: [
            variable("svc"),
            variable("k", { type: "constant", query: "3" }),
            variable("step", { type: "interval", query: "1m,5m" }),
          ],
        },
      },
    );
    expect(inspectDashboard(file, BOTH).expressions).toEqual([
      {
        panel: "Requests",
        expr:
          'rate(x{a=~".+", b=".+", c=~".+", d=".+"}[5m])' +
          " + increase(y[6h]) + z[1m] + 3 * 21600 + w[1m]",
      },
    ]);
  });

  test("a regex end anchor in a matcher is not taken for a variable", () => {
    const file = mini({ targets: [promTarget('node_filesystem_avail_bytes{mountpoint=~"/$"}')] });
    expect(inspectDashboard(file, BOTH).expressions[0].expr).toBe(
      'node_filesystem_avail_bytes{mountpoint=~"/$"}',
    );
  });

  test("a Prometheus variable's selector is checked too; a label-only query has none", () => {
    const vars = [
      variable("c", {
        type: "query",
        datasource: PROM,
        query: { qryType: 1, query: 'label_values(up{service="api"}, container)', refId: "V" },
      }),
      variable("all", { type: "query", datasource: PROM, query: "label_values(service)" }),
      variable("q", { type: "query", datasource: PROM, query: "query_result(topk(3, up))" }),
    ];
    const { expressions } = inspectDashboard(mini({}, { templating: { list: vars } }), BOTH);
    expect(expressions).toEqual([
      { panel: "variable c", expr: 'up{service="api"}' },
      { panel: "variable q", expr: "topk(3, up)" },
      { panel: "Requests", expr: "up" },
    ]);
  });

  test("invalid JSON is refused with the file name", () => {
    expect(refusal(() => inspectDashboard({ name: "broken.json", json: "{" }, BOTH))).toMatch(
      /^dashboard broken\.json: not valid JSON/,
    );
  });

  test.each([
    ["missing", undefined],
    ["empty", ""],
    ["too long", "x".repeat(41)],
    ["with a slash", "a/b"],
  ])("a %s uid is refused", (_what, uid) => {
    expect(refusal(() => inspectDashboard(mini({}, { uid }), BOTH))).toMatch(
      "dashboard mini.json: uid: 1 to 40 letters, digits, _ or -",
    );
  });

  test("a missing title is refused", () => {
    expect(refusal(() => inspectDashboard(mini({}, { title: " " }), BOTH))).toMatch(
      "dashboard mini.json: title: a non-empty string",
    );
  });

  test("a panel on a datasource that is not provisioned is refused, naming file and panel", () => {
    const file = mini({ datasource: LOKI, targets: [{ refId: "A", expr: '{a=~".+"}' }] });
    expect(refusal(() => inspectDashboard(file, [PROMETHEUS_DATASOURCE_UID]))).toBe(
      'dashboard mini.json: panel "Requests": datasource uid "loki" is not provisioned (provisioned: prometheus)',
    );
    expect(inspectDashboard(file, BOTH).expressions).toEqual([]);
  });

  test("a query on another datasource than its panel is checked on its own", () => {
    const file = mini({ targets: [{ refId: "B", datasource: { type: "x", uid: "other" } }] });
    expect(refusal(() => inspectDashboard(file, BOTH))).toMatch(
      'dashboard mini.json: panel "Requests" query B: datasource uid "other" is not provisioned',
    );
  });

  test("a panel without a datasource or with the wrong type for the uid is refused", () => {
    expect(refusal(() => inspectDashboard(mini({ datasource: undefined }), BOTH))).toMatch(
      'panel "Requests": datasource: { type, uid } of a provisioned datasource',
    );
    const wrongType = mini({ datasource: { type: "loki", uid: PROMETHEUS_DATASOURCE_UID } });
    expect(refusal(() => inspectDashboard(wrongType, BOTH))).toMatch(
      'panel "Requests": datasource prometheus is of type prometheus, got "loki"',
    );
  });

  test("panels inside a row are checked like the others", () => {
    const file = mini({
      type: "row",
      title: "Section",
      datasource: undefined,
      targets: undefined,
      panels: [{ id: 2, type: "stat", title: "Inner", datasource: { type: "x", uid: "nope" } }],
    });
    expect(refusal(() => inspectDashboard(file, BOTH))).toMatch('panel "Inner": datasource uid');
  });

  test("a variable Grafana would not expand is refused instead of passed to promtool", () => {
    const file = mini({ targets: [promTarget('up{container=~"$contianer"}')] });
    expect(refusal(() => inspectDashboard(file, BOTH))).toMatch(
      'dashboard mini.json: panel "Requests" query A: unknown variable $contianer',
    );
    const builtin = mini({ targets: [promTarget("rate(x[$__from])")] });
    expect(refusal(() => inspectDashboard(builtin, BOTH))).toMatch("unknown variable $__from");
  });

  test("a Loki query's own variables are checked, its built-ins left to Loki", () => {
    const loki = (expr: string) =>
      mini(
        { datasource: LOKI, targets: [{ refId: "A", expr }] },
        {
          templating: { list: [variable("svc")] },
        },
      );
    expect(inspectDashboard(loki('rate({s=~"$svc"}[$__auto])'), BOTH).expressions).toEqual([]);
    expect(refusal(() => inspectDashboard(loki('{s=~"$service"}'), BOTH))).toMatch(
      "unknown variable $service",
    );
  });

  test("a panel without queries, with an empty expression or with a repeated id is refused", () => {
    expect(refusal(() => inspectDashboard(mini({ targets: [] }), BOTH))).toMatch(
      'panel "Requests": targets: at least one query',
    );
    expect(refusal(() => inspectDashboard(mini({ targets: [promTarget(" ")] }), BOTH))).toMatch(
      'panel "Requests" query A: expr: a non-empty query',
    );
    const twice = {
      panels: [0, 1].map(() => ({
        id: 7,
        type: "stat",
        title: "T",
        datasource: PROM,
        targets: [promTarget("up")],
      })),
    };
    expect(refusal(() => inspectDashboard(mini({}, twice), BOTH))).toMatch(
      'panel "T": id 7 is taken',
    );
  });

  test("a file name that is not a plain .json name is refused", () => {
    expect(refusal(() => inspectDashboard({ ...mini(), name: "../x.json" }, BOTH))).toMatch(
      'dashboard "../x.json": name: a lower-case file name ending in .json',
    );
  });
});

describe("dashboardsFor", () => {
  test("without Loki the logs dashboard is left out and every other one kept", () => {
    const names = (uids: string[]) => dashboardsFor(shipped, uids).map((f) => f.name);
    expect(names([PROMETHEUS_DATASOURCE_UID])).toEqual(
      shipped.map((f) => f.name).filter((n) => n !== "logs.json"),
    );
    expect(names(provisionedDatasourceUids(input))).toEqual(shipped.map((f) => f.name));
  });

  test("a uid that is no datasource of the platform is an error, not a dropped dashboard", () => {
    const typo = mini({ datasource: { type: "prometheus", uid: "prometeus" } });
    expect(refusal(() => dashboardsFor([typo], BOTH))).toMatch(
      'dashboard mini.json: panel "Requests": datasource uid "prometeus" is not provisioned',
    );
  });

  test("two files with the same uid, title or name are refused, naming both", () => {
    const other = (dashboard: Record<string, unknown>, name = "other.json") => ({
      ...mini({}, { uid: "other", title: "Other", ...dashboard }),
      name,
    });
    expect(refusal(() => dashboardsFor([mini(), other({ uid: "mini" })], BOTH))).toBe(
      'dashboard other.json: uid "mini" is already used by mini.json',
    );
    expect(refusal(() => dashboardsFor([mini(), other({ title: "Mini" })], BOTH))).toBe(
      'dashboard other.json: title "Mini" is already used by mini.json',
    );
    expect(refusal(() => dashboardsFor([mini(), other({}, "mini.json")], BOTH))).toBe(
      'dashboard mini.json: name "mini.json" is already used by mini.json',
    );
    const copy = shipped[0];
    expect(
      refusal(() => dashboardsFor([...shipped, { ...copy, name: "copy.json" }], BOTH)),
    ).toMatch(`is already used by ${copy.name}`);
  });
});
