/** The app tier under mocks, for each stack file: wiring, rollout order, dev mode, disabling. */
import { CATALOG, CatalogEntry, SERVICE_NAMES } from "../../config/catalog";
import { PLATFORM_ENV } from "../../config/appSchema";
import { N8N_SETTINGS_SCRIPT } from "../../render/n8nSettings";
import { hostName } from "../../components/workload";
import { PROJECT, ROOT, STACKS, StackName, cliConfig } from "../stackFiles";
import * as path from "path";
import {
  ProgramRun,
  RecordedResource,
  envOf,
  labelsOf,
  reveal,
  runEachStack,
  runInChild,
  runProgram,
  runWithServices,
  runningContainers,
  servicesWith,
  uploadsOf,
} from "./harness";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/image:Image";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

type Obj = Record<string, unknown>;
const run = runEachStack(STACKS, cliConfig);

/**
 * The app tier alone (fixtures/appServices.ts) with `change` merged into a stack's services: for
 * what varies one app service, without running the whole stack again.
 */
async function runAppServices(
  stack: StackName,
  change: Readonly<Record<string, unknown>>,
): Promise<ProgramRun> {
  const r = await runProgram(servicesWith(stack, change), stack, {
    program: "./fixtures/appServices",
  });
  if (r.error) throw r.error;
  return r;
}
const containers = runningContainers;
const serviceOf = (c: RecordedResource) =>
  labelsOf(c)["vpn-enterprise.service"] as string | undefined;
const ofService = (r: ProgramRun, service: string) =>
  containers(r).filter((c) => serviceOf(c) === service);
const one = (r: ProgramRun, service: string) => {
  const found = ofService(r, service);
  expect(found).toHaveLength(1);
  return found[0];
};
const networksOf = (c: RecordedResource) =>
  (c.inputs.networksAdvanced as { name: string; aliases: string[] }[]).map((n) => n.name);

describe.each(STACKS)("the %s stack's app tier", (stack) => {
  const publicUrl = stack === "dev" ? "http://localhost" : "https://vpn.example.com";

  test("every host name in an app's env is the alias of a service on a network it shares", () => {
    const r = run(stack);
    const byAlias = new Map<string, RecordedResource>();
    for (const c of containers(r)) {
      for (const n of c.inputs.networksAdvanced as { aliases: string[] }[]) {
        for (const a of n.aliases) byAlias.set(a, c);
      }
    }
    let checked = 0;
    for (const c of containers(r)) {
      for (const [key, value] of Object.entries(envOf(c))) {
        const host = value.startsWith("http://")
          ? new URL(value).hostname
          : key.endsWith("_HOST")
            ? value.split(":")[0]
            : undefined;
        // The public domain is the edge's, not an alias (N8N_HOST, WEBHOOK_URL, ...).
        if (host === undefined || host === "0.0.0.0" || host === new URL(publicUrl).hostname) {
          continue;
        }
        const target = byAlias.get(host);
        expect({ key, host, found: target !== undefined }).toEqual({ key, host, found: true });
        const shared = networksOf(c).filter((n) => target && networksOf(target).includes(n));
        expect({ key, shared: shared.length > 0 }).toEqual({ key, shared: true });
        if (key.endsWith("_URL")) {
          const port = Number(new URL(value).port);
          expect([key, port]).toEqual([key, portOfAlias(host)]);
        }
        checked++;
      }
    }
    // API (postgres, redis), python-ai (3 URLs), db-manager, provisioner (postgres, api), ...
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  test("every variable the platform sets is one a stack's env may not (PLATFORM_ENV)", () => {
    const r = run(stack);
    const yaml = JSON.parse(cliConfig(stack)[`${PROJECT}:services`]) as Record<string, Obj>;
    let checked = 0;
    for (const service of Object.keys(PLATFORM_ENV) as (keyof typeof PLATFORM_ENV)[]) {
      const own = Object.keys((yaml[service] as Obj | undefined)?.env ?? {});
      const reserved: readonly string[] = PLATFORM_ENV[service];
      for (const c of ofService(r, hostName(service))) {
        for (const key of Object.keys(envOf(c)).filter((k) => !own.includes(k))) {
          expect([service, key, reserved.includes(key)]).toEqual([service, key, true]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  test("the API: the guide's env, the app role, passwords as files, limits 1 cpu / 512 MB", () => {
    const r = run(stack);
    for (const c of ofService(r, "api")) {
      const env = envOf(c);
      expect(env).toMatchObject({
        NODE_ENV: stack === "dev" ? "development" : "production",
        PORT: "3000",
        DATABASE_HOST: "postgres",
        DATABASE_PORT: "5432",
        DATABASE_NAME: "vpn_enterprise",
        DATABASE_USER: "vpn_app",
        REDIS_HOST: "redis",
        REDIS_PORT: "6379",
        DATABASE_PASSWORD_FILE: "/run/secrets/database_password",
        REDIS_PASSWORD_FILE: "/run/secrets/redis_password",
        JWT_SECRET_FILE: "/run/secrets/jwt_secret",
        SERVICE_KEY_FILE: "/run/secrets/service_key",
        PUBLIC_URL: publicUrl,
        LOG_DIR: "/app/logs",
      });
      const files = uploadsOf(r, c).map((u) => [u.file, u.permissions]);
      expect(files).toEqual(
        expect.arrayContaining(
          ["database_password", "redis_password", "jwt_secret", "service_key"].map((f) => [
            `/run/secrets/${f}`,
            "0400",
          ]),
        ),
      );
      expect([c.inputs.cpus, c.inputs.memory]).toEqual(["1.0", 512]);
      expect(networksOf(c)).toEqual(["vpn-networks-app-id", "vpn-networks-data-id"]);
      // The guide's api-logs volume, written by every replica (each to its own file).
      expect(c.inputs.volumes).toEqual(
        expect.arrayContaining([
          { volumeName: `vpn-enterprise-${stack}-api-logs`, containerPath: "/app/logs" },
        ]),
      );
    }
    // Its top directory is handed to the API's user first: in dev mode the bind-mounted source
    // hides the image's /app/logs, and a new volume there is root's.
    const carrier = r.resources.find((x) => x.name === "vpn-api-server-files");
    expect(carrier?.inputs.command).toEqual(expect.arrayContaining(["1001:1001", "/app/logs"]));
    const uploads = reveal(uploadsOf(r, one(r, "web")));
    expect(uploads).toEqual([]);
  });

  test("replicas from config, with stable names and one alias, each waiting for the one before", () => {
    const r = run(stack);
    const replicas = stack === "prod" ? 3 : 1;
    const api = ofService(r, "api");
    expect(api.map((c) => c.inputs.name)).toEqual(
      Array.from({ length: replicas }, (_, i) => `vpn-enterprise-${stack}-api-${i + 1}`),
    );
    // Registration order is rollout order: the SDK registers replica n+1 only once replica n
    // exists (healthy, `wait: true`), and a replacement follows the same chain.
    const order = r.resources.map((x) => x.name);
    api.forEach((c, i) => {
      expect(c.inputs.wait).toBe(true);
      expect(c.deleteBeforeReplace).toBe(true);
      const deps = c.dependencies.filter((u) => u.includes(`${CONTAINER}::vpn-api-server-`));
      if (i === 0) {
        // The first replica waits for its files' carrier only (tests/program/workload.test.ts).
        expect(deps).toEqual([expect.stringMatching(/::vpn-api-server-files$/)]);
      } else {
        expect(deps).toEqual([expect.stringMatching(new RegExp(`::vpn-api-server-${i}$`))]);
        expect(order.indexOf(c.name)).toBeGreaterThan(order.indexOf(api[i - 1].name));
      }
      for (const n of c.inputs.networksAdvanced as { aliases: string[] }[]) {
        expect(n.aliases).toEqual(["api"]);
      }
    });
  });

  test("the API's first replica waits for the data tier: servers healthy, migrations applied", () => {
    const deps = ofService(run(stack), "api")[0].dependencies;
    for (const name of ["vpn-postgres-server-1", "vpn-postgres-migrate-1", "vpn-redis-server-1"]) {
      expect(deps).toContainEqual(expect.stringMatching(new RegExp(`::${name}$`)));
    }
  });

  test("web: the public API URL, the app network only, no secret", () => {
    const web = one(run(stack), "web");
    expect(envOf(web)).toMatchObject({
      PORT: "3001",
      HOSTNAME: "0.0.0.0",
      NEXT_PUBLIC_API_URL: `${publicUrl}/api`,
    });
    expect(networksOf(web)).toEqual(["vpn-networks-app-id"]);
  });

  test("python-ai: Ollama, the API and n8n by alias; its API key as a file", () => {
    const ai = one(run(stack), "python-ai");
    expect(envOf(ai)).toMatchObject({
      PORT: "5001",
      OLLAMA_URL: "http://ollama:11434",
      API_URL: "http://api:3000",
      N8N_URL: "http://n8n:5678",
      API_SERVICE_KEY_FILE: "/run/secrets/api_service_key",
    });
    expect(ai.inputs.healthcheck).toMatchObject({
      tests: ["CMD", "python3", "-c", expect.stringContaining("127.0.0.1:5001/health") as unknown],
    });
  });

  test("Ollama: models volume handed over by a chown job, server non-root, 2 cpus / 4 GB", () => {
    const r = run(stack);
    const owner = one(r, "ollama-volume-owner");
    const server = one(r, "ollama");
    expect(owner.inputs).toMatchObject({
      attach: true,
      user: "0:0",
      entrypoints: ["chown"],
      command: ["1001:1001", "/var/lib/ollama"],
    });
    expect(server.dependencies).toContainEqual(
      expect.stringMatching(/::vpn-ollama-volume-owner-1$/),
    );
    expect(server.inputs).toMatchObject({ user: "1001:1001", cpus: "2.0", memory: 4096 });
    expect(envOf(server)).toMatchObject({
      OLLAMA_HOST: "0.0.0.0:11434",
      OLLAMA_MODELS: "/var/lib/ollama/models",
    });
    expect(server.inputs.volumes).toContainEqual({
      volumeName: `vpn-enterprise-${stack}-ollama-data`,
      containerPath: "/var/lib/ollama",
    });
    expect(server.inputs.deviceRequests).toBeUndefined();
    const pull = ofService(r, "ollama-pull-models");
    if (stack === "prod") {
      expect(pull[0].inputs.command).toEqual(["llama3.2:3b"]);
      expect(pull[0].dependencies).toContainEqual(expect.stringMatching(/::vpn-ollama-server-1$/));
    } else {
      expect(pull).toEqual([]);
    }
  });

  test("n8n: served under /admin/n8n/, webhook URL from the domain, its editor's cache on a tmpfs", () => {
    const n8n = one(run(stack), "n8n");
    expect(envOf(n8n)).toMatchObject({
      N8N_PATH: "/admin/n8n/",
      WEBHOOK_URL: `${publicUrl}/admin/n8n/`,
      N8N_PROTOCOL: stack === "dev" ? "http" : "https",
      N8N_SECURE_COOKIE: stack === "dev" ? "false" : "true",
    });
    expect(n8n.inputs.user).toBe("1000:1000");
    expect(n8n.inputs.readOnly).toBe(true);
    expect(n8n.inputs.volumes).toContainEqual({
      volumeName: `vpn-enterprise-${stack}-n8n-data`,
      containerPath: "/home/node/.n8n",
    });
    expect((n8n.inputs.tmpfs as Record<string, string>)["/home/node/.cache"]).toContain("size=96m");
  });

  test("n8n's key: in no env and no file of the server; a job writes it into n8n's settings file first", () => {
    const r = run(stack);
    const n8n = one(r, "n8n");
    expect(Object.keys(envOf(n8n)).filter((k) => k.includes("ENCRYPTION"))).toEqual([]);
    expect(JSON.stringify(uploadsOf(r, n8n))).not.toContain("n8n_encryption_key");
    const [job] = ofService(r, "n8n-settings");
    expect(job.inputs.user).toBe("1000:1000");
    expect(job.inputs.entrypoints).toEqual(["node", "-e", N8N_SETTINGS_SCRIPT]);
    // The job's own file, so the server's lack of it above is a real difference.
    expect(uploadsOf(r, job).map((u) => [u.file, u.permissions])).toContainEqual([
      "/run/secrets/n8n_encryption_key",
      "0400",
    ]);
    expect(envOf(job)).toEqual({
      N8N_SETTINGS_FILE: "/home/node/.n8n/config",
      N8N_KEY_FILE: "/run/secrets/n8n_encryption_key",
      N8N_VOLUME: `vpn-enterprise-${stack}-n8n-data`,
      N8N_IMAGE: "n8nio/n8n:1.72.1",
    });
    expect(job.inputs.volumes).toContainEqual({
      volumeName: `vpn-enterprise-${stack}-n8n-data`,
      containerPath: "/home/node/.n8n",
    });
    expect(n8n.dependencies).toContainEqual(expect.stringMatching(new RegExp(`::${job.name}$`)));
  });

  test("db-manager on the data network as the admin role; provisioner after the API", () => {
    const r = run(stack);
    const dbm = one(r, "db-manager");
    expect(networksOf(dbm)).toEqual(["vpn-networks-data-id"]);
    expect(envOf(dbm)).toMatchObject({ DATABASE_USER: "vpn_admin", PORT: "3002" });
    const prov = one(r, "provisioner");
    expect(envOf(prov)).toMatchObject({
      DATABASE_USER: "vpn_app",
      API_URL: "http://api:3000",
      SERVICE_KEY_FILE: "/run/secrets/service_key",
    });
    const apiReplicas = ofService(r, "api");
    expect(apiReplicas.length).toBeGreaterThan(0);
    for (const api of apiReplicas) {
      expect(prov.dependencies).toContainEqual(expect.stringMatching(new RegExp(`::${api.name}$`)));
    }
  });

  test("the app images are built from docker/ with the reference services as context", () => {
    const builds = run(stack).resources.filter((x) => x.type === IMAGE);
    const byName: Record<string, unknown> = Object.fromEntries(
      builds.map((b) => [b.inputs.imageName as string, b.inputs.build]),
    );
    const p = `vpn-enterprise-${stack}`;
    const target = stack === "dev" ? "dev" : undefined;
    expect(byName[`${p}-api:local`]).toEqual({
      context: "examples/node-service",
      dockerfile: "docker/node-service/Dockerfile",
      ...(target && { target }),
    });
    expect(byName[`${p}-web:local`]).toMatchObject({ dockerfile: "docker/web/Dockerfile" });
    expect(byName[`${p}-python-ai:local`]).toEqual({
      context: "examples/python-ai",
      dockerfile: "docker/python-ai/Dockerfile",
    });
  });
});

describe.each(STACKS)("the %s stack's app tier alone (fixtures/appServices.ts)", (stack) => {
  test("records what the whole stack records for the tier: same names, inputs and options", async () => {
    const alone = await runAppServices(stack, {});
    const whole = run(stack);
    const names = new Set(alone.resources.map((x) => x.name));
    const ofTier = whole.resources.filter((x) => labelsOf(x)["vpn-enterprise.tier"] === "app");
    expect(ofTier.length).toBeGreaterThan(10);
    expect(ofTier.map((x) => x.name).filter((n) => !names.has(n))).toEqual([]);
    // What reaches the tier from outside it is the data tier's ready: the API's, the database
    // manager's and the provisioner's gate. Dependencies on what the fixture does not make aside,
    // every resource it records is the whole stack's.
    const own = (x: RecordedResource) => ({
      ...x,
      dependencies: x.dependencies.filter((u) => names.has(u.slice(u.lastIndexOf("::") + 2))),
    });
    const byName = new Map(whole.resources.map((x) => [x.name, x]));
    for (const x of alone.resources) {
      const y = byName.get(x.name);
      expect([x.name, own(x)]).toEqual([x.name, y && own(y)]);
    }
  });
});

describe("development mode comes from the yaml, never from the stack name", () => {
  test("dev: source bind-mounted, the watcher with the inspector, debug port on loopback only", () => {
    const api = ofService(run("dev"), "api")[0];
    expect(api.inputs.command).toEqual(["node", "--inspect=0.0.0.0:9229", "--watch", "."]);
    expect(api.inputs.volumes).toEqual(
      expect.arrayContaining([
        { hostPath: `${ROOT}/examples/node-service`, containerPath: "/app" },
        { containerPath: "/app/node_modules" },
      ]),
    );
    expect(api.inputs.ports).toContainEqual({
      internal: 9229,
      external: 9229,
      ip: "127.0.0.1",
      protocol: "tcp",
    });
    expect(envOf(api).LOG_LEVEL).toBe("debug");
    const web = ofService(run("dev"), "web")[0];
    expect(web.inputs.command).toEqual(["node", "--watch", "server.js"]);
  });

  test("prod: production images, no bind mount, no command override, no debug port", () => {
    for (const service of ["api", "web"]) {
      for (const c of ofService(run("prod"), service)) {
        expect(c.inputs.command).toBeUndefined();
        expect((c.inputs.volumes as Obj[]).some((v) => "hostPath" in v)).toBe(false);
        expect(c.inputs.ports).toEqual([]);
        expect(envOf(c).NODE_ENV).toBe("production");
      }
    }
  });

  test("the prod stack's yaml with devMode added runs in dev mode (the stack name plays no part)", async () => {
    const r = await runWithServices("prod", {
      api: { replicas: 1, devMode: { source: "examples/node-service" } },
    });
    const api = ofService(r, "api")[0];
    expect(envOf(api).NODE_ENV).toBe("development");
    expect(api.inputs.command).toEqual(["node", "--watch", "."]);
  });

  test("a custom hot-reload command (a Next.js app's) is run as given", async () => {
    const r = await runAppServices("dev", {
      web: { devMode: { source: "examples/web", command: ["npx", "next", "dev", "-p", "3001"] } },
    });
    expect(ofService(r, "web")[0].inputs.command).toEqual(["npx", "next", "dev", "-p", "3001"]);
  });
});

describe("disabling an app service", () => {
  const appServices = ["web", "pythonAi", "ollama", "n8n", "dbManager", "provisioner"] as const;

  test.each(appServices)(
    "%s: its containers and image go, every other container is unchanged",
    async (service) => {
      const full = run("prod");
      const r = await runWithServices("prod", { [service]: { enabled: false } });
      const gone = (x: RecordedResource) =>
        serviceOf(x)?.startsWith(hostName(service)) === true ||
        x.name.startsWith(`vpn-${hostName(service)}-`);
      expect(r.resources.filter(gone).filter((x) => x.type === CONTAINER)).toEqual([]);
      expect(r.resources.some((x) => x.name === `vpn-${hostName(service)}`)).toBe(false);
      // python-ai loses a URL; the edge's config loses a route (tests/program/edge.test.ts), and
      // its secrets the n8n editor login; the smoke check loses the route's checks.
      const callers = new Set(["python-ai", "nginx-config", "nginx-secrets", "nginx-smoke"]);
      for (const c of containers(full).filter((x) => !gone(x))) {
        const after = containers(r).find((x) => x.name === c.name);
        expect(after).toBeDefined();
        if (!callers.has(serviceOf(c) ?? "")) expect(after?.inputs).toEqual(c.inputs);
      }
      expect(Object.keys(r.outputs.services.value as Obj)).not.toContain(service);
    },
  );

  test("the API with the provisioner: both go, and the web dashboard stays", async () => {
    const r = await runWithServices("prod", {
      api: { enabled: false },
      provisioner: { enabled: false },
    });
    expect(ofService(r, "api")).toEqual([]);
    expect(ofService(r, "web")).toHaveLength(1);
    expect(envOf(one(r, "python-ai")).API_URL).toBeUndefined();
  });
});

test("a GPU in config becomes an NVIDIA device request for the Ollama server only", async () => {
  const r = await runAppServices("prod", { ollama: { models: [], gpu: "all" } });
  expect(one(r, "ollama").inputs.deviceRequests).toEqual([
    { driver: "nvidia", count: -1, capabilities: ["gpu"] },
  ]);
  const others = containers(r).filter((c) => serviceOf(c) !== "ollama");
  for (const c of others) expect(c.inputs.deviceRequests).toBeUndefined();
  const two = await runAppServices("prod", { ollama: { gpu: 2 } });
  expect(one(two, "ollama").inputs.deviceRequests).toEqual([
    { driver: "nvidia", count: 2, capabilities: ["gpu"] },
  ]);
});

test("a failed model pull fails the deploy with the job's output", async () => {
  const out = await runInChild(
    path.join(ROOT, "index.ts"),
    "prod",
    cliConfig("prod"),
    { exitCode: 1, logs: "pulling manifest\nError: pull model manifest: file does not exist\n" },
    "-ollama-pull-models-1",
  );
  const error = out.errors.find((e) => e.name === "JobError");
  expect(error?.message).toContain("Pulling the Ollama models failed");
  expect(error?.message).toContain("Error: pull model manifest: file does not exist");
  // The pull ran after the server; nothing else failed.
  expect(out.containers).toContain("vpn-enterprise-prod-ollama-1");
  expect(out.errors.every((e) => e.message.includes("Pulling the Ollama models"))).toBe(true);
});

describe("images from config", () => {
  test("a prebuilt image reference is pulled, not built", async () => {
    const r = await runAppServices("prod", { web: { image: { ref: "ghcr.io/acme/web:1.4.2" } } });
    expect(r.resources.find((x) => x.name === "vpn-web-server-image")).toMatchObject({
      type: REMOTE_IMAGE,
      inputs: { name: "ghcr.io/acme/web:1.4.2", keepLocally: true },
    });
    expect(one(r, "web").inputs.image).toBe("sha256:mock-ghcr.io/acme/web:1.4.2");
  });

  test("a git URL is built by the engine from that ref, with nothing of the project sent", async () => {
    const url = "https://github.com/acme/vpn-enterprise.git#v2.3.0:apps/api";
    const r = await runAppServices("prod", {
      api: { image: { build: { context: url, args: { BASE_IMAGE: "mirror.local/node:20" } } } },
    });
    expect(r.resources.find((x) => x.name === "vpn-api-server-image")).toMatchObject({
      type: REMOTE_IMAGE,
      inputs: {
        name: "vpn-enterprise-prod-api:local",
        build: {
          context: "docker/remote-context",
          remoteContext: url,
          dockerfile: "Dockerfile",
          buildArgs: { BASE_IMAGE: "mirror.local/node:20" },
        },
      },
    });
  });
});

function portOfAlias(alias: string): number | undefined {
  const name = SERVICE_NAMES.find((n) => hostName(n) === alias);
  return name && (CATALOG[name] as CatalogEntry).port;
}
