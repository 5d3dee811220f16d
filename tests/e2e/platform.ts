/**
 * The real-engine suite for one stack shape: a fresh `up` of the whole platform with the real
 * Pulumi CLI, the policy pack and the local Docker engine, then what only a real engine shows:
 * health, routes through the edge, a second preview and a refresh that find nothing, the outputs
 * against the engine, a one-service change, a failing migration, and `destroy`. The tests run in
 * order on one stack; each says what it needs of the ones before.
 */
import { spawnSync } from "child_process";
import { createDecipheriv, createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { docker, dockerOk, tail } from "../images/docker";
import {
  CliRun,
  E2eStack,
  Inspected,
  containersOf,
  labelOf,
  nameOf,
  objectsOf,
  removeLeftovers,
  requirements,
  timings,
} from "./harness";
import { Shape, StackPlan, copyDevSources, copyMigrations, stackPlan } from "./stacks";
import { ROOT } from "../stackFiles";

type Obj = Record<string, unknown>;

/** A failed CLI run as an error with what the CLI said. */
function ok(r: CliRun, what: string): CliRun {
  if (r.status !== 0) {
    throw new Error(`${what} exited ${String(r.status)}:\n${tail(r.stdout + r.stderr, 80)}`);
  }
  return r;
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The certificate served (https only). */
  readonly certificate?: { readonly subject: string; readonly validTo: string };
}

/** A request to the edge on this machine's loopback, for the stack's domain (Host and SNI). */
function request(
  scheme: "http" | "https",
  port: number,
  domain: string,
  urlPath: string,
  login?: { readonly user: string; readonly password: string },
  extra: {
    readonly method?: string;
    readonly body?: unknown;
    readonly headers?: Readonly<Record<string, string>>;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = extra.body === undefined ? undefined : JSON.stringify(extra.body);
    const headers: Record<string, string> = {
      Host: domain,
      ...extra.headers,
      ...(body !== undefined && { "Content-Type": "application/json" }),
    };
    if (login) {
      headers.Authorization = `Basic ${Buffer.from(`${login.user}:${login.password}`).toString("base64")}`;
    }
    // A connection of its own: a kept-alive one from an earlier test may have been closed by nginx
    // since ("socket hang up").
    const options = {
      host: "127.0.0.1",
      port,
      path: urlPath,
      method: extra.method ?? "GET",
      headers,
      timeout: 15000,
      agent: false,
    };
    const onResponse = (res: http.IncomingMessage) => {
      // Read while the socket is the response's (it is gone by the end).
      const socket = res.socket as unknown as { getPeerCertificate?: () => Obj } | null;
      const cert = socket?.getPeerCertificate?.();
      const certificate =
        cert && typeof cert.valid_to === "string"
          ? {
              subject: String((cert.subject as Obj | undefined)?.CN),
              validTo: cert.valid_to,
            }
          : undefined;
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, certificate });
      });
    };
    // The edge's certificate is checked by the smoke check inside the platform, against the CA
    // the program generated; here the test reads what is served and compares it with the outputs.
    const req =
      scheme === "https"
        ? https.request({ ...options, servername: domain, rejectUnauthorized: false }, onResponse)
        : http.request(options, onResponse);
    req.on("timeout", () => req.destroy(new Error(`${scheme}://${domain}${urlPath}: timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * A websocket handshake through the edge (https): the status the upgrade was answered with (101
 * when the proxy passed it on and the server took it), or the plain response's status.
 */
function upgrade(
  port: number,
  domain: string,
  urlPath: string,
  headers: Readonly<Record<string, string>>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1",
      port,
      path: urlPath,
      servername: domain,
      rejectUnauthorized: false,
      agent: false,
      timeout: 15000,
      headers: {
        Host: domain,
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": Buffer.from("e2e-websocket-k1").toString("base64"),
        Origin: `https://${domain}`,
        ...headers,
      },
    });
    req.on("upgrade", (res: http.IncomingMessage, socket: import("net").Socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("response", (res: http.IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error(`${urlPath}: websocket handshake timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** n8n's Cipher (n8n-core 1.72): AES-256-CBC, OpenSSL's salted format, key and iv by MD5. */
function n8nDecrypt(data: string, encryptionKey: string): string {
  const input = Buffer.from(data, "base64");
  if (input.subarray(0, 8).toString() !== "Salted__") throw new Error("not n8n's cipher text");
  const salt = input.subarray(8, 16);
  const password = Buffer.concat([Buffer.from(encryptionKey, "binary"), salt]);
  const md5 = (b: Buffer) => createHash("md5").update(b).digest();
  const hash1 = md5(password);
  const hash2 = md5(Buffer.concat([hash1, password]));
  const iv = md5(Buffer.concat([hash2, password]));
  const decipher = createDecipheriv("aes-256-cbc", Buffer.concat([hash1, hash2]), iv);
  return Buffer.concat([decipher.update(input.subarray(16)), decipher.final()]).toString("utf8");
}

/** Container name -> id, of every container of the stack. */
const ids = (prefix: string) =>
  new Map(containersOf(prefix).map((c): [string, string] => [nameOf(c), c.Id]));

export function platformSuite(shape: Shape): void {
  const plan: StackPlan = stackPlan(shape);
  const replicas = shape === "prod" ? 3 : 1;
  let stack: E2eStack | undefined;
  let firstUp: CliRun | undefined;
  let migrations = "";
  let setupError: Error | undefined;

  const ready = (): E2eStack => {
    if (setupError !== undefined) throw setupError;
    if (!stack || !firstUp) throw new Error("the stack was not set up");
    ok(firstUp, "the fresh up");
    return stack;
  };
  const outputs = (): Obj => ready().outputs();

  beforeAll(() => {
    try {
      requirements();
      removeLeftovers(plan.prefix);
      migrations = copyMigrations(plan);
      copyDevSources(plan);
      stack = new E2eStack(plan.stack, plan.config, plan.policyConfig);
      stack.init();
      // As the README's first command runs it: a preview of the new stack, then the update.
      firstUp = stack.up("fresh up", { skipPreview: false });
    } catch (e) {
      setupError = e instanceof Error ? e : new Error(String(e));
    }
  }, 1500000);

  afterAll(() => {
    stack?.remove();
    removeLeftovers(plan.prefix);
    if (migrations !== "") fs.rmSync(migrations, { recursive: true, force: true });
    fs.rmSync(path.join(ROOT, `tests/.tmp/${plan.stack}-src`), { recursive: true, force: true });
    process.stderr.write(
      `real-engine suite, ${plan.stack}:\n  ${[...timings.filter((t) => t.startsWith(plan.stack)), ...plan.notes].join("\n  ")}\n`,
    );
  }, 900000);

  test("a fresh up of the whole platform succeeds, the policy pack passing every resource quietly", () => {
    const s = ready();
    const said = (firstUp?.stdout ?? "") + (firstUp?.stderr ?? "");
    // The script behind `npm run dev:up`, with the pack and this stack's policy config.
    expect(said).toContain(`scripts/pulumi.sh: up on stack ${s.name}, PULUMI_BACKEND_URL (file)`);
    expect(said).toMatch(/Previewing update \(/);
    expect(said).toMatch(/Updating \(/);
    // Values unknown in the new stack's preview (images not built yet) are judged at up, quietly:
    // no "can't run policy ... during preview" advisory, and no other policy message.
    expect(said).not.toMatch(/can't run policy|advisory|mandatory/);
    expect(said).toMatch(/Resources:\n\s+\+ \d+ created/);
  });

  test("every service runs healthy, every job exited 0, every file carrier did its part", () => {
    ready();
    const all = containersOf(plan.prefix);
    expect(all.length).toBeGreaterThan(20);
    const states = all.map((c) => {
      const name = nameOf(c);
      const role = labelOf(c, "vpn-enterprise.role");
      const restart = (c.HostConfig as unknown as { RestartPolicy: { Name: string } }).RestartPolicy
        .Name;
      if (role === "files") {
        // Never started, or run once to hand the secret files over (chown), exit 0.
        return [name, c.State.Status === "created" ? "created" : `exited ${c.State.ExitCode}`];
      }
      if (restart === "no") return [name, `exited ${c.State.ExitCode}`];
      const health = c.Config.Healthcheck
        ? (c.State.Health?.Status ?? "none")
        : `no healthcheck: ${String(labelOf(c, "vpn-enterprise.no-healthcheck"))}`;
      return [name, `${c.State.Status} ${health} restarts ${c.RestartCount}`];
    });
    for (const [name, state] of states) {
      expect([name, state]).toEqual([
        name,
        expect.stringMatching(
          /^(created|exited 0|running healthy restarts 0|running no healthcheck: (?!undefined ).+ restarts 0)$/,
        ),
      ]);
    }
    // The services run hardened, as the Workload asks.
    for (const c of all.filter((x) => x.State.Running)) {
      expect([nameOf(c), c.HostConfig.CapDrop, c.HostConfig.SecurityOpt]).toEqual([
        nameOf(c),
        ["ALL"],
        ["no-new-privileges:true"],
      ]);
    }
  });

  test("secret files are 0400 and their service's own, on this engine", () => {
    ready();
    for (const [service, user] of [
      ["postgres", "70 70"],
      ["redis", "999 1000"],
      ["api", "1001 1001"],
    ] as const) {
      const listing = dockerOk([
        "exec",
        `${plan.prefix}-${service}-1`,
        "ls",
        "-ln",
        "/run/secrets",
      ]);
      const files = listing.split("\n").filter((l) => l.startsWith("-"));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        expect([service, f.split(/\s+/).slice(0, 4).join(" ")]).toEqual([
          service,
          `-r-------- 1 ${user}`,
        ]);
      }
    }
  });

  test("every route answers through the edge, as the smoke check found", async () => {
    const out = outputs();
    const smoke = out.smokeCheck as { passed: string[]; container: string };
    const routes = ["/api/", "/", "/api/ai/", "/grafana/"];
    for (const route of routes) {
      expect(smoke.passed.some((p) => p.startsWith(`route ${route} `))).toBe(true);
    }
    const { domain, http: httpPort, https: httpsPort } = plan.edge;
    const login = (out.credentials as { edgeAdmin: { user: string; password: string } | null })
      .edgeAdmin;
    if (httpsPort === undefined) {
      for (const p of ["/health", "/api/health", "/", "/api/ai/health", "/grafana/api/health"]) {
        const a = await request("http", httpPort, domain, p);
        expect([p, a.status]).toEqual([p, 200]);
      }
      return;
    }
    // To the HTTPS port the edge publishes (this machine's loopback port, not 443).
    const plain = await request("http", httpPort, domain, "/api/health?x=1");
    expect([plain.status, plain.headers.location]).toEqual([
      301,
      `https://${domain}:${String(httpsPort)}/api/health?x=1`,
    ]);
    for (const p of ["/health", "/api/health", "/", "/api/ai/health"]) {
      const a = await request("https", httpsPort, domain, p);
      expect([p, a.status]).toEqual([p, 200]);
    }
    // The served certificate is the one the outputs announce.
    const served = (await request("https", httpsPort, domain, "/health")).certificate;
    expect(served?.subject).toBe(domain);
    const expiry = (out.edge as { certificateExpiry: string }).certificateExpiry;
    expect(Date.parse(served?.validTo ?? "")).toBe(Math.floor(Date.parse(expiry) / 1000) * 1000);
    // Grafana behind the admin login.
    expect((await request("https", httpsPort, domain, "/grafana/api/health")).status).toBe(401);
    expect(login).not.toBeNull();
    const grafana = await request(
      "https",
      httpsPort,
      domain,
      "/grafana/api/health",
      login ?? undefined,
    );
    expect(grafana.status).toBe(200);
  });

  test("a preview and a refresh right after find nothing to change", () => {
    const s = ready();
    ok(s.preview("preview --expect-no-changes", ["--expect-no-changes"]), "the preview");
    ok(s.refresh("refresh --expect-no-changes", ["--expect-no-changes"]), "the refresh");
  });

  test("the outputs name what the engine runs: containers, aliases, ports, images, networks, volumes", () => {
    const out = outputs();
    expect(out.namePrefix).toBe(plan.prefix);
    const byName = new Map(
      containersOf(plan.prefix).map((c): [string, Inspected] => [nameOf(c), c]),
    );
    const services = out.services as Record<
      string,
      { host: string; containerNames: string[]; publishedPorts: string[] }
    >;
    const images = out.images as Record<string, { id: string }>;
    expect(services.api.containerNames).toHaveLength(replicas);
    for (const [service, s] of Object.entries(services)) {
      expect(s.containerNames.length).toBeGreaterThan(0);
      const published = new Set<string>();
      for (const name of s.containerNames) {
        const c = byName.get(name);
        expect([service, name, c?.State.Running]).toEqual([service, name, true]);
        if (!c) continue;
        expect([name, c.Image]).toEqual([name, images[service].id]);
        const aliases = Object.values(c.NetworkSettings.Networks).flatMap(
          (n) => (n as { Aliases: string[] | null }).Aliases ?? [],
        );
        expect([name, aliases]).toEqual([name, expect.arrayContaining([s.host])]);
        for (const [port, bindings] of Object.entries(c.HostConfig.PortBindings ?? {})) {
          for (const b of bindings) {
            published.add(`${b.HostIp}:${b.HostPort}->${port.replace(/\/tcp$/, "")}`);
          }
        }
      }
      expect([service, [...published].sort()]).toEqual([service, [...s.publishedPorts].sort()]);
    }
    const networks = out.networks as Record<string, string>;
    const configured = plan.config["vpn-enterprise:networks"] as Record<string, { subnet: string }>;
    for (const [tier, name] of Object.entries(networks)) {
      const subnet = dockerOk([
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}}",
        name,
      ]);
      expect([tier, subnet]).toEqual([tier, configured[tier].subnet]);
    }
    for (const volume of Object.values(out.volumes as Record<string, string>)) {
      expect(docker(["volume", "inspect", volume]).status).toBe(0);
    }
    const edge = out.edge as { url: string; publishedPorts: string[] };
    expect(edge.url).toBe(shape === "dev" ? "http://localhost" : `https://${plan.edge.domain}`);
    expect(edge.publishedPorts).toEqual(services.nginx.publishedPorts);
    const last = fs
      .readdirSync(migrations)
      .filter((f) => f.endsWith(".sql"))
      .sort()
      .at(-1);
    expect((out.data as { postgres: { schemaVersion: string } }).postgres.schemaVersion).toBe(last);
  });

  if (shape === "dev") {
    test("development mode: the sources bind-mounted, an edit served without an up, the inspector on its port, the API's log file written", async () => {
      ready();
      const { api, web } = plan.devSources;
      const byName = new Map(
        containersOf(plan.prefix).map((c): [string, Inspected] => [nameOf(c), c]),
      );
      for (const [service, dir] of [
        ["api", api.dir],
        ["web", web.dir],
      ] as const) {
        const c = byName.get(`${plan.prefix}-${service}-1`);
        expect([service, c?.Mounts.find((m) => m.Destination === "/app")]).toEqual([
          service,
          expect.objectContaining({ Type: "bind", Source: path.join(ROOT, dir) }),
        ]);
      }
      const get = (urlPath: string) => request("http", plan.edge.http, plan.edge.domain, urlPath);
      // Edited on the host, served by the watchers (node --watch) with no up and no restart.
      expect((await get("/api/e2e-watched")).status).toBe(404);
      const apiServer = path.join(ROOT, api.dir, "server.js");
      const apiText = fs.readFileSync(apiServer, "utf8");
      expect(apiText).toContain(`  "/health": "/health",\n`);
      fs.writeFileSync(
        apiServer,
        apiText.replace(
          `  "/health": "/health",\n`,
          `  "/health": "/health",\n  "/e2e-watched": "/health",\n`,
        ),
      );
      const webServer = path.join(ROOT, web.dir, "server.js");
      const webText = fs.readFileSync(webServer, "utf8");
      expect(webText).toContain("<h1>VPN Enterprise dashboard</h1>");
      fs.writeFileSync(
        webServer,
        webText.replace(
          "<h1>VPN Enterprise dashboard</h1>",
          "<h1>VPN Enterprise dashboard, edited</h1>",
        ),
      );
      const served = async (urlPath: string, ok: (a: Answer) => boolean): Promise<Answer> => {
        let last: Answer | Error = new Error("not asked");
        for (let i = 0; i < 90; i++) {
          last = await get(urlPath).catch((e: unknown) =>
            e instanceof Error ? e : new Error(String(e)),
          );
          if (!(last instanceof Error) && ok(last)) return last;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        throw new Error(
          `${urlPath} never showed the edit: ${last instanceof Error ? last.message : `${String(last.status)} ${last.body.slice(0, 200)}`}`,
        );
      };
      expect((await served("/api/e2e-watched", (a) => a.status === 200)).body).toContain(
        '"status"',
      );
      expect((await served("/", (a) => a.body.includes("dashboard, edited"))).status).toBe(200);
      const after = containersOf(plan.prefix);
      for (const service of ["api", "web"]) {
        const c = after.find((x) => nameOf(x) === `${plan.prefix}-${service}-1`);
        expect([service, c?.Id, c?.RestartCount]).toEqual([
          service,
          byName.get(`${plan.prefix}-${service}-1`)?.Id,
          0,
        ]);
      }
      // The Node inspector answers on the loopback port devMode.debugPort publishes.
      const inspector = await request("http", 19229, "127.0.0.1", "/json/version");
      expect([inspector.status, inspector.body]).toEqual([
        200,
        expect.stringContaining('"Browser": "node.js/v'),
      ]);
      // The API writes its log file into the logs volume (mounted over the bind-mounted source).
      const logs = dockerOk(["exec", `${plan.prefix}-api-1`, "ls", "-ln", "/app/logs"])
        .split("\n")
        .filter((l) => l.startsWith("-"));
      expect(logs).toEqual([
        expect.stringMatching(/^-rw\S* +1 1001 +1001 +[1-9]\d* .* api-\S+\.log$/),
      ]);
      const file = logs[0]?.split(/\s+/).at(-1) ?? "";
      expect(dockerOk(["exec", `${plan.prefix}-api-1`, "cat", `/app/logs/${file}`])).toContain(
        '"msg":"listening"',
      );
    });
  }

  test("a change to the API's config replaces its replicas and the smoke check, nothing else", () => {
    const s = ready();
    s.setConfig("services.api.logLevel", "warn");
    const planned = s.plannedChanges();
    const expected = [
      ...Array.from({ length: replicas }, (_, i) => `vpn-api-server-${String(i + 1)}`),
      // The smoke check runs again when a routed container is replaced (README, "The smoke
      // check"); in prod its logins come through a carrier, with a volume named after its files.
      "vpn-smoke-job-1",
      ...(shape === "prod" ? ["vpn-smoke-job-files", "vpn-smoke-job-files-run-smoke"] : []),
    ].sort();
    expect([...planned.keys()].sort()).toEqual(expected);
    for (const [name, ops] of planned) {
      expect([name, ops.some((op) => op.includes("replace"))]).toEqual([name, true]);
    }
    const before = ids(plan.prefix);
    ok(s.up("up: API log level"), "the up of the API change");
    const after = ids(plan.prefix);
    const replaced = [...before.keys()]
      .filter((name) => after.get(name) !== before.get(name))
      .sort();
    expect(replaced).toEqual(
      [
        ...Array.from({ length: replicas }, (_, i) => `${plan.prefix}-api-${String(i + 1)}`),
        `${plan.prefix}-nginx-smoke-1`,
        ...(shape === "prod" ? [`${plan.prefix}-nginx-smoke-files`] : []),
      ].sort(),
    );
    ok(s.preview("preview after the change", ["--expect-no-changes"]), "the preview after");
  });

  test("a failing migration fails up with its file and error, changes nothing else; removed, it is gone; fixed, it applies", () => {
    const s = ready();
    const file = path.join(migrations, "900_e2e.sql");
    fs.writeFileSync(file, "CREATE TABLE e2e_broken (id int REFERENCES e2e_missing (id));\n");
    const before = ids(plan.prefix);
    const failed = s.up("up: failing migration");
    const said = failed.stdout + failed.stderr;
    expect(failed.status).not.toBe(0);
    expect(said).toContain("PostgreSQL migrations failed");
    expect(said).toContain(
      'migration 900_e2e.sql failed: ERROR:  relation "e2e_missing" does not exist',
    );
    // Its own error and nothing else: no wall of log-delivery errors from a closed channel.
    expect(said).not.toMatch(/failed to deliver log message|Channel has been shut down/);
    const after = ids(plan.prefix);
    const changed = [...new Set([...before.keys(), ...after.keys()])]
      .filter((name) => before.get(name) !== after.get(name))
      .sort();
    expect(changed).toEqual([
      `${plan.prefix}-postgres-migrate-1`,
      `${plan.prefix}-postgres-migrate-files`,
    ]);

    // Removed before it ever applied: the job no longer sees it (its files' volume was once kept,
    // and the old file still ran).
    fs.rmSync(file);
    ok(s.up("up: migration removed"), "the up after removing the file");
    expect(dockerOk(["logs", `${plan.prefix}-postgres-migrate-1`])).not.toContain("900_e2e.sql");

    fs.writeFileSync(file, "CREATE TABLE e2e_fixed (id int PRIMARY KEY);\n");
    ok(s.up("up: migration fixed"), "the up after the fix");
    const data = s.outputs().data as { postgres: { schemaVersion: string } };
    expect(data.postgres.schemaVersion).toBe("900_e2e.sql");
    const table = dockerOk([
      ...["exec", `${plan.prefix}-postgres-1`, "sh", "-c"],
      'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atc "SELECT count(*) FROM e2e_fixed"',
    ]);
    expect(table).toBe("0");
    ok(s.preview("preview after the fix", ["--expect-no-changes"]), "the preview after the fix");
  });

  if (shape === "dev") {
    test("an open-file limit above the engine's fails nginx's config job, naming the setting; nginx serves on", async () => {
      const s = ready();
      const nginx = `${plan.prefix}-nginx-1`;
      const hard = Number(
        dockerOk(["run", "--rm", "--entrypoint", "sh", "nginx:1.28.0-alpine", "-c", "ulimit -Hn"]),
      );
      const wanted = hard + 1;
      const before = ids(plan.prefix).get(nginx);
      s.setConfig("services.nginx.workerRlimitNofile", String(wanted));
      const failed = s.up("up: nofile above the engine's");
      const said = failed.stdout + failed.stderr;
      expect(failed.status).not.toBe(0);
      if (wanted > 1048576) {
        // Nothing above this engine's limit is a value the config allows.
        expect(said).toContain("services.nginx.workerRlimitNofile");
      } else {
        expect(said).toContain(
          `services.nginx.workerRlimitNofile is ${String(wanted)}, but this Docker engine gives a container at most ${String(hard)} open files`,
        );
        // Before runc could refuse the server (its words: "operation not permitted").
        expect(said).not.toContain("operation not permitted");
      }
      expect(ids(plan.prefix).get(nginx)).toBe(before);
      expect((await request("http", plan.edge.http, plan.edge.domain, "/health")).status).toBe(200);
      const original = (plan.config["vpn-enterprise:services"] as Record<string, Obj>).nginx
        .workerRlimitNofile as number | undefined;
      if (original === undefined) {
        s.ok("config rm", [
          "config",
          "rm",
          "--path",
          "services.nginx.workerRlimitNofile",
          "--stack",
          s.name,
        ]);
      } else {
        s.setConfig("services.nginx.workerRlimitNofile", String(original));
      }
      ok(s.up("up: nofile restored"), "the up with the limit restored");
      ok(s.preview("preview after nofile", ["--expect-no-changes"]), "the preview after");
    });
  }

  if (shape === "prod") {
    test("n8n: healthy on its read-only root, behind the editor login, its websocket through the edge, a credential encrypted with the stack's key", async () => {
      const s = ready();
      const out = outputs();
      const httpsPort = plan.edge.https ?? 0;
      const domain = plan.edge.domain;
      const n8n = `${plan.prefix}-n8n-1`;
      const [server] = containersOf(plan.prefix).filter((c) => nameOf(c) === n8n);
      expect([server.HostConfig.ReadonlyRootfs, server.State.Health?.Status]).toEqual([
        true,
        "healthy",
      ]);
      // The key is in no env of the server (docker inspect shows env) and no file it was given.
      const env = JSON.parse(
        dockerOk(["inspect", "--format", "{{json .Config.Env}}", n8n]),
      ) as string[];
      expect(env.filter((e) => /ENCRYPTION|KEY/.test(e.split("=")[0]))).toEqual([]);
      expect(docker(["exec", n8n, "ls", "/run/secrets"]).status).not.toBe(0);
      // The editor behind its own login at the edge.
      const editor = (out.credentials as { n8nEditor: { user: string; password: string } | null })
        .n8nEditor;
      expect(editor).not.toBeNull();
      const login = editor ?? { user: "", password: "" };
      expect((await request("https", httpsPort, domain, "/admin/n8n/")).status).toBe(401);
      const page = await request("https", httpsPort, domain, "/admin/n8n/", login);
      expect([page.status, page.body]).toEqual([200, expect.stringContaining("/admin/n8n/")]);
      // An owner, then a credential saved through n8n's API, as the editor does.
      const browser = { "browser-id": "e2e-browser-1" };
      const setup = await request(
        "https",
        httpsPort,
        domain,
        "/admin/n8n/rest/owner/setup",
        login,
        {
          method: "POST",
          headers: browser,
          body: {
            email: "owner@example.com",
            firstName: "E2e",
            lastName: "Owner",
            password: "E2e-owner-Passw0rd",
          },
        },
      );
      expect([setup.status, setup.body.slice(0, 300)]).toEqual([200, expect.any(String)]);
      const cookie = (setup.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
      expect(cookie).toContain("n8n-auth=");
      const secretValue = "e2e-credential-secret-4242";
      const saved = await request(
        "https",
        httpsPort,
        domain,
        "/admin/n8n/rest/credentials",
        login,
        {
          method: "POST",
          headers: { ...browser, Cookie: cookie },
          body: {
            name: "e2e basic",
            type: "httpBasicAuth",
            data: { user: "e2e-user", password: secretValue },
          },
        },
      );
      expect([saved.status, saved.body.slice(0, 300)]).toEqual([
        200,
        expect.stringContaining("e2e basic"),
      ]);
      expect(saved.body).not.toContain(secretValue);
      // The editor's push connection: a websocket through nginx to n8n.
      expect(
        await upgrade(httpsPort, domain, "/admin/n8n/rest/push?pushRef=e2e-push-1", {
          ...browser,
          Cookie: cookie,
          Authorization: `Basic ${Buffer.from(`${login.user}:${login.password}`).toString("base64")}`,
        }),
      ).toBe(101);
      // What n8n stored, as its own export reads it: encrypted with the stack's key, no other.
      dockerOk([
        "exec",
        n8n,
        "n8n",
        "export:credentials",
        "--all",
        "--output=/tmp/e2e-credentials.json",
      ]);
      const stored = JSON.parse(dockerOk(["exec", n8n, "cat", "/tmp/e2e-credentials.json"])) as {
        name: string;
        data: string;
      }[];
      docker(["exec", n8n, "rm", "-f", "/tmp/e2e-credentials.json"]);
      const data = stored.find((c) => c.name === "e2e basic")?.data ?? "";
      expect(data).not.toContain(secretValue);
      const state = JSON.parse(
        s.ok("stack export --show-secrets", [
          "stack",
          "export",
          "--show-secrets",
          "--stack",
          s.name,
        ]).stdout,
      ) as { deployment: { resources: { urn: string; outputs?: Obj }[] } };
      // A secret output is exported as {<signature>, plaintext: <its JSON>}.
      const exported = state.deployment.resources.find((r) => r.urn.endsWith("-n8nEncryptionKey"))
        ?.outputs?.result as { plaintext?: string } | undefined;
      const key = JSON.parse(exported?.plaintext ?? "null") as string | null;
      expect(key).toMatch(/^[A-Za-z0-9]{48}$/);
      expect(JSON.parse(n8nDecrypt(data, key ?? ""))).toEqual({
        user: "e2e-user",
        password: secretValue,
      });
      const other = `${(key ?? "").slice(1)}x`;
      // Another key: refused (bad decrypt), or at best bytes without the credential in them.
      let withOther: string;
      try {
        withOther = n8nDecrypt(data, other);
      } catch (e) {
        withOther = `refused: ${String(e)}`;
      }
      expect(withOther).not.toContain(secretValue);
    });

    test("n8n: a volume whose settings hold another key is refused, n8n left running; made the stack's key as the error says, up passes", () => {
      const s = ready();
      const volume = `${plan.prefix}-n8n-data`;
      const n8n = `${plan.prefix}-n8n-1`;
      const image = "n8nio/n8n:1.72.1";
      const before = ids(plan.prefix).get(n8n);
      // As n8n leaves it when it started without a key: one it generated (24 random bytes, base64).
      const generated = "Qm9vdHN0cmFwcGVkL2tleStmb3IvZTJl";
      dockerOk([
        ...["run", "--rm", "--network", "none", "--user", "1000:1000", "-v", `${volume}:/data`],
        ...["--entrypoint", "node", image, "-e"],
        `require("fs").writeFileSync("/data/config", JSON.stringify({ encryptionKey: ${JSON.stringify(generated)} }, null, "\t"), { mode: 0o600 })`,
      ]);
      const state = JSON.parse(
        s.ok("stack export", ["stack", "export", "--stack", s.name]).stdout,
      ) as {
        deployment: { resources: { urn: string; type: string; outputs?: Obj }[] };
      };
      const job = state.deployment.resources.find(
        (r) =>
          r.type === "docker:index/container:Container" &&
          r.outputs?.name === `${plan.prefix}-n8n-settings-1`,
      );
      expect(job).toBeDefined();
      // The settings job runs again, as it does on a stack first deployed without it.
      const refused = s.script("up: n8n settings, another key", "up", [
        ...["--yes", "--non-interactive", "--skip-preview", "--replace", job?.urn ?? ""],
      ]);
      const said = refused.stdout + refused.stderr;
      expect(refused.status).not.toBe(0);
      expect(said).toContain(
        `/home/node/.n8n/config on volume ${volume} holds an encryption key other than the stack's`,
      );
      expect(said).not.toContain(generated);
      const n8nNow = containersOf(plan.prefix).find((c) => nameOf(c) === n8n);
      expect([n8nNow?.Id, n8nNow?.State.Health?.Status]).toEqual([before, "healthy"]);
      // Its advice, followed: the volume's key read by the command it gives, made the stack's.
      const read = /"\$\((docker run .+?)\)"/.exec(said)?.[1] ?? "";
      expect(read).toContain(`-v ${volume}:/data:ro`);
      const r = spawnSync("sh", ["-c", read], { encoding: "utf8" });
      expect([r.status, r.stdout.trim()]).toEqual([0, generated]);
      s.ok("config set --secret", [
        ...["config", "set", "--secret", "--path", "secrets.n8nEncryptionKey", r.stdout.trim()],
        ...["--stack", s.name],
      ]);
      ok(s.up("up: n8n key adopted"), "the up with the volume's key made the stack's");
      expect(ids(plan.prefix).get(n8n)).toBe(before);
      ok(s.preview("preview after adopting", ["--expect-no-changes"]), "the preview after");
    });

    test("Ollama: healthy as its own user on its volume, answering Python AI by its alias", () => {
      ready();
      const [ollama] = containersOf(plan.prefix).filter(
        (c) => nameOf(c) === `${plan.prefix}-ollama-1`,
      );
      expect([ollama.Config.User, ollama.State.Health?.Status, ollama.RestartCount]).toEqual([
        "1001:1001",
        "healthy",
        0,
      ]);
      const version = dockerOk([
        ...["exec", `${plan.prefix}-python-ai-1`, "python", "-c"],
        "import urllib.request; print(urllib.request.urlopen('http://ollama:11434/api/version', timeout=10).read().decode())",
      ]);
      expect(JSON.parse(version)).toEqual({ version: "0.9.0" });
    });
  }

  test("the state keeps secrets encrypted: every secret file, and the output of jobs that hold them", () => {
    const s = ready();
    const state = s.ok("stack export", ["stack", "export", "--stack", s.name]).stdout;
    const exported = JSON.parse(state) as {
      deployment: { resources: { type: string; urn: string; outputs?: Obj }[] };
    };
    const secret = (v: unknown) =>
      typeof v === "object" &&
      v !== null &&
      (v as Obj)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270" &&
      typeof (v as Obj).ciphertext === "string";
    const containers = exported.deployment.resources.filter(
      (r) => r.type === "docker:index/container:Container",
    );
    // The migration job holds the admin's .pgpass: what it printed is ciphertext.
    const migrate = containers.find((r) => r.urn.endsWith("::vpn-postgres-migrate-1"));
    expect(secret(migrate?.outputs?.containerLogs)).toBe(true);
    // No generated password in clear anywhere in the state.
    const credentials = s.outputs().credentials as {
      postgresPassword: string;
      redisPassword: string;
    };
    for (const password of [credentials.postgresPassword, credentials.redisPassword]) {
      expect(state).not.toContain(password);
    }
  });

  test("destroy removes every container and network, and only the volumes config keeps", () => {
    const s = ready();
    const out = s.outputs();
    // What the stack's dataProtection keeps (prod: the defaults, every data volume protected and
    // retained; dev: nothing). A protected resource must be unprotected before Pulumi deletes it.
    const kept =
      shape === "prod"
        ? [
            ...Object.values(out.volumes as Record<string, string>).filter(
              (v) => !v.endsWith("-alloy-data"),
            ),
            `${plan.prefix}-edge-acme`,
          ].sort()
        : [];
    if (shape === "prod") {
      // As it is, prod refuses, and deletes nothing (the destroy's preview stops first).
      const running = containersOf(plan.prefix).length;
      const refused = s.destroy();
      expect(refused.status).not.toBe(0);
      expect(refused.stdout + refused.stderr).toMatch(/protected/);
      expect(containersOf(plan.prefix)).toHaveLength(running);
      ok(
        s.cli("state unprotect", ["state", "unprotect", "--all", "--yes", "--stack", s.name]),
        "unprotect",
      );
    }
    ok(s.destroy(), "the destroy");
    expect(containersOf(plan.prefix).map(nameOf)).toEqual([]);
    const left = objectsOf(plan.prefix);
    expect(left.networks).toEqual([]);
    expect(left.volumes).toEqual(kept);
    if (shape === "prod") {
      // The data is still there: PostgreSQL's data directory, for one.
      const pgData = `${plan.prefix}-postgres-data`;
      const listing = dockerOk([
        ...["run", "--rm", "--network", "none", "-v", `${pgData}:/data:ro`, "--entrypoint", "ls"],
        ...["postgres:15-alpine", "/data"],
      ]);
      expect(listing.split("\n")).toContain("PG_VERSION");
    }
  });
}
