/**
 * `npm run diagram`: the platform's architecture as Mermaid, from the program run under mocks with a
 * stack's config, written into README.md between its diagram markers (see scripts/diagram/cli.ts
 * for the options).
 */
import { cliConfig } from "../tests/stackFiles";
import { run } from "./diagram/cli";
import { recordProgram } from "./diagram/record";
import { renderMermaid } from "./diagram/render";

run(
  process.argv.slice(2),
  async (stack) => renderMermaid(await recordProgram(cliConfig(stack), stack), { stack }),
  { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
).then(
  (status) => {
    // The Pulumi SDK may keep handles open after the run; the command is done.
    process.exit(status);
  },
  (e: unknown) => {
    process.stderr.write(`diagram: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(2);
  },
);
