/**
 * The real-engine suite for one stack shape: a fresh `up` of the whole platform with the real
 * Pulumi CLI, the policy pack and the local Docker engine, then what only a real engine shows:
 * health, routes through the edge, a second preview and a refresh that find nothing, the outputs
 * against the engine, a one-service change, a failing migration, and `destroy`. The tests run in
 * order on one stack; each says what it needs of the ones before.
 */
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
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: domain };
    if (login) {
      headers.Authorization = `Basic ${Buffer.from(`${login.user}:${login.password}`).toString("base64")}`;
    }
    // A connection of its own: a kept-alive one from an earlier test may have been closed by nginx
    // since ("socket hang up").
    const options = {
      host: "127.0.0.1",
      port,
      path: urlPath,
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
    req.end();
  });
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
