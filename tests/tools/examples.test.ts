/**
 * The reference services of examples/, started for real and called over HTTP: the runtime contract
 * the images and the Pulumi program rely on (health, metrics, secrets from files only, graceful
 * shutdown, JSON logs). node-service is installed with `npm ci` from its lock file and python-ai into
 * a venv from its pinned requirements, both from the public registries, as the image builds do.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ignorePatterns, REQUIRED_IGNORES } from "./dockerfile";
import { freePort } from "./freePort";
import {
  exitWithin,
  get,
  jsonLines,
  launch,
  ready,
  Service,
  splitRequest,
  stopAll,
} from "./service";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLES = path.join(ROOT, "examples");
const INSTALL_TIMEOUT_MS = 180000;

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Secret files with values distinctive enough that any leak into output is found. */
function secretFiles(names: string[]): { env: Record<string, string>; values: string[] } {
  const dir = tempDir("example-secrets-");
  const env: Record<string, string> = {};
  const values: string[] = [];
  for (const name of names) {
    const value = `${name.toLowerCase()}-${crypto.randomBytes(12).toString("hex")}`;
    const file = path.join(dir, name.toLowerCase());
    fs.writeFileSync(file, `${value}\n`, { mode: 0o400 });
    env[`${name}_FILE`] = file;
    values.push(value);
  }
  return { env, values };
}

// Only what a container would get: nothing of the caller's environment (which may hold tokens) leaks in.
const baseEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  LANG: "C.UTF-8",
  PYTHONDONTWRITEBYTECODE: "1",
});

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: INSTALL_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed in ${cwd} (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

function messages(text: string): string[] {
  return jsonLines(text).map((line) => String(line.msg));
}

afterAll(async () => {
  await stopAll();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe("build contexts", () => {
  test.each(["node-service", "web", "python-ai"])(
    "examples/%s keeps the required entries out of the legacy builder's context",
    (name) => {
      const text = fs.readFileSync(path.join(EXAMPLES, name, ".dockerignore"), "utf8");
      expect(ignorePatterns(text)).toEqual(expect.arrayContaining(REQUIRED_IGNORES));
    },
  );

  test.each(["node-service", "web"])(
    "examples/%s: main server.js, start and dev scripts, a lock file that matches",
    (name) => {
      const dir = path.join(EXAMPLES, name);
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
        main: string;
        private: boolean;
        scripts: Record<string, string>;
        dependencies?: Record<string, string>;
      };
      expect(pkg).toMatchObject({ main: "server.js", private: true });
      expect(pkg.scripts.start).toBe("node server.js");
      expect(pkg.scripts.dev).toBe("node --watch server.js");
      const lock = JSON.parse(fs.readFileSync(path.join(dir, "package-lock.json"), "utf8")) as {
        packages: Record<string, { dependencies?: Record<string, string> }>;
      };
      expect(lock.packages[""].dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    },
  );

  test("node-service has exactly one runtime dependency, prom-client at an exact version", () => {
    const pkg = JSON.parse(
      fs.readFileSync(path.join(EXAMPLES, "node-service", "package.json"), "utf8"),
    ) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toEqual(["prom-client"]);
    expect(pkg.dependencies["prom-client"]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("python-ai pins every requirement to an exact version", () => {
    const lines = fs
      .readFileSync(path.join(EXAMPLES, "python-ai", "requirements.txt"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const names = lines.map((l) => l.split("==")[0].toLowerCase());
    expect(names).toEqual(expect.arrayContaining(["fastapi", "uvicorn"]));
    for (const line of lines) expect(line).toMatch(/^[A-Za-z0-9_.-]+==\d+(\.\d+)*(\.post\d+)?$/);
  });
});

describe("node-service", () => {
  let appDir: string;

  beforeAll(() => {
    appDir = path.join(tempDir("example-node-service-"), "app");
    fs.cpSync(path.join(EXAMPLES, "node-service"), appDir, {
      recursive: true,
      filter: (src) => path.basename(src) !== "node_modules",
    });
    run("npm", ["ci", "--no-audit", "--no-fund"], appDir);
  }, INSTALL_TIMEOUT_MS);

  async function start(env: NodeJS.ProcessEnv): Promise<Service> {
    const port = await freePort();
    return launch("node", ["."], {
      cwd: appDir,
      env: { ...baseEnv(), ...env, PORT: String(port) },
      port,
    });
  }

  test("/health answers 200 JSON naming the loaded secrets, never their values", async () => {
    const secrets = secretFiles([
      "DATABASE_PASSWORD",
      "REDIS_PASSWORD",
      "JWT_SECRET",
      "SERVICE_KEY",
    ]);
    const service = await ready(
      await start({
        ...secrets.env,
        NODE_ENV: "production",
        DATABASE_HOST: "postgres",
        DATABASE_PORT: "5432",
        DATABASE_USER: "platform_admin",
        SUPABASE_URL: "http://supabase:8000",
      }),
    );
    const reply = await get(service.port, "/health");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toMatch(/^application\/json/);
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "ok",
      service: "api",
      secrets: ["DATABASE_PASSWORD", "JWT_SECRET", "REDIS_PASSWORD", "SERVICE_KEY"],
      config: {
        supabaseUrl: "http://supabase:8000/",
        database: {
          host: "postgres",
          port: 5432,
          user: "platform_admin",
          passwordConfigured: true,
        },
        redis: { passwordConfigured: true },
      },
    });
    service.proc.kill("SIGTERM");
    await exitWithin(service, 10000);
    for (const value of secrets.values) {
      expect(reply.body).not.toContain(value);
      expect(service.stdout()).not.toContain(value);
      expect(service.stderr()).not.toContain(value);
    }
  });

  test("SERVICE_NAME picks the service, and names it in /health and in every log line", async () => {
    const service = await ready(
      await start({ SERVICE_NAME: "provisioner", API_URL: "http://api:3000" }),
    );
    const body = JSON.parse((await get(service.port, "/health")).body) as Record<string, unknown>;
    expect(body).toMatchObject({ service: "provisioner", config: { apiUrl: "http://api:3000/" } });
    service.proc.kill("SIGTERM");
    await exitWithin(service, 10000);
    const lines = jsonLines(service.stdout());
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining(["time", "level", "service", "msg"]),
      );
      expect(line.service).toBe("provisioner");
    }
  });

  test("an unknown SERVICE_NAME is refused at start", async () => {
    const exit = await exitWithin(await start({ SERVICE_NAME: "../etc" }), 10000);
    expect(exit.code).toBe(1);
  });

  test("/metrics is Prometheus text with request counts by fixed route names", async () => {
    const service = await ready(await start({ NODE_ENV: "production" }));
    const count = (text: string, labels: string[]) =>
      text
        .split("\n")
        .filter((l) => l.startsWith("http_requests_total{") && labels.every((x) => l.includes(x)))
        .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
    const health200 = ['method="GET"', 'route="/health"', 'status="200"'];
    const unmatched404 = ['method="GET"', 'route="unmatched"', 'status="404"'];
    // A baseline, as the readiness probe's /health is counted too.
    const before = (await get(service.port, "/metrics")).body;
    for (let i = 0; i < 3; i++) expect((await get(service.port, "/health")).status).toBe(200);
    expect((await get(service.port, "/no/such/path-7f3a")).status).toBe(404);
    expect((await get(service.port, "/another-unknown-9c1d?x=1")).status).toBe(404);
    // Not served in production, so it counts as unmatched as well.
    expect((await get(service.port, "/debug/slow?ms=1")).status).toBe(404);
    const reply = await get(service.port, "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(count(reply.body, health200) - count(before, health200)).toBe(3);
    expect(count(reply.body, unmatched404) - count(before, unmatched404)).toBe(3);
    expect(reply.body).toContain("# TYPE http_requests_total counter");
    expect(reply.body).toContain("# TYPE http_request_duration_seconds histogram");
    expect(reply.body).toMatch(/^http_request_duration_seconds_bucket\{.*route="\/health"/m);
    expect(reply.body).toMatch(/^process_cpu_seconds_total/m);
    expect(reply.body).not.toMatch(/path-7f3a|another-unknown|debug\/slow/);
    service.proc.kill("SIGTERM");
    await exitWithin(service, 10000);
  });

  test("a missing or empty secret file stops the start: exit 1, naming the variable, not content", async () => {
    const good = secretFiles(["JWT_SECRET"]);
    const missing = path.join(tempDir("example-missing-"), "db-password");
    const first = await start({ ...good.env, DATABASE_PASSWORD_FILE: missing });
    expect((await exitWithin(first, 10000)).code).toBe(1);
    expect(first.stderr()).toContain("DATABASE_PASSWORD_FILE");
    expect(first.stderr()).toContain(missing);
    expect(first.stderr()).not.toContain(good.values[0]);

    const empty = path.join(tempDir("example-empty-"), "redis-password");
    fs.writeFileSync(empty, "\n");
    const second = await start({ REDIS_PASSWORD_FILE: empty });
    expect((await exitWithin(second, 10000)).code).toBe(1);
    expect(second.stderr()).toMatch(/REDIS_PASSWORD_FILE: .*empty/);
  });

  test("a credential in plain env is refused at start: exit 1, naming it, not its value", async () => {
    const service = await start({ DATABASE_PASSWORD: "plain-env-value-51c2" });
    expect((await exitWithin(service, 10000)).code).toBe(1);
    expect(service.stderr()).toContain("DATABASE_PASSWORD");
    expect(service.stderr()).toContain("DATABASE_PASSWORD_FILE");
    expect(`${service.stdout()}${service.stderr()}`).not.toContain("plain-env-value-51c2");
  });

  // /debug/slow exists only outside production (the image sets NODE_ENV=production): it is what holds
  // a request in flight across the signal.
  test("SIGTERM drains: /health 503, no new connections, the in-flight request completes, exit 0", async () => {
    const service = await ready(await start({ NODE_ENV: "development" }));
    const started = Date.now();
    const slow = get(service.port, "/debug/slow?ms=2000");
    const pending = splitRequest(service.port, "/health");
    await pending.opened;
    await new Promise((resolve) => setTimeout(resolve, 300));
    service.proc.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));

    const health = await pending.finish();
    expect(health).toMatch(/^HTTP\/1\.1 503 /);
    expect(health).toContain('"status":"shutting-down"');
    await expect(get(service.port, "/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });

    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: "done", ms: 2000 });
    expect(await exitWithin(service, 10000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(messages(service.stdout())).toEqual(
      expect.arrayContaining(["shutdown started", "shutdown complete"]),
    );
  });

  test("a request still open at SHUTDOWN_TIMEOUT_MS ends the process with exit 1", async () => {
    const service = await ready(
      await start({ NODE_ENV: "development", SHUTDOWN_TIMEOUT_MS: "300" }),
    );
    const slow = get(service.port, "/debug/slow?ms=20000").catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalled = Date.now();
    service.proc.kill("SIGTERM");
    expect(await exitWithin(service, 10000)).toEqual({ code: 1, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5000);
    await slow;
  });

  test("with LOG_DIR, the log lines also go to <service>-<hostname>.log; debug logs each request", async () => {
    const logDir = tempDir("example-logs-");
    const service = await ready(
      await start({ SERVICE_NAME: "db-manager", LOG_DIR: logDir, LOG_LEVEL: "debug" }),
    );
    await get(service.port, "/health");
    service.proc.kill("SIGTERM");
    expect((await exitWithin(service, 10000)).code).toBe(0);
    const file = path.join(logDir, `db-manager-${os.hostname()}.log`);
    expect(fs.readdirSync(logDir)).toEqual([path.basename(file)]);
    const lines = jsonLines(fs.readFileSync(file, "utf8"));
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["listening", "request", "shutdown started", "shutdown complete"]),
    );
    expect(lines.find((l) => l.msg === "request")).toMatchObject({
      level: "debug",
      service: "db-manager",
      route: "/health",
    });
    expect(fs.readFileSync(file, "utf8")).toBe(service.stdout());
  });

  test("at the default LOG_LEVEL (info), requests are not logged", async () => {
    const service = await ready(await start({}));
    await get(service.port, "/health");
    service.proc.kill("SIGTERM");
    await exitWithin(service, 10000);
    expect(messages(service.stdout())).not.toContain("request");
    expect(messages(service.stdout())).toContain("listening");
  });
});

describe("web", () => {
  const appDir = path.join(EXAMPLES, "web");

  async function start(env: NodeJS.ProcessEnv): Promise<Service> {
    const port = await freePort();
    return launch("node", ["server.js"], {
      cwd: appDir,
      env: { ...baseEnv(), HOSTNAME: "127.0.0.1", ...env, PORT: String(port) },
      port,
    });
  }

  test("/ shows NEXT_PUBLIC_API_URL (HTML-escaped) and /health answers 200; SIGTERM exits 0", async () => {
    const apiUrl = "https://vpn.example.test/api?v=1&x=<y>";
    const service = await ready(await start({ NEXT_PUBLIC_API_URL: apiUrl }));
    const page = await get(service.port, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("https://vpn.example.test/api?v=1&#38;x=&#60;y&#62;");
    expect(page.body).not.toContain("<y>");

    const health = await get(service.port, "/health");
    expect(health.status).toBe(200);
    expect(health.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(health.body)).toMatchObject({
      status: "ok",
      service: "web",
      config: { apiUrl },
    });
    expect((await get(service.port, "/nope")).status).toBe(404);

    service.proc.kill("SIGTERM");
    expect(await exitWithin(service, 10000)).toEqual({ code: 0, signal: null });
    expect(messages(service.stdout())).toEqual(
      expect.arrayContaining(["listening", "shutdown started", "shutdown complete"]),
    );
  });

  test("SIGTERM with a request arriving: /health answers 503 while draining, then exit 0", async () => {
    const service = await ready(await start({}));
    const pending = splitRequest(service.port, "/health");
    await pending.opened;
    await new Promise((resolve) => setTimeout(resolve, 200));
    service.proc.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const health = await pending.finish();
    expect(health).toMatch(/^HTTP\/1\.1 503 /);
    expect(health).toContain('"status":"shutting-down"');
    expect(await exitWithin(service, 10000)).toEqual({ code: 0, signal: null });
  });

  test("a missing secret file or a credential in plain env stops the start with exit 1", async () => {
    const missing = path.join(tempDir("example-missing-"), "token");
    const first = await start({ SESSION_SECRET_FILE: missing });
    expect((await exitWithin(first, 10000)).code).toBe(1);
    expect(first.stderr()).toContain("SESSION_SECRET_FILE");
    const second = await start({ API_TOKEN: "plain-token-88e1" });
    expect((await exitWithin(second, 10000)).code).toBe(1);
    expect(second.stderr()).toContain("API_TOKEN");
    expect(second.stderr()).not.toContain("plain-token-88e1");
  });
});

describe("python-ai", () => {
  const appDir = path.join(EXAMPLES, "python-ai");
  let python: string;

  // The venv is kept between runs, keyed by interpreter and requirements, so only a change installs.
  beforeAll(() => {
    const version = spawnSync("python3", ["--version"], { encoding: "utf8" });
    if (version.status !== 0) throw new Error("python3 is not on PATH");
    const requirements = fs.readFileSync(path.join(appDir, "requirements.txt"));
    const key = crypto
      .createHash("sha256")
      .update(version.stdout)
      .update(requirements)
      .digest("hex")
      .slice(0, 16);
    const venv = path.join(os.tmpdir(), `examples-python-ai-venv-${key}`);
    python = path.join(venv, "bin", "python");
    const marker = path.join(venv, ".installed");
    if (!fs.existsSync(marker)) {
      fs.rmSync(venv, { recursive: true, force: true });
      run("python3", ["-m", "venv", venv], ROOT);
      run(
        python,
        ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", "requirements.txt"],
        appDir,
      );
      fs.writeFileSync(marker, "");
    }
  }, INSTALL_TIMEOUT_MS);

  async function start(env: NodeJS.ProcessEnv): Promise<Service> {
    const port = await freePort();
    return launch(python, ["-m", "app"], {
      cwd: appDir,
      env: { ...baseEnv(), ...env, PORT: String(port) },
      port,
    });
  }

  test("/health answers 200 with OLLAMA_URL, API_URL and the secret names; SIGTERM exits 0", async () => {
    const secrets = secretFiles(["API_SERVICE_KEY"]);
    const service = await ready(
      await start({
        ...secrets.env,
        OLLAMA_URL: "http://ollama:11434",
        API_URL: "http://api:3000",
        // Set by the official python image; the public id of the release signing key.
        GPG_KEY: "7169605F62C751356D054A26A821E680E5FA6305",
      }),
    );
    const reply = await get(service.port, "/health");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toMatchObject({
      status: "ok",
      service: "python-ai",
      secrets: ["API_SERVICE_KEY"],
      config: { ollamaUrl: "http://ollama:11434", apiUrl: "http://api:3000", n8nUrl: null },
    });
    service.proc.kill("SIGTERM");
    expect(await exitWithin(service, 15000)).toEqual({ code: 0, signal: null });
    expect(messages(service.stdout())).toEqual(
      expect.arrayContaining(["shutdown started", "shutdown complete"]),
    );
    for (const line of jsonLines(service.stdout())) expect(line.service).toBe("python-ai");
    expect(`${reply.body}${service.stdout()}${service.stderr()}`).not.toContain(secrets.values[0]);
  });

  test("a missing secret file stops the start: exit 1, naming the variable and the path", async () => {
    const missing = path.join(tempDir("example-missing-"), "service-key");
    const service = await start({ API_SERVICE_KEY_FILE: missing });
    expect((await exitWithin(service, 15000)).code).toBe(1);
    expect(service.stderr()).toContain("API_SERVICE_KEY_FILE");
    expect(service.stderr()).toContain(missing);
  });

  test("a credential in plain env is refused at start: exit 1, naming it, not its value", async () => {
    const service = await start({ API_SERVICE_KEY: "plain-key-3b9f" });
    expect((await exitWithin(service, 15000)).code).toBe(1);
    expect(service.stderr()).toContain("API_SERVICE_KEY");
    expect(`${service.stdout()}${service.stderr()}`).not.toContain("plain-key-3b9f");
  });
});
