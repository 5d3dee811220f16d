/**
 * Grafana Alloy's configuration (config.alloy) that ships the stack's container logs to Loki, a
 * small serializer for Alloy's syntax, and what both log shippers share: the Docker label filter,
 * the label rules and the input checks (promtail.ts renders the same from them). Pure: typed values
 * in, file text out.
 */

// ---------------------------------------------------------------------------------------------
// Alloy syntax: values, attributes and blocks as data, and one printer for them.
// ---------------------------------------------------------------------------------------------

/** An expression that names another component's export, written bare (`loki.write.x.receiver`). */
export interface AlloyReference {
  readonly kind: "reference";
  readonly path: readonly string[];
}

/**
 * An object literal `{"key" = value, ...}`. Keys are quoted, but Alloy's parser takes a quoted key
 * without decoding its escapes, so a key must need none (alloyObject refuses one that would).
 */
export interface AlloyObject {
  readonly kind: "object";
  readonly fields: Readonly<Record<string, AlloyValue>>;
}

/** A value: string, number, bool, null, reference, object, or a list (a JS array) of values. */
export type AlloyValue =
  string | number | boolean | null | AlloyReference | AlloyObject | readonly AlloyValue[];

export interface AlloyAttribute {
  readonly kind: "attribute";
  readonly name: string;
  readonly value: AlloyValue;
}

/** `name "label" { body }`; only component blocks have a label. */
export interface AlloyBlock {
  readonly kind: "block";
  readonly name: string;
  readonly label: string | undefined;
  readonly body: readonly AlloyStatement[];
}

export type AlloyStatement = AlloyAttribute | AlloyBlock;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function identifier(what: string, name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(
      `alloy: ${what}: given ${JSON.stringify(name)}; allowed: letters, digits and _, not starting with a digit`,
    );
  }
  return name;
}

/** A reference to `path` (dot-separated identifiers, e.g. "discovery.docker.containers.targets"). */
export function alloyRef(path: string): AlloyReference {
  return { kind: "reference", path: path.split(".").map((p) => identifier("reference", p)) };
}

export function alloyObject(fields: Readonly<Record<string, AlloyValue>>): AlloyObject {
  for (const key of Object.keys(fields)) {
    if (!/^[\x20-\x7e]*$/.test(key) || /["\\]/.test(key)) {
      throw new Error(
        `alloy object key: given ${JSON.stringify(key)}; allowed: printable ASCII without " or \\ (Alloy reads a quoted key without decoding escapes)`,
      );
    }
  }
  return { kind: "object", fields };
}

export function alloyAttr(name: string, value: AlloyValue): AlloyAttribute {
  return { kind: "attribute", name: identifier("attribute name", name), value };
}

/** A block; `name` may be dotted (`discovery.docker`), `label` is for component blocks only. */
export function alloyBlock(
  name: string,
  label: string | undefined,
  body: readonly AlloyStatement[],
): AlloyBlock {
  for (const part of name.split(".")) identifier("block name", part);
  if (label !== undefined) identifier("block label", label);
  return { kind: "block", name, label, body };
}

const SIMPLE_ESCAPES: Readonly<Partial<Record<string, string>>> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  "\\": "\\\\",
  '"': '\\"',
};

// Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/**
 * A string literal as Alloy (and Go's %q) writes it. Alloy refuses a raw line break, a raw NUL
 * and a byte order mark inside a file, so every character that is not printable is escaped;
 * printable non-ASCII text stays as UTF-8. A lone UTF-16 surrogate has no UTF-8 form: refused.
 */
export function alloyQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) out += simple;
    else if (code >= 0xd800 && code <= 0xdfff) {
      throw new Error(
        `alloy: string ${JSON.stringify(value)} holds a lone UTF-16 surrogate, which has no UTF-8 form`,
      );
    } else if (PRINTABLE.test(ch)) out += ch;
    else if (code < 0x80) out += `\\x${hex(code, 2)}`;
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return `${out}"`;
}

function isList(value: AlloyValue): value is readonly AlloyValue[] {
  return Array.isArray(value);
}

/** One value on one line, the way `alloy fmt` prints a single-line expression. */
export function formatAlloyValue(value: AlloyValue): string {
  if (value === null) return "null";
  if (typeof value === "string") return alloyQuote(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new Error(`alloy: number: given ${String(value)}; allowed: a finite number`);
    }
    return String(value);
  }
  if (isList(value)) return `[${value.map(formatAlloyValue).join(", ")}]`;
  if (value.kind === "reference") return value.path.join(".");
  const fields = Object.entries(value.fields).map(
    ([key, field]) => `${alloyQuote(key)} = ${formatAlloyValue(field)}`,
  );
  return `{${fields.join(", ")}}`;
}

/**
 * Statements as `alloy fmt` lays them out, so formatting the file changes nothing: a tab per
 * level, the `=` of consecutive attributes aligned, a blank line before every block but the first
 * of its body, and `{ }` for an empty block.
 */
function formatStatements(body: readonly AlloyStatement[], depth: number): string[] {
  const indent = "\t".repeat(depth);
  const lines: string[] = [];
  let run: AlloyAttribute[] = [];
  const flushRun = () => {
    const width = Math.max(...run.map((a) => a.name.length));
    for (const a of run)
      lines.push(`${indent}${a.name.padEnd(width)} = ${formatAlloyValue(a.value)}`);
    run = [];
  };
  body.forEach((statement, i) => {
    if (statement.kind === "attribute") {
      run.push(statement);
      return;
    }
    if (run.length > 0) flushRun();
    if (i > 0) lines.push("");
    const label = statement.label === undefined ? "" : ` ${alloyQuote(statement.label)}`;
    const head = `${indent}${statement.name}${label} {`;
    if (statement.body.length === 0) {
      lines.push(`${head} }`);
      return;
    }
    lines.push(head, ...formatStatements(statement.body, depth + 1), `${indent}}`);
  });
  if (run.length > 0) flushRun();
  return lines;
}

/** A whole file: optional `//` header lines, then the statements, ending with a newline. */
export function formatAlloyFile(
  statements: readonly AlloyStatement[],
  header: readonly string[] = [],
): string {
  for (const line of header) {
    if (/[\r\n\u2028\u2029]/.test(line)) {
      throw new Error("alloy: a header comment line cannot contain a line break");
    }
  }
  const comment = header.map((line) => `// ${line}`);
  const body = formatStatements(statements, 0);
  return [...comment, ...(comment.length > 0 && body.length > 0 ? [""] : []), ...body, ""].join(
    "\n",
  );
}

// ---------------------------------------------------------------------------------------------
// What both shippers share.
// ---------------------------------------------------------------------------------------------

export interface LogShipperInput {
  /** Loki's push endpoint, e.g. "http://loki:3100/loki/api/v1/push". */
  readonly lokiPushUrl: string;
  /** The Docker engine, e.g. "unix:///var/run/docker.sock" (or tcp:// for a socket proxy). */
  readonly dockerHost: string;
  /** Only containers labelled with this project and stack are shipped, so two stacks on one host
   * ship their logs separately. */
  readonly project: string;
  readonly stack: string;
  /** How often the container list is read again, in seconds. */
  readonly refreshSeconds: number;
}

/** The Docker labels the platform puts on every container (components/platform.ts). */
export const PLATFORM_DOCKER_LABELS = {
  project: "vpn-enterprise.project",
  stack: "vpn-enterprise.stack",
  service: "vpn-enterprise.service",
  tier: "vpn-enterprise.tier",
} as const;

/**
 * The meta label Docker discovery gives a container label: Prometheus' SanitizeLabelName turns
 * every character outside [a-zA-Z0-9_] into `_` (`vpn-enterprise.service` ->
 * `__meta_docker_container_label_vpn_enterprise_service`).
 */
export function dockerMetaLabel(dockerLabel: string): string {
  return `__meta_docker_container_label_${dockerLabel.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** The labels a log stream carries; nothing else reaches Loki. */
export const LOG_STREAM_LABELS = ["container", "service", "stack", "tier"] as const;
export type LogStreamLabel = (typeof LOG_STREAM_LABELS)[number];

/** One `replace` rule: `targetLabel` = the first group of `regex` (anchored) on `sourceLabel`. */
export interface LogLabelRule {
  readonly targetLabel: LogStreamLabel;
  readonly sourceLabel: string;
  readonly regex: string;
}

/**
 * The one mapping from a container's discovery labels to its stream labels, rendered by both
 * shippers. Both drop every label that starts with `__` after relabelling, so a stream carries
 * these and no others; a container without one of the Docker labels gets no such label (an empty
 * replacement removes it) rather than an empty one.
 */
export const LOG_LABEL_RULES: readonly LogLabelRule[] = [
  // Docker reports names with a leading "/".
  { targetLabel: "container", sourceLabel: "__meta_docker_container_name", regex: "/(.*)" },
  {
    targetLabel: "service",
    sourceLabel: dockerMetaLabel(PLATFORM_DOCKER_LABELS.service),
    regex: "(.*)",
  },
  {
    targetLabel: "stack",
    sourceLabel: dockerMetaLabel(PLATFORM_DOCKER_LABELS.stack),
    regex: "(.*)",
  },
  { targetLabel: "tier", sourceLabel: dockerMetaLabel(PLATFORM_DOCKER_LABELS.tier), regex: "(.*)" },
];

/**
 * The values of Docker's `label` filter: the engine lists only containers that carry every one
 * of them, so the shippers never see another project's or stack's containers.
 */
export function dockerLabelFilterValues(project: string, stack: string): string[] {
  return [
    `${PLATFORM_DOCKER_LABELS.project}=${project}`,
    `${PLATFORM_DOCKER_LABELS.stack}=${stack}`,
  ];
}

/** Pulumi's own rule for project and stack names; none of these characters means anything to a
 * Docker filter (`=`, `,`) or needs quoting. */
const LABEL_SAFE_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** An integer in [min, max], or a message naming the field, the value and what is allowed. */
export function integerProblem(
  field: string,
  value: number,
  min: number,
  max: number,
): string | undefined {
  return Number.isSafeInteger(value) && value >= min && value <= max
    ? undefined
    : `${field}: given ${String(value)}; allowed: an integer from ${min} to ${max}`;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function lokiPushUrlProblem(value: string): string | undefined {
  const url = typeof value === "string" ? parseUrl(value) : undefined;
  const ok =
    url !== undefined &&
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.hostname !== "" &&
    url.username === "" &&
    url.password === "" &&
    url.search === "" &&
    url.hash === "" &&
    url.pathname.endsWith("/loki/api/v1/push");
  return ok
    ? undefined
    : `lokiPushUrl: given ${JSON.stringify(value)}; allowed: an http:// or https:// URL without credentials whose path ends in /loki/api/v1/push`;
}

function dockerHostProblem(value: string): string | undefined {
  const url = typeof value === "string" ? parseUrl(value) : undefined;
  let ok = false;
  if (url?.protocol === "unix:") {
    ok = url.host === "" && url.pathname.length > 1 && !url.pathname.endsWith("/");
  } else if (url && ["tcp:", "http:", "https:"].includes(url.protocol)) {
    ok = url.hostname !== "" && (url.pathname === "" || url.pathname === "/");
  }
  ok = ok && url?.username === "" && url.password === "" && url.search === "" && url.hash === "";
  return ok
    ? undefined
    : `dockerHost: given ${JSON.stringify(value)}; allowed: unix:///<absolute socket path> or tcp://, http://, https://<host>[:port]`;
}

function nameProblem(field: string, value: string): string | undefined {
  return typeof value === "string" && LABEL_SAFE_NAME.test(value)
    ? undefined
    : `${field}: given ${JSON.stringify(value)}; allowed: 1 to 100 letters, digits, _, . or -`;
}

/** Every problem of a shipper's input, each naming its field. */
export function logShipperProblems(input: LogShipperInput): string[] {
  return [
    lokiPushUrlProblem(input.lokiPushUrl),
    dockerHostProblem(input.dockerHost),
    nameProblem("project", input.project),
    nameProblem("stack", input.stack),
    integerProblem("refreshSeconds", input.refreshSeconds, 1, 3600),
  ].filter((p): p is string => p !== undefined);
}

// ---------------------------------------------------------------------------------------------
// config.alloy
// ---------------------------------------------------------------------------------------------

export interface AlloyConfigInput extends LogShipperInput {
  /** Alloy's HTTP server (UI, /metrics, /-/ready): a command-line flag, see alloyRunArgs. */
  readonly listenPort: number;
}

/** Component labels; the references between the components are built from these. */
const DOCKER = "containers";
const WRITE = "default";

const FILE_HEADER = [
  "Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.",
];

function checkAlloyInput(input: AlloyConfigInput): void {
  const problems = [
    ...logShipperProblems(input),
    integerProblem("listenPort", input.listenPort, 1, 65535),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`config.alloy: ${problems.join("; ")}`);
}

/** The configuration as data: discovery.docker -> discovery.relabel -> loki.source.docker -> loki.write. */
export function buildAlloyConfig(input: AlloyConfigInput): AlloyStatement[] {
  checkAlloyInput(input);
  return [
    alloyBlock("logging", undefined, [alloyAttr("level", "info"), alloyAttr("format", "logfmt")]),
    alloyBlock("discovery.docker", DOCKER, [
      alloyAttr("host", input.dockerHost),
      alloyAttr("refresh_interval", `${input.refreshSeconds}s`),
      alloyBlock("filter", undefined, [
        alloyAttr("name", "label"),
        alloyAttr("values", dockerLabelFilterValues(input.project, input.stack)),
      ]),
    ]),
    alloyBlock("discovery.relabel", DOCKER, [
      alloyAttr("targets", alloyRef(`discovery.docker.${DOCKER}.targets`)),
      ...LOG_LABEL_RULES.map((rule) =>
        alloyBlock("rule", undefined, [
          alloyAttr("source_labels", [rule.sourceLabel]),
          alloyAttr("regex", rule.regex),
          alloyAttr("target_label", rule.targetLabel),
          alloyAttr("replacement", "$1"),
          alloyAttr("action", "replace"),
        ]),
      ),
    ]),
    // The relabelled targets keep their __meta_ labels, which loki.source.docker needs to find
    // each container and then drops from the stream.
    alloyBlock("loki.source.docker", DOCKER, [
      alloyAttr("host", input.dockerHost),
      alloyAttr("targets", alloyRef(`discovery.relabel.${DOCKER}.output`)),
      alloyAttr("forward_to", [alloyRef(`loki.write.${WRITE}.receiver`)]),
    ]),
    alloyBlock("loki.write", WRITE, [
      alloyBlock("endpoint", undefined, [alloyAttr("url", input.lokiPushUrl)]),
    ]),
  ];
}

export function renderAlloyConfig(input: AlloyConfigInput): string {
  return formatAlloyFile(buildAlloyConfig(input), FILE_HEADER);
}

/**
 * `alloy` arguments for this file: the HTTP listen address is a flag, not part of the file, and
 * loki.source.docker keeps its read positions under the storage path (a volume, so a restart does
 * not ship every log line again).
 */
export function alloyRunArgs(
  configFile: string,
  listenPort: number,
  storagePath: string,
): string[] {
  const problems = [
    integerProblem("listenPort", listenPort, 1, 65535),
    ...[
      ["configFile", configFile],
      ["storagePath", storagePath],
    ].map(([field, path]) =>
      /^\/[^\0\r\n]*[^/\0\r\n]$/.test(path)
        ? undefined
        : `${field}: given ${JSON.stringify(path)}; allowed: an absolute path`,
    ),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`alloy run: ${problems.join("; ")}`);
  return [
    "run",
    `--server.http.listen-addr=0.0.0.0:${listenPort}`,
    `--storage.path=${storagePath}`,
    "--disable-reporting",
    configFile,
  ];
}
