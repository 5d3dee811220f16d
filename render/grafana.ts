/**
 * Grafana's provisioning files (datasources, the dashboard provider) and the checks every shipped
 * dashboard passes before it is provisioned. Pure: typed values and dashboard JSON text in, file
 * text or findings out; the caller reads the dashboard files.
 */
import { stringify } from "yaml";

export const PROMETHEUS_DATASOURCE_UID = "prometheus";
export const LOKI_DATASOURCE_UID = "loki";
/** The folder the provisioned dashboards appear in, and its fixed uid (links survive a rename). */
export const DASHBOARD_FOLDER = "VPN Enterprise";
export const DASHBOARD_FOLDER_UID = "vpn-enterprise";

/** The plugin type of each datasource this module provisions, by uid. */
const DATASOURCE_TYPES: Readonly<Record<string, string>> = {
  [PROMETHEUS_DATASOURCE_UID]: "prometheus",
  [LOKI_DATASOURCE_UID]: "loki",
};

export interface GrafanaProvisioningInput {
  /** Prometheus as Grafana's server reaches it, e.g. "http://prometheus:9090". */
  readonly prometheusUrl: string;
  /** Loki as Grafana's server reaches it, e.g. "http://loki:3100"; absent when Loki is disabled. */
  readonly lokiUrl?: string;
  /** Absolute directory inside the container where the dashboard JSON files are placed. */
  readonly dashboardsDir: string;
  /** Prometheus' scrape interval, in seconds: the shortest step a query can resolve. */
  readonly scrapeIntervalSeconds: number;
}

function urlProblem(field: string, value: unknown): string | undefined {
  const shown = JSON.stringify(value);
  if (typeof value !== "string") return `${field}: an http(s) URL, got ${shown}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${field}: an http(s) URL, got ${shown}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `${field}: an http(s) URL, got ${shown}`;
  }
  // Grafana would send these as basic auth on every query, stored in plain text in its database.
  if (url.username !== "" || url.password !== "") {
    return `${field}: a URL without credentials, got one with a user or password`;
  }
  return undefined;
}

function fail(file: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(`${file}: ${problems.join("; ")}`);
}

/** The uids renderDatasources provisions for `input`, for dashboardsFor. */
export function provisionedDatasourceUids(input: GrafanaProvisioningInput): string[] {
  return input.lokiUrl === undefined
    ? [PROMETHEUS_DATASOURCE_UID]
    : [PROMETHEUS_DATASOURCE_UID, LOKI_DATASOURCE_UID];
}

/** provisioning/datasources/<file>.yaml: Prometheus (the default) and, when enabled, Loki. */
export function renderDatasources(input: GrafanaProvisioningInput): string {
  const seconds = input.scrapeIntervalSeconds;
  fail(
    "grafana datasources",
    [
      urlProblem("prometheusUrl", input.prometheusUrl),
      input.lokiUrl === undefined ? undefined : urlProblem("lokiUrl", input.lokiUrl),
      Number.isSafeInteger(seconds) && seconds >= 1
        ? undefined
        : `scrapeIntervalSeconds: a positive integer (seconds), got ${String(seconds)}`,
    ].filter((p): p is string => p !== undefined),
  );

  const datasources: Record<string, unknown>[] = [
    {
      name: "Prometheus",
      type: DATASOURCE_TYPES[PROMETHEUS_DATASOURCE_UID],
      uid: PROMETHEUS_DATASOURCE_UID,
      access: "proxy",
      url: input.prometheusUrl,
      isDefault: true,
      editable: false,
      // Grafana makes $__rate_interval at least four times this, so a rate() window always spans
      // several scrapes.
      jsonData: { timeInterval: `${seconds}s`, httpMethod: "POST" },
    },
  ];
  if (input.lokiUrl !== undefined) {
    datasources.push({
      name: "Loki",
      type: DATASOURCE_TYPES[LOKI_DATASOURCE_UID],
      uid: LOKI_DATASOURCE_UID,
      access: "proxy",
      url: input.lokiUrl,
      isDefault: false,
      editable: false,
      jsonData: { maxLines: 1000 },
    });
  }
  return stringify({
    apiVersion: 1,
    // Grafana keeps datasources in its database: without this, turning Loki off would leave a
    // Loki datasource pointing at nothing.
    prune: true,
    datasources,
  });
}

/** provisioning/dashboards/<file>.yaml: one read-only provider for dashboardsDir. */
export function renderDashboardProvider(input: GrafanaProvisioningInput): string {
  const dir = input.dashboardsDir;
  fail(
    "grafana dashboard provider",
    [
      typeof dir === "string" && dir.startsWith("/") && !/[\0-\x1f\x7f]/.test(dir)
        ? undefined
        : `dashboardsDir: an absolute path without control characters, got ${JSON.stringify(dir)}`,
    ].filter((p): p is string => p !== undefined),
  );
  return stringify({
    apiVersion: 1,
    providers: [
      {
        name: "vpn-enterprise",
        orgId: 1,
        folder: DASHBOARD_FOLDER,
        folderUid: DASHBOARD_FOLDER_UID,
        type: "file",
        // The files are the source of truth: an edit in the UI would be lost at the next deploy,
        // and a deletion there would only last until Grafana re-reads the directory.
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: dir, foldersFromFilesStructure: false },
      },
    ],
  });
}

/** A dashboard file: its file name (`<name>.json`) and its JSON text. */
export interface DashboardFile {
  readonly name: string;
  readonly json: string;
}

export interface DashboardExpression {
  /** The panel title, or `variable <name>` for a template variable's query. */
  readonly panel: string;
  readonly expr: string;
}

export interface DashboardSummary {
  readonly uid: string;
  readonly title: string;
  /** Every PromQL expression, with Grafana's variables replaced by values promtool accepts. */
  readonly expressions: DashboardExpression[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const FILE_NAME = /^[a-z0-9][a-z0-9_-]*\.json$/;
// Grafana's own limits on a dashboard uid.
const UID = /^[A-Za-z0-9_-]{1,40}$/;

/**
 * Grafana's built-in variables PromQL panels may use, with a value of the right kind: promtool
 * checks syntax and types, not data, so any valid duration or number does.
 */
const BUILTIN_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: "5m",
  __interval: "1m",
  __interval_ms: "60000",
  __range: "6h",
  __range_s: "21600",
  __range_ms: "21600000",
};
/** Grafana's own variable syntax: $name, [[name]], ${name}, ${name:format}. */
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::\w+)?\]\]|\$\{(\w+)(?:\.[^:^}]+)?(?::[^}]+)?\}/g;

/**
 * What a dashboard variable stands for in a checked expression. Query and custom variables end up
 * in label matchers, where Grafana writes a value or (multi-value, All) a regex; `.+` is both.
 */
function variableValue(variable: Json): string {
  if (variable.type === "constant" && typeof variable.query === "string") return variable.query;
  if (variable.type === "interval") return BUILTIN_VALUES.__interval;
  return ".+";
}

interface Examined extends DashboardSummary {
  /** Every datasource uid a panel, target, variable or annotation uses. */
  readonly datasources: ReadonlySet<string>;
}

/**
 * The expression a Prometheus query variable runs, or none when it only lists label or metric
 * names. Grafana's label_values(selector, label) and query_result(expr) wrap PromQL; a bare query
 * is a series selector.
 */
function variableExpression(query: string): string | undefined {
  const labelValues = /^\s*label_values\s*\(\s*(?:(.+),\s*)?[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s.exec(
    query,
  );
  if (labelValues) return labelValues[1];
  const result = /^\s*query_result\s*\((.+)\)\s*$/s.exec(query);
  if (result) return result[1];
  if (/^\s*(metrics|label_names)\s*\(/.test(query)) return undefined;
  return query;
}

function examine(file: DashboardFile, datasourceUids: readonly string[]): Examined {
  if (!FILE_NAME.test(file.name)) {
    throw new Error(
      `dashboard ${JSON.stringify(file.name)}: name: a lower-case file name ending in .json`,
    );
  }
  const where = `dashboard ${file.name}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(file.json);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(parsed)) throw new Error(`${where}: not a JSON object`);
  const { uid, title } = parsed;
  if (typeof uid !== "string" || !UID.test(uid)) {
    throw new Error(`${where}: uid: 1 to 40 letters, digits, _ or -, got ${JSON.stringify(uid)}`);
  }
  if (typeof title !== "string" || title.trim() === "") {
    throw new Error(`${where}: title: a non-empty string, got ${JSON.stringify(title)}`);
  }

  const templating = isObject(parsed.templating) ? parsed.templating.list : undefined;
  const variables = Array.isArray(templating) ? templating.filter(isObject) : [];
  const values = new Map<string, string>();
  for (const variable of variables) {
    if (typeof variable.name !== "string" || variable.name === "") {
      throw new Error(`${where}: a template variable without a name`);
    }
    values.set(variable.name, variableValue(variable));
  }

  const used = new Set<string>();
  const expressions: DashboardExpression[] = [];

  /** The uid of a datasource reference, after checking it is provisioned and of the right type. */
  const datasourceOf = (ref: unknown, context: string): string => {
    if (!isObject(ref) || typeof ref.uid !== "string") {
      throw new Error(
        `${where}: ${context}: datasource: { type, uid } of a provisioned datasource`,
      );
    }
    if (!datasourceUids.includes(ref.uid)) {
      throw new Error(
        `${where}: ${context}: datasource uid ${JSON.stringify(ref.uid)} is not provisioned (provisioned: ${datasourceUids.join(", ")})`,
      );
    }
    const type = DATASOURCE_TYPES[ref.uid] as string | undefined;
    if (type !== undefined && ref.type !== type) {
      throw new Error(
        `${where}: ${context}: datasource ${ref.uid} is of type ${type}, got ${JSON.stringify(ref.type)}`,
      );
    }
    used.add(ref.uid);
    return ref.uid;
  };

  /** `expr` with every variable replaced; an unknown variable is a typo Grafana would not expand. */
  const substitute = (expr: string, context: string, builtins: boolean): string =>
    expr.replace(VARIABLE, (match: string, ...names: unknown[]) => {
      const name = names.slice(0, 3).find((n): n is string => typeof n === "string") ?? match;
      const value = values.get(name) ?? (builtins ? BUILTIN_VALUES[name] : undefined);
      if (value === undefined) {
        const known = [...values.keys(), ...(builtins ? Object.keys(BUILTIN_VALUES) : [])];
        throw new Error(
          `${where}: ${context}: unknown variable ${match} (known: ${known.join(", ") || "none"})`,
        );
      }
      return value;
    });

  for (const variable of variables) {
    if (variable.type !== "query") continue;
    const context = `variable ${String(variable.name)}`;
    const uidOf = datasourceOf(variable.datasource, context);
    const query = isObject(variable.query) ? variable.query.query : variable.query;
    if (uidOf !== PROMETHEUS_DATASOURCE_UID) continue;
    if (typeof query !== "string" || query.trim() === "") {
      throw new Error(`${where}: ${context}: query: a non-empty PromQL query`);
    }
    const expr = variableExpression(query);
    if (expr !== undefined) {
      expressions.push({ panel: context, expr: substitute(expr, context, true) });
    }
  }

  const annotations = isObject(parsed.annotations) ? parsed.annotations.list : undefined;
  for (const annotation of Array.isArray(annotations) ? annotations.filter(isObject) : []) {
    // Grafana's built-in annotation reads its own database, not a provisioned datasource.
    if (annotation.builtIn === 1) continue;
    datasourceOf(annotation.datasource, `annotation ${String(annotation.name)}`);
  }

  if (!Array.isArray(parsed.panels) || parsed.panels.length === 0) {
    throw new Error(`${where}: panels: a non-empty list`);
  }
  const panelIds = new Set<number>();
  const visit = (panels: readonly unknown[]): void => {
    for (const panel of panels) {
      if (!isObject(panel)) throw new Error(`${where}: panels: every panel is an object`);
      const name =
        typeof panel.title === "string" && panel.title !== ""
          ? `panel ${JSON.stringify(panel.title)}`
          : `panel #${String(panel.id)}`;
      if (typeof panel.id !== "number" || !Number.isInteger(panel.id) || panel.id < 1) {
        throw new Error(`${where}: ${name}: id: a positive integer, got ${String(panel.id)}`);
      }
      if (panelIds.has(panel.id)) throw new Error(`${where}: ${name}: id ${panel.id} is taken`);
      panelIds.add(panel.id);
      if (panel.type === "row") {
        visit(Array.isArray(panel.panels) ? panel.panels : []);
        continue;
      }
      const panelUid = datasourceOf(panel.datasource, name);
      if (!Array.isArray(panel.targets) || panel.targets.length === 0) {
        throw new Error(`${where}: ${name}: targets: at least one query`);
      }
      for (const target of panel.targets) {
        if (!isObject(target)) throw new Error(`${where}: ${name}: targets: objects`);
        const context = `${name} query ${String(target.refId)}`;
        const targetUid =
          target.datasource === undefined ? panelUid : datasourceOf(target.datasource, context);
        if (typeof target.expr !== "string" || target.expr.trim() === "") {
          throw new Error(`${where}: ${context}: expr: a non-empty query`);
        }
        if (targetUid === PROMETHEUS_DATASOURCE_UID) {
          expressions.push({
            panel: typeof panel.title === "string" ? panel.title : name,
            expr: substitute(target.expr, context, true),
          });
        } else {
          // Only the dashboard's own variables are checked here: LogQL has built-ins of its own.
          substitute(target.expr.replace(/\$\{?__\w+\}?/g, ""), context, false);
        }
      }
    }
  };
  visit(parsed.panels);
  return { uid, title, expressions, datasources: used };
}

/**
 * Checks a dashboard (valid JSON, a uid and a title, every panel's, query's and variable's
 * datasource among `datasourceUids`, no unknown variable) and returns its uid, its title and every
 * PromQL expression of its Prometheus queries, with Grafana's variables ($__rate_interval,
 * $__interval, $__range, ${var}, $var) replaced by values promtool accepts. Throws with the file
 * name and the panel on a problem.
 */
export function inspectDashboard(
  file: DashboardFile,
  datasourceUids: readonly string[],
): DashboardSummary {
  const { uid, title, expressions } = examine(file, datasourceUids);
  return { uid, title, expressions };
}

/**
 * The dashboards to provision given the datasources that exist: a dashboard that needs a platform
 * datasource that is not provisioned (Loki, when it is disabled) is left out. Every file is checked
 * against all the platform's datasources, so a typo in a uid fails instead of hiding a dashboard;
 * file names, uids and titles must be unique (Grafana would keep only one of each).
 */
export function dashboardsFor(
  files: readonly DashboardFile[],
  datasourceUids: readonly string[],
): DashboardFile[] {
  const known = [...new Set([...Object.keys(DATASOURCE_TYPES), ...datasourceUids])];
  const seen = {
    name: new Map<string, string>(),
    uid: new Map<string, string>(),
    title: new Map<string, string>(),
  };
  const kept: DashboardFile[] = [];
  for (const file of files) {
    const examined = examine(file, known);
    const values = { name: file.name, uid: examined.uid, title: examined.title };
    for (const field of ["name", "uid", "title"] as const) {
      const other = seen[field].get(values[field]);
      if (other !== undefined) {
        throw new Error(
          `dashboard ${file.name}: ${field} ${JSON.stringify(values[field])} is already used by ${other}`,
        );
      }
      seen[field].set(values[field], file.name);
    }
    if ([...examined.datasources].every((uid) => datasourceUids.includes(uid))) kept.push(file);
  }
  return kept;
}
