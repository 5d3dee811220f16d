/** The data tier's config keys and the migrations directory, checked without mocks. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../../config/load";
import { loadMigrations } from "../../config/migrations";
import { PROJECT, ROOT, STACKS, projectValues } from "../stackFiles";
import { expectProblem, problemsOf } from "./configProblems";

const base = { domain: "vpn.example.com" };
const ns = `${PROJECT}:`;

describe("defaults a platform team gets without writing anything", () => {
  const cfg = parseStackConfig(base, PROJECT, "staging", ROOT);
  const { postgres, redis, backup } = cfg.services;

  test("PostgreSQL: named roles, extensions and server settings", () => {
    expect(postgres).toMatchObject({
      database: "vpn_enterprise",
      adminUser: "vpn_admin",
      appUser: "vpn_app",
      readonlyUser: "vpn_readonly",
      extensions: ["pgcrypto", "pg_stat_statements"],
      settings: {
        maxConnections: 100,
        sharedBuffersMb: 128,
        statementTimeoutMs: 60000,
        logMinDurationStatementMs: 1000,
      },
      migrationsDir: "migrations",
    });
  });

  test("Redis: no eviction, and FLUSHALL, FLUSHDB, CONFIG and DEBUG disabled", () => {
    expect(redis.maxmemoryPolicy).toBe("noeviction");
    expect(redis.commands).toEqual({
      FLUSHALL: "disabled",
      FLUSHDB: "disabled",
      CONFIG: "disabled",
      DEBUG: "disabled",
      KEYS: "enabled",
      MONITOR: "enabled",
    });
  });

  test("backups: daily at 02:30 UTC, kept 7 days, on a protected volume", () => {
    expect(backup).toMatchObject({
      enabled: true,
      schedule: { startUtc: "02:30", everyHours: 24 },
      retentionDays: 7,
      dataProtection: { protect: true, retainOnDelete: true },
    });
  });

  test("the shipped migrations are loaded in order with their checksums", () => {
    expect(cfg.migrations.map((m) => m.name)).toEqual(
      fs
        .readdirSync(path.join(ROOT, "migrations"))
        .filter((f) => f.endsWith(".sql"))
        .sort(),
    );
    for (const m of cfg.migrations) expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each(STACKS)("the %s stack file sets sensible per-stack values", (stack) => {
    const c = parseStackConfig(projectValues(stack), PROJECT, stack, ROOT);
    const pg = c.services.postgres;
    expect(pg.settings.sharedBuffersMb).toBeLessThanOrEqual(pg.resources.memoryMb / 4);
    expect(pg.shmSizeMb).toBeLessThanOrEqual(pg.resources.memoryMb / 2);
  });
});

const services = (body: Record<string, unknown>) => ({ ...base, services: body });

// Each bad config, the key path the error must name, and a fragment of what it must say.
const BAD: [string, Record<string, unknown>, string, string][] = [
  [
    "database name with upper case",
    services({ postgres: { database: "VpnDb" } }),
    "services.postgres.database",
    "lower-case letters",
  ],
  [
    "database name too long for a restore's kept copy",
    services({ postgres: { database: "d".repeat(37) } }),
    "services.postgres.database",
    "at most 36 characters",
  ],
  [
    "role name in the pg_ namespace",
    services({ postgres: { appUser: "pg_app" } }),
    "services.postgres.appUser",
    "not starting with a digit or pg_",
  ],
  [
    "two roles with one name",
    services({ postgres: { readonlyUser: "vpn_app" } }),
    "services.postgres.readonlyUser",
    "other than appUser's",
  ],
  [
    "database named like a role",
    services({ postgres: { database: "vpn_admin" } }),
    "services.postgres.database",
    "neither one of the role names",
  ],
  [
    "unknown extension",
    services({ postgres: { extensions: ["postgis"] } }),
    "services.postgres.extensions[0]",
    '"pgcrypto"',
  ],
  [
    "shared buffers larger than half the memory",
    services({ postgres: { resources: { memoryMb: 512 }, settings: { sharedBuffersMb: 300 } } }),
    "services.postgres.settings.sharedBuffersMb",
    "at most half of resources.memoryMb (256)",
  ],
  [
    "/dev/shm larger than half the memory",
    services({ postgres: { resources: { memoryMb: 256 }, shmSizeMb: 256 } }),
    "services.postgres.shmSizeMb",
    "counts against the memory limit",
  ],
  [
    "misspelled server setting",
    services({ postgres: { settings: { maxConnection: 10 } } }),
    "services.postgres.settings.maxConnection",
    'did you mean "maxConnections"',
  ],
  [
    "negative statement timeout",
    services({ postgres: { settings: { statementTimeoutMs: -5 } } }),
    "services.postgres.settings.statementTimeoutMs",
    ">= 0",
  ],
  [
    "redis maxmemory at the container limit",
    services({ redis: { resources: { memoryMb: 256 }, maxmemoryMb: 256 } }),
    "services.redis.maxmemoryMb",
    "less than resources.memoryMb (256)",
  ],
  [
    "unknown eviction policy",
    services({ redis: { maxmemoryPolicy: "lru" } }),
    "services.redis.maxmemoryPolicy",
    '"allkeys-lru"',
  ],
  [
    "unknown guarded command",
    services({ redis: { commands: { SHUTDOWN: "disabled" } } }),
    "services.redis.commands.SHUTDOWN",
    "allowed keys: FLUSHALL",
  ],
  [
    "command renamed to a short name",
    services({ redis: { commands: { CONFIG: { renameTo: "cfg" } } } }),
    "services.redis.commands.CONFIG.renameTo",
    "8 to 64 letters",
  ],
  [
    "a command rule that is not one",
    services({ redis: { commands: { CONFIG: "off" } } }),
    "services.redis.commands.CONFIG",
    '"enabled", "disabled" or { renameTo',
  ],
  [
    "two commands renamed to one name",
    services({
      redis: {
        commands: { CONFIG: { renameTo: "ops-only-1234" }, DEBUG: { renameTo: "OPS-ONLY-1234" } },
      },
    }),
    "services.redis.commands.DEBUG.renameTo",
    "taken by CONFIG",
  ],
  [
    "command renamed to another command's name",
    services({ redis: { commands: { CONFIG: { renameTo: "subscribe" } } } }),
    "services.redis.commands.CONFIG.renameTo",
    "subscribe is taken",
  ],
  [
    "backup time of day out of range",
    services({ backup: { schedule: { startUtc: "24:00" } } }),
    "services.backup.schedule.startUtc",
    "HH:MM",
  ],
  [
    "backup interval that does not divide a day",
    services({ backup: { schedule: { everyHours: 5 } } }),
    "services.backup.schedule.everyHours",
    "one of 1, 2, 3, 4, 6, 8, 12, 24",
  ],
  [
    "zero retention",
    services({ backup: { retentionDays: 0 } }),
    "services.backup.retentionDays",
    ">= 1",
  ],
  [
    "backups without PostgreSQL",
    services({ postgres: { enabled: false } }),
    "services.backup.enabled",
    "nothing to back up",
  ],
  [
    "pg_dump older than the server",
    services({
      postgres: { image: { ref: "postgres:16-alpine" } },
      backup: { image: { ref: "postgres:15-alpine" } },
    }),
    "services.backup.image.ref",
    "a postgres:16 image",
  ],
  [
    "a published port on the backup job",
    {
      ...services({ backup: { ports: [{ host: 9000 }] } }),
      networks: { data: { internal: false } },
    },
    "services.backup.ports[0]",
    "listens on no port",
  ],
  [
    "more than one backup container",
    services({ backup: { replicas: 2 } }),
    "services.backup.replicas",
    "exactly 1",
  ],
];

describe("bad data-tier configs", () => {
  test.each(BAD)("%s", (_name, raw, key, fragment) => {
    expectProblem(raw, key, fragment);
  });
});

describe("the migrations directory", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrations-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, sql: string) => {
    fs.writeFileSync(path.join(dir, name), sql);
  };

  test("files come back in file-name order, README and .gitkeep ignored", () => {
    write("010_b.sql", "CREATE TABLE b (id int);");
    write("002_a.sql", "CREATE TABLE a (id int);");
    write("README.md", "notes");
    write(".gitkeep", "");
    const { migrations, problems } = loadMigrations(dir, "/");
    expect(problems).toEqual([]);
    expect(migrations.map((m) => m.name)).toEqual(["002_a.sql", "010_b.sql"]);
  });

  test("PL/pgSQL bodies, strings and comments may say BEGIN and COMMIT", () => {
    write(
      "001_fn.sql",
      [
        "-- BEGIN is fine in a comment",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$",
        "BEGIN",
        "  NEW.updated_at := now();",
        "  RETURN NEW;",
        "END;",
        "$$;",
        "INSERT INTO notes VALUES ('COMMIT');",
        "/* ROLLBACK */",
      ].join("\n"),
    );
    expect(loadMigrations(dir, "/").problems).toEqual([]);
  });

  test.each([
    [
      "transaction control",
      "001_tx.sql",
      "CREATE TABLE t (id int);\nCOMMIT;",
      "line 2: transaction control",
    ],
    ["CONCURRENTLY", "001_idx.sql", "CREATE INDEX CONCURRENTLY i ON t (id);", "CONCURRENTLY"],
    ["VACUUM", "001_vac.sql", "VACUUM t;", "cannot run inside a transaction"],
    ["an empty file", "001_empty.sql", "-- nothing\n", "empty"],
    ["a bad name", "1_short.sql", "SELECT 1;", "not a migration file name"],
    ["an upper-case name", "001_Add.sql", "SELECT 1;", "not a migration file name"],
  ])("%s is refused, naming the file", (_what, name, sql, fragment) => {
    write(name, sql);
    const { problems } = loadMigrations(dir, "/");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(path.join(dir, name));
    expect(problems[0]).toContain(fragment);
  });

  test("two files with one number are refused", () => {
    write("001_a.sql", "SELECT 1;");
    write("0001_b.sql", "SELECT 1;");
    expect(loadMigrations(dir, "/").problems.join("\n")).toContain(
      "its number is also 0001_b.sql's",
    );
  });

  test("through the stack config: the key, the file and the line are named", () => {
    write("001_ok.sql", "SELECT 1;");
    write("002_bad.sql", "BEGIN;\nSELECT 1;");
    const problems = problemsOf(services({ postgres: { migrationsDir: dir } }), ROOT);
    expect(problems).toEqual([
      `${ns}services.postgres.migrationsDir: ${path.join(dir, "002_bad.sql")} line 1: transaction control; each migration runs in one transaction the runner owns`,
    ]);
  });

  test("a missing directory is a config problem, not a crash", () => {
    const problems = problemsOf(services({ postgres: { migrationsDir: "no/such/dir" } }));
    expect(problems[0]).toMatch(
      /^vpn-enterprise:services\.postgres\.migrationsDir: no\/such\/dir: not a directory/,
    );
  });

  test("with PostgreSQL disabled the directory is not read", () => {
    const cfg = parseStackConfig(
      services({
        postgres: { enabled: false, migrationsDir: "no/such/dir" },
        backup: { enabled: false },
        api: { enabled: false },
      }),
      PROJECT,
      "test",
      ROOT,
    );
    expect(cfg.migrations).toEqual([]);
  });
});

describe("the stack-wide dataProtection", () => {
  const parse = (raw: Record<string, unknown>) =>
    parseStackConfig({ ...base, ...raw }, PROJECT, "staging", ROOT);
  const protectionOf = (raw: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(parse(raw).services)
        .filter(([, svc]) => "dataProtection" in svc)
        .map(([name, svc]) => [name, (svc as { dataProtection: object }).dataProtection]),
    );
  const disposable = { protect: false, retainOnDelete: false, keepWhenDisabled: false };

  test("dev says it once: every stateful service unprotected, still kept while disabled", () => {
    const dev = parseStackConfig(projectValues("dev"), PROJECT, "dev", ROOT);
    for (const [name, svc] of Object.entries(dev.services)) {
      if (!("dataProtection" in svc)) continue;
      const expected = ["alloy", "promtail"].includes(name)
        ? disposable
        : { protect: false, retainOnDelete: false, keepWhenDisabled: true };
      expect([name, svc.dataProtection]).toEqual([name, expected]);
    }
  });

  test("a service's own keys win; the log shippers' disposable positions keep theirs", () => {
    const p = protectionOf({
      dataProtection: { protect: false, retainOnDelete: true },
      services: { postgres: { dataProtection: { protect: true } } },
    });
    expect(p.postgres).toEqual({ protect: true, retainOnDelete: true, keepWhenDisabled: true });
    expect(p.redis).toEqual({ protect: false, retainOnDelete: true, keepWhenDisabled: true });
    expect(p.alloy).toEqual(disposable);
  });

  test("without it, every volume is protected (the schema's default)", () => {
    expect(protectionOf({}).postgres).toEqual({
      protect: true,
      retainOnDelete: true,
      keepWhenDisabled: true,
    });
  });

  test("a bad value is one error at the stack-wide key, not one per service", () => {
    for (const [value, key, fragment] of [
      [{ protect: "no" }, "dataProtection.protect", "boolean"],
      [{ keepWhenDisabled: false }, "dataProtection.keepWhenDisabled", "unless protect is false"],
      [{ retain: false }, "dataProtection.retain", "an unknown key"],
    ] as const) {
      const problems = problemsOf({ ...base, dataProtection: value });
      expect([key, problems.length]).toEqual([key, 1]);
      expectProblem({ ...base, dataProtection: value }, key, fragment);
    }
  });
});
