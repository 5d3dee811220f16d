/** Stops the pool of program runs (globalSetup.ts) and removes what it recorded. */
import * as fs from "fs";

export default async function globalTeardown(): Promise<void> {
  const pool = globalThis.vpnProgramRunPool;
  if (!pool) return;
  process.stderr.write(`\n${pool.summary()}\n`);
  await pool.close();
  fs.rmSync(pool.dir, { recursive: true, force: true });
}
