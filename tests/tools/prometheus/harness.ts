/**
 * Runs Debian forky's promtool (Prometheus 3.5) and amtool (Alertmanager 0.33) from the chroot
 * tests/tools/prometheus/prepare.sh builds, on files written into a fresh directory inside it.
 * Needs root (chroot), as CI has.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export type Tool = "promtool" | "amtool";

// jest's PATH may lack the sbin directory chroot lives in.
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The chroot: `$VPN_PROMETHEUS_ROOT`, default /opt/vpn-test-prometheus (as prepare.sh). */
export function prometheusRoot(): string {
  return process.env.VPN_PROMETHEUS_ROOT ?? "/opt/vpn-test-prometheus";
}

/** Throws, naming the fix, when the chroot or one of its tools is missing. */
export function requireTools(): void {
  const root = prometheusRoot();
  for (const tool of ["promtool", "amtool"]) {
    if (!fs.existsSync(path.join(root, "usr/bin", tool))) {
      throw new Error(
        `${tool} missing in the test chroot ${root}: run \`sudo bash tests/tools/prometheus/prepare.sh\``,
      );
    }
  }
}

export interface ToolRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, for messages. */
  readonly output: string;
}

/**
 * Writes `files` (relative paths -> content) into a new directory of the chroot, runs `tool args`
 * there (so relative paths in args and in the files resolve against it) and removes the directory.
 */
export function runTool(
  tool: Tool,
  args: readonly string[],
  files: Readonly<Record<string, string>>,
): ToolRun {
  requireTools();
  const root = prometheusRoot();
  const dir = fs.mkdtempSync(path.join(root, "tmp", "vpn-"));
  try {
    fs.chmodSync(dir, 0o755);
    for (const [rel, content] of Object.entries(files)) {
      const file = path.join(dir, rel);
      if (!file.startsWith(`${dir}/`))
        throw new Error(`runTool: ${rel} is outside the run directory`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    const inside = `/${path.relative(root, dir)}`;
    const run = spawnSync(
      "chroot",
      [root, "/usr/bin/env", "-C", inside, `/usr/bin/${tool}`, ...args],
      { encoding: "utf8", env: { PATH: SYSTEM_PATH, HOME: "/tmp", TZ: "UTC" }, timeout: 60_000 },
    );
    if (run.error) throw run.error;
    return {
      status: run.status,
      stdout: run.stdout,
      stderr: run.stderr,
      output: `${run.stdout}${run.stderr}`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Like runTool, but throws with the tool's output unless it exits 0. */
export function expectToolOk(
  tool: Tool,
  args: readonly string[],
  files: Readonly<Record<string, string>>,
): ToolRun {
  const run = runTool(tool, args, files);
  if (run.status !== 0) {
    throw new Error(`${tool} ${args.join(" ")} exited ${run.status}:\n${run.output}`);
  }
  return run;
}
