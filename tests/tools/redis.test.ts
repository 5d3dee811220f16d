/**
 * The rendered redis.conf and healthcheck, run by the real redis-server and redis-cli
 * (Debian's redis-server package; .ci/run installs it).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { redisHealthcheckCommand, renderRedisConf } from "../../render/redis";

// Quotes, a backslash, a space and a '#': what redis.conf quoting must survive.
const PASSWORD = 'pa ss"wo\\rd#1-long-enough';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function cli(port: number, args: string[], password?: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDISCLI_AUTH;
  if (password !== undefined) env.REDISCLI_AUTH = password;
  return execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

let dir: string;
let port: number;
let server: ChildProcess;

beforeAll(async () => {
  for (const tool of ["redis-server", "redis-cli"]) {
    if (spawnSync(tool, ["--version"]).status !== 0) {
      throw new Error(`${tool} is not installed: apt-get install redis-server (see README)`);
    }
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-conf-"));
  port = await freePort();
  const conf = path.join(dir, "redis.conf");
  fs.writeFileSync(conf, renderRedisConf({ port, password: PASSWORD, dataDir: dir }));
  // Only the listening address is overridden, so the test binds loopback alone.
  server = spawn("redis-server", [conf, "--bind", "127.0.0.1"], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"], {
      encoding: "utf8",
    });
    if (r.stdout.includes("NOAUTH") || r.stdout.includes("PONG")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("redis-server did not start with the rendered redis.conf");
});

afterAll(async () => {
  // Redis refuses to exit while its final save fails, so the directory goes only after it exits.
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  const timer = setTimeout(() => server.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a client without the password is refused", () => {
  expect(cli(port, ["ping"])).toContain("NOAUTH");
  expect(cli(port, ["set", "k", "v"])).toContain("NOAUTH");
});

test("the password from the secret works, quoting and all", () => {
  expect(cli(port, ["ping"], PASSWORD)).toBe("PONG");
  expect(cli(port, ["ping"], "wrong-password")).toMatch(/WRONGPASS|NOAUTH|invalid/i);
});

test("append-only persistence is on, in the data directory", () => {
  expect(cli(port, ["config", "get", "appendonly"], PASSWORD)).toBe("appendonly\nyes");
  expect(cli(port, ["config", "get", "dir"], PASSWORD)).toBe(`dir\n${fs.realpathSync(dir)}`);
});

test("the container healthcheck passes with the right password file and fails without", () => {
  const good = path.join(dir, "password");
  fs.writeFileSync(good, PASSWORD);
  expect(spawnSync("sh", ["-c", redisHealthcheckCommand(good, port)]).status).toBe(0);
  const bad = path.join(dir, "bad-password");
  fs.writeFileSync(bad, "not-the-password");
  expect(spawnSync("sh", ["-c", redisHealthcheckCommand(bad, port)]).status).not.toBe(0);
});

test("a password with a line break is refused before it can break the file", () => {
  expect(() =>
    renderRedisConf({ port: 1, password: "a\nrename-command x", dataDir: "/d" }),
  ).toThrow("line break");
});
