/**
 * init.sql for the platform's PostgreSQL 15: extensions, the app, read-only and (optional)
 * monitoring roles, their passwords (read from files by psql) and privileges. Pure: typed values
 * in, file text out.
 */
import { quoteIdent, quoteLiteral, POSTGRES_EXTENSIONS } from "./postgres";

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
  /** A login for postgres-exporter: statistics only (pg_monitor), none of the data. Default: none. */
  readonly monitor?: InitSqlMonitor;
}

/** The monitoring role: member of pg_monitor, no privileges on the schema's objects. */
export interface InitSqlMonitor {
  /** The role's name, e.g. vpn_monitor. */
  readonly user: string;
  /** File holding its password, read by psql when init.sql runs. */
  readonly passwordFile: string;
}

/** How many sessions the monitoring role may hold: the exporter needs one or two. */
export const MONITOR_CONNECTION_LIMIT = 3;

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

const ROLE_ATTRIBUTES =
  "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT";

/** Steps of init.sql that create a login role when it is missing and (re)set its attributes. */
function createRole(role: string, extra = ""): string[] {
  const attributes = `${ROLE_ATTRIBUTES}${extra}`;
  return [
    `SELECT format('CREATE ROLE %I ${attributes}', ${quoteLiteral(role)})`,
    `  WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) \\gexec`,
    // A role that existed before gets the same attributes: nobody keeps a stray SUPERUSER.
    `ALTER ROLE ${quoteIdent(role)} WITH ${attributes};`,
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
 * The monitoring role: its password, statistics through pg_monitor (every session's query text,
 * every setting, database sizes), read-only sessions and a connection limit. A membership someone
 * added by hand (pg_read_all_data, the app's role) goes on every run: the role reads no data.
 */
function monitorRole({ user: role, passwordFile }: InitSqlMonitor): string[] {
  const m = quoteIdent(role);
  return [
    ...createRole(role, ` CONNECTION LIMIT ${MONITOR_CONNECTION_LIMIT}`),
    ...passwordFromFile(role, "monitor_password", passwordFile),
    `ALTER ROLE ${m} SET default_transaction_read_only = on;`,
    `SELECT DISTINCT format('REVOKE %I FROM %I', g.rolname, ${quoteLiteral(role)})`,
    `  FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_roles g ON g.oid = am.roleid`,
    `  WHERE am.member = ${quoteLiteral(role)}::regrole AND g.rolname <> 'pg_monitor'`,
    `  ORDER BY 1 \\gexec`,
    `GRANT pg_monitor TO ${m};`,
  ];
}

/** The monitoring role loses any privilege someone granted it on the schema's objects. */
function monitorNoData(role: string): string[] {
  const m = quoteIdent(role);
  return [
    "",
    "-- The monitoring role reads statistics, never the data: no privilege on the schema's objects.",
    `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${m};`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${m};`,
  ];
}

/**
 * init.sql: extensions, the app, read-only and (when given) monitoring roles with their passwords
 * from files, and their privileges. Run by psql (`psql -v ON_ERROR_STOP=1 -d <database> -f init.sql`) as the admin, on
 * first start, before every deploy's migrations and after a restore: it is idempotent, and a
 * re-run sets the passwords again from the files (rotation).
 */
export function renderInitSql(input: InitSqlInput): string {
  const database = sqlName("database", input.database);
  const admin = sqlName("adminUser", input.adminUser);
  const app = sqlName("appUser", input.appUser);
  const ro = sqlName("readonlyUser", input.readonlyUser);
  const monitor: InitSqlMonitor | undefined = input.monitor && {
    user: sqlName("monitor.user", input.monitor.user),
    passwordFile: secretPath("monitor.passwordFile", input.monitor.passwordFile),
  };
  const mon = monitor?.user;
  if (mon === undefined && new Set([admin, app, ro]).size !== 3) {
    throw new Error(
      `appUser, readonlyUser: given ${JSON.stringify([admin, app, ro])}; adminUser, appUser and readonlyUser must be three different roles`,
    );
  }
  if (mon !== undefined && new Set([admin, app, ro, mon]).size !== 4) {
    throw new Error(
      `appUser, readonlyUser, monitor.user: given ${JSON.stringify([admin, app, ro, mon])}; adminUser, appUser, readonlyUser and monitor.user must be four different roles`,
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
  const logins = [a, r, ...(mon === undefined ? [] : [quoteIdent(mon)])].join(", ");
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
    ...(monitor === undefined ? [] : monitorRole(monitor)),
    "",
    "-- Only these roles may connect; nobody but the admin creates schemas or temporary tables.",
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`,
    `REVOKE ALL ON DATABASE ${db} FROM ${logins};`,
    `GRANT CONNECT ON DATABASE ${db} TO ${logins};`,
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${logins};`,
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
    ...(monitor === undefined ? [] : monitorNoData(monitor.user)),
    "",
    "COMMIT;",
    "",
  ].join("\n");
}
