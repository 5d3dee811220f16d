/**
 * Runs Debian forky's promtool (Prometheus 3.5) and amtool (Alertmanager 0.33) from the chroot
 * tests/tools/prometheus/prepare.sh builds, on files written into a fresh directory inside it.
 * Needs root (chroot), as CI has.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SYSTEM_PATH, ToolRun, toolRun, withFiles } from "../toolRun";

export type Tool = "promtool" | "amtool";

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

export type { ToolRun };

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
  return withFiles(path.join(root, "tmp", "vpn-"), files, "runTool", (dir) => {
    fs.chmodSync(dir, 0o755);
    const inside = `/${path.relative(root, dir)}`;
    return toolRun(
      spawnSync("chroot", [root, "/usr/bin/env", "-C", inside, `/usr/bin/${tool}`, ...args], {
        encoding: "utf8",
        env: { PATH: SYSTEM_PATH, HOME: "/tmp", TZ: "UTC" },
        timeout: 60_000,
      }),
    );
  });
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
