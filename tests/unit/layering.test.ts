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

test("only the Workload creates containers", () => {
  expect(offenders(program, /new docker\.Container\(/)).toEqual(["components/workload.ts"]);
});

test("render/ is pure: it imports nothing from Pulumi", () => {
  expect(offenders(sources("render"), /from "@pulumi\//)).toEqual([]);
});
