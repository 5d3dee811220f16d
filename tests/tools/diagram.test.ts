/**
 * The architecture diagram read by mermaid's own parser (scripts/diagram/validate.ts, the parser
 * GitHub's renderer runs), and `npm run diagram` run as a command. The diagram's content and the
 * command's options are tested under mocks in tests/program/diagram.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { STALE_MESSAGE } from "../../scripts/diagram/cli";
import { withDiagram } from "../../scripts/diagram/readme";
import { diagramResources } from "../../scripts/diagram/record";
import { renderMermaid } from "../../scripts/diagram/render";
import { ProgramRun, runProgram } from "../program/harness";
import { ROOT, StackName, cliConfig } from "../stackFiles";

const README = path.join(ROOT, "README.md");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

function tsx(args: string[], input?: string): { status: number | null; out: string; err: string } {
  // As a user runs it: not through this jest run's pool of program runs, with a runner of its own.
  const env = { ...process.env };
  delete env.VPN_PROGRAM_RUNS;
  const r = spawnSync(TSX, args, { cwd: ROOT, encoding: "utf8", input, env, timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

async function mermaidOf(stack: StackName): Promise<string> {
  const r: ProgramRun = await runProgram(cliConfig(stack), stack);
  if (r.error) throw r.error;
  return renderMermaid(diagramResources(r.resources), { stack });
}

let prodMermaid: string;
beforeAll(async () => {
  prodMermaid = await mermaidOf("prod");
});

describe("mermaid's own parser", () => {
  test("reads the prod diagram as a flowchart", () => {
    const r = tsx(["scripts/diagram/validate.ts"], prodMermaid);
    expect([r.status, r.err]).toEqual([0, ""]);
    expect(r.out).toBe("flowchart-v2\n");
  });

  test("reads the dev diagram too, where ports are published on the host's loopback", async () => {
    const dev = await mermaidOf("dev");
    expect(dev).toContain('  host -->|"127.0.0.1:5432->5432"| svc_postgres\n');
    expect(dev).not.toContain("internet");
    const r = tsx(["scripts/diagram/validate.ts"], dev);
    expect([r.status, r.err, r.out]).toEqual([0, "", "flowchart-v2\n"]);
  });

  test("refuses a broken one (so the check above can fail)", () => {
    const broken = prodMermaid.replace('svc_api["api ×3<br/>', 'svc_api[["api ×3<br/>');
    expect(broken).not.toBe(prodMermaid);
    const r = tsx(["scripts/diagram/validate.ts"], broken);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/Parse error/);
  });
});

test("npm run diagram as a command: --print gives the harness's diagram, --check exits 1 on a stale copy", () => {
  const printed = tsx(["scripts/diagram.ts", "--print"]);
  expect([printed.status, printed.err]).toEqual([0, ""]);
  expect(printed.out).toBe(prodMermaid);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diagram-"));
  const stale = path.join(dir, "README.md");
  fs.writeFileSync(
    stale,
    withDiagram(
      fs.readFileSync(README, "utf8"),
      prodMermaid.replace('["api ×3<br/>', '["api ×2<br/>'),
    ),
  );
  const checked = tsx(["scripts/diagram.ts", "--check", "--readme", stale]);
  expect(checked.status).toBe(1);
  expect(checked.err).toContain(STALE_MESSAGE);
  fs.rmSync(dir, { recursive: true, force: true });
});
