/**
 * Jest global setup of every layer that runs the program under mocks: the pool that runs each
 * distinct program run once for this `jest` run (runPool.ts), in a process and a fresh directory
 * of its own. Test files find it through VPN_PROGRAM_RUNS, which workers inherit.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

declare global {
  var vpnProgramRunPool: { process: ChildProcess; dir: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-program-runs-"));
  const pool = spawn(
    process.execPath,
    ["--require", "tsx/cjs", path.join(__dirname, "runPool.ts"), dir],
    {
      cwd: path.resolve(__dirname, "..", ".."),
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let text = "";
    pool.stdout.on("data", (b: Buffer) => {
      text += b.toString("utf8");
      if (text.includes("ready\n")) resolve();
    });
    pool.on("exit", (code) => {
      reject(
        new Error(`the program run pool ended before it was ready (exit code ${String(code)})`),
      );
    });
  });
  globalThis.vpnProgramRunPool = { process: pool, dir };
  process.env.VPN_PROGRAM_RUNS = path.join(dir, "pool.sock");
}
