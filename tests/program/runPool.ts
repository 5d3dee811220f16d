/**
 * The program runs of one `jest` run, kept by a process of their own (globalSetup starts it with
 * `tsx runPool.ts <dir>`, globalTeardown stops it) and asked over a Unix socket by every test file
 * (harness.ts). Its own process, not jest's: a test that waits synchronously (spawnSync) in a run
 * in band never holds up the pool. The pool:
 * - each distinct request runs once; every later ask reads the same recorded file;
 * - at most `size` runs at a time (one per core by default, VPN_PROGRAM_RUNNERS to change), each
 *   in a runner that keeps the SDK loaded between runs (child/record.ts).
 *
 * Protocol: one connection per ask; the client writes a PoolAsk as one JSON line and reads one
 * PoolAnswer line.
 */
import { ChildProcess, spawn } from "child_process";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { RUNNER_ANSWER, RunRequest } from "./runTypes";

export interface PoolAsk {
  readonly key: string;
  readonly request: RunRequest;
}
/** What globalTeardown sends: the pool answers with its summary and ends. */
export interface PoolStop {
  readonly stop: true;
}
export type PoolAnswer = { readonly file: string } | { readonly failed: string };

const ROOT = path.resolve(__dirname, "..", "..");
const CHILD = path.join(__dirname, "child", "record.ts");
/** A run that has not answered by then has hung. */
const RUN_TIMEOUT_MS = 120_000;

function spawnRunner(): ChildProcess {
  return spawn(process.execPath, ["--require", "tsx/cjs", CHILD], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: "" },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** A persistent runner: one run at a time, answers as lines. */
class Runner {
  private readonly proc = spawnRunner();
  /** The last of what the runner printed besides its answers. */
  private stderr = "";
  private pending: ((answer: PoolAnswer) => void) | undefined;
  private lineBuffer = "";
  exited = false;
  /** Set once the runner has said it ends: it takes no other run. */
  retired = false;

  constructor(private readonly onExit: (runner: Runner) => void) {
    this.proc.stderr?.on("data", (b: Buffer) => {
      this.stderr = (this.stderr + b.toString("utf8")).slice(-20_000);
    });
    this.proc.stdout?.on("data", (b: Buffer) => {
      this.lineBuffer += b.toString("utf8");
      let at: number;
      while ((at = this.lineBuffer.indexOf("\n")) >= 0) {
        const line = this.lineBuffer.slice(0, at);
        this.lineBuffer = this.lineBuffer.slice(at + 1);
        // What the program prints is kept with its stderr, for a failure's message.
        if (!line.startsWith(RUNNER_ANSWER)) {
          this.stderr = (this.stderr + line + "\n").slice(-20_000);
          continue;
        }
        const parsed = JSON.parse(line.slice(RUNNER_ANSWER.length)) as
          { done: string } | { failed: string };
        // A runner that failed ends: it takes no other run.
        if (!("done" in parsed)) this.retired = true;
        this.settle("done" in parsed ? { file: parsed.done } : parsed);
      }
    });
    this.proc.on("exit", (code, signal) => {
      this.exited = true;
      this.settle({
        failed: `the program runner ended (${signal ?? `exit code ${String(code)}`}) during a run:\n${this.stderr}`,
      });
      this.onExit(this);
    });
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  private settle(answer: PoolAnswer): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.(answer);
  }

  run(request: RunRequest, out: string): Promise<PoolAnswer> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), RUN_TIMEOUT_MS);
      this.pending = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
      this.proc.stdin?.write(`${JSON.stringify({ request, out })}\n`);
    });
  }

  stop(): void {
    this.proc.stdin?.end();
    if (!this.exited) this.proc.kill("SIGTERM");
  }
}

export class RunPool {
  private readonly server: net.Server;
  private readonly runs = new Map<string, Promise<PoolAnswer>>();
  private readonly queue: (() => void)[] = [];
  private readonly runners = new Set<Runner>();
  private active = 0;
  private asked = 0;
  /** How long each run took, for the summary. */
  private readonly timings: number[] = [];

  constructor(
    readonly dir: string,
    private readonly size: number,
  ) {
    // Started now, so loading the SDK overlaps with jest starting its workers.
    for (let i = 0; i < size; i++) this.runners.add(new Runner((r) => this.runners.delete(r)));
    // Half-open: the client ends its side once it has asked; the answer still goes back.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      let text = "";
      socket.on("data", (b: Buffer) => {
        text += b.toString("utf8");
        if (!text.includes("\n")) return;
        const ask = JSON.parse(text.slice(0, text.indexOf("\n"))) as PoolAsk | PoolStop;
        if ("stop" in ask) {
          socket.end(`${JSON.stringify({ summary: this.summary() })}\n`, () => {
            void this.close().then(() => process.exit(0));
          });
          return;
        }
        void this.answer(ask).then((answer) => socket.end(`${JSON.stringify(answer)}\n`));
      });
      socket.on("error", () => undefined);
    });
  }

  get socket(): string {
    return path.join(this.dir, "pool.sock");
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socket, () => {
        resolve();
      });
    });
  }

  /** The answer to `ask`: its run's, started now or earlier. */
  answer(ask: PoolAsk): Promise<PoolAnswer> {
    this.asked++;
    let run = this.runs.get(ask.key);
    if (!run) {
      run = this.schedule(ask);
      this.runs.set(ask.key, run);
    }
    return run;
  }

  private schedule(ask: PoolAsk): Promise<PoolAnswer> {
    const out = path.join(this.dir, `${ask.key}.json`);
    return new Promise((resolve) => {
      this.queue.push(() => {
        const started = Date.now();
        const done = this.runner().run(ask.request, out);
        void done.then((answer) => {
          this.timings.push(Date.now() - started);
          this.active--;
          resolve(answer);
          this.pump();
        });
      });
      this.pump();
    });
  }

  private runner(): Runner {
    for (const r of this.runners) if (!r.busy && !r.exited && !r.retired) return r;
    const created = new Runner((r) => this.runners.delete(r));
    this.runners.add(created);
    return created;
  }

  private pump(): void {
    while (this.active < this.size && this.queue.length > 0) {
      this.active++;
      this.queue.shift()?.();
    }
  }

  /** A line on what ran: how many runs, their time added up, and how many asks they answered. */
  summary(): string {
    const seconds = this.timings.reduce((sum, ms) => sum + ms, 0) / 1000;
    return (
      `program runs under mocks: ${this.timings.length} runs (${seconds.toFixed(1)} s in all) ` +
      `answered ${this.asked} asks`
    );
  }

  async close(): Promise<void> {
    for (const r of this.runners) r.stop();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The pool's size: VPN_PROGRAM_RUNNERS, or one run per core. */
export function poolSize(): number {
  const given = Number(process.env.VPN_PROGRAM_RUNNERS);
  if (Number.isInteger(given) && given > 0) return given;
  return Math.max(1, os.availableParallelism());
}

// `tsx runPool.ts <dir>`: the pool of a jest run, listening at <dir>/pool.sock; it prints `ready`
// once it listens, and ends when asked to stop or when its parent closes its stdin.
if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: runPool.ts <directory>");
  const pool = new RunPool(dir, poolSize());
  void pool.listen().then(() => process.stdout.write("ready\n"));
  process.stdin.resume();
  process.stdin.on("end", () => {
    void pool.close().then(() => process.exit(0));
  });
}
