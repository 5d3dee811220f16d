/**
 * `npm run quickref -- <stack>`: the operators' quick reference (public URLs, containers, health
 * URLs, ports, commands) made from the stack's outputs, through scripts/pulumi.sh outputs (so the
 * same backend as the other npm scripts). `--from <file>` reads saved outputs instead
 * (`npm run --silent outputs:prod > outputs.json`), with no Pulumi CLI needed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { checkOutputs, quickReference } from "./quickref/format";

const USAGE = `Usage: npm run quickref -- <stack> | --from <outputs.json> [--stack-name <name>]

  <stack>             read the outputs of that stack (scripts/pulumi.sh outputs <stack>)
  --from <file>       read saved outputs (pulumi stack output --json) from a file
  --stack-name <name> the name printed in the title with --from (default: the file's name)
`;

class UsageError extends Error {}

function parse(argv: readonly string[]): { stack: string; from?: string } {
  let from: string | undefined;
  let stack: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) {
        throw new UsageError(`${arg} needs a value`);
      }
      return argv[++i];
    };
    if (arg === "--from") from = value();
    else if (arg === "--stack-name") name = value();
    else if (arg.startsWith("-")) {
      throw new UsageError(`${arg}: unknown option; allowed: --from <file>, --stack-name <name>`);
    } else if (stack === undefined) stack = arg;
    else throw new UsageError(`${arg}: one stack only (already ${stack})`);
  }
  if (from !== undefined && stack !== undefined) {
    throw new UsageError(`${stack}: give a stack or --from <file>, not both`);
  }
  if (from === undefined && stack === undefined) throw new UsageError("a stack, or --from <file>");
  if (name !== undefined && from === undefined)
    throw new UsageError("--stack-name only with --from");
  return from !== undefined
    ? { stack: name ?? path.basename(from, ".json"), from }
    : { stack: stack as string };
}

function main(argv: readonly string[]): number {
  let args: { stack: string; from?: string };
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`quickref: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let text: string;
  try {
    text =
      args.from !== undefined
        ? fs.readFileSync(args.from, "utf8")
        : execFileSync("bash", [path.join(__dirname, "pulumi.sh"), "outputs", args.stack], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
          });
  } catch (e) {
    process.stderr.write(`quickref: could not read the outputs: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`stack outputs: not JSON (${(e as Error).message})`);
    }
    process.stdout.write(quickReference(args.stack, checkOutputs(json)));
    return 0;
  } catch (e) {
    process.stderr.write(`quickref: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
