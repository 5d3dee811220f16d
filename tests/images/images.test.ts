/**
 * The Dockerfiles of docker/ built for real from a local Debian base, and the images run with the
 * hardening the Workload component applies (read-only root, /tmp tmpfs, every capability dropped,
 * no-new-privileges, secrets as 0400 files owned by 1001 under /run/secrets).
 *
 * Opt-in: it needs VPN_IMAGE_TESTS=1 and root. Without the variable every test is reported as
 * skipped, never as passed. With it, beforeAll runs tests/images/prepare.sh (idempotent): it
 * installs Debian's docker.io and debootstrap when missing, starts dockerd when no engine answers,
 * and builds vpn-test/debian:bookworm (debootstrap --variant=minbase + docker import) and
 * vpn-test/{node,python}-base:bookworm from it, since Docker Hub is out of reach. About 75 s the
 * first time, seconds afterwards.
 *
 *   VPN_IMAGE_TESTS=1 npm run test:images
 *
 * Builds use Debian's client (/usr/bin/docker, 20.10, override with VPN_DOCKER) with BuildKit, so
 * docker/<x>/Dockerfile.dockerignore applies. The built images (vpn-test/<x>:test, :dev) and the
 * bases are kept as the next run's cache; the containers, volumes and temp dirs are removed.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import { DOCKER, Run, docker, dockerOk, imageTestsSkipReason, run, sleep, tail } from "./docker";

const ROOT = path.resolve(__dirname, "..", "..");
const PREPARE = path.join(__dirname, "prepare.sh");
// Another docker/ tree (a deliberately broken copy, to see the assertions fail) may stand in.
const DOCKERFILES = process.env.VPN_IMAGE_DOCKERFILES ?? path.join(ROOT, "docker");
const UID = "1001";
const TMPFS = "/tmp:rw,noexec,nosuid,size=64m"; // the Workload's TMPFS_OPTIONS
const STOP_GRACE_SECONDS = 30; // the Workload's default stopGraceSeconds
const HEALTHY_WITHIN_MS = 90000; // start-period 10s + a few 10s intervals

const reason = imageTestsSkipReason("image tests");

/** Runs `script` in the image (no network, as the image's own user); it must print only "checked". */
function expectOnlyChecked(tag: string, script: string): void {
  const r = docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", tag, "-c", script]);
  expect(r.status).toBe(0);
  expect(r.out.trim().split("\n")).toEqual(["checked"]);
}

const timings: string[] = [];
const containers = new Set<string>();
const tempDirs = new Set<string>();

/** Bash script: every build tool found on PATH or in the usual dirs, one a line, then "checked". */
const BUILD_TOOLS = ["npm", "npx", "corepack", "yarn", "yarnpkg", "pip", "pip3"].concat([
  "gcc",
  "cc",
  "g++",
  "make",
  "git",
]);
const BUILD_TOOL_PATHS = [
  "/usr/local/lib/node_modules/npm",
  "/usr/local/lib/node_modules/corepack",
  "/usr/local/bin/npm",
  "/usr/local/bin/npx",
  "/usr/local/bin/corepack",
  "/usr/local/bin/yarn",
  "/usr/local/bin/yarnpkg",
  "/opt/yarn-*",
  "/usr/bin/npm",
  "/usr/bin/npx",
  "/usr/share/nodejs/npm",
  "/usr/local/lib/python3*/site-packages/pip",
  "/usr/local/bin/pip*",
  "/usr/bin/pip*",
  "/usr/lib/python3/dist-packages/pip",
  "/opt/venv/bin/pip*",
  "/opt/venv/lib/python3*/site-packages/pip",
];
const BUILD_TOOLS_SCRIPT = [
  `for t in ${BUILD_TOOLS.join(" ")}; do command -v "$t" >/dev/null 2>&1 && echo "on PATH: $t -> $(command -v "$t")"; done`,
  // Unmatched globs stay literal and fail -e.
  `for p in ${BUILD_TOOL_PATHS.join(" ")}; do [ -e "$p" ] && echo "present: $p"; done`,
  `if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then echo "python3 -m pip works"; fi`,
  "echo checked",
].join("\n");

interface ImageSpec {
  /** docker/<dir>/Dockerfile and examples/<dir>. */
  readonly dir: "node-service" | "web" | "python-ai";
  readonly base: string;
  readonly port: number;
  /** `service` in /health. */
  readonly service: string;
  readonly cmd: string[];
  readonly env: Readonly<Record<string, string>>;
  /** NAME -> value; the container gets NAME_FILE=/run/secrets/<name>. */
  readonly secrets: readonly string[];
  /** A file of the app that uid 1001 must not be able to write. */
  readonly appFile: string;
  /** Dirs (besides /app) whose content uid 1001 must not be able to write. */
  readonly readOnlyDirs: readonly string[];
  readonly logsDir?: string;
  readonly envContains: readonly string[];
}

const NODE_BASE = "vpn-test/node-base:bookworm";
const PYTHON_BASE = "vpn-test/python-base:bookworm";
const NODE_HEALTHCHECK = "node -e";

const SPECS: readonly ImageSpec[] = [
  {
    dir: "node-service",
    base: NODE_BASE,
    port: 3000,
    service: "api",
    cmd: ["node", "."],
    env: { SERVICE_NAME: "api", LOG_LEVEL: "debug", LOG_DIR: "/app/logs", DATABASE_HOST: "db" },
    secrets: ["DATABASE_PASSWORD", "REDIS_PASSWORD", "JWT_SECRET", "SERVICE_KEY"],
    appFile: "/app/package.json",
    readOnlyDirs: [],
    logsDir: "/app/logs",
    envContains: ["NODE_ENV=production", "PORT=3000"],
  },
  {
    dir: "web",
    base: NODE_BASE,
    port: 3001,
    service: "web",
    cmd: ["node", "server.js"],
    env: { NEXT_PUBLIC_API_URL: "http://api.example.test:3000", LOG_LEVEL: "debug" },
    secrets: [],
    appFile: "/app/server.js",
    readOnlyDirs: [],
    envContains: ["NODE_ENV=production", "PORT=3001", "HOSTNAME=0.0.0.0"],
  },
  {
    dir: "python-ai",
    base: PYTHON_BASE,
    port: 5001,
    service: "python-ai",
    cmd: ["python3", "-m", "app"],
    env: { OLLAMA_URL: "http://ollama:11434", API_URL: "http://api:3000", LOG_LEVEL: "debug" },
    secrets: ["API_SERVICE_KEY"],
    appFile: "/app/app/main.py",
    readOnlyDirs: ["/opt/venv"],
    envContains: ["PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PORT=5001"],
  },
];

interface Inspect {
  Id: string;
  Config: {
    User: string;
    Entrypoint: string[] | null;
    Cmd: string[] | null;
    WorkingDir: string;
    Env: string[];
    ExposedPorts: Record<string, unknown> | null;
    Healthcheck?: {
      Test: string[];
      Interval: number;
      Timeout: number;
      StartPeriod: number;
      Retries: number;
    };
  };
  Size?: number;
}

function inspectImage(tag: string): Inspect {
  return (JSON.parse(dockerOk(["image", "inspect", tag])) as Inspect[])[0];
}

interface Built {
  ok: boolean;
  output: string;
}

function build(tag: string, dir: string, base: string, target?: string): Built {
  const args = ["build", "--progress=plain", "--build-arg", `BASE_IMAGE=${base}`];
  if (target !== undefined) args.push("--target", target);
  args.push("-f", path.join(DOCKERFILES, dir, "Dockerfile"), "-t", tag);
  args.push(path.join(ROOT, "examples", dir));
  const before = docker(["image", "inspect", "-f", "{{.Id}}", tag]).out.trim();
  const r = docker(args, 900000);
  // The tag's previous image would stay behind untagged after every source change.
  if (r.status === 0 && before.startsWith("sha256:") && inspectImage(tag).Id !== before) {
    docker(["rmi", before]);
  }
  const size = r.status === 0 ? ` ${Math.round((inspectImage(tag).Size ?? 0) / 1e6)} MB` : "";
  timings.push(`docker build ${tag}: ${r.seconds.toFixed(1)} s (exit ${String(r.status)})${size}`);
  return {
    ok: r.status === 0,
    output: `$ DOCKER_BUILDKIT=1 ${DOCKER} ${args.join(" ")}\n-> exit ${String(r.status)}\n${tail(r.out, 80)}`,
  };
}

/** A temp dir of secret files as the Workload uploads them: 0400, owned by 1001. */
function secretsDir(names: readonly string[]): { dir: string; values: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-image-secrets-"));
  tempDirs.add(dir);
  fs.chmodSync(dir, 0o755);
  const values = names.map((name) => {
    const value = `${name.toLowerCase()}-${randomBytes(12).toString("hex")}`;
    const file = path.join(dir, name.toLowerCase());
    fs.writeFileSync(file, value);
    fs.chownSync(file, 1001, 1001);
    fs.chmodSync(file, 0o400);
    return value;
  });
  return { dir, values };
}

const HARDENING = [
  "--read-only",
  "--tmpfs",
  TMPFS,
  "--cap-drop",
  "ALL",
  "--security-opt",
  "no-new-privileges:true",
  "--stop-timeout",
  String(STOP_GRACE_SECONDS),
];

const envArgs = (env: Readonly<Record<string, string>>) =>
  Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
const secretEnv = (names: readonly string[]) =>
  Object.fromEntries(names.map((n) => [`${n}_FILE`, `/run/secrets/${n.toLowerCase()}`]));

function containerName(what: string): string {
  const name = `vpn-image-test-${what}-${process.pid.toString()}`;
  containers.add(name);
  docker(["rm", "-fv", name]);
  return name;
}

function removeContainer(name: string): void {
  docker(["rm", "-fv", name]);
  containers.delete(name);
}

const inspectField = (container: string, format: string) =>
  dockerOk(["inspect", "-f", format, container]);

async function waitHealthy(container: string): Promise<string> {
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  let last = "";
  while (Date.now() < deadline) {
    const running = inspectField(container, "{{.State.Running}}");
    last = inspectField(container, "{{if .State.Health}}{{.State.Health.Status}}{{end}}");
    if (last === "healthy" || last === "unhealthy" || running !== "true") break;
    await sleep(1000);
  }
  if (last !== "healthy") {
    const health = docker(["inspect", "-f", "{{json .State}}", container]).out;
    const logs = docker(["logs", "--tail", "40", container]).out;
    throw new Error(`${container} is "${last}", not healthy\nstate: ${health}\nlogs:\n${logs}`);
  }
  return last;
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, type: r.headers.get("content-type") ?? "", body: await r.text() };
}

async function waitHttp(url: string, withinMs: number): Promise<number> {
  const deadline = Date.now() + withinMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const r = await get(url);
      if (r.status === 200) return r.status;
      last = `HTTP ${r.status.toString()}`;
    } catch (e) {
      last = String(e);
    }
    await sleep(1000);
  }
  throw new Error(`${url} did not answer 200 within ${withinMs.toString()} ms: ${last}`);
}

const suite = reason === undefined ? describe : describe.skip;

suite("images built from a local Debian base", () => {
  const suiteStart = Date.now();

  beforeAll(() => {
    const r = run("bash", [PREPARE], 900000);
    process.stderr.write(`prepare.sh (${r.seconds.toFixed(1)} s):\n${r.out}\n`);
    if (r.status !== 0) throw new Error(`prepare.sh failed (${String(r.status)}):\n${tail(r.out)}`);
    timings.push(`prepare.sh: ${r.seconds.toFixed(1)} s`);
  }, 900000);

  afterAll(() => {
    for (const c of [...containers]) removeContainer(c);
    for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
    timings.push(`whole suite: ${((Date.now() - suiteStart) / 1000).toFixed(1)} s`);
    process.stderr.write(`image test timings:\n  ${timings.join("\n  ")}\n`);
  }, 120000);

  describe.each(SPECS)("$dir (runs as $service)", (spec) => {
    const tag = `vpn-test/${spec.dir}:test`;
    let built: Built = { ok: false, output: "not built" };
    let name = "";
    let ip = "";
    let secretValues: string[] = [];
    let startError = "";

    const requireBuilt = () => {
      if (!built.ok) throw new Error(`${tag} did not build: its "builds" test shows why`);
    };
    const requireRunning = () => {
      requireBuilt();
      if (startError !== "") throw new Error(startError);
    };

    beforeAll(() => {
      built = build(tag, spec.dir, spec.base);
      if (!built.ok) return;
      const secrets = secretsDir(spec.secrets);
      secretValues = secrets.values;
      name = containerName(spec.dir);
      const args = ["run", "-d", "--name", name, "--hostname", name, ...HARDENING];
      args.push("-v", `${secrets.dir}:/run/secrets:ro`);
      if (spec.logsDir !== undefined) args.push("-v", spec.logsDir);
      args.push(...envArgs({ ...spec.env, ...secretEnv(spec.secrets) }), tag);
      const r = docker(args);
      if (r.status !== 0) {
        startError = `docker ${args.join(" ")} -> ${String(r.status)}\n${tail(r.out)}`;
        return;
      }
      ip = inspectField(name, "{{.NetworkSettings.IPAddress}}");
    }, 900000);

    afterAll(() => {
      if (name !== "") removeContainer(name);
    }, 60000);

    test("builds (runtime target, BASE_IMAGE from the local Debian base)", () => {
      if (!built.ok) throw new Error(built.output);
    });

    test("image config: user 1001:1001, tini, WORKDIR /app, env, port, own HEALTHCHECK", () => {
      requireBuilt();
      const c = inspectImage(tag).Config;
      expect(c.User).toBe(`${UID}:${UID}`);
      expect(c.Entrypoint).toEqual(["/usr/bin/tini", "--"]);
      expect(c.Cmd).toEqual(spec.cmd);
      expect(c.WorkingDir).toBe("/app");
      expect(c.Env).toEqual(expect.arrayContaining([...spec.envContains]));
      expect(Object.keys(c.ExposedPorts ?? {})).toEqual([`${spec.port.toString()}/tcp`]);
      const hc = c.Healthcheck;
      expect(hc).toBeDefined();
      const test = (hc?.Test ?? []).join(" ");
      expect(test).not.toMatch(/\b(curl|wget)\b/);
      expect(test).toContain(spec.base === NODE_BASE ? NODE_HEALTHCHECK : "python3 -c");
      const s = 1e9;
      expect([hc?.Interval, hc?.Timeout, hc?.StartPeriod, hc?.Retries]).toEqual([
        10 * s,
        5 * s,
        10 * s,
        5,
      ]);
    });

    test("runs as uid 1001 under tini (PID 1)", () => {
      requireRunning();
      expect(dockerOk(["exec", name, "id", "-u"])).toBe(UID);
      expect(dockerOk(["exec", name, "id", "-g"])).toBe(UID);
      expect(inspectField(name, "{{.Config.User}}")).toBe(`${UID}:${UID}`);
      // Every process of the container (tini, the app, this exec): real, effective, saved and fs
      // uid and gid all 1001.
      const ids = dockerOk([
        "exec",
        name,
        "sh",
        "-c",
        "grep -s -h -E '^(Uid|Gid):' /proc/[0-9]*/status; true",
      ]);
      const lines = ids.split("\n");
      expect(lines.length).toBeGreaterThanOrEqual(6);
      for (const line of lines) expect(line.split(/\s+/).slice(1)).toEqual([UID, UID, UID, UID]);
      const cmdline = dockerOk(["exec", name, "cat", "/proc/1/cmdline"]).split("\0");
      expect(cmdline[0]).toBe("/usr/bin/tini");
      expect(cmdline.slice(1, 2 + spec.cmd.length).filter((a) => a !== "")).toEqual([
        "--",
        ...spec.cmd,
      ]);
    });

    test(
      "its own HEALTHCHECK turns healthy",
      async () => {
        requireRunning();
        expect(await waitHealthy(name)).toBe("healthy");
      },
      HEALTHY_WITHIN_MS + 30000,
    );

    test("answers GET /health from the host (names of secrets, never values)", async () => {
      requireRunning();
      const r = await get(`http://${ip}:${spec.port.toString()}/health`);
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^application\/json/);
      const body = JSON.parse(r.body) as { status: string; service: string; secrets?: string[] };
      expect(body.status).toBe("ok");
      expect(body.service).toBe(spec.service);
      if (spec.secrets.length > 0) {
        expect([...(body.secrets ?? [])].sort()).toEqual([...spec.secrets].sort());
      }
      for (const v of secretValues) expect(r.body).not.toContain(v);
    });

    if (spec.dir === "node-service") {
      test("serves /metrics with http_requests_total and writes its log to LOG_DIR", async () => {
        requireRunning();
        const r = await get(`http://${ip}:${spec.port.toString()}/metrics`);
        expect(r.status).toBe(200);
        expect(r.body).toMatch(/^http_requests_total\{[^}]*route="\/?health"[^}]*\} \d+/m);
        // Unknown paths share one label value: no cardinality explosion from raw URLs.
        const unknown = `/no-such-path-${randomBytes(6).toString("hex")}`;
        await get(`http://${ip}:${spec.port.toString()}${unknown}`);
        const after = (await get(`http://${ip}:${spec.port.toString()}/metrics`)).body;
        expect(after).toMatch(/^http_requests_total\{[^}]*route="unmatched"[^}]*\} \d+/m);
        expect(after).not.toContain(unknown);
        expect(r.body).toContain("http_request_duration_seconds_bucket");
        const log = dockerOk(["exec", name, "cat", `/app/logs/api-${name}.log`]);
        expect(log.split("\n")[0]).toMatch(/^\{.*"service":"api".*\}$/);
        for (const v of secretValues) expect(log).not.toContain(v);
      });
    }

    test("the root filesystem is read-only and /tmp is writable", () => {
      requireRunning();
      expect(docker(["exec", name, "sh", "-c", "echo x > /app/.probe"]).status).not.toBe(0);
      expect(docker(["exec", name, "sh", "-c", "echo x > /tmp/probe"]).status).toBe(0);
    });

    test("the image holds no build tools (npm, npx, corepack, yarn, pip, gcc, make, git...)", () => {
      requireBuilt();
      const r = docker(
        ["run", "--rm", "--network", "none", "--entrypoint", "sh", tag].concat([
          "-c",
          BUILD_TOOLS_SCRIPT,
        ]),
      );
      expect(r.status).toBe(0);
      expect(r.out.trim().split("\n")).toEqual(["checked"]);
    });

    test("the image holds none of what the ignore files exclude (VCS, env files, caches, logs)", () => {
      requireBuilt();
      const script = [
        "cd /app || exit 1",
        // Unmatched globs stay literal and fail -e.
        'for p in .git .env* tests Dockerfile* .dockerignore .venv; do [ -e "$p" ] && echo "present: /app/$p"; done',
        "find /app -path /app/node_modules -prune -o \\( -name __pycache__ -o -name '*.pyc' -o -name '*.log' -o -name '.*_cache' -o -name '.env*' \\) -print",
        '[ -d /app/logs ] && [ -n "$(ls -A /app/logs)" ] && echo "not empty: /app/logs"',
        "echo checked",
      ].join("\n");
      expectOnlyChecked(tag, script);
    });

    test("uid 1001 cannot write the app's files (checked without --read-only)", () => {
      requireBuilt();
      const dirs = ["/app", ...spec.readOnlyDirs].join(" ");
      const script = [
        `test -e ${spec.appFile} || echo "missing: ${spec.appFile}"`,
        `test -w ${spec.appFile} && echo "writable: ${spec.appFile}"`,
        // Everything uid 1001 may write under the app dirs, except the logs dir.
        `find ${dirs} -path /app/logs -prune -o -writable -print 2>/dev/null | head -n 20`,
        spec.logsDir !== undefined
          ? `test -w ${spec.logsDir} || echo "not writable: ${spec.logsDir}"`
          : "",
        "echo checked",
      ].join("\n");
      expectOnlyChecked(tag, script);
    });

    /** Runs the image with extra env; it must exit by itself within 30 s. */
    const startOnce = (env: Record<string, string>): Run => {
      const once = containerName(`${spec.dir}-once`);
      try {
        return docker(
          ["run", "--name", once, "--network", "none", ...HARDENING, ...envArgs(env), tag],
          30000,
        );
      } finally {
        removeContainer(once);
      }
    };

    test("refuses to start with a credential in plain env, or a configured secret file missing", () => {
      requireBuilt();
      const plain = startOnce({ VPN_TEST_TOKEN: "plain-value" });
      expect({ status: plain.status, out: plain.out }).toEqual({
        status: 1,
        out: expect.stringContaining("VPN_TEST_TOKEN") as unknown,
      });
      expect(plain.out).not.toContain("plain-value");
      if (spec.secrets.length === 0) return;
      const variable = `${spec.secrets[0]}_FILE`;
      const missing = startOnce({ [variable]: "/run/secrets/absent" });
      expect(missing.status).toBe(1);
      expect(missing.out).toContain(variable);
      expect(missing.out).toContain("/run/secrets/absent");
    }, 90000);

    test(
      "docker stop (SIGTERM) ends it with exit code 0 within the grace period",
      () => {
        requireRunning();
        const r = docker(["stop", name], (STOP_GRACE_SECONDS + 30) * 1000);
        expect(r.status).toBe(0);
        expect(r.seconds).toBeLessThan(STOP_GRACE_SECONDS);
        expect(inspectField(name, "{{.State.ExitCode}} {{.State.OOMKilled}}")).toBe("0 false");
        timings.push(`docker stop ${spec.dir}: ${r.seconds.toFixed(1)} s`);
      },
      (STOP_GRACE_SECONDS + 40) * 1000,
    );
  });

  describe("node-service dev target", () => {
    const tag = "vpn-test/node-service:dev";
    let built: Built = { ok: false, output: "not built" };

    beforeAll(() => {
      built = build(tag, "node-service", NODE_BASE, "dev");
    }, 900000);

    test("builds, runs as 1001 under tini, and serves /health from a bind-mounted source", async () => {
      if (!built.ok) throw new Error(built.output);
      const c = inspectImage(tag).Config;
      expect(c.User).toBe(`${UID}:${UID}`);
      expect(c.Entrypoint).toEqual(["/usr/bin/tini", "--"]);
      // As the dev stack runs it: the source bind-mounted at /app, an anonymous volume keeping the
      // image's node_modules. A copy of the source, so that Docker's mount point for node_modules
      // is not created in examples/.
      const src = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-image-dev-src-"));
      tempDirs.add(src);
      fs.cpSync(path.join(ROOT, "examples", "node-service"), src, {
        recursive: true,
        filter: (p) => !p.includes(`${path.sep}node_modules`),
      });
      fs.chmodSync(src, 0o755);
      const name = containerName("node-service-dev");
      dockerOk(
        [
          "run",
          "-d",
          "--name",
          name,
          ...HARDENING,
          "-v",
          `${src}:/app`,
          "-v",
          "/app/node_modules",
        ].concat(["-e", "SERVICE_NAME=api", tag, "node", "--watch", "--inspect=0.0.0.0:9229", "."]),
      );
      try {
        const ip = inspectField(name, "{{.NetworkSettings.IPAddress}}");
        expect(await waitHttp(`http://${ip}:3000/health`, 60000)).toBe(200);
        expect(dockerOk(["exec", name, "id", "-u"])).toBe(UID);
        expect(dockerOk(["exec", name, "cat", "/proc/1/cmdline"]).split("\0")[0]).toBe(
          "/usr/bin/tini",
        );
      } catch (e) {
        throw new Error(`${String(e)}\nlogs:\n${docker(["logs", "--tail", "40", name]).out}`);
      } finally {
        removeContainer(name);
      }
    }, 120000);
  });
});
