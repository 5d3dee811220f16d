/**
 * Jest global setup of every layer that runs the program under mocks: the pool that runs each
 * distinct program run once for this `jest` run (runPool.ts), in a fresh directory. Workers find
 * it through VPN_PROGRAM_RUNS, which they inherit.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RunPool, poolSize } from "./runPool";

declare global {
  var vpnProgramRunPool: RunPool | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-program-runs-"));
  const pool = new RunPool(dir, poolSize());
  await pool.listen();
  globalThis.vpnProgramRunPool = pool;
  process.env.VPN_PROGRAM_RUNS = pool.socket;
}
