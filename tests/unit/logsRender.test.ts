/**
 * Loki, Alloy and Promtail configs: the Loki file's storage and retention, the Alloy syntax
 * serializer read back by a tokenizer written here, the Alloy pipeline's wiring, and what both
 * shippers do to real discovery labels (a Docker label filter and a Prometheus relabel evaluator
 * written here), which must be the same.
 */
import { parse } from "yaml";
import {
  AlloyConfigInput,
  LOG_LABEL_RULES,
  LogShipperInput,
  alloyAttr,
  alloyBlock,
  alloyObject,
  alloyQuote,
  alloyRef,
  alloyRunArgs,
  buildAlloyConfig,
  formatAlloyFile,
  formatAlloyValue,
  renderAlloyConfig,
} from "../../render/alloy";
import { LokiConfigInput, renderLokiConfig } from "../../render/loki";
import { PromtailConfigInput, renderPromtailConfig } from "../../render/promtail";

/** The message of the error `render` throws; fails the test when it does not throw. */
function refusal(render: () => unknown): string {
  try {
    render();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the renderer to refuse the input");
}

// ---------------------------------------------------------------------------------------------
// A tokenizer and parser for the part of Alloy's syntax the renderer writes.
// ---------------------------------------------------------------------------------------------

type Token =
  | { readonly t: "ident"; readonly v: string }
  | { readonly t: "string"; readonly v: string }
  | { readonly t: "number"; readonly v: number }
  | { readonly t: "punct"; readonly v: string }
  | { readonly t: "newline" };

/** Go's (and Alloy's) escapes, decoded; anything Alloy's scanner rejects throws. */
function readString(src: string, start: number): { value: string; end: number } {
  let value = "";
  let i = start + 1;
  for (;;) {
    const ch = src.charAt(i);
    if (i >= src.length || ch === "\n") throw new Error("string literal not terminated");
    if (ch === "\0" || ch === "\ufeff") throw new Error("illegal character in string");
    i++;
    if (ch === '"') return { value, end: i };
    if (ch !== "\\") {
      value += ch;
      continue;
    }
    const e = src[i++];
    const simple: Record<string, string> = {
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
      "\\": "\\",
      '"': '"',
      "'": "'",
    };
    if (e in simple) {
      value += simple[e];
      continue;
    }
    const octal = /[0-7]/.test(e);
    const width = octal ? 3 : ({ x: 2, u: 4, U: 8 } as Record<string, number | undefined>)[e];
    if (width === undefined) throw new Error(`unknown escape sequence \\${e}`);
    const text = octal ? src.slice(i - 1, i + 2) : src.slice(i, i + width);
    i += octal ? 2 : width;
    if (!(octal ? /^[0-7]{3}$/ : /^[0-9a-fA-F]+$/).test(text) || text.length !== width) {
      throw new Error(`illegal escape \\${e}${text}`);
    }
    const code = parseInt(text, octal ? 8 : 16);
    // \x and octal escapes are bytes; above 0x7f they would be half a UTF-8 sequence.
    if ((e === "x" || octal) && code > 0x7f) throw new Error("byte escape above 0x7f");
    if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) {
      throw new Error("escape sequence is invalid Unicode code point");
    }
    value += String.fromCodePoint(code);
  }
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (ch === "\n") {
      tokens.push({ t: "newline" });
      i++;
    } else if (ch === " " || ch === "\t" || ch === "\r") i++;
    else if (src.startsWith("//", i)) {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (ch === '"') {
      const { value, end } = readString(src, i);
      tokens.push({ t: "string", v: value });
      i = end;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ t: "ident", v: m[0] });
      i += m[0].length;
    } else if (/[-0-9]/.test(ch)) {
      const m = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i));
      if (!m) throw new Error(`bad number at ${i}`);
      tokens.push({ t: "number", v: Number(m[0]) });
      i += m[0].length;
    } else if ("{}[],=.".includes(ch)) {
      tokens.push({ t: "punct", v: ch });
      i++;
    } else throw new Error(`illegal character ${JSON.stringify(ch)} at ${i}`);
  }
  return tokens;
}

type Value =
  | string
  | number
  | boolean
  | null
  | { readonly ref: string }
  | { readonly object: Record<string, Value> }
  | Value[];
interface Attr {
  readonly type: "attr";
  readonly name: string;
  readonly value: Value;
}
interface Block {
  readonly type: "block";
  readonly name: string;
  readonly label: string | undefined;
  readonly body: Stmt[];
}
type Stmt = Attr | Block;

function parseAlloy(src: string): Stmt[] {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos] as Token | undefined;
  const skipNewlines = () => {
    while (peek()?.t === "newline") pos++;
  };
  const expect = (v: string) => {
    skipNewlines();
    const tok = tokens[pos++];
    if (tok.t !== "punct" || tok.v !== v)
      throw new Error(`expected ${v}, got ${JSON.stringify(tok)}`);
  };
  const isPunct = (v: string) => {
    const tok = peek();
    return tok?.t === "punct" && tok.v === v;
  };
  const dotted = (): string => {
    const parts: string[] = [];
    for (;;) {
      const tok = tokens[pos++];
      if (tok.t !== "ident") throw new Error(`expected an identifier, got ${JSON.stringify(tok)}`);
      parts.push(tok.v);
      if (!isPunct(".")) return parts.join(".");
      pos++;
    }
  };
  const expr = (): Value => {
    skipNewlines();
    const tok = peek();
    if (tok === undefined) throw new Error("unexpected end of file");
    if (tok.t === "string" || tok.t === "number") {
      pos++;
      return tok.v;
    }
    if (tok.t === "ident") {
      if (["true", "false", "null"].includes(tok.v)) {
        pos++;
        return tok.v === "null" ? null : tok.v === "true";
      }
      return { ref: dotted() };
    }
    if (isPunct("[")) {
      pos++;
      const items: Value[] = [];
      skipNewlines();
      while (!isPunct("]")) {
        items.push(expr());
        skipNewlines();
        if (isPunct(",")) pos++;
        else if (!isPunct("]")) throw new Error("expected , or ] in a list");
        skipNewlines();
      }
      pos++;
      return items;
    }
    if (isPunct("{")) {
      pos++;
      const object: Record<string, Value> = {};
      skipNewlines();
      while (!isPunct("}")) {
        const key = tokens[pos++];
        if (key.t !== "string" && key.t !== "ident") throw new Error("expected an object key");
        expect("=");
        object[key.v] = expr();
        skipNewlines();
        if (isPunct(",")) pos++;
        else if (!isPunct("}")) throw new Error("expected , or } in an object");
        skipNewlines();
      }
      pos++;
      return { object };
    }
    throw new Error(`unexpected ${JSON.stringify(tok)}`);
  };
  const body = (nested: boolean): Stmt[] => {
    const stmts: Stmt[] = [];
    for (;;) {
      skipNewlines();
      if (nested && isPunct("}")) {
        pos++;
        return stmts;
      }
      if (peek() === undefined) {
        if (nested) throw new Error("block not closed");
        return stmts;
      }
      const name = dotted();
      if (isPunct("=")) {
        pos++;
        stmts.push({ type: "attr", name, value: expr() });
      } else {
        let label: string | undefined;
        const tok = peek();
        if (tok?.t === "string") {
          label = tok.v;
          pos++;
        }
        expect("{");
        stmts.push({ type: "block", name, label, body: body(true) });
      }
      // Alloy needs a line break (or the end of the block) after every statement.
      if (peek() !== undefined && peek()?.t !== "newline" && !isPunct("}")) {
        throw new Error(`statement ${name} is not followed by a line break`);
      }
    }
  };
  return body(false);
}

const blocks = (stmts: Stmt[], name: string) =>
  stmts.filter((s): s is Block => s.type === "block" && s.name === name);
function attrValue(block: Block, name: string): Value {
  const found = block.body.find((s): s is Attr => s.type === "attr" && s.name === name);
  if (!found) throw new Error(`${block.name} has no attribute ${name}`);
  return found.value;
}
function component(stmts: Stmt[], name: string, label: string): Block {
  const found = blocks(stmts, name).filter((b) => b.label === label);
  if (found.length !== 1) throw new Error(`expected one ${name} "${label}", found ${found.length}`);
  return found[0];
}
/** The component a reference points into, and the export it names. */
function resolve(stmts: Stmt[], value: Value): { block: Block; exported: string } {
  if (typeof value !== "object" || value === null || !("ref" in value)) {
    throw new Error(`expected a reference, got ${JSON.stringify(value)}`);
  }
  const parts = value.ref.split(".");
  const exported = parts.pop() as string;
  const label = parts.pop() as string;
  return { block: component(stmts, parts.join("."), label), exported };
}

// ---------------------------------------------------------------------------------------------
// What Docker and the shippers do with a container: the list filter, relabelling, `__` dropped.
// ---------------------------------------------------------------------------------------------

interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}
/** Docker's `label` filter: every `key` or `key=value` must be on the container. */
function dockerLists(filters: readonly Filter[], labels: Record<string, string>): boolean {
  return filters.every((f) => {
    if (f.name !== "label") throw new Error(`filter ${f.name} is not modelled here`);
    return f.values.every((v) => {
      const eq = v.indexOf("=");
      const key = eq < 0 ? v : v.slice(0, eq);
      return key in labels && (eq < 0 || labels[key] === v.slice(eq + 1));
    });
  });
}

interface Rule {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: string;
}
/** Prometheus relabelling (replace, keep, drop) with its defaults; null when the target is dropped. */
function relabel(
  input: Record<string, string>,
  rules: readonly Rule[],
): Record<string, string> | null {
  const labels = new Map(Object.entries(input));
  for (const rule of rules) {
    const regex = new RegExp(`^(?:${rule.regex ?? "(.*)"})$`, "s");
    const value = (rule.source_labels ?? [])
      .map((l) => labels.get(l) ?? "")
      .join(rule.separator ?? ";");
    const action = rule.action ?? "replace";
    if (action === "keep" && !regex.test(value)) return null;
    if (action === "drop" && regex.test(value)) return null;
    if (action === "replace") {
      const match = regex.exec(value);
      if (!match) continue;
      const groups: (string | undefined)[] = [...match];
      const result = (rule.replacement ?? "$1").replace(
        /\$\{?(\d+)\}?/g,
        (_, n: string) => groups[Number(n)] ?? "",
      );
      const target = rule.target_label as string;
      if (result === "") labels.delete(target);
      else labels.set(target, result);
    } else if (action !== "keep" && action !== "drop") throw new Error(`action ${action}`);
  }
  return Object.fromEntries(labels);
}
/** The stream labels a shipper sends: relabelled, then every `__` label dropped. */
function streamLabels(meta: Record<string, string>, rules: readonly Rule[]) {
  const out = relabel(meta, rules);
  return out && Object.fromEntries(Object.entries(out).filter(([k]) => !k.startsWith("__")));
}

/** A container as Docker lists it (name, labels), and as Docker discovery describes it. */
interface Container {
  readonly name: string;
  readonly labels: Record<string, string>;
}
function discoveryLabels(c: Container): Record<string, string> {
  // Written out, not computed: the names Prometheus' docker SD documents for these labels.
  const metaNames: Record<string, string> = {
    "vpn-enterprise.project": "__meta_docker_container_label_vpn_enterprise_project",
    "vpn-enterprise.stack": "__meta_docker_container_label_vpn_enterprise_stack",
    "vpn-enterprise.service": "__meta_docker_container_label_vpn_enterprise_service",
    "vpn-enterprise.tier": "__meta_docker_container_label_vpn_enterprise_tier",
    "vpn-enterprise.replica": "__meta_docker_container_label_vpn_enterprise_replica",
    "com.docker.compose.project": "__meta_docker_container_label_com_docker_compose_project",
  };
  return {
    __address__: "172.20.0.5:3000",
    __meta_docker_container_id: "4f2c0e9d1a7b",
    __meta_docker_container_name: `/${c.name}`,
    __meta_docker_container_network_mode: "vpn-prod-backend",
    __meta_docker_network_ip: "172.20.0.5",
    __meta_docker_port_private: "3000",
    ...Object.fromEntries(Object.entries(c.labels).map(([k, v]) => [metaNames[k], v])),
  };
}

const platformLabels = (project: string, stack: string, service: string, tier: string) => ({
  "vpn-enterprise.project": project,
  "vpn-enterprise.stack": stack,
  "vpn-enterprise.service": service,
  "vpn-enterprise.tier": tier,
  "vpn-enterprise.replica": "2",
});
const CONTAINERS: readonly Container[] = [
  { name: "vpn-prod-api-2", labels: platformLabels("vpn-enterprise", "prod", "api", "apps") },
  { name: "vpn-prod-redis", labels: platformLabels("vpn-enterprise", "prod", "redis", "data") },
  { name: "vpn-dev-api-1", labels: platformLabels("vpn-enterprise", "dev", "api", "apps") },
  { name: "other-prod-api", labels: platformLabels("other-project", "prod", "api", "apps") },
  { name: "stray", labels: { "com.docker.compose.project": "stray" } },
  {
    name: "vpn-prod-no-tier",
    labels: { "vpn-enterprise.project": "vpn-enterprise", "vpn-enterprise.stack": "prod" },
  },
];

// ---------------------------------------------------------------------------------------------

const shipper: LogShipperInput = {
  lokiPushUrl: "http://loki:3100/loki/api/v1/push",
  dockerHost: "unix:///var/run/docker.sock",
  project: "vpn-enterprise",
  stack: "prod",
  refreshSeconds: 15,
};
const alloyInput: AlloyConfigInput = { ...shipper, listenPort: 12345 };
const promtailInput: PromtailConfigInput = {
  ...shipper,
  listenPort: 9080,
  positionsFile: "/var/lib/promtail/positions.yaml",
};

interface PromtailDoc {
  server: Record<string, unknown>;
  positions: { filename: string };
  clients: { url: string }[];
  scrape_configs: {
    job_name: string;
    docker_sd_configs: { host: string; refresh_interval: string; filters: Filter[] }[];
    relabel_configs: Rule[];
  }[];
}
const promtail = (input: PromtailConfigInput = promtailInput) =>
  parse(renderPromtailConfig(input)) as PromtailDoc;

/** The Alloy file's filter and rules, read back from its text. */
function alloyPipeline(input: AlloyConfigInput = alloyInput) {
  const file = parseAlloy(renderAlloyConfig(input));
  const docker = component(file, "discovery.docker", "containers");
  const relabelBlock = component(file, "discovery.relabel", "containers");
  const filters = blocks(docker.body, "filter").map((f) => ({
    name: attrValue(f, "name") as string,
    values: attrValue(f, "values") as string[],
  }));
  const rules: Rule[] = blocks(relabelBlock.body, "rule").map((r) =>
    Object.fromEntries(r.body.map((s) => [s.name, (s as Attr).value])),
  );
  return { file, docker, filters, rules };
}

// ---------------------------------------------------------------------------------------------

describe("Loki", () => {
  const base: LokiConfigInput = {
    port: 3100,
    dataDir: "/loki",
    retentionDays: 30,
    ingestionRateMb: 8,
    ingestionBurstMb: 16,
  };
  type LokiDoc = Record<string, Record<string, unknown>> & { auth_enabled: boolean };
  const loki = (input: Partial<LokiConfigInput> = {}) =>
    parse(renderLokiConfig({ ...base, ...input })) as LokiDoc;

  test("retention is the given days in hours, applied by the compactor", () => {
    const doc = loki({ retentionDays: 30 });
    expect(doc.limits_config.retention_period).toBe("720h");
    expect(doc.limits_config.max_query_lookback).toBe("720h");
    expect(doc.compactor).toMatchObject({
      retention_enabled: true,
      delete_request_store: "filesystem",
    });
    expect(loki({ retentionDays: 1 }).limits_config.retention_period).toBe("24h");
  });

  test("old lines are refused after a week, or after the retention when that is shorter", () => {
    expect(loki({ retentionDays: 30 }).limits_config).toMatchObject({
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
    });
    expect(loki({ retentionDays: 2 }).limits_config.reject_old_samples_max_age).toBe("48h");
  });

  test.each(["/loki", "/srv/loki data"])("every storage path lies under dataDir %p", (dataDir) => {
    const found: [string, string][] = [];
    const walk = (node: unknown, path: string) => {
      if (typeof node !== "object" || node === null) return;
      for (const [key, value] of Object.entries(node)) {
        if (/(directory|^dir$|path_prefix|cache_location|rule_path)$/.test(key)) {
          found.push([`${path}.${key}`, String(value)]);
        }
        walk(value, `${path}.${key}`);
      }
    };
    walk(loki({ dataDir }), "");
    expect(found.map(([key]) => key).sort()).toEqual(
      [
        ".common.path_prefix",
        ".common.storage.filesystem.chunks_directory",
        ".common.storage.filesystem.rules_directory",
        ".compactor.working_directory",
        ".ingester.wal.dir",
        ".ruler.rule_path",
        ".storage_config.tsdb_shipper.active_index_directory",
        ".storage_config.tsdb_shipper.cache_location",
      ].sort(),
    );
    for (const [, value] of found)
      expect(value === dataDir || value.startsWith(`${dataDir}/`)).toBe(true);
    expect(new Set(found.map(([, v]) => v)).size).toBe(found.length);
  });

  test("one tsdb v13 schema on the filesystem, from a fixed day in the past", () => {
    const configs = (loki().schema_config as { configs: Record<string, unknown>[] }).configs;
    expect(configs).toHaveLength(1);
    expect(configs[0]).toMatchObject({ store: "tsdb", schema: "v13", object_store: "filesystem" });
    expect(configs[0].index).toEqual({ prefix: "index_", period: "24h" });
    expect(String(configs[0].from)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Date.parse(String(configs[0].from))).toBeLessThan(Date.now());
    expect(loki({ retentionDays: 7, dataDir: "/x" }).schema_config).toEqual(loki().schema_config);
  });

  test("a single process: no auth, one replica, in-memory ring, gRPC on loopback only", () => {
    const doc = loki({ port: 3200 });
    expect(doc.auth_enabled).toBe(false);
    expect(doc.server).toMatchObject({
      http_listen_port: 3200,
      grpc_listen_address: "127.0.0.1",
      grpc_listen_port: 9095,
    });
    expect(doc.common).toMatchObject({
      instance_addr: "127.0.0.1",
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
    });
    expect(doc.analytics).toEqual({ reporting_enabled: false });
  });

  test("ingestion limits as given; the query length limit only when asked for", () => {
    expect(loki({ ingestionRateMb: 4, ingestionBurstMb: 6.5 }).limits_config).toMatchObject({
      ingestion_rate_mb: 4,
      ingestion_burst_size_mb: 6.5,
    });
    expect(loki().limits_config).not.toHaveProperty("max_query_length");
    expect(loki({ maxQueryDays: 7 }).limits_config.max_query_length).toBe("168h");
  });

  const lokiRefusal = (input: Partial<LokiConfigInput>) =>
    refusal(() => renderLokiConfig({ ...base, ...input }));
  test.each([0, 65536, 80.5, 9095])("port %p", (port) => {
    expect(lokiRefusal({ port })).toMatch(
      `port: given ${port}; allowed: an integer from 1 to 65535`,
    );
  });
  test.each(["loki", "/", "/loki/", "/a/../loki", "/a//b", "/loki\n"])("dataDir %p", (dataDir) => {
    expect(lokiRefusal({ dataDir })).toMatch(`dataDir: given ${JSON.stringify(dataDir)}; allowed:`);
  });
  test.each([0, -1, 1.5, 3651, Number.NaN])("retentionDays %p", (retentionDays) => {
    expect(lokiRefusal({ retentionDays })).toMatch(
      /retentionDays: given .*; allowed: an integer from 1/,
    );
  });
  test("maxQueryDays, ingestion rate and a burst below the rate", () => {
    expect(lokiRefusal({ maxQueryDays: 0 })).toMatch("maxQueryDays: given 0");
    expect(lokiRefusal({ ingestionRateMb: 0 })).toMatch("ingestionRateMb: given 0; allowed:");
    expect(lokiRefusal({ ingestionRateMb: 8, ingestionBurstMb: 4 })).toMatch(
      "ingestionBurstMb: given 4; allowed: a number of MB from ingestionRateMb (8) to 1024",
    );
  });
  test("every problem is reported at once", () => {
    const message = lokiRefusal({ port: 0, dataDir: "rel", retentionDays: 0 });
    expect(message).toMatch(/port: .*dataDir: .*retentionDays: /);
  });
});

describe("the Alloy syntax serializer", () => {
  const decode = (literal: string) => {
    const tokens = tokenize(literal);
    expect(tokens).toHaveLength(1);
    const [token] = tokens;
    if (token.t !== "string") throw new Error(`expected a string token, got ${token.t}`);
    return token.v;
  };

  test("quotes, backslashes and line breaks are escaped the Go way", () => {
    expect(alloyQuote('say "hi"')).toBe('"say \\"hi\\""');
    expect(alloyQuote("C:\\path\\")).toBe('"C:\\\\path\\\\"');
    expect(alloyQuote("a\nb\r\tc")).toBe('"a\\nb\\r\\tc"');
    expect(alloyQuote("$1 ${x}")).toBe('"$1 ${x}"');
  });

  test("invisible characters are escaped; printable unicode stays UTF-8", () => {
    expect(alloyQuote("\0\x7f")).toBe('"\\x00\\x7f"');
    expect(alloyQuote("\ufeff\u2028\u200b")).toBe('"\\ufeff\\u2028\\u200b"');
    expect(alloyQuote("\u{e0001}")).toBe('"\\U000e0001"');
    expect(alloyQuote("é 日本 🎉")).toBe('"é 日本 🎉"');
  });

  test.each([
    'quote " and \\ backslash',
    "lines\n\r\nand\ttabs\x07\b\f\v",
    "nul \0 del \x7f bom \ufeff separators \u2028\u2029",
    "unicode é ß 日本語 🎉 \u{1f600} \u{e0001} zero\u200bwidth",
    "",
  ])("read back by the tokenizer unchanged: %j", (text) => {
    const literal = alloyQuote(text);
    expect(literal).not.toMatch(/[\0-\x1f\x7f\u2028\u2029\ufeff\u200b]/);
    expect(decode(literal)).toBe(text);
  });

  test("a lone surrogate has no UTF-8 form and is refused", () => {
    expect(() => alloyQuote("bad \ud800 half")).toThrow(/lone UTF-16 surrogate/);
  });

  test("the tokenizer rejects what Alloy rejects, so the round trip can fail", () => {
    expect(() => tokenize('"raw\nnewline"')).toThrow(/not terminated/);
    expect(() => tokenize('"\\q"')).toThrow(/unknown escape/);
    expect(() => tokenize('"\\ud800"')).toThrow(/invalid Unicode/);
    expect(() => tokenize('"no end')).toThrow(/not terminated/);
  });

  test("references are bare, lists and objects nest, keys are quoted", () => {
    const value = [
      alloyRef("loki.write.default.receiver"),
      alloyObject({ "a-b": "x", "q k": [1, 2.5, true, null], nested: alloyObject({ n: -3 }) }),
      [[], alloyObject({})],
    ];
    const text = formatAlloyValue(value);
    expect(text).toBe(
      '[loki.write.default.receiver, {"a-b" = "x", "q k" = [1, 2.5, true, null], "nested" = {"n" = -3}}, [[], {}]]',
    );
    const parsed = parseAlloy(`v = ${text}`)[0] as Attr;
    expect(parsed.value).toEqual([
      { ref: "loki.write.default.receiver" },
      { object: { "a-b": "x", "q k": [1, 2.5, true, null], nested: { object: { n: -3 } } } },
      [[], { object: {} }],
    ]);
  });

  test("an object key Alloy would read back differently (escapes are not decoded in keys) is refused", () => {
    for (const key of ['q"k', "back\\slash", "tab\there", "é"]) {
      expect(() => alloyObject({ [key]: 1 })).toThrow(/alloy object key: given/);
    }
  });

  test("names, labels and references must be identifiers; numbers finite", () => {
    expect(() => alloyRef("loki.write.my-label.receiver")).toThrow(/reference: given "my-label"/);
    expect(() => alloyAttr("forward-to", 1)).toThrow(/attribute name: given "forward-to"/);
    expect(() => alloyBlock("loki.write", "1st", [])).toThrow(/block label: given "1st"/);
    expect(() => formatAlloyValue(Number.POSITIVE_INFINITY)).toThrow(/a finite number/);
  });

  test("laid out as alloy fmt does: tabs, aligned =, a blank line before each later block", () => {
    const text = formatAlloyFile(
      [
        alloyBlock("a.b", "one", [
          alloyAttr("x", 1),
          alloyAttr("longer_name", "v"),
          alloyBlock("inner", undefined, []),
          alloyAttr("after", true),
        ]),
        alloyBlock("c", undefined, [alloyAttr("y", alloyRef("a.b.one.out"))]),
      ],
      ["header"],
    );
    expect(text).toBe(
      [
        "// header",
        "",
        'a.b "one" {',
        "\tx           = 1",
        '\tlonger_name = "v"',
        "",
        "\tinner { }",
        "\tafter = true",
        "}",
        "",
        "c {",
        "\ty = a.b.one.out",
        "}",
        "",
      ].join("\n"),
    );
  });
});

describe("Alloy config", () => {
  test("exactly the logging block and the four components, each once", () => {
    const { file } = alloyPipeline();
    expect(
      file.map((s) => (s.type === "block" ? `${s.name} ${s.label ?? ""}`.trim() : s.name)),
    ).toEqual([
      "logging",
      "discovery.docker containers",
      "discovery.relabel containers",
      "loki.source.docker containers",
      "loki.write default",
    ]);
    const logging = blocks(file, "logging")[0];
    expect(attrValue(logging, "level")).toBe("info");
    expect(attrValue(logging, "format")).toBe("logfmt");
  });

  test("wired by references: docker -> relabel -> source -> write", () => {
    const { file, docker } = alloyPipeline();
    const source = component(file, "loki.source.docker", "containers");
    expect(attrValue(source, "host")).toBe("unix:///var/run/docker.sock");
    expect(attrValue(docker, "host")).toBe("unix:///var/run/docker.sock");
    expect(attrValue(docker, "refresh_interval")).toBe("15s");

    const targets = resolve(file, attrValue(source, "targets"));
    expect([targets.block.name, targets.exported]).toEqual(["discovery.relabel", "output"]);
    const discovered = resolve(file, attrValue(targets.block, "targets"));
    expect(discovered.block).toBe(docker);
    expect(discovered.exported).toBe("targets");

    const forwardTo = attrValue(source, "forward_to") as Value[];
    expect(forwardTo).toHaveLength(1);
    const receiver = resolve(file, forwardTo[0]);
    expect([receiver.block.name, receiver.exported]).toEqual(["loki.write", "receiver"]);
    const endpoint = blocks(receiver.block.body, "endpoint");
    expect(endpoint.map((e) => attrValue(e, "url"))).toEqual(["http://loki:3100/loki/api/v1/push"]);
  });

  test("the parser refuses a broken file, so the checks above read real structure", () => {
    const text = renderAlloyConfig(alloyInput);
    expect(() => parseAlloy(text.replace('"15s"', '"15s'))).toThrow();
    expect(() => parseAlloy(text.replace(/\n\t\}\n\}\n*$/, "\n\t}\n"))).toThrow(/not closed/);
    expect(() => parseAlloy(text.replace('level  = "info"\n\t', 'level  = "info" '))).toThrow(
      /not followed by a line break/,
    );
  });

  test("the text is the printed data, and ends with one newline", () => {
    const text = renderAlloyConfig(alloyInput);
    expect(text).toBe(
      formatAlloyFile(buildAlloyConfig(alloyInput), [text.split("\n")[0].slice(3)]),
    );
    expect(text.endsWith("}\n")).toBe(true);
  });

  test("the run arguments carry the listen port and the storage path", () => {
    expect(alloyRunArgs("/etc/alloy/config.alloy", 12345, "/var/lib/alloy/data")).toEqual([
      "run",
      "--server.http.listen-addr=0.0.0.0:12345",
      "--storage.path=/var/lib/alloy/data",
      "--disable-reporting",
      "/etc/alloy/config.alloy",
    ]);
    expect(refusal(() => alloyRunArgs("config.alloy", 0, "/data/"))).toMatch(
      /listenPort: given 0.*configFile: given "config.alloy".*storagePath: given "\/data\/"/,
    );
  });
});

describe("Promtail config", () => {
  test("server, positions and the one Loki client", () => {
    const doc = promtail();
    expect(doc.server).toEqual({ http_listen_port: 9080, grpc_listen_port: 0, log_level: "info" });
    expect(doc.positions).toEqual({ filename: "/var/lib/promtail/positions.yaml" });
    expect(doc.clients).toEqual([{ url: "http://loki:3100/loki/api/v1/push" }]);
  });

  test("one docker job reading the given engine", () => {
    const jobs = promtail().scrape_configs;
    expect(jobs.map((j) => j.job_name)).toEqual(["docker"]);
    expect(jobs[0].docker_sd_configs).toHaveLength(1);
    expect(jobs[0].docker_sd_configs[0]).toMatchObject({
      host: "unix:///var/run/docker.sock",
      refresh_interval: "15s",
    });
  });
});

describe("both shippers", () => {
  const promtailFilters = (input = promtailInput) =>
    promtail(input).scrape_configs[0].docker_sd_configs[0].filters;
  const promtailRules = () => promtail().scrape_configs[0].relabel_configs;

  test.each([
    ["prod", ["vpn-prod-api-2", "vpn-prod-redis", "vpn-prod-no-tier"]],
    ["dev", ["vpn-dev-api-1"]],
  ])("Docker lists exactly the %s stack's containers of this project", (stack, expected) => {
    const listed = (filters: readonly Filter[]) =>
      CONTAINERS.filter((c) => dockerLists(filters, c.labels)).map((c) => c.name);
    expect(listed(promtailFilters({ ...promtailInput, stack }))).toEqual(expected);
    expect(listed(alloyPipeline({ ...alloyInput, stack }).filters)).toEqual(expected);
  });

  test("a stream carries container, service, stack and tier, and nothing else", () => {
    const api = discoveryLabels(CONTAINERS[0]);
    const expected = { container: "vpn-prod-api-2", service: "api", stack: "prod", tier: "apps" };
    expect(streamLabels(api, promtailRules())).toEqual(expected);
    expect(streamLabels(api, alloyPipeline().rules)).toEqual(expected);
  });

  test("a container without a tier label gets no tier label, not an empty one", () => {
    const noTier = discoveryLabels(CONTAINERS[5]);
    expect(streamLabels(noTier, promtailRules())).toEqual({
      container: "vpn-prod-no-tier",
      stack: "prod",
    });
  });

  test("the same container gets the same labels from both, from the same rules", () => {
    for (const container of CONTAINERS) {
      const meta = discoveryLabels(container);
      expect(streamLabels(meta, alloyPipeline().rules)).toEqual(
        streamLabels(meta, promtailRules()),
      );
    }
    const normalized = LOG_LABEL_RULES.map((r) => ({
      source_labels: [r.sourceLabel],
      regex: r.regex,
      target_label: r.targetLabel,
      replacement: "$1",
      action: "replace",
    }));
    expect(promtailRules()).toEqual(normalized);
    expect(alloyPipeline().rules).toEqual(normalized);
  });

  test("the relabel evaluator can tell rules apart (a wrong rule changes the labels)", () => {
    const api = discoveryLabels(CONTAINERS[0]);
    const wrong = promtailRules().map((r) =>
      r.target_label === "container" ? { ...r, regex: "(.*)" } : r,
    );
    expect(streamLabels(api, wrong)?.container).toBe("/vpn-prod-api-2");
  });

  const renderers: [string, (input: LogShipperInput) => string][] = [
    ["alloy", (input) => renderAlloyConfig({ ...input, listenPort: 12345 })],
    ["promtail", (input) => renderPromtailConfig({ ...promtailInput, ...input })],
  ];
  describe.each(renderers)("%s refuses", (_, render) => {
    const shipperRefusal = (input: Partial<LogShipperInput>) =>
      refusal(() => render({ ...shipper, ...input }));
    test.each([
      "loki:3100/loki/api/v1/push",
      "ftp://loki/loki/api/v1/push",
      "http://loki:3100",
      "http://user:pw@loki:3100/loki/api/v1/push",
    ])("lokiPushUrl %p", (lokiPushUrl) => {
      expect(shipperRefusal({ lokiPushUrl })).toMatch(
        `lokiPushUrl: given ${JSON.stringify(lokiPushUrl)}; allowed: an http:// or https:// URL`,
      );
    });
    test.each(["/var/run/docker.sock", "unix://var/run/docker.sock", "unix:///", "ssh://host"])(
      "dockerHost %p",
      (dockerHost) => {
        expect(shipperRefusal({ dockerHost })).toMatch(
          `dockerHost: given ${JSON.stringify(dockerHost)}; allowed: unix:///`,
        );
      },
    );
    test("tcp and https engines are accepted", () => {
      expect(() => render({ ...shipper, dockerHost: "tcp://docker-proxy:2375" })).not.toThrow();
      expect(() => render({ ...shipper, dockerHost: "https://docker:2376" })).not.toThrow();
    });
    test.each(["", "a=b", "prod,dev", "has space", "x".repeat(101)])("stack %p", (stack) => {
      expect(shipperRefusal({ stack })).toMatch(`stack: given ${JSON.stringify(stack)}; allowed:`);
    });
    test("project and refreshSeconds, all at once", () => {
      const message = shipperRefusal({ project: "a\nb", refreshSeconds: 0 });
      expect(message).toMatch(/project: given "a\\nb"; allowed: 1 to 100 letters/);
      expect(message).toMatch(/refreshSeconds: given 0; allowed: an integer from 1 to 3600/);
    });
  });

  test("each refuses a bad own setting", () => {
    expect(refusal(() => renderAlloyConfig({ ...alloyInput, listenPort: 70000 }))).toMatch(
      "listenPort: given 70000",
    );
    expect(
      refusal(() => renderPromtailConfig({ ...promtailInput, positionsFile: "positions.yaml" })),
    ).toMatch('positionsFile: given "positions.yaml"; allowed: an absolute file path');
    expect(
      refusal(() => renderPromtailConfig({ ...promtailInput, positionsFile: "/var/lib/p/" })),
    ).toMatch("positionsFile: given");
  });
});
