import { ChildProcess, ChildProcessByStdio, spawn } from "child_process";
import * as http from "http";
import * as net from "net";
import { Readable } from "stream";

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One GET on a fresh connection, so no keep-alive socket outlives the call. */
export function get(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false, timeout: 15000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

/**
 * A request whose headers are sent in two parts: the server has begun reading it, so it is not an
 * idle connection that a shutdown closes, and `finish()` completes it later.
 */
export function splitRequest(port: number, path: string) {
  const socket = net.connect(port, "127.0.0.1");
  let raw = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (raw += chunk));
  const closed = new Promise<string>((resolve) => {
    socket.on("close", () => {
      resolve(raw);
    });
    socket.on("error", () => undefined);
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n`, () => {
        resolve();
      });
    });
    socket.once("error", reject);
  });
  return {
    opened,
    /** Sends the end of the headers; resolves with the raw response once the server closes. */
    finish: (): Promise<string> => {
      socket.write("\r\n");
      return closed;
    },
  };
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Service {
  readonly port: number;
  readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
}

const running = new Set<ChildProcess>();

/** Starts a process; the caller waits for it with `ready` or `exited`. */
export function launch(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; port: number },
): Service {
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(proc);
  let out = "";
  let err = "";
  proc.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  proc.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => {
    proc.once("close", (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  return { port: options.port, proc, exited, stdout: () => out, stderr: () => err };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once /health answers at all; throws with the output if the process exits first. */
export async function ready(service: Service, timeoutMs = 30000): Promise<Service> {
  const deadline = Date.now() + timeoutMs;
  const exited = () => service.proc.exitCode !== null || service.proc.signalCode !== null;
  while (Date.now() < deadline && !exited()) {
    try {
      await get(service.port, "/health");
      return service;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(
    `service did not answer /health (exited: ${exited()})\nstdout:\n${service.stdout()}\nstderr:\n${service.stderr()}`,
  );
}

/** The exit of a process expected to stop by itself, killed if it outlives `timeoutMs`. */
export async function exitWithin(service: Service, timeoutMs: number): Promise<Exit> {
  const timer = setTimeout(() => service.proc.kill("SIGKILL"), timeoutMs);
  const exit = await service.exited;
  clearTimeout(timer);
  return exit;
}

/** Kills whatever a test left running. */
export async function stopAll(): Promise<void> {
  const left = [...running];
  for (const proc of left) proc.kill("SIGKILL");
  await Promise.all(left.map((proc) => new Promise((resolve) => proc.once("close", resolve))));
}

/** The JSON lines of a log stream, other lines (such as a runtime warning) left out. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
