/**
 * init.sql for the platform's PostgreSQL 15: extensions, the app and read-only roles, their
 * passwords (read from files by psql) and privileges. Pure: typed values in, file text out.
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
