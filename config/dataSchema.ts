/**
 * The data tier's own config keys (PostgreSQL, Redis, backups) and their cross-checks; the shared
 * service keys and the stack schema are in schema.ts.
 */
import { z } from "zod";
import { POSTGRES_EXTENSIONS } from "../render/postgres";
import {
  REDIS_EVICTION_POLICIES,
  REDIS_GUARDED_COMMANDS,
  isRedisCommandName,
} from "../render/redis";
import type { RawStackConfig, ServiceShape } from "./schema";
import { strict } from "./strict";

/** A PostgreSQL role or database name that needs no quoting anywhere (URLs, psql, pg_dump). */
const pgName = z.string().regex(/^(?!pg_)[a-z_][a-z0-9_]{0,62}$/, {
  error: "lower-case letters, digits and _, not starting with a digit or pg_, at most 63",
});

export const postgresExtras = {
  /** The database and superuser the server is initialised with (first start only). */
  database: pgName.default("vpn_enterprise"),
  adminUser: pgName.default("vpn_admin"),
  /** Least-privilege role the apps use; read-only role for other teams. */
  appUser: pgName.default("vpn_app"),
  readonlyUser: pgName.default("vpn_readonly"),
  extensions: z.array(z.enum(POSTGRES_EXTENSIONS)).default(["pgcrypto", "pg_stat_statements"]),
  settings: strict({
    maxConnections: z.int().min(10).max(5000).default(100),
    sharedBuffersMb: z.int().min(16).max(262144).default(128),
    workMemMb: z.int().min(1).max(4096).default(4),
    effectiveCacheSizeMb: z.int().min(16).max(1048576).optional(),
    statementTimeoutMs: z.int().min(0).max(86400000).default(60000),
    idleInTransactionTimeoutMs: z.int().min(0).max(86400000).default(600000),
    logMinDurationStatementMs: z.int().min(-1).max(3600000).default(1000),
  }).prefault({}),
  /** /dev/shm: parallel queries use it; Docker's 64 MB default makes them fail under load. */
  shmSizeMb: z.int().min(64).max(65536).default(128),
  /** Directory of the SQL migrations, relative to the project directory. */
  migrationsDir: z.string().min(1).default("migrations"),
};

export function checkPostgres(
  pg: z.output<z.ZodObject<ServiceShape & typeof postgresExtras>>,
  ctx: z.RefinementCtx,
): void {
  const memory = pg.resources.memoryMb;
  const half = Math.floor(memory / 2);
  if (pg.settings.sharedBuffersMb > half) {
    ctx.addIssue({
      code: "custom",
      path: ["settings", "sharedBuffersMb"],
      message: `at most half of resources.memoryMb (${half}); a quarter is usual`,
    });
  }
  if (pg.shmSizeMb > half) {
    ctx.addIssue({
      code: "custom",
      path: ["shmSizeMb"],
      message: `at most half of resources.memoryMb (${half}): /dev/shm counts against the memory limit`,
    });
  }
  const users = [
    ["adminUser", pg.adminUser],
    ["appUser", pg.appUser],
    ["readonlyUser", pg.readonlyUser],
  ] as const;
  users.forEach(([key, user], i) => {
    const same = users.slice(0, i).find(([, other]) => other === user);
    if (same) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `a role name other than ${same[0]}'s (${user}): each role has its own privileges`,
      });
    }
  });
  if (pg.database.length > 36) {
    ctx.addIssue({
      code: "custom",
      path: ["database"],
      message:
        "at most 36 characters, so a restore's <database>_pre_restore_<timestamp> fits PostgreSQL's 63",
    });
  }
  if (users.some(([, user]) => user === pg.database) || pg.database === "postgres") {
    ctx.addIssue({
      code: "custom",
      path: ["database"],
      message: "a database name that is neither one of the role names nor postgres",
    });
  }
}

const redisCommandRule = z.union(
  [
    z.enum(["enabled", "disabled"]),
    strict({
      renameTo: z
        .string()
        .regex(/^[A-Za-z0-9_-]{8,64}$/, { error: "8 to 64 letters, digits, _ or -" }),
    }),
  ],
  { error: '"enabled", "disabled" or { renameTo: <8 to 64 letters, digits, _ or -> }' },
);
type GuardedCommand = (typeof REDIS_GUARDED_COMMANDS)[number];
const REDIS_COMMAND_DEFAULTS: Record<GuardedCommand, "enabled" | "disabled"> = {
  FLUSHALL: "disabled",
  FLUSHDB: "disabled",
  CONFIG: "disabled",
  DEBUG: "disabled",
  KEYS: "enabled",
  MONITOR: "enabled",
};

export const redisExtras = {
  /** maxmemory in MB; default three quarters of resources.memoryMb (room for the AOF rewrite). */
  maxmemoryMb: z.int().min(8).optional(),
  /** noeviction by default: a full Redis refuses writes rather than silently dropping keys. */
  maxmemoryPolicy: z.enum(REDIS_EVICTION_POLICIES).default("noeviction"),
  commands: strict(
    Object.fromEntries(
      REDIS_GUARDED_COMMANDS.map((c) => [c, redisCommandRule.default(REDIS_COMMAND_DEFAULTS[c])]),
    ) as Record<GuardedCommand, z.ZodDefault<typeof redisCommandRule>>,
  ).prefault({}),
};

export function checkRedis(
  redis: z.output<z.ZodObject<ServiceShape & typeof redisExtras>>,
  ctx: z.RefinementCtx,
): void {
  const memory = redis.resources.memoryMb;
  if (redis.maxmemoryMb !== undefined && redis.maxmemoryMb >= memory) {
    ctx.addIssue({
      code: "custom",
      path: ["maxmemoryMb"],
      message: `less than resources.memoryMb (${memory}); an AOF rewrite needs headroom`,
    });
  }
  const renamed = Object.entries(redis.commands).flatMap(([command, rule]) =>
    typeof rule === "object" ? [[command, rule.renameTo] as const] : [],
  );
  renamed.forEach(([command, to], i) => {
    const clash = renamed.slice(0, i).find(([, other]) => other.toUpperCase() === to.toUpperCase());
    if (clash || isRedisCommandName(to)) {
      ctx.addIssue({
        code: "custom",
        path: ["commands", command, "renameTo"],
        message: `a name no other command has (${to} is taken${clash ? ` by ${clash[0]}` : ""})`,
      });
    }
  });
}

/** Hours between backups: divisors of 24, so every day has the same slots. */
export const BACKUP_INTERVALS = [1, 2, 3, 4, 6, 8, 12, 24] as const;

export const backupExtras = {
  schedule: strict({
    /** One backup slot, HH:MM UTC; the others are every `everyHours` before and after it. */
    startUtc: z
      .string()
      .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, { error: "a UTC time of day as HH:MM, e.g. 02:30" })
      .default("02:30"),
    everyHours: z
      .union(
        BACKUP_INTERVALS.map((h) => z.literal(h)),
        { error: `hours between backups, one of ${BACKUP_INTERVALS.join(", ")} (divisors of 24)` },
      )
      .default(24),
  }).prefault({}),
  /** Days a backup is kept; the newest good backup is kept whatever its age. */
  retentionDays: z.int().min(1).max(3650).default(7),
};

/** The PostgreSQL major version of an official `postgres:<major>...` image, if the ref says it. */
function postgresMajor(ref: string | undefined): number | undefined {
  const m = ref === undefined ? null : /^(?:docker\.io\/)?(?:library\/)?postgres:(\d+)/.exec(ref);
  return m ? Number(m[1]) : undefined;
}

export function checkBackup(cfg: RawStackConfig, ctx: z.RefinementCtx): void {
  const { backup, postgres } = cfg.services;
  if (!backup.enabled) return;
  if (!postgres.enabled) {
    ctx.addIssue({
      code: "custom",
      path: ["services", "backup", "enabled"],
      message: "false while services.postgres.enabled is false (there is nothing to back up)",
    });
  }
  const server = postgresMajor(postgres.image.ref);
  const client = postgresMajor(backup.image.ref);
  if (server !== undefined && client !== undefined && server !== client) {
    ctx.addIssue({
      code: "custom",
      path: ["services", "backup", "image", "ref"],
      message: `a postgres:${server} image, the server's major version (pg_dump ${client} cannot make a dump that restores into ${server})`,
    });
  }
}
