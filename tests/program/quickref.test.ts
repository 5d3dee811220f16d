/**
 * `npm run quickref`: the operators' quick reference is made from the stack outputs (here both
 * stacks' outputs under mocks, saved as `pulumi stack output --json` prints them), not written down:
 * every container, health URL and published port of the outputs is in it, and outputs of another
 * contract version are refused with a clear error.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkOutputs, quickReference } from "../../scripts/quickref/format";
import { ROOT, STACKS, cliConfig } from "../stackFiles";
import { ProgramRun, reveal, runEachStack } from "./harness";

const run = runEachStack(STACKS, cliConfig);

/** The outputs as `pulumi stack output --json` prints them (secrets masked). */
function asCliJson(r: ProgramRun): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(r.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : reveal(v.value)]),
  );
}

function quickref(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "scripts/quickref.ts", ...args],
    { cwd: ROOT, encoding: "utf8" },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Endpoint {
  url: string;
  healthUrl: string | null;
  publishedPorts: string[];
  containerNames: string[];
}

describe.each(STACKS)("the %s stack's quick reference", (stack) => {
  test("lists every container, URL, health URL and published port of the outputs", () => {
    const outputs = asCliJson(run(stack));
    const text = quickReference(stack, checkOutputs(outputs));
    const services = outputs.services as Record<string, Endpoint>;
    for (const [name, e] of Object.entries(services)) {
      const row = text.split("\n").find((l) => l.startsWith(`| ${name} |`));
      if (row === undefined) throw new Error(`no row for ${name}`);
      for (const c of e.containerNames) expect(row).toContain(`\`${c}\``);
      expect(row).toContain(`\`${e.url}\``);
      if (e.healthUrl !== null) expect(row).toContain(`\`${e.healthUrl}\``);
      for (const p of e.publishedPorts) expect(row).toContain(`\`${p}\``);
    }
    const endpoints = outputs.endpoints as { site: string };
    expect(text).toContain(`- Site: ${endpoints.site}`);
    for (const name of Object.values(outputs.networks as Record<string, string>)) {
      expect(text).toContain(`\`${name}\``);
    }
    const backups = outputs.backups as { restoreCommand: string };
    expect(text).toContain(backups.restoreCommand);
    expect(text).toContain(`docker ps -a --filter name=^${String(outputs.namePrefix)}-`);
  });
});

describe("the quickref command", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-quickref-"));
  const saved = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(value));
    return file;
  };

  test("reads saved outputs and prints the same text", () => {
    const outputs = asCliJson(run("prod"));
    const r = quickref(["--from", saved("prod.json", outputs)]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(quickReference("prod", checkOutputs(outputs)));
  });

  test("refuses outputs of another contract version, or not JSON, saying what it got", () => {
    const outputs = { ...asCliJson(run("prod")), outputsVersion: 2 };
    const v2 = quickref(["--from", saved("v2.json", outputs)]);
    expect(v2.status).toBe(1);
    expect(v2.stderr).toContain("outputsVersion is 2; this quick reference reads 1");
    const broken = path.join(dir, "broken.json");
    fs.writeFileSync(broken, "{ not json");
    const bad = quickref(["--from", broken]);
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringContaining("not JSON")]);
  });

  test.each([
    [[], "a stack, or --from <file>"],
    [["--form", "x"], "--form: unknown option; allowed: --from <file>, --stack-name <name>"],
    [["prod", "dev"], "dev: one stack only (already prod)"],
    [["--from"], "--from needs a value"],
    [["prod", "--from", "x.json"], "give a stack or --from <file>, not both"],
  ])("%j: a usage error (exit 2) naming the argument", (args, message) => {
    const r = quickref(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
