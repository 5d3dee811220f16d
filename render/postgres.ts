/**
 * postgresql.conf, init.sql and .pgpass for the platform's PostgreSQL 15. Pure: typed values in,
 * file text out. Every function validates its input first and throws an Error naming the field.
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

export interface InitSqlInput {
  /** The platform's database, e.g. vpn_enterprise. init.sql must run connected to it. */
  readonly database: string;
  /** The superuser the server was initialised with, e.g. vpn_admin; migrations run as it. */
  readonly adminUser: string;
  /** The application's role, e.g. vpn_app: data access only, no DDL. */
  readonly appUser: string;
  /** A read-only role for other teams, e.g. vpn_readonly. */
  readonly readonlyUser: string;
  /** Extensions to create, from POSTGRES_EXTENSIONS. */
  readonly extensions: readonly string[];
  /** File holding the app role's password, read by psql when init.sql runs. */
  readonly appPasswordFile: string;
  /** File holding the read-only role's password, read by psql when init.sql runs. */
  readonly readonlyPasswordFile: string;
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
// The path ends up in a psql backtick command and in an SQL literal: no quotes, no `:` (psql
// would interpolate a variable), no spaces, nothing a shell reads specially.
const SECRET_PATH = /^\/[A-Za-z0-9._/-]+$/;

function sqlName(field: string, value: string): string {
  if (!ROLE_NAME.test(value) || value.startsWith("pg_")) {
    throw new Error(
      `${field}: given ${JSON.stringify(value)}; allowed: 1 to 63 lower-case letters, digits and _, not starting with a digit or pg_`,
    );
  }
  return value;
}

function secretPath(field: string, value: string): string {
  if (!SECRET_PATH.test(value) || value.split("/").includes("..")) {
    throw new Error(
      `${field}: given ${JSON.stringify(value)}; allowed: an absolute path of letters, digits and . _ - /`,
    );
  }
  return value;
}

/** Steps of init.sql that set one role's password from its file, refusing an empty one. */
function passwordFromFile(role: string, variable: string, file: string): string[] {
  const ok = `${variable}_ok`;
  const missing = `init.sql: the password file ${file} for role ${role} is missing or empty`;
  return [
    `\\set ${variable} \`cat ${file}\``,
    `SELECT :'${variable}' <> '' AS ${ok} \\gset`,
    `\\if :${ok}`,
    `ALTER ROLE ${quoteIdent(role)} PASSWORD :'${variable}';`,
    `\\else`,
    `DO $$BEGIN RAISE EXCEPTION ${quoteLiteral(missing)}; END$$;`,
    `\\endif`,
    `\\unset ${variable}`,
  ];
}

/** GRANTs on the existing objects of schema public, leaving out extension members. */
function grantExisting(
  kind: "tables" | "sequences" | "routines",
  privileges: string,
  role: string,
) {
  const member = (catalog: string, oid: string) =>
    `NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
  if (kind === "routines") {
    return [
      `SELECT format('GRANT ${privileges} ON ROUTINE %s TO %I', p.oid::regprocedure, ${quoteLiteral(role)})`,
      `  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace`,
      `  WHERE n.nspname = 'public' AND ${member("pg_catalog.pg_proc", "p.oid")}`,
      `  ORDER BY 1 \\gexec`,
    ];
  }
  const relkinds = kind === "tables" ? "'r', 'p', 'v', 'm', 'f'" : "'S'";
  const object = kind === "tables" ? "TABLE" : "SEQUENCE";
  // migrate.sh's ledger: only the admin may write it, or the app could make a migration run again.
  const ledger =
    kind === "tables" && privileges !== "SELECT" ? " AND c.relname <> 'schema_migrations'" : "";
  return [
    `SELECT format('GRANT ${privileges} ON ${object} %I.%I TO %I', n.nspname, c.relname, ${quoteLiteral(role)})`,
    `  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
    `  WHERE n.nspname = 'public' AND c.relkind IN (${relkinds})${ledger} AND ${member("pg_catalog.pg_class", "c.oid")}`,
    `  ORDER BY 1 \\gexec`,
  ];
}

/**
 * init.sql: extensions, the app and read-only roles with their passwords from files, and their
 * privileges. Run by psql (`psql -v ON_ERROR_STOP=1 -d <database> -f init.sql`) as the admin, on
 * first start, before every deploy's migrations and after a restore: it is idempotent, and a
 * re-run sets the passwords again from the files (rotation).
 */
export function renderInitSql(input: InitSqlInput): string {
  const database = sqlName("database", input.database);
  const admin = sqlName("adminUser", input.adminUser);
  const app = sqlName("appUser", input.appUser);
  const ro = sqlName("readonlyUser", input.readonlyUser);
  if (new Set([admin, app, ro]).size !== 3) {
    throw new Error(
      `appUser, readonlyUser: given ${JSON.stringify([admin, app, ro])}; adminUser, appUser and readonlyUser must be three different roles`,
    );
  }
  const allowed: readonly string[] = POSTGRES_EXTENSIONS;
  for (const ext of input.extensions) {
    if (!allowed.includes(ext)) {
      throw new Error(
        `extensions: given ${JSON.stringify(ext)}; allowed: ${POSTGRES_EXTENSIONS.join(", ")}`,
      );
    }
  }
  if (new Set(input.extensions).size !== input.extensions.length) {
    throw new Error(`extensions: given ${JSON.stringify(input.extensions)}; a name is repeated`);
  }
  const appFile = secretPath("appPasswordFile", input.appPasswordFile);
  const roFile = secretPath("readonlyPasswordFile", input.readonlyPasswordFile);

  const [db, a, r, adm] = [database, app, ro, admin].map(quoteIdent);
  const attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT";
  const createRole = (role: string) => [
    `SELECT format('CREATE ROLE %I ${attributes}', ${quoteLiteral(role)})`,
    `  WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) \\gexec`,
    // A role that existed before gets the same attributes: nobody keeps a stray SUPERUSER.
    `ALTER ROLE ${quoteIdent(role)} WITH ${attributes};`,
  ];
  const wrongDb = `init.sql: connected to the wrong database; run it with -d ${database}`;

  return [
    "-- Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.",
    `-- Run as ${admin}: psql -v ON_ERROR_STOP=1 -d ${database} -f init.sql. Safe to run any number of times.`,
    "\\set ON_ERROR_STOP on",
    "",
    "-- The passwords below must not reach the server log (statement, duration or error logging)",
    "-- nor pg_stat_statements, whatever the server's settings.",
    "SET log_statement = 'none';",
    "SET log_min_duration_statement = -1;",
    "SET log_min_error_statement = 'panic';",
    "SET pg_stat_statements.track_utility = off;",
    "-- Re-runs are normal: no NOTICE for every object that already exists.",
    "SET client_min_messages = warning;",
    "",
    `SELECT current_database() = ${quoteLiteral(database)} AS right_database \\gset`,
    "\\if :right_database",
    "\\else",
    `DO $$BEGIN RAISE EXCEPTION ${quoteLiteral(wrongDb)}; END$$;`,
    "\\endif",
    "",
    "BEGIN;",
    "-- Two runs at once (a deploy and a restore) take turns.",
    "SELECT pg_advisory_xact_lock(7263554806001) \\gset",
    "",
    ...input.extensions.map((ext) => `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)};`),
    "",
    ...createRole(app),
    ...passwordFromFile(app, "app_password", appFile),
    ...createRole(ro),
    ...passwordFromFile(ro, "readonly_password", roFile),
    `ALTER ROLE ${r} SET default_transaction_read_only = on;`,
    "",
    "-- Only these roles may connect; nobody but the admin creates schemas or temporary tables.",
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`,
    `REVOKE ALL ON DATABASE ${db} FROM ${a}, ${r};`,
    `GRANT CONNECT ON DATABASE ${db} TO ${a}, ${r};`,
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${a}, ${r};`,
    `GRANT USAGE ON SCHEMA public TO ${a}, ${r};`,
    "",
    "-- The app reads and writes data. Existing objects first (extension members keep their own",
    "-- grants), then what the admin creates later, which is what migrations do.",
    ...grantExisting("tables", "SELECT, INSERT, UPDATE, DELETE", app),
    ...grantExisting("sequences", "USAGE, SELECT, UPDATE", app),
    ...grantExisting("routines", "EXECUTE", app),
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${adm} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${a};`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${adm} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${a};`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${adm} IN SCHEMA public GRANT EXECUTE ON ROUTINES TO ${a};`,
    "",
    "-- The read-only role reads.",
    ...grantExisting("tables", "SELECT", ro),
    ...grantExisting("sequences", "SELECT", ro),
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${adm} IN SCHEMA public GRANT SELECT ON TABLES TO ${r};`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${adm} IN SCHEMA public GRANT SELECT ON SEQUENCES TO ${r};`,
    "",
    "COMMIT;",
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
