/**
 * postgresql.conf and .pgpass for the platform's PostgreSQL 15 (init.sql is in initSql.ts). Pure:
 * typed values in, file text out. Every function validates its input first and throws an Error
 * naming the field.
 */

/** An SQL identifier in double quotes, with `"` doubled. */
export function quoteIdent(name: string): string {
  if (name.includes("\0")) throw new Error("quoteIdent: an identifier cannot contain NUL");
  return `"${name.replace(/"/g, '""')}"`;
}

/** An SQL string literal in single quotes, with `'` doubled (standard_conforming_strings is on). */
export function quoteLiteral(value: string): string {
  if (value.includes("\0")) throw new Error("quoteLiteral: a literal cannot contain NUL");
  return `'${value.replace(/'/g, "''")}'`;
}

/** Contrib extensions shipped in postgres:15-alpine that init.sql may create. */
export const POSTGRES_EXTENSIONS = [
  "btree_gin",
  "btree_gist",
  "citext",
  "fuzzystrmatch",
  "hstore",
  "intarray",
  "ltree",
  "pg_buffercache",
  "pg_stat_statements",
  "pg_trgm",
  "pgcrypto",
  "tablefunc",
  "unaccent",
  "uuid-ossp",
] as const;

export interface PostgresConfInput {
  /** TCP port inside the container (5432). */
  readonly port: number;
  /** max_connections; three more are reserved for superusers out of these. */
  readonly maxConnections: number;
  /** shared_buffers, in MB. */
  readonly sharedBuffersMb: number;
  /** work_mem per sort or hash, in MB. */
  readonly workMemMb: number;
  /** effective_cache_size (a planner hint, allocates nothing), in MB. */
  readonly effectiveCacheSizeMb: number;
  /** statement_timeout for every session, in ms; 0 = off. */
  readonly statementTimeoutMs: number;
  /** idle_in_transaction_session_timeout, in ms; 0 = off. */
  readonly idleInTransactionTimeoutMs: number;
  /** log_min_duration_statement, in ms; -1 = off, 0 = log every statement. */
  readonly logMinDurationStatementMs: number;
  /** shared_preload_libraries, e.g. ["pg_stat_statements"]. */
  readonly sharedPreloadLibraries: readonly string[];
}

const INT_MAX = 2147483647;

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${field}: given ${String(value)}; allowed: an integer from ${min} to ${max}`);
  }
  return value;
}

/** A postgresql.conf value: numbers bare, everything else single-quoted (the file's own rule). */
function confLine(key: string, value: string | number | boolean): string {
  if (typeof value === "number") return `${key} = ${value}`;
  if (typeof value === "boolean") return `${key} = ${value ? "on" : "off"}`;
  if (/[\r\n\0]/.test(value)) throw new Error(`${key}: a value cannot contain a line break or NUL`);
  return `${key} = '${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * postgresql.conf, passed as `postgres -c config_file=...` with PGDATA set: pg_hba.conf and
 * pg_ident.conf stay in PGDATA, and the settings initdb would have written there (locale, time
 * zone) are set here, because initdb's own postgresql.conf is no longer read.
 */
export function renderPostgresConf(input: PostgresConfInput): string {
  const port = integerIn("port", input.port, 1, 65535);
  const maxConnections = integerIn("maxConnections", input.maxConnections, 10, 10000);
  const sharedBuffersMb = integerIn("sharedBuffersMb", input.sharedBuffersMb, 16, 1048576);
  // PostgreSQL's own limits on 64-bit builds: work_mem up to INT_MAX kB, effective_cache_size up
  // to INT_MAX 8 kB pages.
  const workMemMb = integerIn("workMemMb", input.workMemMb, 1, 2097151);
  const effectiveCacheSizeMb = integerIn(
    "effectiveCacheSizeMb",
    input.effectiveCacheSizeMb,
    1,
    16777215,
  );
  const statementTimeoutMs = integerIn("statementTimeoutMs", input.statementTimeoutMs, 0, INT_MAX);
  const idleInTransactionTimeoutMs = integerIn(
    "idleInTransactionTimeoutMs",
    input.idleInTransactionTimeoutMs,
    0,
    INT_MAX,
  );
  const logMinDurationStatementMs = integerIn(
    "logMinDurationStatementMs",
    input.logMinDurationStatementMs,
    -1,
    INT_MAX,
  );
  const libraries = [...input.sharedPreloadLibraries];
  for (const lib of libraries) {
    if (!/^[a-z_][a-z0-9_]*$/.test(lib)) {
      throw new Error(
        `sharedPreloadLibraries: given ${JSON.stringify(lib)}; allowed: library names of lower-case letters, digits and _`,
      );
    }
  }
  if (new Set(libraries).size !== libraries.length) {
    throw new Error(
      `sharedPreloadLibraries: given ${JSON.stringify(libraries)}; a name is repeated`,
    );
  }

  return [
    "# Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.",
    "",
    "# Connections. Only the platform's networks reach the container; pg_hba.conf (in PGDATA)",
    "# asks every TCP client for a SCRAM password. No TLS: no certificate lives in PGDATA.",
    confLine("listen_addresses", "*"),
    confLine("port", port),
    confLine("max_connections", maxConnections),
    confLine("superuser_reserved_connections", 3),
    confLine("password_encryption", "scram-sha-256"),
    confLine("ssl", false),
    // Docker's NAT drops idle flows; keepalives find dead clients instead of holding their locks.
    confLine("tcp_keepalives_idle", 60),
    confLine("tcp_keepalives_interval", 10),
    confLine("tcp_keepalives_count", 6),
    "",
    "# Memory.",
    confLine("shared_buffers", `${sharedBuffersMb}MB`),
    confLine("work_mem", `${workMemMb}MB`),
    confLine("effective_cache_size", `${effectiveCacheSizeMb}MB`),
    // A container's memory cgroup does not account huge pages; "try" can crash the server there.
    confLine("huge_pages", "off"),
    "",
    "# Session limits (0 = off).",
    confLine("statement_timeout", statementTimeoutMs),
    confLine("idle_in_transaction_session_timeout", idleInTransactionTimeoutMs),
    "",
    "# Write-ahead log and planner: the defaults of PostgreSQL 15, made explicit, for SSDs.",
    confLine("wal_level", "replica"),
    confLine("max_wal_size", "1GB"),
    confLine("min_wal_size", "80MB"),
    confLine("checkpoint_completion_target", 0.9),
    confLine("random_page_cost", 1.1),
    "",
    "# Logging: stderr is the container log. Statements that change passwords must run with",
    "# log_statement and log_min_duration_statement off for their session (init.sql does).",
    confLine("logging_collector", false),
    confLine("log_destination", "stderr"),
    confLine("log_line_prefix", "%m [%p] %quser=%u db=%d app=%a client=%h "),
    confLine("log_timezone", "UTC"),
    confLine("log_min_duration_statement", logMinDurationStatementMs),
    confLine("log_statement", "ddl"),
    confLine("log_lock_waits", true),
    confLine("log_temp_files", 0),
    confLine("log_checkpoints", true),
    confLine("log_autovacuum_min_duration", "1min"),
    "",
    "# Statistics.",
    confLine("shared_preload_libraries", libraries.join(",")),
    confLine("track_io_timing", true),
    "",
    "# Locale and time: what initdb would have written to its own postgresql.conf.",
    confLine("timezone", "UTC"),
    confLine("datestyle", "iso, mdy"),
    confLine("lc_messages", "C"),
    confLine("lc_monetary", "C"),
    confLine("lc_numeric", "C"),
    confLine("lc_time", "C"),
    confLine("default_text_search_config", "pg_catalog.english"),
    "",
  ].join("\n");
}

/** One line of a .pgpass file. libpq reads `\` as an escape, so `:` and `\` are escaped. */
export function renderPgpass(entry: {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}): string {
  integerIn("port", entry.port, 1, 65535);
  const field = (name: string, value: string) => {
    if (value === "") throw new Error(`${name}: a .pgpass field cannot be empty`);
    if (/[\r\n\0]/.test(value)) {
      throw new Error(`${name}: a .pgpass field cannot contain a line break or NUL`);
    }
    return value.replace(/[\\:]/g, (c) => `\\${c}`);
  };
  // libpq skips a line that starts with '#'; an escaped '#' is matched as itself.
  const host = field("host", entry.host).replace(/^#/, "\\#");
  const fields = [
    host,
    String(entry.port),
    field("database", entry.database),
    field("user", entry.user),
    field("password", entry.password),
  ];
  return `${fields.join(":")}\n`;
}
