/** Stops the pool of program runs (globalSetup.ts), prints what it ran, and removes its records. */
import * as fs from "fs";
import * as net from "net";

export default async function globalTeardown(): Promise<void> {
  const pool = globalThis.vpnProgramRunPool;
  const socket = process.env.VPN_PROGRAM_RUNS;
  if (!pool || !socket) return;
  const answer = await new Promise<string>((resolve) => {
    const connection = net.connect(socket);
    let text = "";
    connection.on("data", (b: Buffer) => (text += b.toString("utf8")));
    connection.on("end", () => {
      resolve(text);
    });
    connection.on("error", (e) => {
      resolve(JSON.stringify({ summary: `the program run pool did not answer: ${e.message}` }));
    });
    connection.end(`${JSON.stringify({ stop: true })}\n`);
  });
  process.stderr.write(`\n${(JSON.parse(answer) as { summary: string }).summary}\n`);
  pool.process.stdin?.end();
  fs.rmSync(pool.dir, { recursive: true, force: true });
}
