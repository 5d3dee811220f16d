/**
 * Runs the real Prometheus (3.5) and Alertmanager (0.33) daemons from the chroot
 * tests/tools/prometheus/prepare.sh builds, on free loopback ports, with their files at the
 * container paths the program uses. Also what they talk to in the tests: /metrics stubs, a webhook
 * receiver and an SMTP sink. Needs root (chroot, mount and PID namespaces), as CI has.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { freePort } from "../freePort";
import type { Exit } from "../service";
import { prometheusRoot } from "./harness";

export type { Exit };

// jest's PATH may lack the sbin directories that unshare, mount and chroot live in.
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const PROMETHEUS = "/usr/bin/prometheus";
// Debian's name for the alertmanager daemon.
const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Throws, naming the fix, unless this is root and the chroot has both daemons. */
export function requireDaemons(): void {
  if (process.getuid?.() !== 0) {
    throw new Error("the live Prometheus/Alertmanager tests need root (chroot, namespaces)");
  }
  const root = prometheusRoot();
  for (const daemon of [PROMETHEUS, ALERTMANAGER]) {
    if (!fs.existsSync(path.join(root, daemon))) {
      throw new Error(
        `${daemon} missing in the test chroot ${root}: run \`sudo bash tests/tools/prometheus/prepare.sh\``,
      );
    }
  }
}

/**
 * Polls `check` every 100 ms until it returns a value other than undefined; throws after
 * `timeoutMs`, with `what` and the last error `check` threw.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = `; last error: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}${last}`);
    await sleep(100);
  }
}

// --- Daemons in the chroot -------------------------------------------------------------------

// Runs in a mount and a PID namespace of its own (`unshare -m -p`), as tests/tools/nginx does: the
// mounts are private to it, a tmpfs on /run holds /run/secrets, and the daemon becomes the
// namespace's init (exec all the way), so when it dies the kernel kills whatever it started.
// setpriv's and unshare's parent-death signals kill it even when the test process is killed. It
// first waits for a line on stdin, so the caller learns its pid before it can exit. A mount point
// missing in the chroot (/prometheus, /alertmanager) is created there, empty. Arguments: root,
// number of mounts, (container path, host directory) pairs, argv.
const ENTER_SCRIPT = `set -e
read -r _
root=$1; n=$2; shift 2
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
while [ "$n" -gt 0 ]; do
  mkdir -p "$root$1"; mount --bind "$2" "$root$1"; shift 2; n=$((n - 1))
done
exec chroot "$root" "$@"`;

/** A daemon running in the chroot. */
export interface Daemon {
  /** Its host pid. */
  readonly pid: number;
  /** `http://127.0.0.1:<port>`, where it listens. */
  readonly url: string;
  readonly port: number;
  /** Its stdout and stderr so far. */
  output(): string;
  /** Settles when it has exited (and its files are removed). */
  readonly exited: Promise<Exit>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it is gone. Safe to call twice. */
  stop(): Promise<Exit>;
}

// Whatever still runs when the test process exits, whatever a test did.
const live = new Set<number>();
process.on("exit", () => {
  for (const pid of live) signal(pid, "SIGKILL");
});

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function childrenOf(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The files a daemon reads: container path of a directory -> (relative path -> content). */
export type DaemonFiles = Readonly<Record<string, Readonly<Record<string, string>>>>;

interface DaemonSpec {
  readonly name: string;
  /** argv without the listen address, which is appended. */
  readonly argv: readonly string[];
  /** Container directories to create (empty, e.g. a data directory) besides those in `files`. */
  readonly emptyDirs: readonly string[];
  readonly files: DaemonFiles;
  readonly timeoutMs: number;
  /** The port to listen on; default a free one. */
  readonly port?: number;
}

/**
 * Writes `files` into a fresh host directory, shows each of its directories (and `emptyDirs`) at
 * its container path, starts the daemon on a free port of 127.0.0.1 and waits until `/-/ready`
 * answers 200. The host directory is removed when it exits.
 */
async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  requireDaemons();
  const root = prometheusRoot();
  const port = spec.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vpn-live-${spec.name}-`));
  const mounts: [string, string][] = [];
  const dirs = [...Object.keys(spec.files), ...spec.emptyDirs];
  dirs.forEach((containerDir, i) => {
    if (!/^(\/[\w.-]+)+$/.test(containerDir) || containerDir.split("/").includes("..")) {
      throw new Error(`${spec.name}: ${containerDir} is not an absolute path without ".."`);
    }
    const hostDir = path.join(dir, String(i));
    fs.mkdirSync(hostDir);
    for (const [rel, content] of Object.entries(spec.files[containerDir] ?? {})) {
      const file = path.join(hostDir, rel);
      if (!file.startsWith(`${hostDir}/`)) throw new Error(`${rel} is outside ${containerDir}`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    mounts.push([containerDir, hostDir]);
  });
  // Parents before children, so a mount inside another lands on top of it.
  mounts.sort(([a], [b]) => a.localeCompare(b));
  // A file, not a pipe: nothing has to read it while the daemon runs, and it survives the exit.
  const logFile = path.join(dir, "output");
  const fd = fs.openSync(logFile, "a");
  const argv = [...spec.argv, `--web.listen-address=127.0.0.1:${port}`];
  const args = ["--pdeathsig", "KILL", "unshare", "-m", "-p", "--kill-child=KILL"];
  args.push("/bin/sh", "-c", ENTER_SCRIPT, "sh", root, String(mounts.length), ...mounts.flat());
  const child = spawn("setpriv", [...args, ...argv], {
    // Only what the daemons need: no proxy variables or the like from the test's environment.
    env: { PATH: SYSTEM_PATH, HOME: "/", TZ: "UTC" },
    stdio: ["pipe", fd, fd],
  });
  fs.closeSync(fd);
  let final: string | undefined;
  const output = () => {
    if (final !== undefined) return final;
    try {
      return fs.readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  let spawnError = "";
  child.on("error", (err) => (spawnError = `spawn error: ${err.message}\n`));
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, sig) => {
      final = output() + spawnError;
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal: sig });
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  // unshare's one child is the shell that becomes the daemon, waiting at `read` for this.
  let pid: number | undefined;
  const deadline = Date.now() + 5000;
  while (pid === undefined) {
    if (!running() || Date.now() > deadline) {
      if (child.pid !== undefined) signal(child.pid, "SIGKILL");
      await exited;
      throw new Error(`could not start ${spec.name} in ${root}:\n${output()}`);
    }
    pid = child.pid === undefined ? undefined : childrenOf(child.pid)[0];
    if (pid === undefined) await sleep(5);
  }
  const started = pid;
  live.add(started);
  void exited.then(() => live.delete(started));
  child.stdin?.end("\n");
  // A daemon a test forgot does not keep jest alive; the exit handler above kills it.
  if (child.stdin instanceof net.Socket) child.stdin.unref();
  child.unref();
  const stop = async (): Promise<Exit> => {
    if (!running()) return exited;
    // As the init of its PID namespace it gets only signals it handles; both handle SIGTERM.
    signal(started, "SIGTERM");
    const timer = setTimeout(() => {
      signal(started, "SIGKILL");
    }, 10000);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };
  const daemon: Daemon = { pid: started, url, port, output, exited, stop };

  const readyBy = Date.now() + spec.timeoutMs;
  for (;;) {
    if (!running()) {
      const exit = await exited;
      const how = exit.signal ?? `code ${String(exit.code)}`;
      throw new Error(`${spec.name} exited (${how}) while starting:\n${final ?? ""}`);
    }
    const status = await httpGet(`${url}/-/ready`).then(
      (reply) => reply.status,
      () => 0,
    );
    if (status === 200) return daemon;
    if (Date.now() > readyBy) {
      await stop();
      throw new Error(`${spec.name} was not ready within ${spec.timeoutMs} ms:\n${output()}`);
    }
    await sleep(100);
  }
}

/** Container paths, as components/observability/alertmanager.ts uses them. */
export const ALERTMANAGER_CONFIG_DIR = "/etc/alertmanager";
export const SECRETS_DIR = "/run/secrets";

/**
 * Alertmanager with `config` as /etc/alertmanager/alertmanager.yml, `secrets` (file name ->
 * content) in /run/secrets, its data in a fresh directory and no cluster listener, as the
 * component starts it.
 */
export function startAlertmanager(opts: {
  config: string;
  secrets?: Readonly<Record<string, string>>;
}): Promise<Daemon> {
  return startDaemon({
    name: "alertmanager",
    argv: [
      ALERTMANAGER,
      `--config.file=${ALERTMANAGER_CONFIG_DIR}/alertmanager.yml`,
      "--storage.path=/alertmanager",
      "--cluster.listen-address=",
    ],
    emptyDirs: ["/alertmanager"],
    files: {
      [ALERTMANAGER_CONFIG_DIR]: { "alertmanager.yml": opts.config },
      [SECRETS_DIR]: opts.secrets ?? {},
    },
    timeoutMs: 15000,
  });
}

export const PROMETHEUS_CONFIG_DIR = "/etc/prometheus";

/**
 * Prometheus with `config` as /etc/prometheus/prometheus.yml, `rules` (file name -> content) in
 * /etc/prometheus/rules and its database in a fresh directory, as the component starts it.
 * `port` fixes the listen port (e.g. one the config scrapes); default a free one. `flags` are
 * added to the component's.
 */
export function startPrometheus(opts: {
  config: string;
  rules: Readonly<Record<string, string>>;
  port?: number;
  flags?: readonly string[];
}): Promise<Daemon> {
  const rules = Object.fromEntries(
    Object.entries(opts.rules).map(([name, content]) => [`rules/${name}`, content]),
  );
  return startDaemon({
    name: "prometheus",
    argv: [
      PROMETHEUS,
      `--config.file=${PROMETHEUS_CONFIG_DIR}/prometheus.yml`,
      "--storage.tsdb.path=/prometheus",
      ...(opts.flags ?? []),
    ],
    emptyDirs: ["/prometheus"],
    files: { [PROMETHEUS_CONFIG_DIR]: { "prometheus.yml": opts.config, ...rules } },
    timeoutMs: 30000,
    port: opts.port,
  });
}

// --- HTTP ------------------------------------------------------------------------------------

export interface Reply {
  readonly status: number;
  readonly body: string;
}

function httpRequest(url: string, method: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: false,
        timeout: 5000,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: text });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

export function httpGet(url: string): Promise<Reply> {
  return httpRequest(url, "GET");
}

/** GET that expects 200 and JSON. */
export async function getJson<T>(url: string): Promise<T> {
  const reply = await httpGet(url);
  if (reply.status !== 200) throw new Error(`GET ${url}: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as T;
}

/** POST of JSON that expects a 2xx. */
export async function postJson(url: string, value: unknown): Promise<Reply> {
  const reply = await httpRequest(url, "POST", JSON.stringify(value));
  if (reply.status < 200 || reply.status > 299) {
    throw new Error(`POST ${url}: ${reply.status} ${reply.body}`);
  }
  return reply;
}

export { freePort };

/** A server on `host` (any 127.0.0.x) and a free port. */
async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}

function closeServer(server: http.Server | net.Server): Promise<void> {
  if (server instanceof http.Server) server.closeAllConnections();
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** A /metrics endpoint; `stop()` closes it, so a scrape finds nothing listening. */
export interface MetricsStub {
  /** `host:port`, as a scrape target. */
  readonly address: string;
  /** How many scrapes it has answered. */
  scrapes(): number;
  stop(): Promise<void>;
}

/** Serves `metrics()` (Prometheus text format, computed per scrape) at /metrics on host. */
export async function startMetricsStub(host: string, metrics: () => string): Promise<MetricsStub> {
  let scrapes = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    scrapes += 1;
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metrics());
  });
  const port = await listen(server, host);
  let stopped: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    scrapes: () => scrapes,
    stop: () => (stopped ??= closeServer(server)),
  };
}

/** Alertmanager's webhook payload (version 4), as far as the tests read it. */
export interface WebhookMessage {
  readonly receiver: string;
  readonly status: string;
  readonly alerts: readonly {
    readonly status: string;
    readonly labels: Readonly<Record<string, string>>;
  }[];
}

export interface WebhookSink {
  /** The URL to put in the webhook's url_file. */
  readonly url: string;
  readonly messages: WebhookMessage[];
  close(): Promise<void>;
}

/** Records every JSON POST to /hook on 127.0.0.1. */
export async function startWebhookSink(): Promise<WebhookSink> {
  const messages: WebhookMessage[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/hook") {
        messages.push(JSON.parse(body) as WebhookMessage);
        res.writeHead(200).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  const port = await listen(server, "127.0.0.1");
  return { url: `http://127.0.0.1:${port}/hook`, messages, close: () => closeServer(server) };
}

// --- SMTP ------------------------------------------------------------------------------------

/** One message the SMTP sink accepted. */
export interface Mail {
  /** The credentials of the session's AUTH (PLAIN or LOGIN), if it authenticated. */
  readonly auth?: {
    readonly mechanism: string;
    readonly username: string;
    readonly password: string;
  };
  readonly from: string;
  /** The RCPT TO addresses, in order. */
  readonly to: readonly string[];
  /** The message as sent (headers and body), dot-stuffing undone. */
  readonly data: string;
}

export interface SmtpSink {
  readonly port: number;
  readonly mails: Mail[];
  close(): Promise<void>;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64").toString("utf8");

/**
 * A minimal SMTP server (RFC 5321) on 127.0.0.1 that accepts every message: it offers AUTH PLAIN
 * and LOGIN and no STARTTLS, and records the credentials it was given.
 */
export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    socket.setEncoding("utf8");
    let auth: Mail["auth"];
    let from = "";
    let to: string[] = [];
    let data: string[] | undefined;
    let login: { username?: string } | undefined;
    let plainPending = false;
    let buffered = "";
    const reply = (line: string) => socket.write(`${line}\r\n`);
    const plain = (encoded: string) => {
      const [, username = "", password = ""] = unb64(encoded).split("\0");
      auth = { mechanism: "PLAIN", username, password };
      reply("235 2.7.0 Authentication successful");
    };
    const handle = (line: string) => {
      if (data) {
        if (line === ".") {
          mails.push({ auth, from, to, data: data.join("\r\n") });
          data = undefined;
          from = "";
          to = [];
          reply("250 2.0.0 OK: queued");
        } else {
          data.push(line.startsWith(".") ? line.slice(1) : line);
        }
        return;
      }
      if (plainPending) {
        plainPending = false;
        plain(line);
        return;
      }
      if (login) {
        if (login.username === undefined) {
          login.username = unb64(line);
          reply(`334 ${b64("Password:")}`);
        } else {
          auth = { mechanism: "LOGIN", username: login.username, password: unb64(line) };
          login = undefined;
          reply("235 2.7.0 Authentication successful");
        }
        return;
      }
      const [verb = "", ...rest] = line.split(" ");
      const arg = rest.join(" ");
      switch (verb.toUpperCase()) {
        case "EHLO":
          reply("250-sink.test");
          reply("250 AUTH PLAIN LOGIN");
          break;
        case "HELO":
        case "NOOP":
          reply("250 OK");
          break;
        case "AUTH": {
          const [mechanism = "", initial] = arg.split(" ");
          if (mechanism.toUpperCase() === "PLAIN") {
            if (initial) plain(initial);
            else {
              plainPending = true;
              reply("334 ");
            }
          } else if (mechanism.toUpperCase() === "LOGIN") {
            login = {};
            reply(`334 ${b64("Username:")}`);
          } else {
            reply("504 5.5.4 Unrecognized authentication type");
          }
          break;
        }
        case "MAIL":
          from = /<([^>]*)>/.exec(arg)?.[1] ?? "";
          reply("250 2.1.0 OK");
          break;
        case "RCPT":
          to.push(/<([^>]*)>/.exec(arg)?.[1] ?? "");
          reply("250 2.1.5 OK");
          break;
        case "DATA":
          data = [];
          reply("354 End data with <CR><LF>.<CR><LF>");
          break;
        case "RSET":
          from = "";
          to = [];
          reply("250 OK");
          break;
        case "QUIT":
          reply("221 2.0.0 Bye");
          socket.end();
          break;
        default:
          reply("502 5.5.2 Command not recognized");
      }
    };
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf("\r\n")) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        handle(line);
      }
    });
    reply("220 sink.test ESMTP");
  });
  const port = await listen(server, "127.0.0.1");
  return {
    port,
    mails,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return closeServer(server);
    },
  };
}
