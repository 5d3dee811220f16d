/**
 * The rendered redis.conf, users.acl, healthcheck and ACL LOAD job, run by the real redis-server
 * and redis-cli (Debian's redis-server package; .ci/run installs it).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  REDIS_GUARDED_COMMANDS,
  REDIS_MONITOR_COMMANDS,
  RedisCommandRule,
  RedisConfInput,
  RedisGuardedCommand,
  RedisMonitorUser,
  redisAclLoadCommand,
  redisHealthcheckCommand,
  renderRedisAcl,
  renderRedisConf,
} from "../../render/redis";
import { freePort } from "./freePort";

// Quotes, a backslash, a space and a '#': what redis.conf quoting must survive.
const PASSWORD = 'pa ss"wo\\rd#1-long-enough';
const KEYS_NAME = "keys_for-ops_7c1e";
const MONITOR_USER = "redis_exporter";
// The same quoting hazards as PASSWORD, plus non-ASCII.
const MONITOR_PASSWORD = 'mon "pw"\\ #2-ü-long-enough';
const MONITOR = { user: MONITOR_USER, password: MONITOR_PASSWORD };

const ALL_ENABLED = Object.fromEntries(REDIS_GUARDED_COMMANDS.map((c) => [c, "enabled"])) as Record<
  RedisGuardedCommand,
  RedisCommandRule
>;
const GUARDED: Record<RedisGuardedCommand, RedisCommandRule> = {
  FLUSHALL: "disabled",
  FLUSHDB: "disabled",
  CONFIG: "disabled",
  DEBUG: "disabled",
  KEYS: { renameTo: KEYS_NAME },
  MONITOR: "disabled",
};

function cliEnv(password?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDISCLI_AUTH;
  if (password !== undefined) env.REDISCLI_AUTH = password;
  return env;
}

/** redis-cli's answer; `input` is sent on stdin, as the last argument when `-x` is given. */
function cli(port: number, args: string[], password?: string, input?: Buffer): string {
  return execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], {
    env: cliEnv(password),
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
  }).trim();
}

const info = (port: number, section: string) => cli(port, ["info", section], PASSWORD);
/** redis-cli's answer as the monitoring user (AUTH redis_exporter <password>). */
const monitorCli = (port: number, args: string[], password = MONITOR_PASSWORD) =>
  cli(port, ["--user", MONITOR_USER, ...args], password);
const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(text)?.[1];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  readonly dir: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** Settles once the process has exited and its output is read. */
  readonly closed: Promise<unknown>;
  /** What the server wrote (its log goes to stdout). */
  log(): string;
}

const running: Server[] = [];

/**
 * Starts redis-server on a rendered redis.conf and users.acl (PASSWORD for the default user, and
 * the monitoring user when given) in `dir`; resolves once it answers or exits.
 */
async function start(
  dir: string,
  input: Omit<RedisConfInput, "port" | "aclFile" | "dataDir"> & { monitor?: RedisMonitorUser },
): Promise<Server> {
  const port = await freePort();
  const conf = path.join(dir, "redis.conf");
  const { monitor, ...rules } = input;
  writeAcl(dir, monitor);
  fs.writeFileSync(
    conf,
    renderRedisConf({ port, aclFile: path.join(dir, "users.acl"), dataDir: dir, ...rules }),
  );
  // Only the listening address is overridden, so the test binds loopback alone.
  const proc = spawn("redis-server", [conf, "--bind", "127.0.0.1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const closed = new Promise((resolve) => proc.once("close", resolve));
  const server: Server = { dir, port, proc, closed, log: () => output };
  running.push(server);
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) return server;
    const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"], {
      encoding: "utf8",
      env: cliEnv(),
    });
    if (r.stdout.includes("NOAUTH") || r.stdout.includes("PONG")) return server;
    await sleep(100);
  }
  throw new Error(`redis-server did not start with the rendered redis.conf:\n${output}`);
}

/** Writes `dir`/users.acl as the program renders it (the ACL LOAD job reads it from there). */
function writeAcl(dir: string, monitor?: RedisMonitorUser): void {
  fs.writeFileSync(path.join(dir, "users.acl"), renderRedisAcl({ password: PASSWORD, monitor }));
}

/** Redis refuses to exit while its final save fails, so a directory goes only after it exits. */
async function stop(server: Server): Promise<void> {
  const { proc } = server;
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await server.closed;
    clearTimeout(timer);
  }
  await server.closed;
  running.splice(running.indexOf(server), 1);
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-conf-"));
  dirs.push(dir);
  return dir;
}

let guarded: Server;
let open: Server;

beforeAll(async () => {
  for (const tool of ["redis-server", "redis-cli"]) {
    if (spawnSync(tool, ["--version"]).status !== 0) {
      throw new Error(`${tool} is not installed: apt-get install redis-server (see README)`);
    }
  }
  guarded = await start(tempDir(), {
    maxmemoryMb: 4,
    maxmemoryPolicy: "allkeys-lru",
    commands: GUARDED,
  });
  open = await start(tempDir(), {
    maxmemoryMb: 4,
    maxmemoryPolicy: "noeviction",
    commands: ALL_ENABLED,
  });
});

afterAll(async () => {
  for (const server of [...running]) await stop(server);
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe("with FLUSHALL, FLUSHDB, CONFIG, DEBUG and MONITOR disabled and KEYS renamed", () => {
  test("a client without the password is refused, under the new name too", () => {
    expect(cli(guarded.port, ["ping"])).toContain("NOAUTH");
    expect(cli(guarded.port, ["set", "k", "v"])).toContain("NOAUTH");
    expect(cli(guarded.port, [KEYS_NAME, "*"])).toContain("NOAUTH");
  });

  test("the password from the secret works, quoting and all", () => {
    expect(cli(guarded.port, ["ping"], PASSWORD)).toBe("PONG");
    expect(cli(guarded.port, ["ping"], "wrong-password")).toMatch(/WRONGPASS|NOAUTH|invalid/i);
  });

  test("append-only persistence is on, in the data directory", () => {
    expect(field(info(guarded.port, "persistence"), "aof_enabled")).toBe("1");
    expect(fs.readdirSync(path.join(guarded.dir, "appendonlydir"))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^appendonly\.aof\.\d+\.incr\.aof$/)]),
    );
  });

  test("the disabled commands are unknown even to an authenticated client", () => {
    cli(guarded.port, ["set", "survivor", "1"], PASSWORD);
    for (const args of [
      ["flushall"],
      ["flushdb"],
      ["config", "get", "*"],
      ["debug", "sleep", "0"],
    ]) {
      expect(cli(guarded.port, args, PASSWORD)).toMatch(
        new RegExp(`^ERR unknown command '${args[0]}'`, "i"),
      );
    }
    const monitor = spawnSync(
      "redis-cli",
      ["-h", "127.0.0.1", "-p", String(guarded.port), "monitor"],
      {
        env: cliEnv(PASSWORD),
        encoding: "utf8",
        timeout: 5000,
      },
    );
    expect(monitor.stdout).toMatch(/ERR unknown command 'monitor'/i);
    expect(cli(guarded.port, ["get", "survivor"], PASSWORD)).toBe("1");
  });

  test("KEYS answers only under its new name", () => {
    cli(guarded.port, ["set", "listed", "1"], PASSWORD);
    expect(cli(guarded.port, ["keys", "*"], PASSWORD)).toMatch(/^ERR unknown command 'keys'/i);
    expect(cli(guarded.port, [KEYS_NAME, "listed"], PASSWORD)).toBe("listed");
  });

  test("the memory limit and the eviction policy are in effect", () => {
    const memory = info(guarded.port, "memory");
    expect(field(memory, "maxmemory")).toBe(String(4 * 1024 * 1024));
    expect(field(memory, "maxmemory_policy")).toBe("allkeys-lru");
    // allkeys-lru makes room by evicting: 8 MB of writes into 4 MB all succeed.
    const value = Buffer.alloc(1024 * 1024, "x");
    for (let i = 0; i < 8; i++) {
      expect(cli(guarded.port, ["-x", "set", `big-${i}`], PASSWORD, value)).toBe("OK");
    }
    expect(Number(field(info(guarded.port, "stats"), "evicted_keys"))).toBeGreaterThan(0);
  });

  test("the container healthcheck passes with the right password file and fails without", () => {
    const good = path.join(guarded.dir, "password");
    fs.writeFileSync(good, PASSWORD);
    expect(spawnSync("sh", ["-c", redisHealthcheckCommand(good, guarded.port)]).status).toBe(0);
    const bad = path.join(guarded.dir, "bad-password");
    fs.writeFileSync(bad, "not-the-password");
    expect(spawnSync("sh", ["-c", redisHealthcheckCommand(bad, guarded.port)]).status).not.toBe(0);
  });

  test("a rename target is refused when it is any long command name this server knows", () => {
    const names = cli(guarded.port, ["command", "list"], PASSWORD)
      .split("\n")
      .filter((name) => /^[A-Za-z0-9_-]{8,64}$/.test(name));
    expect(names.length).toBeGreaterThan(50);
    const accepted = names.filter((name) => {
      try {
        renderRedisConf({
          port: 1,
          aclFile: "/a",
          dataDir: "/d",
          maxmemoryMb: 1,
          maxmemoryPolicy: "noeviction",
          commands: { ...GUARDED, KEYS: { renameTo: name } },
        });
        return true;
      } catch {
        return false;
      }
    });
    expect(accepted).toEqual([]);
  });
});

describe("with every command enabled", () => {
  test("the guarded commands all work, DEBUG included", () => {
    expect(cli(open.port, ["config", "get", "dir"], PASSWORD)).toBe(
      `dir\n${fs.realpathSync(open.dir)}`,
    );
    expect(cli(open.port, ["config", "get", "appendonly"], PASSWORD)).toBe("appendonly\nyes");
    expect(cli(open.port, ["debug", "sleep", "0"], PASSWORD)).toBe("OK");
    cli(open.port, ["set", "k", "v"], PASSWORD);
    expect(cli(open.port, ["keys", "*"], PASSWORD)).toBe("k");
    expect(cli(open.port, ["flushdb"], PASSWORD)).toBe("OK");
    expect(cli(open.port, ["flushall"], PASSWORD)).toBe("OK");
    const monitor = spawnSync(
      "redis-cli",
      ["-h", "127.0.0.1", "-p", String(open.port), "monitor"],
      {
        env: cliEnv(PASSWORD),
        encoding: "utf8",
        timeout: 1000,
      },
    );
    expect(monitor.stdout.trim()).toBe("OK");
  });

  test("modules stay off and protected configs cannot be changed", () => {
    expect(cli(open.port, ["module", "load", "/nonexistent.so"], PASSWORD)).toMatch(
      /MODULE command not allowed/,
    );
    expect(cli(open.port, ["config", "set", "dir", "/tmp"], PASSWORD)).toMatch(/protected config/i);
  });

  test("noeviction refuses writes beyond maxmemory instead of dropping keys", () => {
    expect(field(info(open.port, "memory"), "maxmemory_policy")).toBe("noeviction");
    cli(open.port, ["flushall"], PASSWORD);
    const value = Buffer.alloc(1024 * 1024, "x");
    const answers = [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
      cli(open.port, ["-x", "set", `big-${i}`], PASSWORD, value),
    );
    const written = answers.filter((a) => a === "OK").length;
    expect(answers[0]).toBe("OK");
    expect(answers[answers.length - 1]).toMatch(/^OOM command not allowed/);
    expect(cli(open.port, ["dbsize"], PASSWORD)).toBe(String(written));
  });

  test("the container healthcheck passes", () => {
    const good = path.join(open.dir, "password");
    fs.writeFileSync(good, PASSWORD);
    expect(spawnSync("sh", ["-c", redisHealthcheckCommand(good, open.port)]).status).toBe(0);
  });
});

test("a FLUSHDB in the AOF stops Redis once FLUSHDB is disabled, until the AOF is rewritten", async () => {
  const dir = tempDir();
  const rules = { maxmemoryMb: 16, maxmemoryPolicy: "noeviction" } as const;
  const enabled = await start(dir, { ...rules, commands: ALL_ENABLED });
  cli(enabled.port, ["set", "kept", "1"], PASSWORD);
  cli(enabled.port, ["flushdb"], PASSWORD);
  cli(enabled.port, ["set", "kept", "2"], PASSWORD);
  await stop(enabled);

  const refused = await start(dir, { ...rules, commands: GUARDED });
  await stop(refused);
  expect(refused.proc.exitCode).toBe(1);
  expect(refused.log()).toMatch(/Unknown command 'flushdb' reading the append only file/);

  const rewriting = await start(dir, { ...rules, commands: ALL_ENABLED });
  cli(rewriting.port, ["bgrewriteaof"], PASSWORD);
  for (let i = 0; i < 100; i++) {
    const persistence = info(rewriting.port, "persistence");
    const busy = ["aof_rewrite_in_progress", "aof_rewrite_scheduled"];
    if (busy.every((name) => field(persistence, name) === "0")) break;
    await sleep(100);
  }
  await stop(rewriting);

  const after = await start(dir, { ...rules, commands: GUARDED });
  expect(after.proc.exitCode).toBeNull();
  expect(cli(after.port, ["get", "kept"], PASSWORD)).toBe("2");
  await stop(after);
});

describe("with a monitoring user for redis_exporter", () => {
  let watched: Server;
  let watchedOpen: Server;
  let renamedConfig: Server;
  const CONFIG_NAME = "cfg_ops_91b2";
  const subscribeAs = (port: number, args: string[]) =>
    spawnSync(
      "redis-cli",
      ["-h", "127.0.0.1", "-p", String(port), "--user", MONITOR_USER, ...args],
      { env: cliEnv(MONITOR_PASSWORD), encoding: "utf8", timeout: 3000 },
    );

  beforeAll(async () => {
    const rules = { maxmemoryMb: 8, maxmemoryPolicy: "noeviction", monitor: MONITOR } as const;
    watched = await start(tempDir(), { ...rules, commands: GUARDED });
    watchedOpen = await start(tempDir(), { ...rules, commands: ALL_ENABLED });
    renamedConfig = await start(tempDir(), {
      ...rules,
      commands: { ...ALL_ENABLED, CONFIG: { renameTo: CONFIG_NAME } },
    });
  });

  test("redis-server loads the file under every command rule, with the user as rendered", () => {
    for (const server of [watched, watchedOpen, renamedConfig]) {
      expect({ exitCode: server.proc.exitCode, log: server.log() }).toEqual({
        exitCode: null,
        log: expect.not.stringMatching(/error|fatal/i) as unknown,
      });
      const users = cli(server.port, ["acl", "list"], PASSWORD).split("\n");
      expect(users).toHaveLength(2);
      expect(users[0]).toMatch(/^user default on #[0-9a-f]{64} ~\* &\* \+@all$/);
      const rules = users[1].split(" ");
      expect(rules.slice(0, 3)).toEqual(["user", MONITOR_USER, "on"]);
      // Only one password, and it is MONITOR_PASSWORD byte for byte: the quoting survived.
      expect(rules.filter((r) => r.startsWith("#"))).toEqual([
        `#${createHash("sha256").update(MONITOR_PASSWORD).digest("hex")}`,
      ]);
      expect(rules.filter((r) => /^[~%&]|^allkeys$|^allchannels$|^nopass$/.test(r))).toEqual([]);
      expect(rules).toContain("resetchannels");
      expect(rules.filter((r) => /^[+-]/.test(r)).sort()).toEqual(
        ["-@all", ...REDIS_MONITOR_COMMANDS.map((c) => `+${c}`)].sort(),
      );
    }
  });

  test("the monitoring user logs in and reads what redis_exporter reads", () => {
    cli(watchedOpen.port, ["set", "counted", "1"], PASSWORD);
    const port = watchedOpen.port;
    expect(monitorCli(port, ["ping"])).toBe("PONG");
    const all = monitorCli(port, ["info", "all"]);
    expect(field(all, "maxmemory")).toBe(String(8 * 1024 * 1024));
    expect(field(all, "db0")).toMatch(/^keys=1,/);
    expect(all).toMatch(/^cmdstat_set:calls=/m);
    expect(monitorCli(port, ["dbsize"])).toBe("1");
    expect(monitorCli(port, ["client", "setname", "redis_exporter"])).toBe("OK");
    expect(monitorCli(port, ["client", "list"])).toMatch(/ user=redis_exporter /);
    expect(monitorCli(port, ["slowlog", "len"])).toMatch(/^\d+$/);
    expect(monitorCli(port, ["slowlog", "get", "1"])).not.toMatch(/NOPERM/);
    expect(monitorCli(port, ["latency", "latest"])).not.toMatch(/NOPERM/);
    expect(monitorCli(port, ["latency", "histogram", "set"])).toMatch(/^set\ncalls\n/);
    expect(monitorCli(port, ["memory", "stats"])).toMatch(/^peak\.allocated\n/);
    expect(monitorCli(port, ["select", "1"])).toBe("OK");
    expect(monitorCli(port, ["cluster", "info"])).toMatch(/cluster support disabled/);
    expect(cli(port, ["auth", MONITOR_USER, MONITOR_PASSWORD])).toBe("OK");
    expect(cli(port, ["auth", MONITOR_USER, "wrong-password"])).toMatch(/^WRONGPASS /);
  });

  test("it cannot read, write or list keys, run scripts, or reach the configuration", () => {
    cli(watchedOpen.port, ["set", "secret", "v1"], PASSWORD);
    for (const args of [
      ["get", "secret"],
      ["set", "secret", "v2"],
      ["del", "secret"],
      ["keys", "*"],
      ["scan", "0"],
      ["randomkey"],
      ["type", "secret"],
      ["exists", "secret"],
      ["dump", "secret"],
      ["object", "encoding", "secret"],
      ["memory", "usage", "secret"],
      ["eval", "return redis.call('get', 'secret')", "0"],
      ["flushdb"],
      ["flushall"],
      ["config", "get", "requirepass"],
      ["config", "set", "maxmemory", "1"],
      ["acl", "list"],
      ["acl", "whoami"],
      ["debug", "sleep", "0"],
      ["client", "kill", "type", "normal"],
      ["publish", "news", "x"],
      ["shutdown", "nosave"],
    ]) {
      expect([args.join(" "), monitorCli(watchedOpen.port, args)]).toEqual([
        args.join(" "),
        expect.stringMatching(/^NOPERM /),
      ]);
    }
    for (const args of [["subscribe", "news"], ["psubscribe", "*"], ["monitor"]]) {
      expect(subscribeAs(watchedOpen.port, args).stdout).toMatch(/NOPERM /);
    }
    // A renamed command stays out of reach under its new name.
    expect(monitorCli(watched.port, [KEYS_NAME, "*"])).toMatch(/^NOPERM /);
    expect(cli(watchedOpen.port, ["get", "secret"], PASSWORD)).toBe("v1");
  });

  test("the default user works as before, and the two passwords do not mix", () => {
    for (const server of [watched, watchedOpen]) {
      expect(cli(server.port, ["ping"])).toContain("NOAUTH");
      expect(cli(server.port, ["set", "k", "v"], PASSWORD)).toBe("OK");
      expect(cli(server.port, ["get", "k"], PASSWORD)).toBe("v");
      expect(cli(server.port, ["acl", "whoami"], PASSWORD)).toBe("default");
      expect(cli(server.port, ["--user", "default", "acl", "whoami"], PASSWORD)).toBe("default");
      // The monitoring password is not the default user's, nor the other way round.
      expect(cli(server.port, ["auth", MONITOR_PASSWORD])).toMatch(/^WRONGPASS /);
      expect(cli(server.port, ["auth", MONITOR_USER, PASSWORD])).toMatch(/^WRONGPASS /);
      const good = path.join(server.dir, "password");
      fs.writeFileSync(good, PASSWORD);
      expect(spawnSync("sh", ["-c", redisHealthcheckCommand(good, server.port)]).status).toBe(0);
    }
    expect(cli(watchedOpen.port, ["keys", "k"], PASSWORD)).toBe("k");
  });

  test("CONFIG GET gives no password away (the ACL file holds hashes), and is still not granted", () => {
    const port = renamedConfig.port;
    // ACL rules name the original command: +config|get reaches CONFIG under its new name.
    expect(
      cli(port, ["acl", "setuser", "probe", "on", ">probe-pw", "-@all", "+config|get"], PASSWORD),
    ).toBe("OK");
    const requirepass = cli(
      port,
      ["--user", "probe", CONFIG_NAME, "get", "requirepass"],
      "probe-pw",
    );
    expect(requirepass).not.toContain(PASSWORD);
    expect(requirepass.split("\n")[0]).toBe("requirepass");
    expect(cli(port, ["acl", "setuser", "probe", `+${CONFIG_NAME}|get`], PASSWORD)).toMatch(
      /Unknown command/,
    );
    expect(cli(port, ["acl", "deluser", "probe"], PASSWORD)).toBe("1");
    expect(monitorCli(port, [CONFIG_NAME, "get", "maxmemory"])).toMatch(/^NOPERM /);
  });
});

describe("the ACL LOAD job on a running server", () => {
  let server: Server;
  let passwordFile: string;
  const loadJob = () =>
    spawnSync("sh", ["-c", redisAclLoadCommand(passwordFile, "127.0.0.1", server.port)], {
      encoding: "utf8",
      env: cliEnv(),
    });

  beforeAll(async () => {
    server = await start(tempDir(), {
      maxmemoryMb: 8,
      maxmemoryPolicy: "noeviction",
      commands: GUARDED,
    });
    passwordFile = path.join(server.dir, "redis_password");
    fs.writeFileSync(passwordFile, PASSWORD);
  });

  test("the monitoring user comes and goes with the file, the server never restarts", () => {
    const pid = field(info(server.port, "server"), "process_id");
    cli(server.port, ["set", "kept", "1"], PASSWORD);
    expect(monitorCli(server.port, ["ping"])).toMatch(/WRONGPASS|NOAUTH/);

    writeAcl(server.dir, MONITOR);
    const added = loadJob();
    expect([added.status, added.stdout.trim()]).toEqual([0, "ACL LOAD: OK"]);
    expect(monitorCli(server.port, ["ping"])).toBe("PONG");
    expect(monitorCli(server.port, ["get", "kept"])).toMatch(/^NOPERM /);

    writeAcl(server.dir, undefined);
    expect(loadJob().status).toBe(0);
    expect(monitorCli(server.port, ["ping"])).toMatch(/WRONGPASS|NOAUTH/);
    expect(cli(server.port, ["get", "kept"], PASSWORD)).toBe("1");
    expect(field(info(server.port, "server"), "process_id")).toBe(pid);
  });

  test("a file the server refuses fails the job and leaves the users as they were", () => {
    writeAcl(server.dir, MONITOR);
    expect(loadJob().status).toBe(0);
    fs.appendFileSync(path.join(server.dir, "users.acl"), "user broken on +nosuchcommand\n");
    const refused = loadJob();
    expect(refused.status).not.toBe(0);
    expect(refused.stdout).toMatch(/^ACL LOAD: ERR /);
    expect(monitorCli(server.port, ["ping"])).toBe("PONG");
    expect(cli(server.port, ["ping"], PASSWORD)).toBe("PONG");
  });

  test("a wrong password or no server fails the job", () => {
    fs.writeFileSync(passwordFile, "wrong-password");
    const wrong = loadJob();
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/WRONGPASS|NOAUTH/);
    fs.writeFileSync(passwordFile, PASSWORD);
    const unreachable = spawnSync("sh", ["-c", redisAclLoadCommand(passwordFile, "127.0.0.1", 1)], {
      encoding: "utf8",
    });
    expect(unreachable.status).not.toBe(0);
    expect(unreachable.stdout).toMatch(/Could not connect|Connection refused/);
  });
});
