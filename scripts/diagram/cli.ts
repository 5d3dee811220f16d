/**
 * `npm run diagram`: arguments, and what to do with the rendered diagram. The program run itself is
 * passed in (scripts/diagram.ts records it under mocks), so this part is tested without a process.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT, STACKS, StackName } from "../../tests/stackFiles";
import { isCurrent, withDiagram } from "./readme";

/** The stack the README's diagram shows. */
export const README_STACK: StackName = "prod";

export const STALE_MESSAGE = "README's diagram is stale: run npm run diagram";

export const USAGE = `Usage: npm run diagram [-- [--check | --print] [--stack <stack>] [--readme <file>]]

  (no option)      rewrite the diagram in README.md from the ${README_STACK} stack
  --check          exit 1 when README.md's diagram is not the one the program gives
  --print          print the diagram to stdout and leave README.md alone
  --stack <stack>  the stack whose Pulumi.<stack>.yaml config the program runs with: ${STACKS.join(", ")}
                   (default ${README_STACK}; another stack only with --print)
  --readme <file>  the README to rewrite or check (default README.md at the repository root)
  --help           this text
`;

export class UsageError extends Error {}

export interface Options {
  readonly mode: "write" | "check" | "print" | "help";
  readonly stack: StackName;
  readonly readme: string;
}

function isStack(s: string): s is StackName {
  return (STACKS as readonly string[]).includes(s);
}

/** The options `argv` asks for; a UsageError names the argument and what is allowed. */
export function parseArgs(argv: readonly string[]): Options {
  let mode: Options["mode"] | undefined;
  let stack: StackName | undefined;
  let readme: string | undefined;
  const setMode = (m: Options["mode"], flag: string): void => {
    if (mode !== undefined && mode !== m) {
      throw new UsageError(`${flag}: choose one of --check and --print`);
    }
    mode = m;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const [flag, inline] =
      arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const next = i + 1 < argv.length ? argv[i + 1] : "";
      const v = inline ?? (next.startsWith("--") ? "" : next);
      if (v === "") throw new UsageError(`${flag} needs a value`);
      if (inline === undefined) i++;
      return v;
    };
    switch (flag) {
      case "--check":
        setMode("check", flag);
        break;
      case "--print":
        setMode("print", flag);
        break;
      case "--help":
      case "-h":
        return { mode: "help", stack: README_STACK, readme: "" };
      case "--stack": {
        const name = value();
        if (!isStack(name)) {
          throw new UsageError(
            `--stack ${name}: no such stack; allowed: ${STACKS.join(", ")} (a Pulumi.<stack>.yaml)`,
          );
        }
        stack = name;
        break;
      }
      case "--readme":
        readme = value();
        break;
      default:
        throw new UsageError(
          `${arg}: unknown argument; allowed: --check, --print, --stack <${STACKS.join("|")}>, --readme <file>, --help`,
        );
    }
    if (inline !== undefined && (flag === "--check" || flag === "--print")) {
      throw new UsageError(`${arg}: ${flag} takes no value`);
    }
  }
  const chosen = stack ?? README_STACK;
  if (mode !== "print" && chosen !== README_STACK) {
    throw new UsageError(
      `--stack ${chosen}: the README shows the ${README_STACK} stack; add --print to see ${chosen}'s diagram`,
    );
  }
  return {
    mode: mode ?? "write",
    stack: chosen,
    readme: path.resolve(readme ?? path.join(ROOT, "README.md")),
  };
}

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * Runs the command; returns its exit status (0 done, 1 stale README, 2 bad arguments or a failed
 * run). `diagram` renders a stack's diagram.
 */
export async function run(
  argv: readonly string[],
  diagram: (stack: StackName) => Promise<string>,
  io: Io,
): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`diagram: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.mode === "help") {
    io.stdout(USAGE);
    return 0;
  }
  try {
    // Fail before the run on a missing README; read it only after, as close to the write as can be.
    if (options.mode !== "print") {
      fs.accessSync(options.readme, fs.constants.R_OK | fs.constants.W_OK);
    }
    const mermaid = await diagram(options.stack);
    const readme = options.mode === "print" ? "" : fs.readFileSync(options.readme, "utf8");
    const relative = path.relative(process.cwd(), options.readme);
    const file = relative === "" || relative.startsWith("..") ? options.readme : relative;
    switch (options.mode) {
      case "print":
        io.stdout(mermaid);
        return 0;
      case "check":
        if (isCurrent(readme, mermaid, file)) {
          io.stdout(`${file}: the diagram is current\n`);
          return 0;
        }
        io.stderr(`${STALE_MESSAGE} (${file} differs from the ${options.stack} stack's diagram)\n`);
        return 1;
      case "write": {
        const next = withDiagram(readme, mermaid, file);
        if (next === readme) {
          io.stdout(`${file}: the diagram is current\n`);
        } else {
          fs.writeFileSync(options.readme, next);
          io.stdout(`${file}: diagram updated from the ${options.stack} stack\n`);
        }
        return 0;
      }
    }
  } catch (e) {
    io.stderr(`diagram: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}
