/**
 * The data tier under mocks, for both stack files: PostgreSQL with its rendered settings and
 * migration job, Redis with its rendered redis.conf, the backup job, and the outputs other teams read.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SECRET_NAMES } from "../../config/schema";
import { ROOT, STACKS, StackName, cliConfig } from "../stackFiles";
import {
  ChildRun,
  JobResult,
  ProgramRun,
  RecordedResource,
  isSecretValue,
  reveal,
  runEachStack,
  envOf,
  runInChild,
  runProgram,
  servicesWith,
  runningContainers,
  uploadsOf,
} from "./harness";

const VOLUME = "docker:index/volume:Volume";

type Obj = Record<string, unknown>;
interface Upload {
  file: string;
  content: unknown;
  permissions: string;
}

const containers = runningContainers;
const container = (r: ProgramRun, service: string): RecordedResource => {
  const c = containers(r).find((x) => String(x.inputs.name).endsWith(`-${service}-1`));
  if (!c) throw new Error(`no ${service} container`);
  return c;
};
const uploads = (r: ProgramRun, c: RecordedResource) => uploadsOf(r, c) as unknown as Upload[];
const upload = (r: ProgramRun, c: RecordedResource, file: string): string => {
  const u = uploads(r, c).find((x) => x.file === file);
  if (!u) throw new Error(`${String(c.inputs.name)} has no upload ${file}`);
  return reveal(u.content) as string;
};
const dependsOnName = (c: RecordedResource, name: string) =>
  c.dependencies.some((urn) => urn.endsWith(`::${name}`));

const PROGRAM = path.join(ROOT, "index.ts");
/** The containers that depend on the data tier's gate (the API, and what waits on the API). */
const DATA_CONSUMERS = ["api-1", "api-2", "api-3", "db-manager-1", "provisioner-1"].map(
  (c) => `vpn-enterprise-prod-${c}`,
);

/** The program with the migration job ending as `job` (every other job succeeds). */
async function runFailing(config: Record<string, string>, job: JobResult): Promise<ChildRun> {
  return runInChild(PROGRAM, "prod", config, job, "-postgres-migrate-1");
}

const run = runEachStack(STACKS, cliConfig);

describe.each(STACKS)("the %s stack's data tier", (stack) => {
  const prefix = `vpn-enterprise-${stack}`;

  test("every password reaches its container only as a secret file (0400)", () => {
    const r = run(stack);
    expect(r.generatedSecrets).toHaveLength(SECRET_NAMES.length);
    const delivered = new Set<string>();
    for (const c of containers(r)) {
      for (const u of uploads(r, c)) {
        const text = JSON.stringify(reveal(u.content));
        const held = r.generatedSecrets.filter((s) => text.includes(s));
        for (const s of held) delivered.add(s);
        if (held.length > 0) {
          expect([u.file, isSecretValue(u.content), u.permissions]).toEqual([u.file, true, "0400"]);
        }
      }
      const exposed = JSON.stringify([c.inputs.envs, c.inputs.command, c.inputs.healthcheck]);
      for (const s of r.generatedSecrets) expect(exposed).not.toContain(s);
    }
    // The data tier's passwords do reach their containers, so the check above had files to judge
    // (the mocks name each generated value after its secret).
    const dataPasswords = r.generatedSecrets.filter((s) => /postgres|redis/i.test(s));
    expect(dataPasswords.length).toBeGreaterThanOrEqual(3);
    for (const s of dataPasswords) expect([s, delivered.has(s)]).toEqual([s, true]);
  });

  test("PostgreSQL runs the rendered settings, init.sql on first start, a pg_isready check", () => {
    const r = run(stack);
    const pg = container(r, "postgres");
    expect(pg.inputs.command).toEqual([
      "postgres",
      "-c",
      "config_file=/etc/postgresql/postgresql.conf",
    ]);
    const conf = upload(r, pg, "/etc/postgresql/postgresql.conf");
    const expected =
      stack === "dev" ? { max: 50, buffers: "64MB" } : { max: 200, buffers: "512MB" };
    expect(conf).toMatch(new RegExp(`^max_connections\\s*=\\s*${expected.max}\\b`, "m"));
    expect(conf).toMatch(new RegExp(`^shared_buffers\\s*=\\s*'?${expected.buffers}`, "m"));
    expect(upload(r, pg, "/docker-entrypoint-initdb.d/10-init.sql")).toContain("vpn_readonly");
    expect(envOf(pg)).toMatchObject({
      POSTGRES_USER: "vpn_admin",
      POSTGRES_DB: "vpn_enterprise",
      POSTGRES_PASSWORD_FILE: "/run/secrets/postgres_password",
    });
    expect((pg.inputs.healthcheck as Obj).tests).toEqual([
      "CMD",
      "pg_isready",
      "-h",
      "127.0.0.1",
      "-p",
      "5432",
      "-U",
      "vpn_admin",
      "-d",
      "vpn_enterprise",
    ]);
    expect(pg.inputs.shmSize).toBe(stack === "dev" ? 64 : 512);
  });

  test("the migration job waits for PostgreSQL and carries every migration file", () => {
    const r = run(stack);
    const job = container(r, "postgres-migrate");
    expect(job.inputs).toMatchObject({
      attach: true,
      logs: true,
      mustRun: false,
      restart: "no",
      readOnly: true,
      user: "70:70",
    });
    expect(job.inputs.healthcheck).toBeUndefined();
    expect(job.inputs.wait).toBeUndefined();
    expect(dependsOnName(job, "vpn-postgres-server-1")).toBe(true);
    const shipped = fs.readdirSync(path.join(ROOT, "migrations")).filter((f) => f.endsWith(".sql"));
    expect(shipped.length).toBeGreaterThan(0);
    for (const f of shipped) {
      expect(upload(r, job, `/opt/vpn-postgres/migrations/${f}`)).toBe(
        fs.readFileSync(path.join(ROOT, "migrations", f), "utf8"),
      );
    }
    expect(envOf(job)).toMatchObject({
      PGHOST: "postgres",
      PGUSER: "vpn_admin",
      PGDATABASE: "vpn_enterprise",
      PGPASSFILE: "/run/secrets/pgpass",
      MIGRATIONS_DIR: "/opt/vpn-postgres/migrations",
    });
    expect(upload(r, job, "/run/secrets/pgpass")).toMatch(/^postgres:5432:\*:vpn_admin:GENERATED/);
  });

  test("the backup job: schedule and retention from config, dumps on the backups volume", () => {
    const r = run(stack);
    const backup = container(r, "backup");
    expect(dependsOnName(backup, "vpn-postgres-server-1")).toBe(true);
    expect(envOf(backup)).toMatchObject({
      BACKUP_DIR: "/var/lib/postgresql/data",
      BACKUP_RETENTION_DAYS: stack === "dev" ? "2" : "7",
      BACKUP_INTERVAL_HOURS: "24",
      BACKUP_START_UTC: "02:30",
    });
    expect(backup.inputs.volumes).toEqual(
      expect.arrayContaining([
        { volumeName: `${prefix}-backup-data`, containerPath: "/var/lib/postgresql/data" },
      ]),
    );
    expect((backup.inputs.healthcheck as Obj).tests).toEqual([
      "CMD",
      "sh",
      "/opt/vpn-postgres/schedule.sh",
      "--check",
    ]);
    // `up` waits for the first healthy check, which comes one interval after the start: 10 s,
    // not the minute it once held every deploy for.
    expect((backup.inputs.healthcheck as Obj).interval).toBe("10s");
    expect(backup.inputs.ports).toEqual([]);
  });

  test("Redis: maxmemory and the guarded commands as the stack file says", () => {
    const r = run(stack);
    const redis = container(r, "redis");
    const conf = upload(r, redis, "/run/secrets/redis.conf");
    expect(conf).toContain(stack === "dev" ? "maxmemory 96mb" : "maxmemory 384mb");
    expect(conf).toContain("maxmemory-policy noeviction");
    expect(conf).toContain('rename-command CONFIG ""');
    expect(conf.includes('rename-command FLUSHALL ""')).toBe(stack === "prod");
  });

  test("Redis's users are live: their own volume, rewritten in place, then ACL LOAD before any client", () => {
    const r = run(stack);
    const redis = container(r, "redis");
    expect(upload(r, redis, "/run/secrets/redis.conf")).toContain(
      'aclfile "/run/redis-users/users.acl"',
    );
    expect(upload(r, redis, "/run/redis-users/users.acl")).toMatch(
      /^user default on #[0-9a-f]{64} ~\* &\* \+@all$/m,
    );
    // A volume of a stable name (not named after the files), mounted read-only.
    expect(redis.inputs.volumes).toEqual(
      expect.arrayContaining([
        {
          volumeName: `${prefix}-redis-live-files-run-redis-users`,
          containerPath: "/run/redis-users",
          readOnly: true,
        },
      ]),
    );
    const live = r.resources.find((x) => x.name === "vpn-redis-server-live-files");
    expect(live?.inputs).toMatchObject({
      entrypoints: ["chown"],
      command: ["999:1000", "/run/redis-users/users.acl"],
    });
    // The users.acl is not in the label that replaces the server when its files change.
    const label = (x: RecordedResource) =>
      (x.inputs.labels as { label: string; value: string }[]).find(
        (l) => l.label === "vpn-enterprise.files-sha256",
      )?.value;
    expect(label(redis)).toBeDefined();
    const load = container(r, "redis-acl");
    expect(load.inputs).toMatchObject({ attach: true, user: "999:1000" });
    expect(dependsOnName(load, "vpn-redis-server-1")).toBe(true);
    expect(dependsOnName(load, "vpn-redis-server-live-files")).toBe(true);
    // What uses Redis waits for the load: the API, and the exporter's login.
    expect(dependsOnName(container(r, "api"), "vpn-redis-acl-1")).toBe(true);
    expect(dependsOnName(container(r, "redis-exporter"), "vpn-redis-acl-1")).toBe(true);
    expect(dependsOnName(container(r, "postgres-exporter"), "vpn-postgres-migrate-1")).toBe(true);
  });

  test("outputs: endpoints and role names in the clear, connection strings secret", () => {
    const { outputs, generatedSecrets } = run(stack);
    expect(outputs.data).toEqual({
      secret: false,
      value: {
        postgres: {
          host: "postgres",
          port: 5432,
          database: "vpn_enterprise",
          adminUser: "vpn_admin",
          appUser: "vpn_app",
          readonlyUser: "vpn_readonly",
          schemaVersion: "001_tenants.sql",
        },
        redis: { host: "redis", port: 6379 },
      },
    });
    expect(outputs.connectionStrings.secret).toBe(true);
    const urls = outputs.connectionStrings.value as Record<string, string>;
    expect(Object.keys(urls).sort()).toEqual(["postgresApp", "postgresReadonly", "redis"]);
    expect(urls.postgresApp).toMatch(
      /^postgresql:\/\/vpn_app:GENERATED\w+@postgres:5432\/vpn_enterprise$/,
    );
    expect(urls.postgresReadonly).toMatch(
      /^postgresql:\/\/vpn_readonly:GENERATED\w+@postgres:5432\//,
    );
    expect(urls.redis).toMatch(/^redis:\/\/:GENERATED\w+@redis:6379\/0$/);
    for (const url of Object.values(urls)) {
      expect(generatedSecrets.some((s) => url.includes(s))).toBe(true);
    }
    expect(outputs.backups).toEqual({
      secret: false,
      value: {
        volume: `${prefix}-backup-data`,
        directory: "/var/lib/postgresql/data",
        schedule: { startUtc: "02:30", everyHours: 24 },
        retentionDays: stack === "dev" ? 2 : 7,
        metricsFile: "/var/lib/postgresql/data/vpn_backup.prom",
        listCommand: `docker exec ${prefix}-backup-1 sh /opt/vpn-postgres/restore.sh`,
        restoreCommand: `docker exec ${prefix}-backup-1 sh /opt/vpn-postgres/restore.sh <file name, or latest>`,
      },
    });
  });

  test("all three data volumes follow the stack's protection", () => {
    const data = ["backup", "postgres", "redis"].map((s) => `${prefix}-${s}-data`);
    const volumes = run(stack).resources.filter(
      (x) => x.type === VOLUME && data.includes(x.inputs.name as string),
    );
    expect(volumes.map((v) => v.inputs.name).sort()).toEqual(data);
    const expected = stack === "prod" ? [true, true] : [false, false];
    for (const v of volumes) expect([v.protect, v.retainOnDelete]).toEqual(expected);
  });
});

test("turning the exporters on changes the migration job and Redis's live users, never a server", async () => {
  const off = await runProgram(
    servicesWith("prod", {
      postgresExporter: { enabled: false },
      redisExporter: { enabled: false },
    }),
    "prod",
  );
  const on = await runProgram(cliConfig("prod"), "prod");
  for (const x of [off, on]) if (x.error) throw x.error;
  const byName = (x: ProgramRun) => new Map(x.resources.map((y) => [`${y.type}::${y.name}`, y]));
  const before = byName(off);
  const changed = [...byName(on)]
    .filter(([key, y]) => {
      const old = before.get(key);
      return old !== undefined && JSON.stringify(old.inputs) !== JSON.stringify(y.inputs);
    })
    .map(([, y]) => y.name)
    .sort();
  expect(changed).toEqual(
    [
      // The backup scheduler carries init.sql for a restore to re-apply, the role now in it.
      "vpn-backup-job-1",
      "vpn-backup-job-files",
      "vpn-backup-job-files-opt-vpn-postgres",
      "vpn-backup-job-files-run-secrets",
      // init.sql makes the monitoring role: the job runs again, with the role's password.
      "vpn-postgres-migrate-1",
      "vpn-postgres-migrate-files",
      "vpn-postgres-migrate-files-opt-vpn-postgres",
      "vpn-postgres-migrate-files-run-secrets",
      // users.acl gains the monitoring user: rewritten under the running server, then loaded.
      "vpn-redis-acl-1",
      "vpn-redis-acl-files",
      "vpn-redis-acl-files-run-redis-acl-job",
      "vpn-redis-acl-files-run-secrets",
      "vpn-redis-server-live-files",
      // The rules for the exporters' metrics, and the new scrape jobs.
      ...changed.filter(
        (n) => n.startsWith("vpn-prometheus-server") || n.startsWith("vpn-grafana"),
      ),
    ].sort(),
  );
  // Prometheus does gain the new jobs and rules.
  expect(changed).toContain("vpn-prometheus-server-files");
  for (const server of ["vpn-postgres-server-1", "vpn-redis-server-1"]) {
    expect(changed).not.toContain(server);
  }
});

describe("migrations as a deploy step", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mig-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const withDir = (stack: StackName) => servicesWith(stack, { postgres: { migrationsDir: dir } });

  test("a new migration file changes the job and nothing else", async () => {
    fs.writeFileSync(path.join(dir, "001_a.sql"), "CREATE TABLE a (id int);");
    const before = await runProgram(withDir("prod"), "prod");
    fs.writeFileSync(path.join(dir, "002_b.sql"), "CREATE TABLE b (id int);");
    const after = await runProgram(withDir("prod"), "prod");
    for (const r of [before, after]) if (r.error) throw r.error;
    const changed = after.resources
      .filter((x) => {
        const old = before.resources.find((y) => y.type === x.type && y.name === x.name);
        return JSON.stringify(old?.inputs) !== JSON.stringify(x.inputs);
      })
      .map((x) => x.name);
    // The job, the carrier of its files (the new migration file) and the volumes those go to,
    // named after the files.
    expect(changed.sort()).toEqual([
      "vpn-postgres-migrate-1",
      "vpn-postgres-migrate-files",
      "vpn-postgres-migrate-files-opt-vpn-postgres",
      "vpn-postgres-migrate-files-run-secrets",
    ]);
    expect(after.outputs.data.value).toMatchObject({ postgres: { schemaVersion: "002_b.sql" } });
  });

  test("a failed migration fails the deploy with the job's last lines; the API is never created", async () => {
    fs.writeFileSync(path.join(dir, "001_a.sql"), "CREATE TABLE a (id int);");
    const failed: JobResult = {
      exitCode: 1,
      // As the provider stores it: Docker's 8-byte frame header before each frame.
      logs:
        "\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0020applying 001_a.sql\n" +
        '\u0002\u0000\u0000\u0000\u0000\u0000\u0000\u0040migration 001_a.sql failed: ERROR:  relation "a" already exists\n',
    };
    const out = await runFailing(withDir("prod"), failed);
    for (const c of DATA_CONSUMERS) expect(out.containers).not.toContain(c);
    expect(out.containers).toContain("vpn-enterprise-prod-postgres-migrate-1");
    // What does not need the database is deployed as usual.
    expect(out.containers).toContain("vpn-enterprise-prod-web-1");
    const error = out.errors.find((e) => e.name === "MigrationError");
    expect(error?.message).toContain(
      "container vpn-enterprise-prod-postgres-migrate-1, exit code 1",
    );
    expect(error?.message).toContain(
      '  migration 001_a.sql failed: ERROR:  relation "a" already exists',
    );
    expect(error?.message).not.toMatch(/[\u0000-\u0002]/);
  });
});

test("a refused ACL file fails the deploy with Redis's answer; what uses Redis is never created", async () => {
  const out = await runInChild(
    PROGRAM,
    "prod",
    cliConfig("prod"),
    { exitCode: 1, logs: "ACL LOAD: ERR /run/redis-users/users.acl:2: Unknown command\n" },
    "-redis-acl-1",
  );
  const error = out.errors.find((e) => e.name === "JobError");
  expect(error?.message).toContain("Loading Redis's users (ACL LOAD) failed");
  expect(error?.message).toContain("ACL LOAD: ERR /run/redis-users/users.acl:2: Unknown command");
  expect(out.containers).toContain("vpn-enterprise-prod-redis-1");
  for (const c of [...DATA_CONSUMERS, "vpn-enterprise-prod-redis-exporter-1"]) {
    expect(out.containers).not.toContain(c);
  }
});

test("with the migrations applied the same child run creates the API (the gate, not the runner, held it back)", async () => {
  const child = await runFailing(cliConfig("prod"), { exitCode: 0, logs: "" });
  expect(child.errors).toEqual([]);
  for (const c of DATA_CONSUMERS) expect(child.containers).toContain(c);
});
