/** The house rules of DESIGN.md that code review alone would let slip. */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../stackFiles";

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith(".ts") ? [rel] : [];
  });
}

const program = ["index.ts", ...sources("config"), ...sources("components"), ...sources("render")];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const offenders = (files: string[], pattern: RegExp) => files.filter((f) => pattern.test(read(f)));

test("the program has the files these rules are about", () => {
  expect(program).toEqual(
    expect.arrayContaining([
      "index.ts",
      "config/load.ts",
      "components/workload.ts",
      "render/redis.ts",
    ]),
  );
});

test("only config/load.ts reads Pulumi config or the stack's name", () => {
  const reads = /pulumi\.Config\b|new Config\(|allConfig\(|getConfig\(|getStack\(|getProject\(/;
  expect(offenders(program, reads)).toEqual(["config/load.ts"]);
});

test("only the Workload (and the carrier of its files) creates containers", () => {
  expect(offenders(program, /new docker\.Container\(/)).toEqual([
    "components/carrier.ts",
    "components/workload.ts",
  ]);
});

test("render/ is pure: it imports nothing from Pulumi", () => {
  expect(offenders(sources("render"), /from "@pulumi\//)).toEqual([]);
});

/** Comments out, so prose about stacks does not count. */
const code = (file: string) =>
  read(file)
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "");

/**
 * Where code decides something by the stack's name: a comparison with, a switch or a ternary on a
 * value named `stack` (presence checks against undefined aside), or a comparison with a stack name.
 */
const STACK_BRANCH = [
  /\bstack\b[\w.?]*\s*(===|!==|==|!=)(?![=\s]*undefined\b)/,
  /(===|!==|==|!=)\s*[\w.?]*\bstack\b/,
  /switch\s*\([^)]*\bstack\b/,
  /\bstack\b[\w.]*\s*\?(?![.?:])/,
  /(===|!==|==|!=)\s*["'`](dev|prod|production|staging)["'`]/,
  /["'`](dev|prod|production|staging)["'`]\s*(===|!==|==|!=)/,
];
const branchesOnStack = (text: string) => STACK_BRANCH.some((p) => p.test(text));

test("no code under config/, components/ or render/ branches on the stack's name", () => {
  const files = [...sources("config"), ...sources("components"), ...sources("render")];
  expect(files.filter((f) => branchesOnStack(code(f)))).toEqual([]);
});

test("the stack-branch check finds the ways code would branch on the stack", () => {
  for (const text of [
    'if (cfg.stack === "prod") x();',
    'const tls = stack !== "dev";',
    "switch (args.stack) {}",
    "const n = cfg.stack ? 3 : 1;",
    'if ("prod" === name) x();',
    'if (env === "production") x();',
  ]) {
    expect([text, branchesOnStack(text)]).toEqual([text, true]);
  }
  for (const text of [
    "const labels = { stack: cfg.stack };",
    "input.stack === undefined ? [] : [x]",
    'image: { build: { target: "dev" } }',
    "const s = args.stack;",
    "readonly stack?: string;",
  ]) {
    expect([text, branchesOnStack(text)]).toEqual([text, false]);
  }
});
