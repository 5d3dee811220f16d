/**
 * A throwaway PostgreSQL 15 (Debian's postgresql-15) and a busybox userland for the scripts of
 * assets/postgres, as in postgres:15-alpine. No mocks: the real server, psql, pg_dump, pg_restore.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderPgpass } from "../../render/postgres";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const SCRIPTS = path.join(__dirname, "..", "..", "assets", "postgres");

/** Throws, naming the Debian package, when a program the tests need is missing. */
export function requireTools(): string {
  for (const tool of ["initdb", "postgres", "pg_isready"]) {
    if (!fs.existsSync(path.join(PG_BIN, tool))) {
      throw new Error(`${PG_BIN}/${tool} is missing: apt-get install postgresql-15 (see .ci/run)`);
    }
  }
  for (const tool of ["psql", "pg_dump", "pg_restore"]) {
    if (!fs.existsSync(path.join(PG_BIN, tool))) {
      throw new Error(`${PG_BIN}/${tool} is missing: apt-get install postgresql-client-15`);
    }
  }
  const busybox = spawnSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" });
  if (busybox.status !== 0) throw new Error("busybox is missing: apt-get install busybox-static");
  return busybox.stdout.trim();
}

/**
 * A directory of busybox applets (busybox --install -s) and the PATH the scripts get: that
 * directory first, then PostgreSQL's client programs, and nothing else, so a GNU tool cannot
 * stand in for a missing applet.
 */
export function busyboxPath(busybox: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(busybox, ["--install", "-s", dir]);
  for (const applet of ["sh", "awk", "date", "sort", "sha256sum", "mv", "cat", "sleep", "tr"]) {
    if (!fs.existsSync(path.join(dir, applet))) throw new Error(`busybox has no ${applet} applet`);
  }
  return `${dir}:${PG_BIN}`;
}

/** Where and as whom a client connects. */
export interface Conn {
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly passfile: string;
}

/** libpq's environment for a connection over TCP, with the password in a .pgpass file only. */
export function pgEnv(conn: Conn): Record<string, string> {
  return {
    PGHOST: "127.0.0.1",
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    PGDATABASE: conn.database,
    PGPASSFILE: conn.passfile,
    PGCONNECT_TIMEOUT: "10",
  };
}

/** Writes a .pgpass (mode 0600, as libpq demands) for one user, any database. */
export function writePgpass(file: string, port: number, user: string, password: string): string {
  fs.writeFileSync(file, renderPgpass({ host: "127.0.0.1", port, database: "*", user, password }), {
    mode: 0o600,
  });
  fs.chmodSync(file, 0o600);
  return file;
}

export interface PsqlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs psql; unaligned, tuples only; `args` ends with `-c <sql>` or `-f <file>`. Does not throw:
 * look at status and stderr. `pathVar` is the PATH for psql's own shell commands (backticks).
 */
export function psqlTry(conn: Conn, args: string[], pathVar = process.env.PATH ?? ""): PsqlResult {
  const r = spawnSync(
    path.join(PG_BIN, "psql"),
    ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "--no-password", ...args],
    { env: { ...pgEnv(conn), PATH: pathVar }, encoding: "utf8", timeout: 30000 },
  );
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Runs SQL with psql and returns its output; throws with psql's error when it fails. */
export function psql(conn: Conn, sql: string): string {
  const r = psqlTry(conn, ["-c", sql]);
  if (r.status !== 0) throw new Error(`psql as ${conn.user} failed: ${r.stderr}\n${sql}`);
  return r.stdout;
}

export interface ScriptRun {
  readonly status: number | null;
  /** stdout and stderr interleaved, as in the container log. */
  readonly output: string;
  readonly lastLine: string;
}

let runs = 0;

/**
 * Runs a script of assets/postgres with only the given environment, by default with
 * `busybox sh` (`shell` is the command line of another shell, e.g. ["dash"]).
 */
export function runScript(
  busybox: string,
  outDir: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  shell: string[] = [busybox, "sh"],
): ScriptRun {
  runs += 1;
  const out = path.join(outDir, `run-${runs}.log`);
  const fd = fs.openSync(out, "w");
  try {
    const r = spawnSync(shell[0], [...shell.slice(1), path.join(SCRIPTS, script), ...args], {
      env,
      stdio: ["ignore", fd, fd],
      timeout: 60000,
    });
    const output = fs.readFileSync(out, "utf8");
    const lines = output.trimEnd().split("\n");
    return { status: r.status, output, lastLine: lines[lines.length - 1] ?? "" };
  } finally {
    fs.closeSync(fd);
  }
}

export interface Server {
  readonly port: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * initdb and postgres in `dir`, with the given postgresql.conf as config_file. As root (CI), the
 * server runs as the postgres OS user: PostgreSQL refuses to run as root.
 */
export async function startServer(
  dir: string,
  port: number,
  confText: string,
  admin: { user: string; password: string },
): Promise<Server> {
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })) : -1;
  const group = asRoot ? Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })) : -1;
  const as = (program: string, args: string[]): [string, string[]] =>
    asRoot
      ? [
          "setpriv",
          [
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            path.join(PG_BIN, program),
          ].concat(args),
        ]
      : [path.join(PG_BIN, program), args];

  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, "pgdata");
  const socket = path.join(dir, "socket");
  for (const d of [data, socket]) {
    fs.mkdirSync(d, { mode: 0o700 });
    if (asRoot) fs.chownSync(d, owner, group);
  }
  const pwfile = path.join(dir, "initdb-password");
  fs.writeFileSync(pwfile, admin.password, { mode: 0o644 });
  const [initdb, initdbArgs] = as("initdb", [
    "-D",
    data,
    "-U",
    admin.user,
    `--pwfile=${pwfile}`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C",
  ]);
  const init = spawnSync(initdb, initdbArgs, { cwd: dir, encoding: "utf8" });
  fs.rmSync(pwfile);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);

  const conf = path.join(dir, "postgresql.conf");
  fs.writeFileSync(conf, confText, { mode: 0o644 });
  const logFile = path.join(dir, "server.log");
  const log = fs.openSync(logFile, "a");
  // The test server listens on loopback only, its socket in the temp dir; the rest is the file's.
  const [program, args] = as("postgres", [
    "-D",
    data,
    "-c",
    `config_file=${conf}`,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${socket}`,
  ]);
  const server: ChildProcess = spawn(program, args, { cwd: dir, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => {
    server.once("exit", () => {
      resolve();
    });
  });

  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill("SIGINT"); // fast shutdown
    const timer = setTimeout(() => server.kill("SIGKILL"), 10000);
    await exited;
    clearTimeout(timer);
  };
  for (let i = 0; i < 150; i++) {
    const ready = spawnSync(path.join(PG_BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", `${port}`]);
    if (ready.status === 0) return { port, logFile, stop };
    if (server.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(
    `postgres did not start with the rendered config:\n${fs.readFileSync(logFile, "utf8")}`,
  );
}
