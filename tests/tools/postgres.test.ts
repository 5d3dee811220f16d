/**
 * The rendered postgresql.conf and init.sql, and the scripts of assets/postgres, run by a real
 * PostgreSQL 15 (Debian's postgresql-15 and postgresql-client-15) and a real busybox, as in
 * postgres:15-alpine: every script runs with `busybox sh` and a PATH of busybox applets followed by
 * PostgreSQL's client programs only. .ci/run installs both.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MONITOR_CONNECTION_LIMIT, renderInitSql } from "../../render/initSql";
import { renderPostgresConf } from "../../render/postgres";
import {
  busyboxPath,
  Conn,
  pgEnv,
  PG_BIN,
  psql,
  psqlTry,
  requireTools,
  runScript,
  SCRIPTS,
  Server,
  startServer,
  writePgpass,
} from "./pgHarness";
import { freePort } from "./freePort";
import { prometheusRoot, requireTools as requirePromtool } from "./prometheus/harness";
import { SYSTEM_PATH } from "./toolRun";

const DB = "vpn_enterprise";
const ADMIN = "vpn_admin";
const APP = "vpn_app";
const RO = "vpn_readonly";
// What .pgpass escaping and psql quoting must survive: ':' and '\' (libpq's escapes), quotes,
// spaces, '#', shell syntax, non-ASCII.
const ADMIN_PASSWORD = "adm:in\\pass #word-1";
const APP_PASSWORD = "app pa'ss\"wo\\rd:1 $(touch /tmp/vpn-pg-test-pwned) `id`";
const APP_PASSWORD_2 = "rotated-app-password-2-ü:x";
const RO_PASSWORD = "ro-Pässwörd-🚀-long-enough";
const MON = "vpn_monitor";
const MON_PASSWORD = 'mon\'itor "pw" :x $(touch /tmp/vpn-pg-test-pwned) `id`-ü';
const MON_PASSWORD_2 = "rotated-monitor-password-2";

let busybox: string;
let dir: string;
let server: Server | undefined;
let port: number;
let bbPath: string;
let admin: Conn;
let initSql: string;
let appFile: string;
let roFile: string;

const conn = (user: string, database: string, passfile: string): Conn => ({
  port,
  user,
  database,
  passfile,
});
const asAdmin = (database = DB) => conn(ADMIN, database, admin.passfile);
const pgpassFor = (user: string, password: string) =>
  writePgpass(
    path.join(dir, `pgpass-${user}-${createHash("md5").update(password).digest("hex")}`),
    port,
    user,
    password,
  );

/** The environment of a script: libpq's variables for the admin, busybox first in PATH. */
const scriptEnv = (extra: Record<string, string>, database = DB): Record<string, string> => ({
  ...pgEnv(asAdmin(database)),
  PATH: bbPath,
  ...extra,
});
const run = (script: string, args: string[], env: Record<string, string>) =>
  runScript(busybox, dir, script, args, env);

/** Runs init.sql the way the postgres image's entrypoint does: psql -f, as the admin. */
const runInitSql = (database = DB) => psqlTry(asAdmin(database), ["-f", initSql], bbPath);

beforeAll(async () => {
  busybox = requireTools();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pg-tools-"));
  port = await freePort();
  bbPath = busyboxPath(busybox, path.join(dir, "busybox"));
  const conf = renderPostgresConf({
    port,
    maxConnections: 40,
    sharedBuffersMb: 48,
    workMemMb: 6,
    effectiveCacheSizeMb: 384,
    statementTimeoutMs: 15000,
    idleInTransactionTimeoutMs: 45000,
    logMinDurationStatementMs: 0,
    sharedPreloadLibraries: ["pg_stat_statements"],
  });
  server = await startServer(dir, port, conf, { user: ADMIN, password: ADMIN_PASSWORD });
  admin = conn(ADMIN, DB, writePgpass(path.join(dir, "pgpass-admin"), port, ADMIN, ADMIN_PASSWORD));
  psql(asAdmin("postgres"), `CREATE DATABASE ${DB}`);

  fs.mkdirSync(path.join(dir, "secrets"));
  appFile = path.join(dir, "secrets", "postgres_app_password");
  roFile = path.join(dir, "secrets", "postgres_readonly_password");
  fs.writeFileSync(appFile, APP_PASSWORD);
  fs.writeFileSync(roFile, `${RO_PASSWORD}\n`);
  initSql = path.join(dir, "init.sql");
  fs.writeFileSync(
    initSql,
    renderInitSql({
      database: DB,
      adminUser: ADMIN,
      appUser: APP,
      readonlyUser: RO,
      extensions: ["pgcrypto", "pg_stat_statements", "uuid-ossp", "citext"],
      appPasswordFile: appFile,
      readonlyPasswordFile: roFile,
    }),
  );
}, 60000);

afterAll(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("postgresql.conf", () => {
  test("the server runs on the rendered file, with its values", () => {
    const show = (name: string) => psql(admin, `SHOW ${name}`);
    expect(show("config_file")).toBe(path.join(dir, "postgresql.conf"));
    expect(show("hba_file")).toBe(path.join(dir, "pgdata", "pg_hba.conf"));
    expect(show("max_connections")).toBe("40");
    expect(show("shared_buffers")).toBe("48MB");
    expect(show("work_mem")).toBe("6MB");
    expect(show("effective_cache_size")).toBe("384MB");
    expect(show("statement_timeout")).toBe("15s");
    expect(show("idle_in_transaction_session_timeout")).toBe("45s");
    expect(show("log_min_duration_statement")).toBe("0");
    expect(show("shared_preload_libraries")).toBe("pg_stat_statements");
    expect(show("password_encryption")).toBe("scram-sha-256");
    expect(show("log_lock_waits")).toBe("on");
    expect(show("log_temp_files")).toBe("0");
    expect(show("TimeZone")).toBe("UTC");
    // The renderer's upper limits are PostgreSQL's own: the largest values load, one more fails.
    expect(psql(admin, "SET work_mem = '2097151MB'; SET effective_cache_size = '16777215MB'")).toBe(
      "",
    );
    expect(psqlTry(admin, ["-c", "SET work_mem = '2097152MB'"]).stderr).toContain(
      'invalid value for parameter "work_mem"',
    );
    // Nothing in the file was rejected. (listen_addresses is overridden by the test's -c.)
    expect(
      psql(
        admin,
        "SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL AND name <> 'listen_addresses'",
      ),
    ).toBe("0");
    expect(psql(admin, "SELECT count(*) FROM pg_file_settings")).toBe(
      String(
        fs.readFileSync(path.join(dir, "postgresql.conf"), "utf8").match(/^[a-z_]+ = /gm)?.length,
      ),
    );
  });
});

describe("init.sql", () => {
  test("runs as the entrypoint runs it, and again", () => {
    // Objects that exist before the first run get their grants from it.
    psql(
      admin,
      `CREATE TABLE early_items (id serial PRIMARY KEY, n int);
       CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1';
       CREATE PROCEDURE touch_items() LANGUAGE sql AS 'UPDATE early_items SET n = n + 1';
       CREATE AGGREGATE sum_sq(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0')`,
    );
    for (let i = 0; i < 2; i++) {
      const r = runInitSql();
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    }
    expect(psql(admin, "SELECT extname FROM pg_extension ORDER BY 1").split("\n")).toEqual([
      "citext",
      "pg_stat_statements",
      "pgcrypto",
      "plpgsql",
      "uuid-ossp",
    ]);
    // pg_stat_statements works only when the rendered file preloaded it.
    expect(Number(psql(admin, "SELECT count(*) FROM pg_stat_statements"))).toBeGreaterThan(0);
    const roles = psql(
      admin,
      `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconfig
       FROM pg_roles WHERE rolname IN ('${APP}', '${RO}') ORDER BY 1`,
    );
    expect(roles.split("\n")).toEqual([
      `${APP}|t|f|f|f|f|f|`,
      `${RO}|t|f|f|f|f|f|{default_transaction_read_only=on}`,
    ]);
  });

  test("the app role reads and writes tables the admin creates later, and nothing more", () => {
    psql(admin, "CREATE TABLE later_items (id bigserial PRIMARY KEY, name text NOT NULL)");
    const app = conn(APP, DB, pgpassFor(APP, APP_PASSWORD));
    expect(
      psql(
        app,
        `INSERT INTO later_items (name) VALUES ('a'), ('b');
         UPDATE later_items SET name = 'c' WHERE name = 'b';
         DELETE FROM later_items WHERE name = 'a';
         SELECT name FROM later_items`,
      ),
    ).toBe("c");
    expect(
      psql(
        app,
        `INSERT INTO early_items (n) VALUES (1), (2);
         CALL touch_items();
         SELECT add_one(sum_sq(n)) FROM early_items`,
      ),
    ).toBe("6");
    const refused = (sql: string) => psqlTry(app, ["-c", sql]).stderr;
    expect(refused("CREATE TABLE mine (id int)")).toContain("permission denied for schema public");
    expect(refused("DROP TABLE later_items")).toContain("must be owner of table later_items");
    expect(refused("TRUNCATE later_items")).toContain("permission denied for table later_items");
    expect(refused("ALTER TABLE later_items ADD COLUMN x int")).toContain("must be owner");
    expect(refused("CREATE SCHEMA mine")).toContain("permission denied for database");
    expect(refused("CREATE TEMP TABLE mine (id int)")).toContain(
      "permission denied to create temporary tables",
    );
    // Extension members keep their own grants: resetting statistics stays the admin's.
    expect(refused("SELECT pg_stat_statements_reset()")).toContain(
      "permission denied for function",
    );
  });

  test("the read-only role reads and cannot write, even in a read-write transaction", () => {
    const ro = conn(RO, DB, pgpassFor(RO, RO_PASSWORD));
    expect(psql(ro, "SELECT count(*) FROM later_items")).toBe("1");
    expect(psql(ro, "SELECT count(*) FROM early_items")).toBe("2");
    expect(psqlTry(ro, ["-c", "INSERT INTO later_items (name) VALUES ('x')"]).stderr).toContain(
      "cannot execute INSERT in a read-only transaction",
    );
    expect(
      psqlTry(ro, ["-c", "BEGIN READ WRITE; INSERT INTO later_items (name) VALUES ('x'); COMMIT"])
        .stderr,
    ).toContain("permission denied for table later_items");
  });

  test("a role without grants cannot connect: PUBLIC has no CONNECT", () => {
    psql(admin, "CREATE ROLE outsider LOGIN PASSWORD 'outsider-password-1'");
    const r = psqlTry(conn("outsider", DB, pgpassFor("outsider", "outsider-password-1")), [
      "-c",
      "SELECT 1",
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`permission denied for database "${DB}"`);
    // The same role reaches a database that did not revoke PUBLIC's CONNECT: the password was right.
    expect(
      psql(conn("outsider", "postgres", pgpassFor("outsider", "outsider-password-1")), "SELECT 1"),
    ).toBe("1");
  });

  test("a re-run sets the passwords from the files again (rotation)", () => {
    fs.writeFileSync(appFile, APP_PASSWORD_2);
    expect(runInitSql().status).toBe(0);
    expect(psql(conn(APP, DB, pgpassFor(APP, APP_PASSWORD_2)), "SELECT current_user")).toBe(APP);
    const old = psqlTry(conn(APP, DB, pgpassFor(APP, APP_PASSWORD)), ["-c", "SELECT 1"]);
    expect(old.stderr).toContain(`password authentication failed for user "${APP}"`);
  });

  test("a missing password file or the wrong database fails, and changes no password", () => {
    fs.renameSync(appFile, `${appFile}.away`);
    const missing = runInitSql();
    fs.renameSync(`${appFile}.away`, appFile);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain(
      `the password file ${appFile} for role ${APP} is missing or empty`,
    );
    expect(psql(conn(APP, DB, pgpassFor(APP, APP_PASSWORD_2)), "SELECT 1")).toBe("1");

    const wrong = runInitSql("postgres");
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain(`connected to the wrong database; run it with -d ${DB}`);
  });

  test("no password reaches the server log or pg_stat_statements, with every statement logged", () => {
    // The log does record statements (log_min_duration_statement = 0): this check can fail.
    psql(admin, "SELECT 1 AS log_marker_3141");
    const log = fs.readFileSync(server?.logFile ?? "", "utf8");
    expect(log).toContain("statement: SELECT 1 AS log_marker_3141");
    const texts = psql(admin, "SELECT string_agg(query, E'\\n') FROM pg_stat_statements");
    expect(texts).toContain("log_marker_3141");
    for (const secret of [APP_PASSWORD, APP_PASSWORD_2, RO_PASSWORD, "pa''ss"]) {
      expect(log).not.toContain(secret);
      expect(texts).not.toContain(secret);
    }
    expect(fs.readFileSync(initSql, "utf8")).not.toContain(APP_PASSWORD_2);
    expect(fs.existsSync("/tmp/vpn-pg-test-pwned")).toBe(false);
  });
});

describe("init.sql with a monitoring role for postgres-exporter", () => {
  let monFile: string;
  let monitorInitSql: string;
  const monitor = (password = MON_PASSWORD) => conn(MON, DB, pgpassFor(MON, password));
  // The app's password as the file holds it now (an earlier test rotates it).
  const app = () => conn(APP, DB, pgpassFor(APP, fs.readFileSync(appFile, "utf8")));
  const runMonitorInitSql = () => psqlTry(asAdmin(), ["-f", monitorInitSql], bbPath);
  const refused = (sql: string) => psqlTry(monitor(), ["-c", sql]).stderr;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A psql that holds a session, and what it printed on stderr (empty while it holds). */
  interface Held {
    child: ChildProcess;
    stderr: () => string;
  }
  /**
   * A session that stays open (pg_sleep) until the admin ends it, as a busy client would: long
   * enough that a slow machine still counts it before it ends on its own.
   */
  const hold = (c: Conn, marker: string): Held => {
    const child = spawn(
      path.join(PG_BIN, "psql"),
      ["-X", "-q", "-At", "--no-password", "-c", `SELECT pg_sleep(120) AS ${marker}`],
      { env: { ...pgEnv(c), PATH: process.env.PATH ?? "" }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    return { child, stderr: () => stderr };
  };
  const sessions = (marker: string) =>
    psql(
      admin,
      `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%AS ${marker}' AND pid <> pg_backend_pid()`,
    );
  /**
   * Until the held sessions are all counted. A psql that exited before (refused, or not
   * connected) ends the wait with what it printed, so a failure says why.
   */
  async function waitForSessions(marker: string, held: Held[]): Promise<void> {
    const n = String(held.length);
    const gone = () => held.filter((h) => h.child.exitCode !== null || h.child.signalCode !== null);
    for (let i = 0; i < 600 && sessions(marker) !== n && gone().length === 0; i++) await sleep(100);
    const exited = gone().map(
      (h) => `psql exited ${h.child.exitCode ?? h.child.signalCode}: ${h.stderr().trim()}`,
    );
    expect({ sessions: sessions(marker), exited }).toEqual({ sessions: n, exited: [] });
  }
  /**
   * Until no session of the role is left: a backend that is still exiting (an earlier test's
   * short session) counts against the role's connection limit, and would refuse a held one.
   */
  async function waitForNoSessionOf(role: string): Promise<void> {
    const count = () =>
      psql(admin, `SELECT count(*) FROM pg_stat_activity WHERE usename = '${role}'`);
    for (let i = 0; i < 100 && count() !== "0"; i++) await sleep(100);
    expect(count()).toBe("0");
  }
  async function end(marker: string, held: Held[]): Promise<void> {
    psql(
      admin,
      `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%AS ${marker}' AND pid <> pg_backend_pid()`,
    );
    await Promise.all(
      held.map(
        ({ child }) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve(null);
            else child.once("exit", resolve);
          }),
      ),
    );
  }

  beforeAll(() => {
    monFile = path.join(dir, "secrets", "postgres_monitor_password");
    fs.writeFileSync(monFile, MON_PASSWORD);
    monitorInitSql = path.join(dir, "init-monitor.sql");
    fs.writeFileSync(
      monitorInitSql,
      renderInitSql({
        database: DB,
        adminUser: ADMIN,
        appUser: APP,
        readonlyUser: RO,
        extensions: ["pgcrypto", "pg_stat_statements", "uuid-ossp", "citext"],
        appPasswordFile: appFile,
        readonlyPasswordFile: roFile,
        monitor: { user: MON, passwordFile: monFile },
      }),
    );
    // An application table from before the monitoring role existed.
    psql(admin, "CREATE TABLE monitor_secrets_early (id int PRIMARY KEY, secret text)");
  });

  test("runs, and again, creating a login with pg_monitor, read-only sessions and a limit", () => {
    for (let i = 0; i < 2; i++) {
      const r = runMonitorInitSql();
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    }
    expect(
      psql(
        admin,
        `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit, rolconnlimit, rolconfig
         FROM pg_roles WHERE rolname = '${MON}'`,
      ),
    ).toBe(`${MON}|t|f|f|f|f|f|t|${MONITOR_CONNECTION_LIMIT}|{default_transaction_read_only=on}`);
    expect(
      psql(
        admin,
        `SELECT string_agg(roleid::regrole::text, ',') FROM pg_auth_members WHERE member = '${MON}'::regrole`,
      ),
    ).toBe("pg_monitor");
    expect(psql(monitor(), "SELECT current_user, current_setting('transaction_read_only')")).toBe(
      `${MON}|on`,
    );
  });

  test("reads every session's statistics and query text, settings and database sizes", async () => {
    psql(admin, "INSERT INTO monitor_secrets_early VALUES (1, 'early secret')");
    const marker = "monitor_marker_5150";
    const busy = hold(app(), marker);
    try {
      await waitForSessions(marker, [busy]);
      // The app's only session is the busy one.
      const activity = `SELECT usename, query FROM pg_stat_activity WHERE usename = '${APP}'`;
      expect(psql(monitor(), activity)).toBe(`${APP}|SELECT pg_sleep(120) AS ${marker}`);
      // Without pg_monitor another role's query text is hidden: the grant is what shows it.
      expect(psql(conn(RO, DB, pgpassFor(RO, RO_PASSWORD)), activity)).toBe(
        `${APP}|<insufficient privilege>`,
      );
    } finally {
      await end(marker, [busy]);
    }
    expect(
      psql(
        monitor(),
        `SELECT datname, numbackends >= 1, xact_commit > 0 FROM pg_stat_database WHERE datname = '${DB}'`,
      ),
    ).toBe(`${DB}|t|t`);
    expect(psql(monitor(), `SELECT pg_database_size('${DB}') > 0`)).toBe("t");
    expect(psql(monitor(), "SELECT setting FROM pg_settings WHERE name = 'max_connections'")).toBe(
      "40",
    );
    expect(psql(monitor(), "SHOW data_directory")).toBe(path.join(dir, "pgdata"));
    expect(
      psqlTry(conn(RO, DB, pgpassFor(RO, RO_PASSWORD)), ["-c", "SHOW data_directory"]).stderr,
    ).toContain("pg_read_all_settings");
    expect(Number(psql(monitor(), "SELECT count(*) FROM pg_stat_statements"))).toBeGreaterThan(0);
  });

  test("reads no application table, old or new, and creates nothing", () => {
    psql(admin, "CREATE TABLE monitor_secrets_later (id bigserial PRIMARY KEY, secret text)");
    psql(app(), "INSERT INTO monitor_secrets_later (secret) VALUES ('later secret')");
    for (const table of ["monitor_secrets_early", "monitor_secrets_later"]) {
      expect(refused(`SELECT * FROM ${table}`)).toContain(`permission denied for table ${table}`);
    }
    expect(refused("SELECT nextval('monitor_secrets_later_id_seq')")).toContain(
      "permission denied for sequence monitor_secrets_later_id_seq",
    );
    expect(refused("CREATE TABLE mine (id int)")).toContain(
      "cannot execute CREATE TABLE in a read-only transaction",
    );
    expect(refused("BEGIN READ WRITE; CREATE TABLE mine (id int); COMMIT")).toContain(
      "permission denied for schema public",
    );
    expect(refused("BEGIN READ WRITE; CREATE TEMP TABLE mine (id int); COMMIT")).toContain(
      "permission denied to create temporary tables",
    );
    expect(refused("BEGIN READ WRITE; DELETE FROM monitor_secrets_later; COMMIT")).toContain(
      "permission denied for table monitor_secrets_later",
    );
  });

  test(`holds at most ${MONITOR_CONNECTION_LIMIT} sessions`, async () => {
    const marker = "monitor_limit_7071";
    await waitForNoSessionOf(MON);
    // One password file for all: writing it again while an earlier psql reads it could empty it.
    const asMonitor = monitor();
    const held = Array.from({ length: MONITOR_CONNECTION_LIMIT }, () => hold(asMonitor, marker));
    try {
      await waitForSessions(marker, held);
      expect(psqlTry(monitor(), ["-c", "SELECT 1"]).stderr).toContain(
        `too many connections for role "${MON}"`,
      );
    } finally {
      await end(marker, held);
    }
    expect(psql(monitor(), "SELECT 1")).toBe("1");
  });

  test("a grant or membership added by hand is taken away by the next run", () => {
    psql(
      admin,
      `GRANT SELECT ON monitor_secrets_early TO ${MON}; GRANT pg_read_all_data TO ${MON}; GRANT ${APP} TO ${MON}`,
    );
    // The grants work, so the check below can fail.
    expect(psql(monitor(), "SELECT secret FROM monitor_secrets_later")).toBe("later secret");
    expect(psql(monitor(), "SELECT secret FROM monitor_secrets_early")).toBe("early secret");
    const r = runMonitorInitSql();
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    for (const table of ["monitor_secrets_early", "monitor_secrets_later"]) {
      expect(refused(`SELECT * FROM ${table}`)).toContain(`permission denied for table ${table}`);
    }
    expect(
      psql(admin, `SELECT count(*) FROM pg_auth_members WHERE member = '${MON}'::regrole`),
    ).toBe("1");
  });

  test("a re-run rotates its password; an empty file fails and changes nothing", () => {
    fs.writeFileSync(monFile, MON_PASSWORD_2);
    expect(runMonitorInitSql().status).toBe(0);
    expect(psql(monitor(MON_PASSWORD_2), "SELECT current_user")).toBe(MON);
    expect(psqlTry(monitor(MON_PASSWORD), ["-c", "SELECT 1"]).stderr).toContain(
      `password authentication failed for user "${MON}"`,
    );

    fs.writeFileSync(monFile, "");
    const empty = runMonitorInitSql();
    fs.writeFileSync(monFile, MON_PASSWORD_2);
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toContain(
      `the password file ${monFile} for role ${MON} is missing or empty`,
    );
    expect(psql(monitor(MON_PASSWORD_2), "SELECT 1")).toBe("1");
  });

  test("its passwords reach neither the server log nor pg_stat_statements", () => {
    const log = fs.readFileSync(server?.logFile ?? "", "utf8");
    expect(log).toContain(`AS monitor_marker_5150`);
    const texts = psql(admin, "SELECT string_agg(query, E'\\n') FROM pg_stat_statements");
    for (const secret of [MON_PASSWORD, MON_PASSWORD_2, "mon''itor"]) {
      expect(log).not.toContain(secret);
      expect(texts).not.toContain(secret);
    }
    expect(fs.existsSync("/tmp/vpn-pg-test-pwned")).toBe(false);
  });
});

describe("migrate.sh under busybox", () => {
  let migrations: string;
  const write = (name: string, sql: string) => {
    fs.writeFileSync(path.join(migrations, name), sql);
  };
  const migrate = () =>
    run("migrate.sh", [], scriptEnv({ MIGRATIONS_DIR: migrations, INIT_SQL: initSql }));
  const sha256 = (name: string) =>
    createHash("sha256")
      .update(fs.readFileSync(path.join(migrations, name)))
      .digest("hex");
  const ledger = () => psql(admin, "SELECT version, checksum FROM schema_migrations ORDER BY 1");

  beforeAll(() => {
    migrations = path.join(dir, "migrations");
    fs.mkdirSync(migrations);
    write(
      "001_widgets.sql",
      "CREATE TABLE widgets (id int PRIMARY KEY, name text);\nINSERT INTO widgets VALUES (1, 'one');\n",
    );
    write(
      "002_settings.sql",
      "ALTER TABLE widgets ADD COLUMN colour text;\n" +
        "CREATE TABLE migration_settings AS SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('lock_timeout') AS lock_timeout;\n",
    );
    write("README.md", "not a migration");
  });

  test("applies the files in order, once, each recorded with its checksum", () => {
    const first = migrate();
    expect(first.status).toBe(0);
    expect(first.output).toContain("applied 001_widgets.sql\napplied 002_settings.sql\n");
    expect(first.lastLine).toBe("migrations: applied 2, already applied 0");
    expect(ledger()).toBe(
      `001_widgets.sql|${sha256("001_widgets.sql")}\n002_settings.sql|${sha256("002_settings.sql")}`,
    );
    // The session of a migration: no statement timeout (the server's is 15 s), a lock timeout.
    expect(psql(admin, "SELECT statement_timeout, lock_timeout FROM migration_settings")).toBe(
      "0|1min",
    );

    const again = migrate();
    expect(again.status).toBe(0);
    expect(again.lastLine).toBe("migrations: applied 0, already applied 2");
  });

  test("the app role uses the migrated tables but cannot write the ledger", () => {
    const app = conn(APP, DB, pgpassFor(APP, APP_PASSWORD_2));
    expect(
      psql(app, "INSERT INTO widgets VALUES (2, 'two', 'red'); SELECT count(*) FROM widgets"),
    ).toBe("2");
    expect(psqlTry(app, ["-c", "DELETE FROM schema_migrations"]).stderr).toContain(
      "permission denied for table schema_migrations",
    );
  });

  test("a broken file fails, naming itself and the error, and leaves nothing behind", () => {
    write(
      "003_broken.sql",
      "CREATE TABLE gadgets (id int);\nINSERT INTO no_such_table VALUES (1);\n",
    );
    const r = migrate();
    expect(r.status).toBe(1);
    expect(r.lastLine).toMatch(
      /^migration 003_broken\.sql failed: ERROR: +relation "no_such_table" does not exist/,
    );
    expect(psql(admin, "SELECT to_regclass('gadgets') IS NULL")).toBe("t");
    expect(ledger().split("\n")).toHaveLength(2);
    fs.rmSync(path.join(migrations, "003_broken.sql"));
  });

  test("a good file before a broken one in the same run stays applied", () => {
    write("003_gadgets.sql", "CREATE TABLE gadgets (id int PRIMARY KEY);\n");
    write("004_broken.sql", "CREAT TABLE oops (id int);\n");
    const r = migrate();
    expect(r.status).toBe(1);
    expect(r.output).toContain("applied 003_gadgets.sql\n");
    expect(r.lastLine).toMatch(
      /^migration 004_broken\.sql failed: ERROR: +syntax error at or near "CREAT"/,
    );
    expect(psql(admin, "SELECT to_regclass('gadgets') IS NOT NULL")).toBe("t");
    expect(
      ledger()
        .split("\n")
        .map((l) => l.split("|")[0]),
    ).toEqual(["001_widgets.sql", "002_settings.sql", "003_gadgets.sql"]);
    fs.rmSync(path.join(migrations, "004_broken.sql"));
  });

  test("an applied file that was edited is refused, by name", () => {
    const recorded = sha256("001_widgets.sql");
    write("001_widgets.sql", "CREATE TABLE widgets (id bigint PRIMARY KEY);\n");
    const r = migrate();
    expect(r.status).toBe(1);
    expect(r.lastLine).toBe(
      `migration 001_widgets.sql was changed after it was applied (recorded ${recorded}, now ${sha256("001_widgets.sql")})`,
    );
  });
});

const BACKUP_NAME = /^vpn_enterprise-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;
const nameTime = (name: string): number => {
  const m = BACKUP_NAME.exec(name);
  if (!m) throw new Error(`not a backup name: ${name}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
};
const stampOf = (epoch: number) =>
  new Date(epoch * 1000)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
const nowSeconds = () => Math.floor(Date.now() / 1000);
const files = (d: string) => fs.readdirSync(d).sort();

/**
 * The Prometheus text format, checked line by line: HELP and TYPE before each metric's one
 * sample, gauge, a metric name, optional labels, a number. Returns the samples by metric name.
 */
function parseProm(text: string): Map<string, { labels: string; value: number }> {
  expect(text.endsWith("\n")).toBe(true);
  const samples = new Map<string, { labels: string; value: number }>();
  const help = new Set<string>();
  const type = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (m) {
      help.add(m[1]);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) gauge$/.exec(line);
    if (m) {
      type.add(m[1]);
      continue;
    }
    m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9]+(?:\.[0-9]+)?)$/.exec(
        line,
      );
    if (!m) throw new Error(`not a Prometheus text-format line: ${JSON.stringify(line)}`);
    const name = m[1];
    if (!help.has(name) || !type.has(name) || samples.has(name)) {
      throw new Error(`${name}: a sample needs its HELP and TYPE first, once`);
    }
    // An optional group that did not match is undefined.
    samples.set(name, { labels: m.at(2) ?? "", value: Number(m[3]) });
  }
  return samples;
}

/** promtool's own check of a metrics file, with the production generation's promtool (chroot). */
function promtoolCheck(file: string): void {
  requirePromtool();
  const r = spawnSync("chroot", [prometheusRoot(), "/usr/bin/promtool", "check", "metrics"], {
    input: fs.readFileSync(file),
    encoding: "utf8",
    env: { PATH: SYSTEM_PATH, HOME: "/tmp", TZ: "UTC" },
  });
  expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: "" });
}

const METRICS = [
  "vpn_backup_last_success_timestamp_seconds",
  "vpn_backup_last_attempt_timestamp_seconds",
  "vpn_backup_last_attempt_success",
  "vpn_backup_last_size_bytes",
  "vpn_backup_last_duration_seconds",
];

describe("backup.sh and restore.sh under busybox", () => {
  let backups: string;
  let before: Map<string, string>;
  const env = (extra: Record<string, string> = {}) =>
    scriptEnv({ BACKUP_DIR: backups, BACKUP_RETENTION_DAYS: "7", INIT_SQL: initSql, ...extra });
  const tables = ["customers", "blobs", "widgets"];
  /** Per table: row count and an md5 over every row in primary-key order. */
  const fingerprint = (database = DB) =>
    new Map(
      tables.map((t) => [
        t,
        psql(
          asAdmin(database),
          `SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM ${t} x`,
        ),
      ]),
    );
  const dumps = () => files(backups).filter((f) => f.endsWith(".dump"));

  beforeAll(() => {
    backups = path.join(dir, "backups");
    fs.mkdirSync(backups);
    psql(
      admin,
      `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text, balance numeric(12,2), seen timestamptz);
       INSERT INTO customers
         SELECT i, 'Zoë ' || i || ' 東京 🚀 ' || chr(233) || E' "q" \\t ''s',
                CASE WHEN i % 7 = 0 THEN NULL ELSE 'user' || i || '@example.com' END,
                CASE WHEN i % 5 = 0 THEN NULL ELSE i * 1.25 END,
                timestamptz '2024-01-01 00:00:00+00' + i * interval '17 minutes'
         FROM generate_series(1, 5000) i;
       CREATE TABLE blobs (id int PRIMARY KEY, payload bytea, note text);
       INSERT INTO blobs
         SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') || '\\x00ff00'::bytea END,
                CASE WHEN i % 3 = 0 THEN NULL ELSE E'line one\\nline two ' || repeat('ü', i % 50) END
         FROM generate_series(1, 3000) i;`,
    );
    before = fingerprint();
    expect(before.get("customers")).toMatch(/^5000 /);
    expect(before.get("blobs")).toMatch(/^3000 /);
  });

  test("a backup: named by its UTC time, private, verified, with last-success and metrics", () => {
    const t0 = nowSeconds();
    const r = run("backup.sh", [], env());
    const t1 = nowSeconds();
    expect(r.status).toBe(0);
    const [name, ...others] = dumps();
    expect(others).toEqual([]);
    expect(files(backups)).toEqual(["last-success", "vpn_backup.prom", name]);
    expect(name).toMatch(BACKUP_NAME);
    expect(nameTime(name)).toBeGreaterThanOrEqual(t0);
    expect(nameTime(name)).toBeLessThanOrEqual(t1);
    const mode = (f: string) => fs.statSync(path.join(backups, f)).mode & 0o777;
    expect(mode(name)).toBe(0o600);
    expect([mode("last-success"), mode("vpn_backup.prom")]).toEqual([0o644, 0o644]);
    expect(r.lastLine).toBe(`backup done: ${name}; 0 old file(s) deleted, retention 7 day(s)`);

    const last = Number(fs.readFileSync(path.join(backups, "last-success"), "utf8"));
    expect(last).toBeGreaterThanOrEqual(t0);
    expect(last).toBeLessThanOrEqual(t1);
    const prom = path.join(backups, "vpn_backup.prom");
    const metrics = parseProm(fs.readFileSync(prom, "utf8"));
    expect([...metrics.keys()].sort()).toEqual([...METRICS].sort());
    for (const { labels } of metrics.values()) expect(labels).toBe(`{database="${DB}"}`);
    expect(metrics.get("vpn_backup_last_success_timestamp_seconds")?.value).toBe(last);
    expect(metrics.get("vpn_backup_last_attempt_success")?.value).toBe(1);
    expect(metrics.get("vpn_backup_last_size_bytes")?.value).toBe(
      fs.statSync(path.join(backups, name)).size,
    );
    promtoolCheck(prom);
  });

  test("a dropped database comes back from the latest backup, rows and grants", () => {
    psql(asAdmin("postgres"), `DROP DATABASE ${DB} WITH (FORCE)`);
    const [name] = dumps();
    const r = run("restore.sh", ["latest"], env());
    expect(r.status).toBe(0);
    expect(r.lastLine).toBe(`restored ${name} into ${DB}; no previous database`);
    expect(fingerprint()).toEqual(before);
    // init.sql ran on the restored database: CONNECT for the roles only, passwords from files.
    expect(
      psql(conn(APP, DB, pgpassFor(APP, APP_PASSWORD_2)), "SELECT count(*) FROM customers"),
    ).toBe("5000");
    expect(
      psqlTry(conn("outsider", DB, pgpassFor("outsider", "outsider-password-1")), [
        "-c",
        "SELECT 1",
      ]).stderr,
    ).toContain("permission denied for database");
    expect(psql(admin, `SELECT count(*) FROM pg_database WHERE datname LIKE '${DB}\\_%'`)).toBe(
      "0",
    );
  });

  test("restore over a live database keeps the previous one, renamed", async () => {
    // A second backup, one second later, so the list has an order to show.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(run("backup.sh", [], env()).status).toBe(0);
    const [older, newer] = dumps();
    const list = run("restore.sh", [], env());
    expect({ status: list.status, output: list.output }).toEqual({
      status: 0,
      output: `${newer}\n${older}\n`,
    });

    psql(admin, "INSERT INTO widgets VALUES (99, 'written after the backup')");
    const r = run("restore.sh", [older], env());
    expect(r.status).toBe(0);
    const m = new RegExp(
      `^restored ${older} into ${DB}; previous database kept as (${DB}_pre_restore_\\d{14})$`,
    ).exec(r.lastLine);
    expect(m).not.toBeNull();
    const previous = m?.[1] ?? "";
    expect(r.output).toContain(`DROP DATABASE "${previous}"`);
    expect(fingerprint()).toEqual(before);
    // Nothing is lost: the previous database, closed to connections, still has the late row.
    expect(psql(admin, `SELECT datallowconn FROM pg_database WHERE datname = '${previous}'`)).toBe(
      "f",
    );
    psql(asAdmin("postgres"), `ALTER DATABASE ${previous} WITH ALLOW_CONNECTIONS true`);
    expect(psql(asAdmin(previous), "SELECT name FROM widgets WHERE id = 99")).toBe(
      "written after the backup",
    );
    psql(asAdmin("postgres"), `DROP DATABASE ${previous}`);
  });

  test("names that are not backups, or missing, are refused", () => {
    for (const [arg, message] of [
      ["../../etc/passwd", "not a backup name"],
      [`${DB}-20240101T000000Z.dump.partial`, "not a backup name"],
      [`other-20240101T000000Z.dump`, "not a backup name"],
      [`${DB}-20990101T000000Z.dump`, `backup ${DB}-20990101T000000Z.dump not found`],
    ]) {
      const r = run("restore.sh", [arg], env());
      expect(r.status).not.toBe(0);
      expect(r.lastLine).toContain(message);
    }
  });

  test("a restore that fails drops its new database and leaves the live one alone", () => {
    // A backup whose restore fails half-way: a table owned by a role that no longer exists.
    const broken = `${DB}-20000101T000000Z.dump`;
    psql(asAdmin("postgres"), "CREATE ROLE ghost");
    psql(asAdmin("postgres"), "CREATE DATABASE ghost_src");
    psql(asAdmin("ghost_src"), "CREATE TABLE t (id int); ALTER TABLE t OWNER TO ghost");
    const dump = spawnSync(
      path.join(PG_BIN, "pg_dump"),
      ["-Fc", "-f", path.join(backups, broken)],
      {
        env: pgEnv(asAdmin("ghost_src")),
      },
    );
    expect(dump.status).toBe(0);
    psql(asAdmin("postgres"), "DROP DATABASE ghost_src");
    psql(asAdmin("postgres"), "DROP ROLE ghost");

    const r = run("restore.sh", [broken], env());
    fs.rmSync(path.join(backups, broken));
    expect(r.status).toBe(1);
    expect(r.lastLine).toMatch(
      new RegExp(
        `^restore of ${broken} into ${DB} failed: pg_restore into ${DB}_restore_\\d{14}: .*role "ghost" does not exist`,
      ),
    );
    expect(psql(admin, `SELECT count(*) FROM pg_database WHERE datname LIKE '${DB}\\_%'`)).toBe(
      "0",
    );
    expect(psql(admin, `SELECT datallowconn FROM pg_database WHERE datname = '${DB}'`)).toBe("t");
    expect(fingerprint()).toEqual(before);
  });
});

describe("backup.sh retention and failure, under busybox", () => {
  const day = 86400;
  const backupEnv = (backupDir: string, passfile = admin.passfile) => ({
    ...scriptEnv({ BACKUP_DIR: backupDir, BACKUP_RETENTION_DAYS: "7" }),
    PGPASSFILE: passfile,
  });
  const fill = (d: string, names: string[], mtime: number) => {
    fs.mkdirSync(d, { recursive: true });
    for (const n of names) {
      fs.writeFileSync(path.join(d, n), "x");
      fs.utimesSync(path.join(d, n), mtime, mtime);
    }
  };

  test("deletes only expired backups of this database, by the time in their names", () => {
    const d = path.join(dir, "retention");
    const now = nowSeconds();
    const name = (ago: number, db = DB) => `${db}-${stampOf(now - ago)}.dump`;
    // mtimes say the opposite of the names: pruning must read the names.
    const expired = [name(10 * day), name(7 * day + 120)];
    const kept = [name(6 * day), name(3600)];
    const stalePartial = `${name(2 * day)}.partial`;
    const unrelated = [
      name(30 * day, "other_db"),
      `${name(30 * day)}.bak`,
      name(30 * day, `${DB}_x`),
      `${DB}-${stampOf(now - 30 * day).replace("Z", "")}.dump`,
      `${DB}-2020010T000000Z.dump`,
      `${name(30 * day, "other_db")}.partial`,
      "notes.txt",
    ];
    fill(d, [...expired, stalePartial], now);
    fill(d, [...kept, ...unrelated], now - 60 * day);

    const r = run("backup.sh", [], backupEnv(d));
    expect(r.status).toBe(0);
    const made = files(d).filter((f) => BACKUP_NAME.test(f) && ![...kept].includes(f));
    expect(made).toHaveLength(1);
    expect(files(d)).toEqual(
      [...kept, ...unrelated, made[0], "last-success", "vpn_backup.prom"].sort(),
    );
    for (const gone of [...expired, stalePartial]) expect(r.output).toContain(`deleted ${gone}\n`);
    expect(r.lastLine).toBe(`backup done: ${made[0]}; 3 old file(s) deleted, retention 7 day(s)`);
  });

  test("a failed dump: non-zero, metrics say so, the last success stays, nothing is deleted", () => {
    const d = path.join(dir, "failing");
    const now = nowSeconds();
    const old = [`${DB}-${stampOf(now - 40 * day)}.dump`, `${DB}-${stampOf(now - 20 * day)}.dump`];
    fill(d, old, now - 20 * day);
    const lastSuccess = now - 20 * day;
    fs.writeFileSync(path.join(d, "last-success"), `${lastSuccess}\n`);
    fs.writeFileSync(
      path.join(d, "vpn_backup.prom"),
      `# HELP vpn_backup_last_size_bytes x\n# TYPE vpn_backup_last_size_bytes gauge\nvpn_backup_last_size_bytes{database="${DB}"} 4242\n`,
    );
    const wrong = writePgpass(path.join(dir, "pgpass-wrong"), port, ADMIN, "not-the-password");

    const r = run("backup.sh", [], backupEnv(d, wrong));
    expect(r.status).toBe(1);
    expect(r.lastLine).toMatch(
      /^backup of vpn_enterprise failed \(exit 1\): pg_dump: .*password authentication failed/,
    );
    expect(files(d)).toEqual([...old, "last-success", "vpn_backup.prom"].sort());
    expect(fs.readFileSync(path.join(d, "last-success"), "utf8")).toBe(`${lastSuccess}\n`);
    const metrics = parseProm(fs.readFileSync(path.join(d, "vpn_backup.prom"), "utf8"));
    expect([...metrics.keys()].sort()).toEqual([...METRICS].sort());
    expect(metrics.get("vpn_backup_last_attempt_success")?.value).toBe(0);
    expect(metrics.get("vpn_backup_last_success_timestamp_seconds")?.value).toBe(lastSuccess);
    expect(metrics.get("vpn_backup_last_size_bytes")?.value).toBe(4242);
    expect(metrics.get("vpn_backup_last_attempt_timestamp_seconds")?.value).toBeGreaterThanOrEqual(
      now,
    );
    promtoolCheck(path.join(d, "vpn_backup.prom"));
  });

  test("bad settings are refused, naming the variable", () => {
    const d = path.join(dir, "failing");
    const r = run("backup.sh", [], { ...backupEnv(d), BACKUP_RETENTION_DAYS: "0" });
    expect(r.status).not.toBe(0);
    expect(r.lastLine).toBe("backup: BACKUP_RETENTION_DAYS=0; allowed: an integer >= 1");
  });
});

describe("schedule.sh under busybox", () => {
  const at = (iso: string) => String(Date.parse(iso) / 1000);
  const schedule = (args: string[], extra: Record<string, string>) =>
    run("schedule.sh", args, { PATH: bbPath, ...extra });

  test.each([
    // interval h, start, now, next
    ["24", "02:30", "2024-01-01T01:00:00Z", "2024-01-01T02:30:00Z"],
    ["24", "02:30", "2024-01-01T02:30:00Z", "2024-01-02T02:30:00Z"],
    ["6", "01:15", "2024-01-01T23:59:59Z", "2024-01-02T01:15:00Z"],
    ["6", "05:00", "2024-01-01T00:30:00Z", "2024-01-01T05:00:00Z"],
    ["1", "00:00", "2024-06-30T12:34:56Z", "2024-06-30T13:00:00Z"],
    ["12", "00:00", "2023-12-31T18:00:00Z", "2024-01-01T00:00:00Z"],
    ["8", "14:00", "2024-02-29T23:00:00Z", "2024-03-01T06:00:00Z"],
    ["3", "08:09", "2024-03-10T08:08:59Z", "2024-03-10T08:09:00Z"],
  ])("--next: every %s h from %s, after %s: %s", (hours, start, now, next) => {
    const r = schedule(["--next", at(now)], {
      BACKUP_INTERVAL_HOURS: hours,
      BACKUP_START_UTC: start,
    });
    expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: `${at(next)}\n` });
  });

  test("bad settings are refused, naming the variable and what is allowed", () => {
    const bad = schedule(["--next", "0"], {
      BACKUP_INTERVAL_HOURS: "5",
      BACKUP_START_UTC: "02:00",
    });
    expect(bad.status).not.toBe(0);
    expect(bad.lastLine).toContain("BACKUP_INTERVAL_HOURS=5");
    expect(bad.lastLine).toContain("allowed: 1, 2, 3, 4, 6, 8, 12 or 24");
    const start = schedule(["--next", "0"], {
      BACKUP_INTERVAL_HOURS: "6",
      BACKUP_START_UTC: "24:00",
    });
    expect(start.status).not.toBe(0);
    expect(start.lastLine).toContain("BACKUP_START_UTC=24:00");
  });

  test("--check: healthy after a recent success, unhealthy when it is too old or missing", () => {
    const d = path.join(dir, "health");
    fs.mkdirSync(d);
    const check = () => schedule(["--check"], { BACKUP_DIR: d, BACKUP_INTERVAL_HOURS: "6" });
    const missing = check();
    expect(missing.status).toBe(1);
    expect(missing.lastLine).toContain("no successful backup yet");
    // The first backup of a new stack, still being written: healthy, so `up` does not time out.
    const partial = path.join(d, "vpn_enterprise-20261125T023000Z.dump.partial");
    fs.writeFileSync(partial, "");
    const first = check();
    expect([first.status, first.lastLine]).toEqual([
      0,
      "healthy: the first backup is being written (vpn_enterprise-20261125T023000Z.dump.partial)",
    ]);
    fs.rmSync(partial);
    fs.writeFileSync(path.join(d, "last-success"), `${nowSeconds() - 7 * 3600 + 60}\n`);
    expect(check().status).toBe(0);
    fs.writeFileSync(path.join(d, "last-success"), `${nowSeconds() - 7 * 3600 - 60}\n`);
    const old = check();
    expect(old.status).toBe(1);
    expect(old.lastLine).toMatch(
      /^unhealthy: the last successful backup is \d+ s old; allowed: less than 25200 s$/,
    );
  });

  test("the loop: a catch-up backup first, then it waits for the slot and stops at once on TERM", async () => {
    const d = path.join(dir, "loop");
    fs.mkdirSync(d);
    const log = path.join(dir, "loop.log");
    const fd = fs.openSync(log, "w");
    const child: ChildProcess = spawn(busybox, ["sh", path.join(SCRIPTS, "schedule.sh")], {
      env: scriptEnv({
        BACKUP_DIR: d,
        BACKUP_RETENTION_DAYS: "7",
        BACKUP_INTERVAL_HOURS: "24",
        BACKUP_START_UTC: "00:00",
        BACKUP_SCRIPT: path.join(SCRIPTS, "backup.sh"),
      }),
      stdio: ["ignore", fd, fd],
    });
    fs.closeSync(fd);
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code) => {
        resolve(code);
      });
    });
    try {
      for (let i = 0; i < 200 && !fs.readFileSync(log, "utf8").includes("next backup at"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const output = fs.readFileSync(log, "utf8");
      expect(output).toContain("schedule: catch-up backup (last success: none)");
      expect(output).toMatch(/schedule: next backup at \d{4}-\d{2}-\d{2}T00:00:00Z\n$/);
      expect(files(d).filter((f) => BACKUP_NAME.test(f))).toHaveLength(1);
      const stopped = Date.now();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(Date.now() - stopped).toBeLessThan(2000);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("the same scripts under dash and GNU tools (Debian)", () => {
  const DASH_DB = "gnu_check";
  let d: string;
  const dash = (script: string, args: string[], extra: Record<string, string>) =>
    runScript(
      busybox,
      dir,
      script,
      args,
      { ...pgEnv(asAdmin(DASH_DB)), PATH: `${PG_BIN}:/usr/bin:/bin`, ...extra },
      ["dash"],
    );

  beforeAll(() => {
    if (spawnSync("dash", ["-c", "exit 0"]).status !== 0)
      throw new Error("dash is missing: apt-get install dash");
    d = path.join(dir, "gnu");
    fs.mkdirSync(path.join(d, "migrations"), { recursive: true });
    fs.mkdirSync(path.join(d, "backups"));
    psql(asAdmin("postgres"), `CREATE DATABASE ${DASH_DB}`);
  });

  test("migrate, back up with pruning, restore, schedule", () => {
    const migrations = path.join(d, "migrations");
    fs.writeFileSync(
      path.join(migrations, "001_t.sql"),
      "CREATE TABLE t (id int PRIMARY KEY, v text);\n",
    );
    fs.writeFileSync(
      path.join(migrations, "002_rows.sql"),
      "INSERT INTO t SELECT i, 'ü' || i FROM generate_series(1, 500) i;\n",
    );
    const env = { MIGRATIONS_DIR: migrations };
    expect(dash("migrate.sh", [], env).lastLine).toBe("migrations: applied 2, already applied 0");
    expect(dash("migrate.sh", [], env).lastLine).toBe("migrations: applied 0, already applied 2");

    const backups = path.join(d, "backups");
    const expired = `${DASH_DB}-${stampOf(nowSeconds() - 9 * 86400)}.dump`;
    const partial = `${DASH_DB}-${stampOf(nowSeconds() - 86400)}.dump.partial`;
    for (const f of [expired, partial, "keep.txt"]) fs.writeFileSync(path.join(backups, f), "x");
    const backupEnv = { BACKUP_DIR: backups, BACKUP_RETENTION_DAYS: "7" };
    const b = dash("backup.sh", [], backupEnv);
    expect(b.status).toBe(0);
    const made = files(backups).filter((f) => f.endsWith("Z.dump"));
    expect(made).toHaveLength(1);
    expect(files(backups)).toEqual([made[0], "keep.txt", "last-success", "vpn_backup.prom"]);
    expect(b.lastLine).toBe(`backup done: ${made[0]}; 2 old file(s) deleted, retention 7 day(s)`);
    parseProm(fs.readFileSync(path.join(backups, "vpn_backup.prom"), "utf8"));

    const sum = "SELECT count(*) || md5(string_agg(t::text, '|' ORDER BY id)) FROM t";
    const expected = psql(asAdmin(DASH_DB), sum);
    psql(asAdmin(DASH_DB), "DELETE FROM t WHERE id > 10");
    const r = dash("restore.sh", ["latest"], backupEnv);
    expect(r.status).toBe(0);
    expect(r.lastLine).toMatch(
      new RegExp(
        `^restored ${made[0]} into ${DASH_DB}; previous database kept as ${DASH_DB}_pre_restore_\\d{14}$`,
      ),
    );
    expect(psql(asAdmin(DASH_DB), sum)).toBe(expected);

    const next = dash(
      "schedule.sh",
      ["--next", String(Date.parse("2024-01-01T23:30:00Z") / 1000)],
      {
        BACKUP_INTERVAL_HOURS: "2",
        BACKUP_START_UTC: "01:00",
      },
    );
    expect(next.output).toBe(`${Date.parse("2024-01-02T01:00:00Z") / 1000}\n`);
    expect(
      dash("schedule.sh", ["--check"], { ...backupEnv, BACKUP_INTERVAL_HOURS: "2" }).status,
    ).toBe(0);
  });
});
