/**
 * Runs the log pipeline's validators on rendered files written into a fresh temporary directory:
 * alloy-syntax-check (Alloy's own parser, built by tests/tools/alloy/prepare.sh, required in CI)
 * and, opt-in, `loki -verify-config` and `promtail -check-syntax` (Loki 3.5), whose binaries this
 * repository does not build.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SYSTEM_PATH, ToolRun, toolRun, withFiles } from "../toolRun";

/** Where the test tools go unless an environment variable names another place. */
export const TEST_TOOLS_DIR = "/opt/vpn-test-tools";

export type { ToolRun };

/** The checker: `$VPN_ALLOY_SYNTAX_CHECK`, default /opt/vpn-test-tools/alloy-syntax-check. */
export function alloySyntaxCheckPath(): string {
  return process.env.VPN_ALLOY_SYNTAX_CHECK ?? path.join(TEST_TOOLS_DIR, "alloy-syntax-check");
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Throws, naming the fix, when the checker has not been built. */
export function requireAlloySyntaxCheck(): string {
  const bin = alloySyntaxCheckPath();
  if (!isExecutable(bin)) {
    throw new Error(
      `alloy-syntax-check missing at ${bin}: run \`sudo bash tests/tools/alloy/prepare.sh\` (needs Go and the Go module proxy; .ci/run does this)`,
    );
  }
  return bin;
}

/**
 * Writes `files` (relative paths -> content) into a new temporary directory, runs `bin args`
 * there (relative paths resolve against it) and removes the directory.
 */
export function runInDir(
  bin: string,
  args: readonly string[],
  files: Readonly<Record<string, string>>,
): ToolRun {
  return withFiles(path.join(os.tmpdir(), "vpn-logs-"), files, "runInDir", (dir) =>
    toolRun(
      spawnSync(bin, args, {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: SYSTEM_PATH, HOME: dir, TZ: "UTC" },
        timeout: 60_000,
      }),
    ),
  );
}

/** alloy-syntax-check on one file's text, saved as `name`. */
export function checkAlloy(text: string, name = "config.alloy"): ToolRun {
  return runInDir(requireAlloySyntaxCheck(), [name], { [name]: text });
}

export interface AlloyString {
  /** `file:line:col` of the literal. */
  readonly pos: string;
  /** A string literal, or a quoted object key. */
  readonly kind: "string" | "key";
  /** What Alloy reads: the literal decoded by its evaluator. */
  readonly value: string;
}

/** Every string literal of a file as Alloy decodes it; throws with the diagnostics when it does
 * not parse. */
export function alloyStrings(text: string, name = "config.alloy"): AlloyString[] {
  const run = runInDir(requireAlloySyntaxCheck(), ["-strings", name], { [name]: text });
  if (run.status !== 0) {
    throw new Error(
      `alloy-syntax-check -strings ${name} exited ${String(run.status)}:\n${run.output}`,
    );
  }
  return run.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AlloyString);
}

// ---------------------------------------------------------------------------------------------
// Loki and Promtail: opt-in.
// ---------------------------------------------------------------------------------------------

export type LogValidator = "loki" | "promtail";

const BIN_VARIABLE: Readonly<Record<LogValidator, string>> = {
  loki: "VPN_LOKI_BIN",
  promtail: "VPN_PROMTAIL_BIN",
};

/** `$VPN_LOKI_BIN` / `$VPN_PROMTAIL_BIN`, default /opt/vpn-test-tools/<tool>. */
export function logValidatorPath(tool: LogValidator): string {
  return process.env[BIN_VARIABLE[tool]] ?? path.join(TEST_TOOLS_DIR, tool);
}

/**
 * Why the Loki/Promtail suite does not run here, or undefined when it does. It runs when asked
 * for: VPN_LOG_VALIDATORS=1, or VPN_LOKI_BIN / VPN_PROMTAIL_BIN set; a binary that is then missing
 * fails the suite rather than skipping it. The reason is printed, and the suite is then reported
 * as skipped, never as passed.
 */
export function logValidatorsSkipReason(suite: string): string | undefined {
  const asked =
    process.env.VPN_LOG_VALIDATORS === "1" ||
    Object.values(BIN_VARIABLE).some((name) => (process.env[name] ?? "") !== "");
  if (asked) return undefined;
  const reason =
    "neither VPN_LOG_VALIDATORS=1 nor VPN_LOKI_BIN/VPN_PROMTAIL_BIN is set (run: VPN_LOKI_BIN=<loki 3.5> VPN_PROMTAIL_BIN=<promtail 3.5> npm run test:tools -- tests/tools/logs/lokiPromtail.test.ts)";
  process.stderr.write(`${suite} NOT RUN (reported as skipped): ${reason}\n`);
  return reason;
}

/** Throws, naming the variable to set, when the tool's binary is not there. */
export function requireLogValidator(tool: LogValidator): string {
  const bin = logValidatorPath(tool);
  if (!isExecutable(bin)) {
    throw new Error(
      `${tool} missing at ${bin}: set ${BIN_VARIABLE[tool]} to a ${tool} 3.5 binary, or put one there`,
    );
  }
  return bin;
}

/** `loki -verify-config` or `promtail -check-syntax` on one file's text. */
export function runLogValidator(tool: LogValidator, text: string): ToolRun {
  const name = `${tool}.yaml`;
  const check = tool === "loki" ? "-verify-config" : "-check-syntax";
  return runInDir(requireLogValidator(tool), [check, `-config.file=${name}`], { [name]: text });
}
