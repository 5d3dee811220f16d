/**
 * The house rules of DESIGN.md that code review alone would let slip, decided from the syntax tree:
 * which modules a file loads (through the project's own files too), which Pulumi exports it
 * constructs or calls under whatever name its imports gave them, and where it compares the stack.
 * Each detector is also run on a few lines held in memory, to show what it finds and what it leaves.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { ROOT } from "../stackFiles";
import {
  buildGraph,
  Edge,
  Finding,
  finding,
  importChain,
  parse,
  show,
  SourceGraph,
  unwrap,
  usesOf,
} from "./sourceGraph";

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith(".ts") ? [rel] : [];
  });
}

const PROGRAM = ["index.ts", ...sources("config"), ...sources("components"), ...sources("render")];

function fromDisk(file: string): string | undefined {
  const full = path.join(ROOT, file);
  return fs.statSync(full, { throwIfNoEntry: false })?.isFile()
    ? fs.readFileSync(full, "utf8")
    : undefined;
}

const program = buildGraph(PROGRAM, fromDisk);

/** A few files held in memory, read by the same code as the real ones. */
function inMemory(files: Record<string, string>): SourceGraph {
  const texts = new Map(Object.entries(files));
  return buildGraph([...texts.keys()], (file) => texts.get(file));
}

const filesUnder = (graph: SourceGraph, dir: string) =>
  [...graph.files.keys()].filter((f) => f.startsWith(dir)).sort();

/** Each file under `dir` whose imports reach a module `forbidden` accepts, with the way there. */
const reaching = (graph: SourceGraph, dir: string, forbidden: (edge: Edge) => boolean) =>
  filesUnder(graph, dir).flatMap((file) => {
    const chain = importChain(graph, file, forbidden);
    return chain === undefined ? [] : [chain.join(" -> ")];
  });

const isPulumi = (e: Edge) => e.kind === "package" && e.to.startsWith("@pulumi/");
const isComponent = (e: Edge) => e.kind === "file" && e.to.startsWith("components/");
/** What render/ must not reach: the components it serves, or the loader of the values it is given. */
const isUpstreamOfRender = (e: Edge) =>
  isComponent(e) || (e.kind === "file" && e.to === "config/load.ts");

const everyFile = (graph: SourceGraph, find: (sf: ts.SourceFile) => Finding[]) =>
  [...graph.files.values()].flatMap(find);
const filesOf = (found: Finding[]) => [...new Set(found.map((f) => f.file))].sort();

/** Where Pulumi config, the stack's or the project's name is read. */
const configReads = (graph: SourceGraph) =>
  everyFile(graph, (sf) => [
    ...usesOf(sf, "@pulumi/pulumi", "new", ["Config"]),
    ...usesOf(sf, "@pulumi/pulumi", "call", ["getStack", "getProject", "allConfig", "getConfig"]),
  ]);

const containers = (graph: SourceGraph) =>
  everyFile(graph, (sf) => usesOf(sf, "@pulumi/docker", "new", ["Container"]));

const STACK_NAMES = new Set(["dev", "prod", "production", "staging"]);
const EQUALITY = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

/** A value named `stack`: `stack`, `cfg.stack`, `args?.stack`, `cfg["stack"]`. */
function isStack(expr: ts.Expression): boolean {
  const e = unwrap(expr);
  if (ts.isIdentifier(e)) return e.text === "stack";
  if (ts.isPropertyAccessExpression(e)) return e.name.text === "stack";
  return (
    ts.isElementAccessExpression(e) &&
    ts.isStringLiteralLike(e.argumentExpression) &&
    e.argumentExpression.text === "stack"
  );
}

function isStackName(expr: ts.Expression): boolean {
  const e = unwrap(expr);
  return ts.isStringLiteralLike(e) && STACK_NAMES.has(e.text);
}

/** Comparing with these asks whether the stack is set at all, not which stack it is. */
function isNullish(expr: ts.Expression): boolean {
  const e = unwrap(expr);
  return (
    e.kind === ts.SyntaxKind.NullKeyword ||
    (ts.isIdentifier(e) && e.text === "undefined") ||
    ts.isVoidExpression(e)
  );
}

function isStackComparison(node: ts.Node): boolean {
  if (!ts.isBinaryExpression(node) || !EQUALITY.has(node.operatorToken.kind)) return false;
  const { left, right } = node;
  return (
    (isStack(left) && !isNullish(right)) ||
    (isStack(right) && !isNullish(left)) ||
    isStackName(left) ||
    isStackName(right)
  );
}

/** The stack taken as true or false: `cfg.stack ? a : b`, `if (!stack)`, `if (x && cfg.stack)`. */
function testsStack(expr: ts.Expression): boolean {
  const e = unwrap(expr);
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) {
    return testsStack(e.operand);
  }
  const logical = [ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken];
  if (ts.isBinaryExpression(e) && logical.includes(e.operatorToken.kind)) {
    return testsStack(e.left) || testsStack(e.right);
  }
  return isStack(e);
}

/**
 * Where code decides something by the stack's name: a comparison with a value named `stack`
 * (presence checks against undefined/null aside) or with a stack name, a switch on the stack or a
 * case of a stack name, an `if` or `?:` on the stack itself.
 */
function stackBranches(sf: ts.SourceFile): Finding[] {
  const out: Finding[] = [];
  const visit = (node: ts.Node): void => {
    if (
      isStackComparison(node) ||
      (ts.isIfStatement(node) && testsStack(node.expression)) ||
      (ts.isConditionalExpression(node) && testsStack(node.condition)) ||
      (ts.isSwitchStatement(node) && isStack(node.expression)) ||
      (ts.isCaseClause(node) && isStackName(node.expression))
    ) {
      out.push(finding(sf, node));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe("the program's sources", () => {
  test("are all read, every import in them resolves, and index.ts reaches the layers", () => {
    expect([...program.files.keys()]).toEqual(expect.arrayContaining(PROGRAM));
    expect(PROGRAM).toEqual(
      expect.arrayContaining([
        "index.ts",
        "config/load.ts",
        "components/workload.ts",
        "components/carrier.ts",
        "render/redis.ts",
      ]),
    );
    // An import the graph cannot follow would let a Pulumi import hide behind it.
    const unfollowed = [...program.edges].flatMap(([file, edges]) =>
      edges
        .filter((e) => e.kind !== "file" && e.kind !== "package")
        .map((e) => `${file}:${e.line}`),
    );
    expect(unfollowed).toEqual([]);
    for (const file of ["config/load.ts", "components/workload.ts", "render/redis.ts"]) {
      expect(importChain(program, "index.ts", (e) => e.to === file)?.at(-1)).toBe(file);
    }
  });
});

describe("house rules, on the real sources", () => {
  test("render/ is pure: nothing it imports, directly or through project files, is Pulumi", () => {
    expect(filesUnder(program, "render/").length).toBeGreaterThan(0);
    expect(reaching(program, "render/", isPulumi)).toEqual([]);
  });

  test("render/ takes values in: it reaches neither components/ nor config/load.ts", () => {
    expect(reaching(program, "render/", isUpstreamOfRender)).toEqual([]);
  });

  test("config/ is upstream of components/: nothing under config/ reaches them", () => {
    expect(reaching(program, "config/", isComponent)).toEqual([]);
  });

  test("nothing imports index.ts: it is the top of the program", () => {
    const importers = [...program.edges].flatMap(([file, edges]) =>
      edges.filter((e) => e.kind === "file" && e.to === "index.ts").map((e) => `${file}:${e.line}`),
    );
    expect(importers).toEqual([]);
  });

  test("only config/load.ts reads Pulumi config or the stack's name", () => {
    const found = configReads(program);
    expect(found.filter((f) => f.file !== "config/load.ts").map(show)).toEqual([]);
    expect(filesOf(found)).toEqual(["config/load.ts"]);
  });

  test("only the Workload (and the carrier of its files) creates containers", () => {
    const owners = ["components/carrier.ts", "components/workload.ts"];
    const found = containers(program);
    expect(found.filter((f) => !owners.includes(f.file)).map(show)).toEqual([]);
    expect(filesOf(found)).toEqual(owners);
  });

  test("no program code branches on the stack's name", () => {
    expect(everyFile(program, stackBranches).map(show)).toEqual([]);
  });
});

describe("the detectors, on sources held in memory", () => {
  test("the import graph reads every way a file loads a module, and nothing else", () => {
    const graph = inMemory({
      "main.ts": [
        'import a from "./a";',
        'import * as b from "pkg-b";',
        'import type { C } from "@scope/c/sub/path";',
        'import "./side";',
        'import e = require("./lib");',
        'export { f } from "./f.js";',
        'export * from "node:path";',
        'const h = require("h");',
        'async function later() { return import("./a"); }',
        'type J = import("j").J;',
        "const k = require(name);",
        'import { gone } from "./gone";',
        '// import "commented-out";',
        'const text = `require("in-a-string")`;',
        "const also = 'import \"in-a-string\"';",
      ].join("\n"),
      "a.ts": "",
      "side.ts": "",
      "lib/index.ts": "",
      "f.ts": "",
    });
    expect(graph.edges.get("main.ts")?.map((e) => `${e.kind} ${e.to}`)).toEqual([
      "file a.ts",
      "package pkg-b",
      "package @scope/c",
      "file side.ts",
      "file lib/index.ts",
      "file f.ts",
      "package node:path",
      "package h",
      "file a.ts",
      "package j",
      "computed require(name)",
      "unresolved gone",
    ]);
  });

  test("the purity check follows imports through project files to Pulumi", () => {
    const graph = inMemory({
      "render/direct.ts": 'import * as pulumi from "@pulumi/pulumi";',
      "render/typeOnly.ts": 'import type { Input } from "@pulumi/pulumi";',
      "render/lazy.ts": 'export const f = () => require("@pulumi/docker");',
      "render/viaHelper.ts": 'import { fmt } from "../lib/format";',
      "lib/format.ts": 'import { Output } from "@pulumi/pulumi";\nexport const fmt = 1;',
      "render/viaRender.ts": 'export * from "./viaHelper";',
      "render/clean.ts": [
        'import { stringify } from "yaml";',
        'import { x } from "./cleanHelper";',
        '// import "@pulumi/pulumi";',
        'const s = "@pulumi/pulumi";',
      ].join("\n"),
      "render/cleanHelper.ts": 'import { z } from "zod";',
    });
    expect(reaching(graph, "render/", isPulumi)).toEqual([
      "render/direct.ts -> @pulumi/pulumi",
      "render/lazy.ts -> @pulumi/docker",
      "render/typeOnly.ts -> @pulumi/pulumi",
      "render/viaHelper.ts -> lib/format.ts -> @pulumi/pulumi",
      "render/viaRender.ts -> render/viaHelper.ts -> lib/format.ts -> @pulumi/pulumi",
    ]);
  });

  test("the layer checks find imports against the flow, directly or on the way", () => {
    const graph = inMemory({
      "index.ts": 'import "./components/platform";',
      "components/platform.ts": 'import { top } from "..";',
      "components/workload.ts": "",
      "components/edge/site.ts": "",
      "render/a.ts": 'import { b } from "./b";',
      "render/b.ts": 'import { Site } from "../components/edge/site";',
      "render/c.ts": 'import { loadConfig } from "../config/load";',
      "render/d.ts": 'import { cidr } from "../config/net";',
      "config/load.ts": 'import { parse } from "./schema";',
      "config/net.ts": "",
      "config/schema.ts": 'import { Workload } from "../components/workload";',
      "config/dataSchema.ts": 'import { b } from "../render/a";',
    });
    expect(reaching(graph, "render/", isUpstreamOfRender)).toEqual([
      "render/a.ts -> render/b.ts -> components/edge/site.ts",
      "render/b.ts -> components/edge/site.ts",
      "render/c.ts -> config/load.ts",
    ]);
    expect(reaching(graph, "config/", isComponent)).toEqual([
      "config/dataSchema.ts -> render/a.ts -> render/b.ts -> components/edge/site.ts",
      "config/load.ts -> config/schema.ts -> components/workload.ts",
      "config/schema.ts -> components/workload.ts",
    ]);
    expect(graph.edges.get("components/platform.ts")?.map((e) => e.to)).toEqual(["index.ts"]);
  });

  const inOneFile = (find: (graph: SourceGraph) => Finding[], text: string) =>
    find(inMemory({ "components/x.ts": text })).length > 0;

  test("the config check finds Pulumi config and stack reads under any import name", () => {
    for (const text of [
      'import * as pulumi from "@pulumi/pulumi";\nconst c = new pulumi.Config();',
      'import { Config } from "@pulumi/pulumi";\nconst c = new Config("vpn");',
      'import { Config as C } from "@pulumi/pulumi";\nconst c = new C();',
      'import * as p from "@pulumi/pulumi";\nconst s = p.getStack();',
      'import { getProject } from "@pulumi/pulumi";\nconst s = getProject();',
      'import * as pulumi from "@pulumi/pulumi";\nconst all = pulumi.runtime.allConfig();',
      'import { runtime } from "@pulumi/pulumi";\nconst v = runtime.getConfig("vpn:x");',
      'import * as runtime from "@pulumi/pulumi/runtime";\nconst all = runtime.allConfig();',
      'import pulumi = require("@pulumi/pulumi");\nconst c = new pulumi.Config();',
      'const { getStack: stackName } = require("@pulumi/pulumi");\nconst s = stackName();',
      'const s = require("@pulumi/pulumi").getStack();',
    ]) {
      expect([text, inOneFile(configReads, text)]).toEqual([text, true]);
    }
    for (const text of [
      "class Config {}\nconst c = new Config();",
      'import { Config } from "./settings";\nconst c = new Config();',
      'import { getStack } from "./names";\nconst s = getStack();',
      'import * as pulumi from "@pulumi/pulumi";\nlet c: pulumi.Config | undefined;',
      'import * as pulumi from "@pulumi/pulumi";\nconst o = pulumi.output(1);',
      'import * as docker from "@pulumi/docker";\nconst s = docker.getStack();',
      '// new pulumi.Config()\nconst s = "pulumi.getStack()";',
    ]) {
      expect([text, inOneFile(configReads, text)]).toEqual([text, false]);
    }
  });

  test("the container check finds docker.Container under any import name", () => {
    for (const text of [
      'import * as docker from "@pulumi/docker";\nnew docker.Container("c", {});',
      'import * as d from "@pulumi/docker";\nnew d.Container("c", {});',
      'import { Container as C } from "@pulumi/docker";\nnew C("c", {});',
      'import { Container } from "@pulumi/docker";\nnew Container("c", {});',
      'const docker = require("@pulumi/docker");\nnew docker.Container("c", {});',
    ]) {
      expect([text, inOneFile(containers, text)]).toEqual([text, true]);
    }
    for (const text of [
      'import * as docker from "@pulumi/docker";\nnew docker.Network("n", {});',
      'import * as docker from "@pulumi/docker";\nlet c: docker.Container | undefined;',
      "class Container {}\nnew Container();",
      'import { Container } from "./mine";\nnew Container();',
      'import * as pulumi from "@pulumi/pulumi";\nnew pulumi.Container();',
      '// new docker.Container("c", {})\nconst s = "new docker.Container(";',
    ]) {
      expect([text, inOneFile(containers, text)]).toEqual([text, false]);
    }
  });

  test("the stack-branch check finds the ways code would branch on the stack", () => {
    const branches = (text: string) => stackBranches(parse("x.ts", text)).length > 0;
    for (const text of [
      'if (cfg.stack === "prod") x();',
      'const tls = stack !== "dev";',
      "switch (args.stack) {}",
      "const n = cfg.stack ? 3 : 1;",
      'if ("prod" === name) x();',
      'if (env === "production") x();',
      "if (!args?.stack) x();",
      "if (ready && cfg.stack) x();",
      'const big = cfg["stack"] == other;',
      'switch (name) { case "staging": break; }',
    ]) {
      expect([text, branches(text)]).toEqual([text, true]);
    }
    for (const text of [
      "const labels = { stack: cfg.stack };",
      "input.stack === undefined ? [] : [x]",
      "if (cfg.stack != null) x();",
      'image: { build: { target: "dev" } }',
      "const s = args.stack;",
      "interface Args { readonly stack?: string }",
      "const prefix = `${project}-${stack}`;",
      '// if (cfg.stack === "prod") x();\n/* switch (stack) {} */',
      "const text = 'stack === \"prod\"';",
    ]) {
      expect([text, branches(text)]).toEqual([text, false]);
    }
  });
});
