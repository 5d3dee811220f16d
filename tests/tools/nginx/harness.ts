/**
 * Runs a real nginx (Debian forky's 1.30, from the chroot tests/tools/nginx/prepare.sh builds)
 * against configs written with container paths, plus what those configs talk to: a stand-in for
 * Docker's embedded DNS, stub upstreams, and HTTP, WebSocket and TLS clients. Needs root (chroot,
 * mount namespaces), as CI has.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as dgram from "dgram";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { Duplex } from "stream";
import type { Exit } from "../service";

export type { Exit };

const NGINX = "/usr/sbin/nginx";
// jest's PATH may lack the sbin directories that unshare, mount and chroot live in.
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The chroot with nginx: `$VPN_NGINX_ROOT`, default /opt/vpn-test-nginx (as prepare.sh). */
export function nginxRoot(): string {
  return process.env.VPN_NGINX_ROOT ?? "/opt/vpn-test-nginx";
}

/** The chroot's nginx version (e.g. "1.30.6"); throws, naming the fix, when the chroot is missing. */
export function requireNginx(): string {
  const root = nginxRoot();
  if (!fs.existsSync(path.join(root, NGINX))) {
    throw new Error(
      `nginx 1.30 test chroot missing at ${root}: run \`sudo bash tests/tools/nginx/prepare.sh\``,
    );
  }
  const run = spawnSync("chroot", [root, NGINX, "-v"], {
    encoding: "utf8",
    env: { ...process.env, PATH: SYSTEM_PATH },
  });
  const version = /nginx\/(\d+\.\d+\.\d+)/.exec(run.stderr);
  if (!version?.[1]) {
    throw new Error(`\`chroot ${root} nginx -v\` gave no version: ${run.stderr}${run.stdout}`);
  }
  return version[1];
}

/** Host directories (or files) to show inside the chroot: container path -> host path. */
export interface NginxMounts {
  [containerPath: string]: string;
}

// Runs in a mount and a PID namespace of its own (`unshare -m -p`). Its mounts are private, so
// parallel runs may mount different host dirs at the same container path; a tmpfs on /run keeps
// each nginx's pid file its own and leaves nothing behind; /proc (of the new PID namespace) makes
// /dev/stdout and /dev/stderr work, as in a container. argv's program ends up as the PID
// namespace's init (exec all the way), so when it dies the kernel kills everything it started (nginx
// workers included); setpriv's and unshare's parent-death signals make that happen even when the
// test process itself is killed. It first waits for a line on stdin: the caller learns its pid
// before it can exit. Arguments: root, user (uid:gid, or "" for root), "own" for a network
// namespace of its own (unshare -n) with ports below 1024 open to every user (the container's
// sysctl), number of mounts, (container path, host path) pairs, argv.
const ENTER_SCRIPT = `set -e
read -r _
root=$1; user=$2; net=$3; n=$4; shift 4
if [ "$net" = own ]; then echo 0 >/proc/sys/net/ipv4/ip_unprivileged_port_start; fi
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -p "$root/run/lock"
while [ "$n" -gt 0 ]; do
  target=$root$1; src=$2; shift 2; n=$((n - 1))
  if [ -d "$src" ]; then mkdir -p "$target"; else mkdir -p "\${target%/*}"; [ -e "$target" ] || : >"$target"; fi
  mount --bind "$src" "$target"
done
if [ -n "$user" ]; then exec chroot --userspec="$user" "$root" "$@"; fi
exec chroot "$root" "$@"`;

/** setpriv's argv for running `argv` in the chroot with `mounts` (see ENTER_SCRIPT). */
function enterArgs(
  mounts: NginxMounts,
  argv: readonly string[],
  user = "",
  ownNetwork = false,
): string[] {
  const root = nginxRoot();
  requireNginx();
  // Parents before children, so a mount inside another mount lands on top of it.
  const pairs = Object.entries(mounts).sort(([a], [b]) => a.localeCompare(b));
  for (const [containerPath, hostPath] of pairs) {
    if (!containerPath.startsWith("/") || containerPath.split("/").includes("..")) {
      throw new Error(`mount target ${containerPath} must be an absolute path without ".."`);
    }
    if (!fs.existsSync(hostPath)) throw new Error(`mount source ${hostPath} does not exist`);
  }
  const flat = pairs.flatMap(([target, source]) => [target, path.resolve(source)]);
  const unshare = ["unshare", "-m", "-p", ...(ownNetwork ? ["-n"] : []), "--kill-child=KILL"];
  const net = ownNetwork ? "own" : "host";
  const shell = [
    "/bin/sh",
    "-c",
    ENTER_SCRIPT,
    "sh",
    root,
    user,
    net,
    String(pairs.length),
    ...flat,
  ];
  return ["--pdeathsig", "KILL", ...unshare, ...shell, ...argv];
}

/**
 * A file for a process's stdout and stderr (interleaved, opened for appending). Not a pipe: Node's
 * child pipes are sockets, and opening /dev/stdout (/proc/self/fd/1) of a socket fails (ENXIO),
 * while configs made for containers log to /dev/stdout.
 */
function captureFile(user?: string): { fd: number; dir: string; read(): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-chroot-output-"));
  const file = path.join(dir, "output");
  const fd = fs.openSync(file, "a");
  // As runc does for a container's user: its stdout and stderr become that user's, so a program
  // that reopens /dev/stdout (nginx's access_log) may.
  if (user) {
    const [uid, gid = uid] = user.split(":").map(Number);
    fs.fchownSync(fd, uid, gid);
  }
  return { fd, dir, read: () => fs.readFileSync(file, "utf8") };
}

/**
 * Runs `nginx -t -c confPath` in the chroot, as `user` (uid:gid) when given, else root; `output` is
 * what nginx printed (stderr and stdout). `nginx -t` binds the listen ports: it runs in a network
 * namespace of its own where any user may bind ports below 1024, as the edge's config job does
 * (network none, net.ipv4.ip_unprivileged_port_start=0).
 */
export function nginxTest(
  mounts: NginxMounts,
  confPath: string,
  user?: string,
): { ok: boolean; output: string } {
  const capture = captureFile(user);
  try {
    const run = spawnSync("setpriv", enterArgs(mounts, [NGINX, "-t", "-c", confPath], user, true), {
      input: "\n",
      stdio: ["pipe", capture.fd, capture.fd],
      env: { ...process.env, PATH: SYSTEM_PATH },
      timeout: 30000,
    });
    return { ok: run.status === 0, output: capture.read() };
  } finally {
    fs.closeSync(capture.fd);
    fs.rmSync(capture.dir, { recursive: true, force: true });
  }
}

/** A process running in the chroot, with everything it starts. */
export interface ChrootProcess {
  /** The host pid of argv's program itself (for nginx: the master). */
  readonly pid: number;
  /** Its stdout and stderr so far, interleaved as they were written. */
  output(): string;
  /** Settles when it has exited; all it started is gone by then (its PID namespace ended). */
  readonly exited: Promise<Exit>;
  /** Sends the stop signal, then SIGKILL if it has not exited after 5 s. */
  stop(): Promise<Exit>;
}

// What is still running (pid -> its output's directory), killed when the test process exits,
// whatever a test did.
const live = new Map<number, string>();
process.on("exit", () => {
  for (const [pid, dir] of live) {
    signal(pid, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * Starts argv (e.g. `["/bin/sh", "-c", script]`) in the chroot with `mounts`. Its stdin is empty.
 * Unreferenced: a process a test forgot does not keep jest alive, and dies with the test process.
 * `stopSignal` (default SIGTERM) is what `stop()` sends first; as the init of its PID namespace,
 * argv's program only gets the signals it handles (a plain `sh -c` ignores SIGTERM: it is then
 * killed after 5 s, or pass SIGKILL). `user` (uid:gid) runs it as that user, as a container's
 * `user` does; the mounts are made as root before that. `ownNetwork`: as nginxTest, a network
 * namespace of its own (only loopback, down) where any user may bind ports below 1024.
 */
export async function startInChroot(
  mounts: NginxMounts,
  argv: readonly string[],
  opts: { stopSignal?: NodeJS.Signals; user?: string; ownNetwork?: boolean } = {},
): Promise<ChrootProcess> {
  const capture = captureFile(opts.user);
  const child = spawn("setpriv", enterArgs(mounts, argv, opts.user, opts.ownNetwork), {
    env: { ...process.env, PATH: SYSTEM_PATH },
    stdio: ["pipe", capture.fd, capture.fd],
  });
  fs.closeSync(capture.fd);
  let final: string | undefined;
  const output = () => final ?? capture.read();
  let spawnError = "";
  child.on("error", (err) => (spawnError = `spawn error: ${err.message}\n`));
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, sig) => {
      final = capture.read() + spawnError;
      fs.rmSync(capture.dir, { recursive: true, force: true });
      resolve({ code, signal: sig });
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  // unshare's one child is the shell that becomes argv's program, waiting at `read` for this.
  let pid: number | undefined;
  const deadline = Date.now() + 5000;
  while (pid === undefined) {
    if (!running() || Date.now() > deadline) {
      if (child.pid !== undefined) signal(child.pid, "SIGKILL");
      await exited;
      throw new Error(`could not start ${argv.join(" ")} in ${nginxRoot()}:\n${output()}`);
    }
    pid = child.pid === undefined ? undefined : childrenOf(child.pid)[0];
    if (pid === undefined) await sleep(5);
  }
  const started = pid;
  live.set(started, capture.dir);
  void exited.then(() => live.delete(started));
  child.stdin?.end("\n");
  if (child.stdin instanceof net.Socket) child.stdin.unref();
  child.unref();
  const stop = async (): Promise<Exit> => {
    if (!running()) return exited;
    signal(started, opts.stopSignal ?? "SIGTERM");
    const timer = setTimeout(() => {
      signal(started, "SIGKILL");
    }, 5000);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };
  return { pid: started, output, exited, stop };
}

/** A running nginx master (started with `daemon off;`). */
export interface RunningNginx extends ChrootProcess {
  /**
   * SIGHUP, then waits (at most 5 s) until a new worker runs and every old worker is gone or
   * shutting down, so the next request is served by the new configuration. Rejects when nginx
   * logged an [emerg] instead (an invalid new configuration; the old one keeps running). An [alert]
   * is no refusal: workers log one e.g. when worker_rlimit_nofile exceeds the hard limit.
   * `stop()` sends SIGQUIT (graceful: it waits for open requests, e.g. held ones, up to 5 s).
   */
  reload(): Promise<void>;
}

/** The pids of a process's children (nginx's workers, cache manager and loader). */
function childrenOf(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process's title; nginx sets it, e.g. "nginx: worker process is shutting down". */
function titleOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return undefined;
  }
}

/** Resolves whether `url` answers at all (any HTTP status); a TLS certificate is not checked. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const get = url.startsWith("https:") ? https.get : http.get;
    const req = get(url, { agent: false, rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(false);
    });
  });
}

/**
 * Starts `nginx -c confPath -g "daemon off;"` in the chroot with `mounts`. Resolves once
 * `healthUrl` answers any HTTP status (without one: once the master has started a worker, by which
 * time its listen sockets are bound); rejects with nginx's output when it exits first or after
 * `timeoutMs` (default 15000).
 */
export async function startNginx(
  mounts: NginxMounts,
  confPath: string,
  opts: { healthUrl?: string; timeoutMs?: number; user?: string } = {},
): Promise<RunningNginx> {
  const proc = await startInChroot(mounts, [NGINX, "-c", confPath, "-g", "daemon off;"], {
    stopSignal: "SIGQUIT",
    user: opts.user,
  });
  let exit: Exit | undefined;
  void proc.exited.then((e) => (exit = e));
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  const ready = async () =>
    opts.healthUrl === undefined
      ? titleOf(proc.pid)?.startsWith("nginx: master") === true && childrenOf(proc.pid).length > 0
      : answers(opts.healthUrl);
  for (;;) {
    if (exit) {
      const how = exit.signal ?? `code ${String(exit.code)}`;
      throw new Error(`nginx exited (${how}) while starting:\n${proc.output()}`);
    }
    if (await ready()) break;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`nginx was not ready (${opts.healthUrl ?? "no worker"}):\n${proc.output()}`);
    }
    await sleep(50);
  }
  return { ...proc, reload: () => reload(proc) };
}

async function reload(proc: ChrootProcess): Promise<void> {
  const before = new Set(childrenOf(proc.pid));
  const mark = proc.output().length;
  process.kill(proc.pid, "SIGHUP");
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const logged = proc.output().slice(mark);
    if (logged.includes("[emerg]")) throw new Error(`nginx refused to reload:\n${logged}`);
    const started = childrenOf(proc.pid).some((pid) => !before.has(pid));
    // An old worker that exited (or is a zombie not yet reaped) has no "nginx:" title left.
    const oldLeft = [...before].some((pid) => {
      const title = titleOf(pid) ?? "";
      return title.startsWith("nginx:") && !title.includes("shutting down");
    });
    if (started && !oldLeft) return;
    await sleep(50);
  }
  throw new Error(`nginx did not switch to new workers within 5 s:\n${proc.output()}`);
}

// --- DNS -------------------------------------------------------------------------------------

/** Stands in for Docker's embedded DNS (127.0.0.11 inside containers). */
export interface FakeDns {
  /** Its UDP port on 127.0.0.1: `resolver 127.0.0.1:<port> valid=1s ipv6=off;`. */
  readonly port: number;
  /** Answers A queries for `name` with these addresses (TTL 1 s); [] gives an empty answer. */
  set(name: string, ipv4s: string[]): void;
  /** Makes `name` unknown again (NXDOMAIN). */
  remove(name: string): void;
  /** The names asked so far, in order (lower case). */
  queries(): string[];
  close(): Promise<void>;
}

const TYPE_A = 1;
const RCODE_NXDOMAIN = 3;

/** A DNS server on a free UDP port of 127.0.0.1 answering from a map that tests change. */
export async function startDns(): Promise<FakeDns> {
  const records = new Map<string, string[]>();
  const asked: string[] = [];
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, from) => {
    const reply = dnsReply(msg, records, asked);
    if (reply) socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      resolve();
    });
  });
  const key = (name: string) => name.toLowerCase().replace(/\.$/, "");
  return {
    port: socket.address().port,
    set: (name, ipv4s) => {
      for (const ip of ipv4s) if (!net.isIPv4(ip)) throw new Error(`${ip} is not an IPv4 address`);
      records.set(key(name), [...ipv4s]);
    },
    remove: (name) => {
      records.delete(key(name));
    },
    queries: () => [...asked],
    close: () =>
      new Promise((resolve) => {
        socket.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * The answer to one query packet (RFC 1035 4.1), or undefined for what is not a standard query.
 * The question is copied back as asked; A records point back at it (name compression, 0xc00c).
 */
function dnsReply(
  msg: Buffer,
  records: ReadonlyMap<string, readonly string[]>,
  asked: string[],
): Buffer | undefined {
  // A query (QR 0) with the standard opcode (0) and one question.
  if (msg.length < 12 || (msg.readUInt16BE(2) & 0xf800) !== 0 || msg.readUInt16BE(4) !== 1) {
    return undefined;
  }
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length && msg[at] !== 0) {
    const len = msg[at] ?? 0;
    if (len > 63) return undefined;
    labels.push(msg.toString("latin1", at + 1, at + 1 + len));
    at += 1 + len;
  }
  const questionEnd = at + 5;
  if (questionEnd > msg.length) return undefined;
  const name = labels.join(".").toLowerCase();
  const type = msg.readUInt16BE(at + 1);
  asked.push(name);
  const ips = records.get(name);
  const answers = ips && type === TYPE_A ? ips : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(msg.readUInt16BE(0), 0);
  // QR, AA and RA set, RD copied from the query; NXDOMAIN for an unknown name.
  const rd = msg.readUInt16BE(2) & 0x0100;
  header.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | (ips ? 0 : RCODE_NXDOMAIN), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const rrs = answers.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(1, 6);
    rr.writeUInt16BE(4, 10);
    ip.split(".").forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
    return rr;
  });
  return Buffer.concat([header, msg.subarray(12, questionEnd), ...rrs]);
}

// --- Stub upstreams --------------------------------------------------------------------------

/** One request a stub received. */
export interface StubRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

/** One WebSocket upgrade a stub accepted (not also in `requests`). */
export interface StubUpgrade {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/**
 * An upstream that answers 200 with JSON `{ stub, method, url, headers }` and `X-Stub: <name>`.
 * Paths containing `__hold` wait for `releaseHeld()`, `__status/<code>` answer that status,
 * `__cacheable` add `Cache-Control: public, max-age=60`, `__slow/<ms>` wait that long first.
 * A WebSocket upgrade gets a real 101 and then every byte back (no framing).
 */
export interface Stub {
  readonly name: string;
  readonly requests: StubRequest[];
  readonly upgrades: StubUpgrade[];
  /** How many responses are held right now. */
  held(): number;
  releaseHeld(): void;
  /** Forgets the recorded requests and upgrades. */
  reset(): void;
  close(): Promise<void>;
}

/** RFC 6455 4.2.2: the Sec-WebSocket-Accept for a Sec-WebSocket-Key. */
export function wsAccept(key: string): string {
  return crypto
    .createHash("sha1")
    .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
}

/** Starts a stub on host:port (127.0.0.2 and on are loopback on Linux with no setup). */
export async function startStub(opts: { name: string; host: string; port: number }): Promise<Stub> {
  const { name } = opts;
  const requests: StubRequest[] = [];
  const upgrades: StubUpgrade[] = [];
  const held = new Set<() => void>();
  const upgraded = new Set<Duplex>();

  const respond = async (req: http.IncomingMessage, res: http.ServerResponse, url: string) => {
    if (url.includes("__hold")) {
      await new Promise<void>((release) => {
        held.add(release);
        // A client that gives up is no longer held.
        res.once("close", () => {
          held.delete(release);
          release();
        });
      });
    }
    const slow = /__slow\/(\d+)/.exec(url)?.[1];
    if (slow) await sleep(Number(slow));
    if (res.destroyed) return;
    const status = Number(/__status\/(\d{3})/.exec(url)?.[1] ?? 200);
    res.setHeader("X-Stub", name);
    res.setHeader("Content-Type", "application/json");
    if (url.includes("__cacheable")) res.setHeader("Cache-Control", "public, max-age=60");
    res.writeHead(status);
    res.end(JSON.stringify({ stub: name, method: req.method, url, headers: req.headers }));
  };

  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    // The whole body is read first, so a proxy never sees an answer to half a request.
    req.on("end", () => {
      const url = req.url ?? "";
      requests.push({ method: req.method ?? "", url, headers: req.headers, body, at: Date.now() });
      void respond(req, res, url);
    });
  });

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
    socket.on("error", () => undefined);
    const key = req.headers["sec-websocket-key"];
    if (req.headers.upgrade?.toLowerCase() !== "websocket" || typeof key !== "string") {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    upgrades.push({ url: req.url ?? "", headers: req.headers });
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${wsAccept(key)}\r\nX-Stub: ${name}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(head);
    socket.on("data", (chunk: Buffer) => socket.write(chunk));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "is already in use" : `cannot be bound (${err.code})`;
      reject(new Error(`stub ${name}: ${opts.host}:${opts.port} ${why}`));
    });
    server.listen(opts.port, opts.host, () => {
      resolve();
    });
  });

  const releaseHeld = () => {
    for (const release of [...held]) {
      held.delete(release);
      release();
    }
  };
  return {
    name,
    requests,
    upgrades,
    held: () => held.size,
    releaseHeld,
    reset: () => {
      requests.length = 0;
      upgrades.length = 0;
    },
    close: () => {
      releaseHeld();
      for (const socket of upgraded) socket.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

// --- Clients ---------------------------------------------------------------------------------

/** A whole response. */
export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Where a request goes: `address` (default 127.0.0.1) and `port`; `host` is the Host header. */
export interface RequestOptions {
  readonly port: number;
  readonly path: string;
  readonly host?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** HTTPS with this SNI name; the certificate is not verified. */
  readonly tls?: { servername: string };
  readonly address?: string;
  readonly body?: string;
  /** Default 15000. */
  readonly timeoutMs?: number;
}

function clientRequest(opts: RequestOptions, headers: Record<string, string>): http.ClientRequest {
  const common: http.RequestOptions = {
    host: opts.address ?? "127.0.0.1",
    port: opts.port,
    path: opts.path,
    method: opts.method ?? "GET",
    headers: opts.host === undefined ? headers : { ...headers, host: opts.host },
    agent: false,
    timeout: opts.timeoutMs ?? 15000,
  };
  const req = opts.tls
    ? https.request({ ...common, servername: opts.tls.servername, rejectUnauthorized: false })
    : http.request(common);
  req.on("timeout", () => req.destroy(new Error(`${common.method} ${opts.path} timed out`)));
  return req;
}

function readBody(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (body += chunk));
    res.on("end", () => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
    });
    res.on("error", reject);
  });
}

/** One request on a fresh connection; redirects are answers, not followed. */
export function request(opts: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = clientRequest(opts, { ...opts.headers });
    req.on("response", (res) => {
      readBody(res).then(resolve, reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/**
 * A WebSocket handshake: rejects when the 101's Sec-WebSocket-Accept is wrong; after a 101 writes a
 * short string and resolves with what came back (`echo`), within 5 s. Another status resolves
 * with that status and an empty `echo`.
 */
export function wsHandshake(opts: {
  port: number;
  path: string;
  host: string;
  tls?: { servername: string };
  /** More request headers (e.g. authorization); the handshake's own headers win. */
  headers?: Record<string, string>;
}): Promise<{ status: number; headers: http.IncomingHttpHeaders; echo: string }> {
  const key = crypto.randomBytes(16).toString("base64");
  const probe = `probe-${crypto.randomBytes(4).toString("hex")}`;
  return new Promise((resolve, reject) => {
    const req = clientRequest(
      { ...opts, timeoutMs: 5000 },
      {
        ...opts.headers,
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-key": key,
        "sec-websocket-version": "13",
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no echo within 5 s on ${opts.path}`)),
      5000,
    );
    const settle = () => {
      clearTimeout(timer);
    };
    req.on("upgrade", (res, socket, head) => {
      const accept = res.headers["sec-websocket-accept"];
      if (accept !== wsAccept(key)) {
        settle();
        socket.destroy();
        reject(new Error(`Sec-WebSocket-Accept is ${String(accept)}, not ${wsAccept(key)}`));
        return;
      }
      let echo = head.toString("utf8");
      const done = () => {
        if (echo.length < probe.length) return;
        settle();
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, echo });
      };
      socket.on("data", (chunk: Buffer) => {
        echo += chunk.toString("utf8");
        done();
      });
      socket.on("error", (err) => {
        settle();
        reject(err);
      });
      socket.write(probe);
      done();
    });
    req.on("response", (res) => {
      settle();
      readBody(res).then((reply) => {
        resolve({ status: reply.status, headers: reply.headers, echo: "" });
      }, reject);
    });
    req.on("error", (err) => {
      settle();
      reject(err);
    });
    req.end();
  });
}

/**
 * A TLS handshake by the host's `openssl s_client` with only `version` enabled. OpenSSL 3 clients
 * do not offer TLS 1.0/1.1 at the default security level, so those get `@SECLEVEL=0`: a refusal
 * then comes from the server. `ok` when a protocol was negotiated; `protocol` as OpenSSL names it
 * (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3).
 */
export function tlsHandshake(opts: {
  port: number;
  servername: string;
  version: "tls1" | "tls1_1" | "tls1_2" | "tls1_3";
}): { ok: boolean; protocol?: string; output: string } {
  const args = ["s_client", "-brief", "-connect", `127.0.0.1:${opts.port}`];
  args.push("-servername", opts.servername, `-${opts.version}`);
  if (opts.version === "tls1" || opts.version === "tls1_1") {
    args.push("-cipher", "DEFAULT@SECLEVEL=0");
  }
  // "Q" makes s_client quit once connected.
  const run = spawnSync("openssl", args, { input: "Q\n", encoding: "utf8", timeout: 15000 });
  const output = `${run.stdout}${run.stderr}`;
  const protocol = /^CONNECTION ESTABLISHED$[\s\S]*?^Protocol version: (\S+)$/m.exec(output)?.[1];
  return protocol ? { ok: true, protocol, output } : { ok: false, output };
}
