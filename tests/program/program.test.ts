import { CATALOG, SERVICE_NAMES, STATEFUL_SERVICES, ServiceName } from "../../config/catalog";
import { ConfigError, parseStackConfig } from "../../config/load";
import { processBudgets } from "../../config/processes";
import { SECRET_NAMES } from "../../config/schema";
import { hostName } from "../../components/workload";
import { PROJECT, ROOT, STACKS, cliConfig, projectValues } from "../stackFiles";
import {
  ProgramRun,
  isSecretValue,
  labelsOf,
  mapSecrets,
  reveal,
  runEachStack,
  runProgram,
  runWithServices,
  carrierOf,
  runningContainers,
  uploadsOf,
} from "./harness";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const NETWORK = "docker:index/network:Network";
const RANDOM = "random:index/randomPassword:RandomPassword";
const IMAGE = "docker:index/image:Image";

type Obj = Record<string, unknown>;
const of = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const run = runEachStack(STACKS, cliConfig);

/** The catalog service a container belongs to: its own, or for a job the service it works for. */
function ownerOf(serviceLabel: string): ServiceName {
  const owners = SERVICE_NAMES.filter(
    (n) => serviceLabel === hostName(n) || serviceLabel.startsWith(`${hostName(n)}-`),
  ).sort((a, b) => hostName(b).length - hostName(a).length);
  if (owners.length === 0) throw new Error(`no catalog service for ${serviceLabel}`);
  return owners[0];
}

/** The containers each stack's yaml asks for (replicas and jobs included). */
const EXPECTED_CONTAINERS: Record<string, string[]> = {
  dev: [
    "alertmanager-1",
    "alloy-1",
    "api-1",
    "backup-1",
    "cadvisor-1",
    "db-manager-1",
    "grafana-1",
    "loki-1",
    "n8n-1",
    "n8n-settings-1",
    "nginx-1",
    "nginx-config-1",
    "nginx-exporter-1",
    "nginx-smoke-1",
    "nginx-volume-owner-1",
    "node-exporter-1",
    "ollama-1",
    "ollama-volume-owner-1",
    "postgres-1",
    "postgres-exporter-1",
    "postgres-migrate-1",
    "prometheus-1",
    "provisioner-1",
    "python-ai-1",
    "redis-1",
    "redis-acl-1",
    "redis-exporter-1",
    "web-1",
  ],
  prod: [
    "alertmanager-1",
    "alloy-1",
    "api-1",
    "api-2",
    "api-3",
    "backup-1",
    "cadvisor-1",
    "db-manager-1",
    "grafana-1",
    "loki-1",
    "n8n-1",
    "n8n-settings-1",
    "nginx-1",
    "nginx-config-1",
    "nginx-exporter-1",
    "nginx-secrets-1",
    "nginx-smoke-1",
    "nginx-volume-owner-1",
    "node-exporter-1",
    "ollama-1",
    "ollama-pull-models-1",
    "ollama-volume-owner-1",
    "postgres-1",
    "postgres-exporter-1",
    "postgres-migrate-1",
    "prometheus-1",
    "provisioner-1",
    "python-ai-1",
    "redis-1",
    "redis-acl-1",
    "redis-exporter-1",
    "web-1",
  ],
};

describe.each(STACKS)("the %s stack under mocks", (stack) => {
  test("registers networks, volumes, credentials and every service the yaml enables", () => {
    const r = run(stack);
    expect(
      of(r, NETWORK)
        .map((n) => n.inputs.name)
        .sort(),
    ).toEqual(["app", "data", "edge", "monitoring"].map((t) => `vpn-enterprise-${stack}-${t}`));
    expect(
      of(r, VOLUME)
        .map((v) => v.inputs.name)
        // The file volumes of read-only roots are the Workload's (tests/program/workload.test.ts).
        .filter((n) => !/-files-/.test(String(n)))
        .sort(),
    ).toEqual(
      [
        // A disabled service keeps its volume, unless its data is disposable (promtail, off).
        ...STATEFUL_SERVICES.filter((s) => s !== "promtail").map((s) => `${s}-data`),
        "api-logs",
        // The edge's generations; the ACME challenge directory only where TLS is on (prod).
        "edge-site",
        ...(stack === "prod" ? ["edge-acme"] : []),
      ]
        .map((v) => `vpn-enterprise-${stack}-${v}`)
        .sort(),
    );
    expect(of(r, RANDOM)).toHaveLength(SECRET_NAMES.length);
    expect(
      runningContainers(r)
        .map((c) => c.inputs.name)
        .sort(),
    ).toEqual(EXPECTED_CONTAINERS[stack].map((s) => `vpn-enterprise-${stack}-${s}`));
  });

  test("every container gets the Workload's safe defaults", () => {
    for (const c of runningContainers(run(stack))) {
      const i = c.inputs;
      const labels = labelsOf(c);
      const isJob = i.attach === true;
      // A job belongs to the service it works for (postgres-migrate to postgres).
      const service = labels["vpn-enterprise.service"];
      const owner = ownerOf(service);
      if (!isJob) expect(service).toBe(hostName(owner));
      expect(labels).toMatchObject({
        "vpn-enterprise.project": PROJECT,
        "vpn-enterprise.stack": stack,
        "vpn-enterprise.tier": CATALOG[owner].tier,
      });
      expect(i.name).toMatch(new RegExp(`^vpn-enterprise-${stack}-${service}-\\d+$`));
      if (isJob) {
        expect([i.restart, i.mustRun, i.wait, i.healthcheck]).toEqual([
          "no",
          false,
          undefined,
          undefined,
        ]);
      } else {
        expect(i.restart).toBe("unless-stopped");
        // One exception: nginx-prometheus-exporter's image has nothing to check with (FROM scratch).
        if (service === "nginx-exporter") {
          expect([i.wait, i.healthcheck]).toEqual([false, undefined]);
          continue;
        }
        expect(i.wait).toBe(true);
        expect((i.healthcheck as Obj).tests).toEqual(
          expect.arrayContaining([expect.stringMatching(/^CMD/)]),
        );
        expect(i.healthcheck).toMatchObject({
          timeout: expect.stringMatching(/^\d+s$/) as unknown,
        });
      }
      expect(i.memory).toBeGreaterThanOrEqual(32);
      expect(i.memorySwap).toBe(i.memory);
      expect(i.cpus).toMatch(/^\d+\.\d*$/);
      expect(i.logDriver).toBe("json-file");
      expect(i.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
      expect(i.securityOpts).toEqual(["no-new-privileges:true"]);
      // One exception, jobs that hand a new volume to the server's user (chown only).
      if (service.endsWith("-volume-owner")) {
        expect([isJob, i.user, i.capabilities]).toEqual([
          true,
          "0:0",
          { drops: ["ALL"], adds: ["CAP_CHOWN"] },
        ]);
      } else if (["alloy", "cadvisor"].includes(service)) {
        // Root without a single capability: they read the Docker socket (and cAdvisor
        // /var/lib/docker), which root owns (config/catalog.ts, rootReason).
        expect([i.user, i.capabilities]).toEqual(["0:0", { drops: ["ALL"], adds: [] }]);
      } else {
        expect(i.capabilities).toEqual({ drops: ["ALL"], adds: [] });
        expect(i.user).toMatch(/^[1-9]\d*:\d+$/);
      }
      // The edge's install jobs and its smoke check take their uploads on a writable root
      // (components/edge/nginx.ts, smoke.ts).
      expect(i.readOnly).toBe(
        !(isJob && ["nginx-config", "nginx-secrets", "nginx-smoke"].includes(service)),
      );
      expect(i.image).toMatch(/^sha256:/);
      const limit = { soft: expect.any(Number) as unknown, hard: expect.any(Number) as unknown };
      // nginx also sets its open-file limit to worker_rlimit_nofile.
      expect(i.ulimits).toEqual([
        { name: "nproc", ...limit },
        ...(service === "nginx" ? [{ name: "nofile", ...limit }] : []),
      ]);
      // Jobs that only write a volume: no network at all (not even Docker's default bridge).
      if (isJob && (service.startsWith("nginx-") || service.endsWith("-volume-owner"))) {
        // The smoke check asks nginx: the edge network only (tests/program/smoke.test.ts).
        const only =
          service === "nginx-smoke" ? [{ name: "vpn-networks-edge-id", aliases: [service] }] : [];
        expect([i.networkMode, i.networksAdvanced]).toEqual([
          only.length ? undefined : "none",
          only,
        ]);
      } else {
        expect(i.networkMode).toBeUndefined();
        expect(i.networksAdvanced).toEqual(
          CATALOG[owner].networks.map((tier) => ({
            name: `vpn-networks-${tier}-id`,
            aliases: [service],
          })),
        );
      }
      expect(c.deleteBeforeReplace).toBe(true);
      expect(i.privileged).toBeUndefined();
    }
  });

  test("every container of a uid gets the stack's process budget of that uid (RLIMIT_NPROC is per uid)", () => {
    const r = run(stack);
    const budgets = processBudgets(
      parseStackConfig(projectValues(stack), PROJECT, stack, ROOT).services,
    );
    let counted = 0;
    for (const c of runningContainers(r)) {
      const uid = String(c.inputs.user).split(":")[0];
      const nproc = (c.inputs.ulimits as Obj[]).find((u) => u.name === "nproc");
      if (budgets[uid] === undefined) continue;
      counted++;
      expect([c.inputs.name, nproc?.hard, nproc?.soft]).toEqual([
        c.inputs.name,
        budgets[uid],
        budgets[uid],
      ]);
    }
    // The jobs of a service's uid too: the migration job runs as PostgreSQL's.
    const migrate = runningContainers(r).find((c) => c.name === "vpn-postgres-migrate-1");
    expect((migrate?.inputs.ulimits as Obj[])[0]).toEqual({
      name: "nproc",
      soft: budgets["70"],
      hard: budgets["70"],
    });
    expect(counted).toBeGreaterThan(15);
  });

  test("no secret value appears in env, labels, commands or healthchecks", () => {
    const r = run(stack);
    expect(r.generatedSecrets).toHaveLength(SECRET_NAMES.length);
    // Every container, the file carriers included.
    for (const c of of(r, CONTAINER)) {
      const exposed = JSON.stringify([
        c.inputs.envs,
        c.inputs.labels,
        c.inputs.command,
        c.inputs.entrypoints,
        c.inputs.healthcheck,
        c.inputs.name,
      ]);
      for (const secret of r.generatedSecrets) expect(exposed).not.toContain(secret);
    }
  });

  test("secret files are secret, 0400, and handed to the service's user by their carrier", () => {
    const r = run(stack);
    const withSecrets = new Set<string>();
    for (const c of runningContainers(r)) {
      const uploads = uploadsOf(r, c);
      const secretFiles = uploads.filter((u) => u.permissions === "0400");
      if (secretFiles.length > 0) withSecrets.add(labelsOf(c)["vpn-enterprise.service"]);
      // Uploaded as root's (no owner: engines before 25.0 would look the user up in the host's
      // passwd), then chown'ed by the carrier, as root with CAP_CHOWN only, before the replicas.
      const carrier = secretFiles.length > 0 ? carrierOf(r, c) : undefined;
      const root = /^0(:|$)/.test(String(c.inputs.user));
      if (carrier !== undefined && !root) {
        expect(carrier.inputs).toMatchObject({
          attach: true,
          user: "0:0",
          networkMode: "none",
          entrypoints: ["chown"],
          capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN"] },
        });
        expect((carrier.inputs.command as string[])[0]).toBe(c.inputs.user);
        // The first replica starts after it (the others after the replica before them).
        if (c.name.endsWith("-1")) {
          expect(c.dependencies.filter((d) => d.endsWith(`::${carrier.name}`))).toHaveLength(1);
        }
      }
      // Each secret file is in the command of the carrier that uploads it (live files have their own).
      const carriers = [carrierOf(r, c), carrierOf(r, c, "live-files")];
      for (const u of secretFiles) {
        expect(isSecretValue(u.content)).toBe(true);
        expect([u.owner, u.group]).toEqual([undefined, undefined]);
        const own = carriers.find((x) =>
          ((x?.inputs.uploads ?? []) as { file: string }[]).some((y) => y.file === u.file),
        );
        if (!root)
          expect([u.file, own?.inputs.command]).toEqual([
            u.file,
            expect.arrayContaining([c.inputs.user, u.file]),
          ]);
      }
      // Every generated secret a container holds is inside a secret wrapper only.
      const plain = JSON.stringify(uploads.filter((u) => !isSecretValue(u.content)));
      for (const secret of r.generatedSecrets) expect(plain).not.toContain(secret);
      // A read-only root has no uploads of its own: its files are on read-only volumes, written
      // by its carrier (Docker refuses the provider's uploads there).
      if (c.inputs.readOnly === true) {
        expect(c.inputs.uploads).toEqual([]);
        const mounted = (c.inputs.volumes as Obj[]).filter((v) => v.readOnly === true);
        for (const u of uploads) {
          const file = u.file as string;
          expect([
            file,
            mounted.some((m) => file.startsWith(`${String(m.containerPath)}/`)),
          ]).toEqual([file, true]);
        }
      }
    }
    expect([...withSecrets].sort()).toEqual([
      "api",
      "backup",
      "db-manager",
      "grafana",
      // n8n's key: its settings job's only (the server reads it from n8n's settings file).
      "n8n-settings",
      // The certificate, its key and the edge logins: prod only (dev has no TLS and no logins).
      // The smoke check's logins for those: prod only as well.
      ...(stack === "prod" ? ["nginx-secrets", "nginx-smoke"] : []),
      "postgres",
      "postgres-exporter",
      "postgres-migrate",
      "provisioner",
      "python-ai",
      "redis",
      // The ACL LOAD job logs in with Redis's password.
      "redis-acl",
      "redis-exporter",
    ]);
  });

  test("the postgres password reaches postgres as a file, never as env", () => {
    const pg = runningContainers(run(stack)).find(
      (c) => labelsOf(c)["vpn-enterprise.service"] === "postgres",
    );
    const envs = pg?.inputs.envs as string[];
    expect(envs).toContain("POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password");
    expect(envs.some((e) => e.startsWith("POSTGRES_PASSWORD="))).toBe(false);
    const file = (pg ? uploadsOf(run(stack), pg) : []).find(
      (u) => u.file === "/run/secrets/postgres_password",
    );
    expect(run(stack).generatedSecrets).toContain(reveal(file?.content));
  });

  test("credentials are exported as a secret, the rest of the contract in the clear", () => {
    // Which outputs exist, and which are secret, is the README's contract (contract.test.ts).
    const { outputs, generatedSecrets } = run(stack);
    expect(outputs.credentials.secret).toBe(true);
    const creds = outputs.credentials.value as Obj;
    for (const key of ["postgresPassword", "redisPassword", "grafanaAdminPassword"]) {
      expect(generatedSecrets).toContain(creds[key]);
    }
    // The editor login exists where the yaml guards n8n (prod), not in dev.
    expect(creds.n8nEditor).toEqual(
      stack === "prod"
        ? { user: "admin", password: expect.stringMatching(/n8nEditorPassword$/) as unknown }
        : null,
    );
    // The edge's login for /admin/ and /grafana/: prod's default basic auth; dev turns it off.
    expect(creds.edgeAdmin).toEqual(
      stack === "prod"
        ? { user: "admin", password: expect.stringMatching(/edgeAdminPassword$/) as unknown }
        : null,
    );
    expect(outputs.edge).toEqual({
      secret: false,
      value:
        stack === "prod"
          ? {
              url: "https://vpn.example.com",
              publishedPorts: ["0.0.0.0:80->80", "0.0.0.0:443->443"],
              certificateExpiry: "2027-11-25T00:00:00Z",
            }
          : {
              url: "http://localhost",
              publishedPorts: ["127.0.0.1:80->80"],
              certificateExpiry: null,
            },
    });
    expect(outputs.monitoring).toEqual({
      secret: false,
      value: {
        grafanaUrl:
          stack === "prod" ? "https://vpn.example.com/grafana/" : "http://localhost/grafana/",
        prometheusUrl: "http://prometheus:9090",
        alertmanagerUrl: "http://alertmanager:9093",
        lokiUrl: "http://loki:3100",
      },
    });
    expect(outputs.endpoints).toEqual({
      secret: false,
      value:
        stack === "prod"
          ? {
              site: "https://vpn.example.com",
              api: "https://vpn.example.com/api/",
              grafana: "https://vpn.example.com/grafana/",
            }
          : {
              site: "http://localhost",
              api: "http://localhost/api/",
              grafana: "http://localhost/grafana/",
            },
    });
    for (const key of [
      "networks",
      "volumes",
      "services",
      "namePrefix",
      "edge",
      "endpoints",
      "monitoring",
    ]) {
      expect(outputs[key].secret).toBe(false);
      for (const s of generatedSecrets) expect(JSON.stringify(outputs[key].value)).not.toContain(s);
    }
    expect(outputs.outputsVersion.value).toBe(1);
    const services = outputs.services.value as Record<string, Obj>;
    // Published ports and health URLs are checked against the containers in contract.test.ts.
    const dev = stack === "dev";
    expect(services.postgres).toEqual({
      host: "postgres",
      port: 5432,
      url: "postgresql://postgres:5432",
      healthUrl: null,
      publishedPorts: dev ? ["127.0.0.1:5432->5432"] : [],
      containerNames: [`vpn-enterprise-${stack}-postgres-1`],
    });
    expect(services.redis).toEqual({
      host: "redis",
      port: 6379,
      url: "redis://redis:6379",
      healthUrl: null,
      publishedPorts: dev ? ["127.0.0.1:6379->6379"] : [],
      containerNames: [`vpn-enterprise-${stack}-redis-1`],
    });
    expect(services.api).toEqual({
      host: "api",
      port: 3000,
      url: "http://api:3000",
      healthUrl: "http://api:3000/health",
      publishedPorts: dev ? ["127.0.0.1:9229->9229"] : [],
      containerNames: EXPECTED_CONTAINERS[stack]
        .filter((c) => /^api-\d+$/.test(c))
        .map((c) => `vpn-enterprise-${stack}-${c}`),
    });
    expect(services.nginx).toEqual({
      host: "nginx",
      port: 80,
      url: "http://nginx:80",
      healthUrl: "http://nginx:80/health",
      publishedPorts: dev ? ["127.0.0.1:80->80"] : ["0.0.0.0:80->80", "0.0.0.0:443->443"],
      containerNames: [`vpn-enterprise-${stack}-nginx-1`],
    });
    expect(Object.keys(services).sort()).toEqual([
      "alertmanager",
      "alloy",
      "api",
      "cadvisor",
      "dbManager",
      "grafana",
      "loki",
      "n8n",
      "nginx",
      "nginxExporter",
      "nodeExporter",
      "ollama",
      "postgres",
      "postgresExporter",
      "prometheus",
      "provisioner",
      "pythonAi",
      "redis",
      "redisExporter",
      "web",
    ]);
  });

  test("networks: one per tier with subnet and gateway, names from the prefix", () => {
    for (const n of of(run(stack), NETWORK)) {
      const ipam = n.inputs.ipamConfigs as Obj[];
      expect(ipam).toHaveLength(1);
      expect(ipam[0].subnet).toMatch(/^172\.\d+\.\d+\.0\/\d+$/);
      expect(ipam[0].gateway).toMatch(/\.1$/);
      expect(n.deleteBeforeReplace).toBe(true);
    }
  });
});

describe("what differs between stacks", () => {
  test("prod: data volumes protected and retained, only the edge publishes (80 and 443), data network internal", () => {
    const r = run("prod");
    for (const v of of(r, VOLUME)) {
      // Logs are not data: that volume outlives a disabled API and the stack, but is not protected.
      const logs = v.inputs.name === "vpn-enterprise-prod-api-logs";
      // The edge's site volume holds what its jobs write again, the file volumes what their
      // carriers write again, Alloy's its read positions: disposable. The ACME volume (an ACME
      // client's webroot and, for some clients, account and certificates) is kept as data is.
      const name = String(v.inputs.name);
      const disposable =
        name === "vpn-enterprise-prod-edge-site" ||
        /-files-/.test(name) ||
        name === "vpn-enterprise-prod-alloy-data";
      expect([name, v.protect, v.retainOnDelete]).toEqual([
        name,
        !logs && !disposable,
        !disposable,
      ]);
      expect(v.ignoreChanges).toEqual(["labels"]);
    }
    const published = runningContainers(r).filter((c) => (c.inputs.ports as Obj[]).length > 0);
    expect(published.map((c) => c.inputs.name)).toEqual(["vpn-enterprise-prod-nginx-1"]);
    expect(published[0].inputs.ports).toEqual([
      { internal: 80, external: 80, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 443, external: 443, ip: "0.0.0.0", protocol: "tcp" },
    ]);
    const data = of(r, NETWORK).find((n) => n.inputs.name === "vpn-enterprise-prod-data");
    expect(data?.inputs.internal).toBe(true);
  });

  test("dev: volumes unprotected and every published port on loopback, as its yaml says", () => {
    const r = run("dev");
    for (const v of of(r, VOLUME)) {
      // Its yaml's dataProtection lets every volume go with the stack, the API's logs too.
      expect([v.inputs.name, v.protect, v.retainOnDelete]).toEqual([v.inputs.name, false, false]);
    }
    // On loopback: the edge, the databases and the inspector; the apps only through the edge.
    const byContainer = runningContainers(r)
      .filter((c) => (c.inputs.ports as Obj[]).length > 0)
      .map((c) => String(c.inputs.name).replace("vpn-enterprise-dev-", ""))
      .sort();
    expect(byContainer).toEqual(["api-1", "nginx-1", "postgres-1", "redis-1"]);
    const ports = runningContainers(r).flatMap((c) => c.inputs.ports as Obj[]);
    const loopback = (internal: number, external = internal) => ({
      internal,
      external,
      ip: "127.0.0.1",
      protocol: "tcp",
    });
    expect(ports).toEqual(
      expect.arrayContaining([
        loopback(80),
        loopback(5432),
        loopback(6379),
        // The API's Node inspector.
        loopback(9229),
      ]),
    );
    expect(ports).toHaveLength(4);
  });

  test("dev and prod differ only in what their yaml sets", () => {
    const normalise = (r: ProgramRun, stack: string) =>
      new Map(
        r.resources.map((x) => [
          `${x.type}::${x.name}`,
          JSON.parse(
            JSON.stringify({ ...x, inputs: x.inputs })
              .replaceAll(`vpn-enterprise-${stack}`, "PREFIX")
              .replaceAll(`urn:pulumi:${stack}::`, "urn:pulumi:STACK::")
              .replaceAll(`"${stack}"`, '"STACK"'),
          ) as Obj,
        ]),
      );
    const dev = normalise(run("dev"), "dev");
    const prod = normalise(run("prod"), "prod");
    // Prod's yaml asks for two more API replicas and for models, which a job pulls.
    const prodOnly = [
      `${CONTAINER}::vpn-api-server-2`,
      `${CONTAINER}::vpn-api-server-3`,
      `${CONTAINER}::vpn-ollama-pull-models-1`,
      "vpn:platform:Workload::vpn-ollama-pull-models",
      // TLS (a self-signed certificate, the ACME directory) and the edge logins dev turns off,
      // installed by the edge's secrets job.
      "tls:index/privateKey:PrivateKey::vpn-edge-tls-key",
      "tls:index/selfSignedCert:SelfSignedCert::vpn-edge-tls-cert",
      `${VOLUME}::vpn-edge-acme`,
      "random:index/randomString:RandomString::vpn-edge-admin.htpasswd-salt",
      "random:index/randomString:RandomString::vpn-edge-n8n.htpasswd-salt",
      `${CONTAINER}::vpn-edge-secrets-1`,
      `${CONTAINER}::vpn-edge-secrets-files`,
      `${VOLUME}::vpn-edge-secrets-files-staging`,
      "vpn:platform:Workload::vpn-edge-secrets",
      // The smoke check's logins (basic auth, off in dev), which reach it through a carrier.
      `${CONTAINER}::vpn-smoke-job-files`,
      `${VOLUME}::vpn-smoke-job-files-run-smoke`,
    ];
    expect([...dev.keys()].sort()).toEqual(
      [...prod.keys()].filter((k) => !prodOnly.includes(k)).sort(),
    );
    const differing = new Set<string>();
    const walk = (a: unknown, b: unknown, path: string) => {
      if (JSON.stringify(a) === JSON.stringify(b)) return;
      if (typeof a === "object" && a && typeof b === "object" && b && !Array.isArray(a)) {
        for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
          walk((a as Obj)[k], (b as Obj)[k], `${path}.${k}`);
        }
      } else differing.add(path);
    };
    for (const [key, d] of dev) walk(d, prod.get(key), key.split("::")[0]);
    expect([...differing].sort()).toEqual(
      [
        // networks: subnets per tier, and the dev data network is not internal
        `${NETWORK}.inputs.ipamConfigs`,
        `${NETWORK}.inputs.internal`,
        // resources and published ports per service; rendered settings (postgresql.conf,
        // redis.conf), backup retention and /dev/shm size
        `${CONTAINER}.inputs.uploads`,
        // the hash of those files, which replaces a container when they change
        `${CONTAINER}.inputs.labels`,
        `${CONTAINER}.inputs.envs`,
        `${CONTAINER}.inputs.shmSize`,
        `${CONTAINER}.inputs.cpus`,
        `${CONTAINER}.inputs.memory`,
        `${CONTAINER}.inputs.memorySwap`,
        `${CONTAINER}.inputs.memoryReservation`,
        `${CONTAINER}.inputs.ports`,
        // dev mode (api, web): the `dev` build target, the watcher command, the source bind mount
        `${IMAGE}.inputs.build.target`,
        `${CONTAINER}.inputs.command`,
        `${CONTAINER}.inputs.volumes`,
        // the provisioner waits for every API replica: 3 in prod, 1 in dev
        `${CONTAINER}.dependencies`,
        // data protection
        `${VOLUME}.protect`,
        `${VOLUME}.retainOnDelete`,
        // the file volumes are named after the files they hold (and so wait for the secrets)
        `${VOLUME}.inputs.name`,
        `${VOLUME}.dependencies`,
        // the smoke check holds prod's logins: its output is a secret in the state
        `${CONTAINER}.additionalSecretOutputs`,
      ].sort(),
    );
  });
});

describe("config given to the program", () => {
  test("a bad config registers nothing and fails with one ConfigError naming every key", async () => {
    const config = {
      ...cliConfig("prod"),
      [`${PROJECT}:services`]: JSON.stringify({
        redis: { replicas: 0 },
        postgres: { resoures: {} },
      }),
      [`${PROJECT}:networks`]: JSON.stringify({ app: { subnet: "172.20.0.0/33" } }),
    };
    const r = await runProgram(config, "prod");
    expect(r.error).toBeInstanceOf(Error);
    expect(r.error?.name).toBe(ConfigError.name);
    expect(r.error?.message).toContain(`${PROJECT}:services.redis.replicas: given 0`);
    expect(r.error?.message).toContain(
      `${PROJECT}:services.postgres.resoures: given {}, an unknown key (did you mean "resources"?)`,
    );
    expect(r.error?.message).toContain(`${PROJECT}:networks.app.subnet: given "172.20.0.0/33"`);
    expect(r.resources).toEqual([]);
  });

  test("config that is not JSON where an object belongs is refused before anything is created", async () => {
    const r = await runProgram(
      { ...cliConfig("prod"), [`${PROJECT}:services`]: "{not json" },
      "prod",
    );
    expect(r.error?.message).toContain(`${PROJECT}:services: given text that is not valid JSON`);
    expect(r.resources).toEqual([]);
  });

  test("a credential given in config replaces the generated one and stays secret", async () => {
    const override = "given-by-operator-0123456789";
    const r = await runProgram(
      {
        ...cliConfig("dev"),
        [`${PROJECT}:secrets`]: JSON.stringify({ postgresPassword: override }),
      },
      "dev",
    );
    if (r.error) throw r.error;
    expect(of(r, RANDOM).map((x) => x.name)).not.toContain("vpn-secrets-postgresPassword");
    expect(of(r, RANDOM)).toHaveLength(SECRET_NAMES.length - 1);
    const everythingPlain = JSON.stringify(
      r.resources.map((x) => ({ ...x, inputs: mapSecrets(x.inputs, () => "[secret]") })),
    );
    expect(everythingPlain).not.toContain(override);
    const pg = runningContainers(r).find((c) => c.name === "vpn-postgres-server-1");
    expect(JSON.stringify(reveal(pg ? uploadsOf(r, pg) : []))).toContain(override);
    expect(r.outputs.credentials.secret).toBe(true);
  });

  test("a disabled service loses its containers but keeps its volume; callers lose its URL", async () => {
    const r = await runWithServices("dev", { n8n: { enabled: false } });
    const names = runningContainers(r).map((c) => c.inputs.name as string);
    expect(names.sort()).toEqual(
      EXPECTED_CONTAINERS.dev
        .filter((c) => !c.startsWith("n8n-"))
        .map((c) => `vpn-enterprise-dev-${c}`),
    );
    expect(of(r, VOLUME).map((v) => v.inputs.name)).toContain("vpn-enterprise-dev-n8n-data");
    expect(Object.keys(r.outputs.services.value as Obj)).not.toContain("n8n");
    const ai = runningContainers(r).find((c) => c.name === "vpn-python-ai-server-1");
    const envs = ai?.inputs.envs as string[];
    expect(envs.some((e) => e.startsWith("N8N_URL="))).toBe(false);
    expect(envs).toContain("OLLAMA_URL=http://ollama:11434");
  });

  test("keepWhenDisabled: false removes a disabled service's volume as well", async () => {
    const r = await runWithServices("dev", {
      n8n: { enabled: false, dataProtection: { protect: false, keepWhenDisabled: false } },
    });
    expect(of(r, VOLUME).map((v) => v.inputs.name)).not.toContain("vpn-enterprise-dev-n8n-data");
    expect(Object.keys(r.outputs.volumes.value as Obj)).not.toContain("n8n");
  });

  test("a service another one needs cannot be disabled alone: nothing is created", async () => {
    const r = await runProgram(
      {
        ...cliConfig("prod"),
        [`${PROJECT}:services`]: JSON.stringify({ redis: { enabled: false } }),
      },
      "prod",
    );
    expect(r.error?.message).toContain(
      `${PROJECT}:services.api.enabled: given nothing (so the default); allowed: false while services.redis is disabled`,
    );
    expect(r.resources).toEqual([]);
  });

  test("the name prefix from config names every Docker object", async () => {
    const r = await runProgram({ ...cliConfig("dev"), [`${PROJECT}:namePrefix`]: "team-a" }, "dev");
    if (r.error) throw r.error;
    const names = r.resources.filter(
      (x) =>
        x.type.startsWith("docker:index/") &&
        x.inputs.name !== undefined &&
        x.type !== "docker:index/remoteImage:RemoteImage",
    );
    expect(names.length).toBeGreaterThan(0);
    for (const x of names) expect(x.inputs.name).toMatch(/^team-a-/);
  });
});
