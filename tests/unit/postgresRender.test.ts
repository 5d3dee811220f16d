/**
 * render/postgres.ts and render/initSql.ts without a server: quoting, the lines the files must have, and the refusals
 * (each naming its field). tests/tools/postgres.test.ts runs the same output on PostgreSQL 15.
 */
import { InitSqlInput, MONITOR_CONNECTION_LIMIT, renderInitSql } from "../../render/initSql";
import {
  POSTGRES_EXTENSIONS,
  PostgresConfInput,
  quoteIdent,
  quoteLiteral,
  renderPgpass,
  renderPostgresConf,
} from "../../render/postgres";

const CONF: PostgresConfInput = {
  port: 5432,
  maxConnections: 100,
  sharedBuffersMb: 256,
  workMemMb: 4,
  effectiveCacheSizeMb: 768,
  statementTimeoutMs: 30000,
  idleInTransactionTimeoutMs: 60000,
  logMinDurationStatementMs: 500,
  sharedPreloadLibraries: ["pg_stat_statements"],
};

const INIT: InitSqlInput = {
  database: "vpn_enterprise",
  adminUser: "vpn_admin",
  appUser: "vpn_app",
  readonlyUser: "vpn_readonly",
  extensions: ["pgcrypto", "uuid-ossp", "pg_stat_statements"],
  appPasswordFile: "/run/secrets/postgres_app_password",
  readonlyPasswordFile: "/run/secrets/postgres_readonly_password",
};

/** The settings of a postgresql.conf as a map (the file has one `key = value` a line). */
function settings(conf: string): Map<string, string> {
  const lines = conf.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  const map = new Map<string, string>();
  for (const line of lines) {
    const m = /^([a-z_]+) = (.+)$/.exec(line);
    if (!m) throw new Error(`not a setting line: ${line}`);
    expect(map.has(m[1])).toBe(false);
    map.set(m[1], m[2]);
  }
  return map;
}

describe("quoteIdent and quoteLiteral", () => {
  test("quote and double their own quote character only", () => {
    expect(quoteIdent("vpn_app")).toBe('"vpn_app"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteIdent("uuid-ossp")).toBe('"uuid-ossp"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('a"b\\c')).toBe("'a\"b\\c'");
    expect(quoteLiteral("")).toBe("''");
  });

  test("refuse NUL, which PostgreSQL cannot store", () => {
    expect(() => quoteIdent("a\0b")).toThrow("NUL");
    expect(() => quoteLiteral("a\0b")).toThrow("NUL");
  });
});

describe("renderPostgresConf", () => {
  test("sets every input and the container defaults, one setting a line", () => {
    const s = settings(renderPostgresConf(CONF));
    expect(Object.fromEntries(s)).toMatchObject({
      listen_addresses: "'*'",
      port: "5432",
      max_connections: "100",
      password_encryption: "'scram-sha-256'",
      shared_buffers: "'256MB'",
      work_mem: "'4MB'",
      effective_cache_size: "'768MB'",
      statement_timeout: "30000",
      idle_in_transaction_session_timeout: "60000",
      log_min_duration_statement: "500",
      shared_preload_libraries: "'pg_stat_statements'",
      logging_collector: "off",
      log_destination: "'stderr'",
      log_lock_waits: "on",
      log_temp_files: "0",
    });
    expect(s.get("log_line_prefix")).toMatch(/%m.*%p.*%u.*%d/);
    // Nothing that points outside PGDATA.
    for (const key of ["hba_file", "ident_file", "data_directory", "include", "include_dir"]) {
      expect(s.has(key)).toBe(false);
    }
  });

  test("off values and no libraries render as PostgreSQL reads them", () => {
    const s = settings(
      renderPostgresConf({
        ...CONF,
        statementTimeoutMs: 0,
        idleInTransactionTimeoutMs: 0,
        logMinDurationStatementMs: -1,
        sharedPreloadLibraries: [],
      }),
    );
    expect(s.get("statement_timeout")).toBe("0");
    expect(s.get("log_min_duration_statement")).toBe("-1");
    expect(s.get("shared_preload_libraries")).toBe("''");
    expect(
      settings(
        renderPostgresConf({
          ...CONF,
          sharedPreloadLibraries: ["pg_stat_statements", "auto_explain"],
        }),
      ).get("shared_preload_libraries"),
    ).toBe("'pg_stat_statements,auto_explain'");
  });

  test.each<[Partial<PostgresConfInput>, string]>([
    [{ port: 0 }, "port: given 0"],
    [{ port: 65536 }, "port: given 65536"],
    [{ maxConnections: 5 }, "maxConnections: given 5"],
    [{ maxConnections: 10.5 }, "maxConnections: given 10.5"],
    [{ sharedBuffersMb: NaN }, "sharedBuffersMb: given NaN"],
    [{ workMemMb: 0 }, "workMemMb: given 0"],
    [{ workMemMb: 2097152 }, "workMemMb: given 2097152"],
    [{ effectiveCacheSizeMb: 16777216 }, "effectiveCacheSizeMb: given 16777216"],
    [{ effectiveCacheSizeMb: 0 }, "effectiveCacheSizeMb: given 0"],
    [{ statementTimeoutMs: -1 }, "statementTimeoutMs: given -1"],
    [{ idleInTransactionTimeoutMs: 2 ** 31 }, "idleInTransactionTimeoutMs: given 2147483648"],
    [{ logMinDurationStatementMs: -2 }, "logMinDurationStatementMs: given -2"],
    [{ sharedPreloadLibraries: ["pg_stat_statements'; x"] }, "sharedPreloadLibraries: given"],
    [{ sharedPreloadLibraries: ["Auto_explain"] }, "sharedPreloadLibraries: given"],
    [{ sharedPreloadLibraries: ["a", "a"] }, "sharedPreloadLibraries: given"],
  ])("refuses %j, naming the field", (change, message) => {
    expect(() => renderPostgresConf({ ...CONF, ...change })).toThrow(message);
  });
});

describe("renderInitSql", () => {
  const sql = renderInitSql(INIT);

  test("keeps its own statements out of the logs before anything else", () => {
    const statements = sql.split("\n").filter((l) => l !== "" && !l.startsWith("--"));
    expect(statements.slice(0, 5)).toEqual([
      "\\set ON_ERROR_STOP on",
      "SET log_statement = 'none';",
      "SET log_min_duration_statement = -1;",
      "SET log_min_error_statement = 'panic';",
      "SET pg_stat_statements.track_utility = off;",
    ]);
  });

  test("reads each password from its file with psql, never holding it", () => {
    expect(sql).toContain("\\set app_password `cat /run/secrets/postgres_app_password`");
    expect(sql).toContain(`ALTER ROLE "vpn_app" PASSWORD :'app_password';`);
    expect(sql).toContain("\\set readonly_password `cat /run/secrets/postgres_readonly_password`");
    expect(sql).toContain(`ALTER ROLE "vpn_readonly" PASSWORD :'readonly_password';`);
    expect(sql).not.toMatch(/PASSWORD '/);
  });

  test("creates what is missing and runs in one transaction", () => {
    expect(sql).toContain('CREATE EXTENSION IF NOT EXISTS "uuid-ossp";');
    expect(sql).toMatch(
      /WHERE NOT EXISTS \(SELECT FROM pg_catalog\.pg_roles WHERE rolname = 'vpn_app'\) \\gexec/,
    );
    expect(sql).toContain(
      'ALTER ROLE "vpn_app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;',
    );
    expect(sql).toContain(`ALTER ROLE "vpn_readonly" SET default_transaction_read_only = on;`);
    expect(sql).toContain('REVOKE ALL ON DATABASE "vpn_enterprise" FROM PUBLIC;');
    expect(sql).toContain(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "vpn_admin" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "vpn_app";',
    );
    expect(sql.indexOf("BEGIN;")).toBeLessThan(sql.indexOf("CREATE EXTENSION"));
    expect(sql.trimEnd().endsWith("COMMIT;")).toBe(true);
    // The app never gets CREATE or TRUNCATE.
    expect(sql).not.toMatch(/GRANT[^;]*(CREATE|TRUNCATE|ALL)[^;]*TO[^;]*vpn_app/);
  });

  test("allows every listed extension", () => {
    expect(() => renderInitSql({ ...INIT, extensions: [...POSTGRES_EXTENSIONS] })).not.toThrow();
    expect(POSTGRES_EXTENSIONS).toEqual(expect.arrayContaining(["pgcrypto", "pg_stat_statements"]));
  });

  test.each<[Partial<InitSqlInput>, string]>([
    [{ database: "Vpn" }, "database: given"],
    [{ database: "vpn-enterprise" }, "database: given"],
    [{ adminUser: "pg_admin" }, "adminUser: given"],
    [{ appUser: 'app"; DROP' }, "appUser: given"],
    [{ appUser: "a".repeat(64) }, "appUser: given"],
    [{ readonlyUser: "" }, "readonlyUser: given"],
    [{ readonlyUser: "1ro" }, "readonlyUser: given"],
    [{ appUser: "vpn_admin" }, "must be three different roles"],
    [{ readonlyUser: "vpn_app" }, "must be three different roles"],
    [{ extensions: ["plpython3u"] }, "extensions: given"],
    [{ extensions: ["pgcrypto", "pgcrypto"] }, "extensions: given"],
    [{ appPasswordFile: "relative/path" }, "appPasswordFile: given"],
    [{ appPasswordFile: "/run/secrets/x`id`" }, "appPasswordFile: given"],
    [{ readonlyPasswordFile: "/run/secrets/with space" }, "readonlyPasswordFile: given"],
    [{ readonlyPasswordFile: "/run/:var" }, "readonlyPasswordFile: given"],
    [{ readonlyPasswordFile: "/run/../etc/shadow" }, "readonlyPasswordFile: given"],
  ])("refuses %j, naming the field", (change, message) => {
    expect(() => renderInitSql({ ...INIT, ...change })).toThrow(message);
  });
});

describe("renderInitSql with a monitoring role", () => {
  const MONITOR = { user: "vpn_monitor", passwordFile: "/run/secrets/postgres_monitor_password" };
  const sql = renderInitSql({ ...INIT, monitor: MONITOR });
  const lines = sql.split("\n");

  test("without one, no line names pg_monitor and only two roles may connect", () => {
    const plain = renderInitSql(INIT);
    expect(plain).not.toContain("pg_monitor");
    expect(plain).not.toContain("monitor_password");
    expect(plain).toContain(
      'GRANT CONNECT ON DATABASE "vpn_enterprise" TO "vpn_app", "vpn_readonly";',
    );
  });

  test("creates the role like the others, with a connection limit, its password from its file", () => {
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT ${MONITOR_CONNECTION_LIMIT}`;
    expect(lines).toContain(`SELECT format('CREATE ROLE %I ${attributes}', 'vpn_monitor')`);
    expect(lines).toContain(`ALTER ROLE "vpn_monitor" WITH ${attributes};`);
    expect(lines).toContain("\\set monitor_password `cat /run/secrets/postgres_monitor_password`");
    expect(lines).toContain(`ALTER ROLE "vpn_monitor" PASSWORD :'monitor_password';`);
    expect(sql).toContain(
      "the password file /run/secrets/postgres_monitor_password for role vpn_monitor is missing or empty",
    );
    expect(sql).not.toMatch(/PASSWORD '/);
  });

  test("statistics through pg_monitor, read-only sessions, and a connection", () => {
    expect(lines).toContain('GRANT pg_monitor TO "vpn_monitor";');
    expect(lines).toContain('ALTER ROLE "vpn_monitor" SET default_transaction_read_only = on;');
    expect(lines).toContain(
      'REVOKE ALL ON DATABASE "vpn_enterprise" FROM "vpn_app", "vpn_readonly", "vpn_monitor";',
    );
    expect(lines).toContain(
      'GRANT CONNECT ON DATABASE "vpn_enterprise" TO "vpn_app", "vpn_readonly", "vpn_monitor";',
    );
    expect(lines).toContain(
      'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "vpn_app", "vpn_readonly", "vpn_monitor";',
    );
  });

  test("grants it nothing on the schema and takes away what someone else granted", () => {
    const grants = lines.filter((l) => /^(GRANT|ALTER DEFAULT|SELECT format\('GRANT)/.test(l));
    expect(grants.filter((l) => l.includes("vpn_monitor"))).toEqual([
      'GRANT pg_monitor TO "vpn_monitor";',
      'GRANT CONNECT ON DATABASE "vpn_enterprise" TO "vpn_app", "vpn_readonly", "vpn_monitor";',
    ]);
    expect(lines).toContain('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "vpn_monitor";');
    expect(lines).toContain('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "vpn_monitor";');
    // Memberships other than pg_monitor go (pg_read_all_data would read every table).
    expect(sql).toMatch(/format\('REVOKE %I FROM %I'[^\\]*g\.rolname <> 'pg_monitor'/);
    // Everything inside the one transaction.
    expect(sql.indexOf("BEGIN;")).toBeLessThan(sql.indexOf("GRANT pg_monitor"));
    expect(sql.lastIndexOf("REVOKE ALL ON ALL SEQUENCES")).toBeLessThan(sql.indexOf("COMMIT;"));
  });

  test.each<[Partial<InitSqlInput["monitor"]>, string]>([
    [{ user: "Monitor" }, "monitor.user: given"],
    [{ user: "pg_monitor" }, "monitor.user: given"],
    [{ user: 'mon"; DROP' }, "monitor.user: given"],
    [{ user: "" }, "monitor.user: given"],
    [{ passwordFile: "monitor_password" }, "monitor.passwordFile: given"],
    [{ passwordFile: "/run/secrets/x`id`" }, "monitor.passwordFile: given"],
    [{ passwordFile: "/run/../etc/shadow" }, "monitor.passwordFile: given"],
  ])("refuses %j, naming the field", (change, message) => {
    expect(() => renderInitSql({ ...INIT, monitor: { ...MONITOR, ...change } })).toThrow(message);
  });

  test.each(["vpn_admin", "vpn_app", "vpn_readonly"])(
    "refuses a monitoring role named like another role (%s)",
    (user) => {
      expect(() => renderInitSql({ ...INIT, monitor: { ...MONITOR, user } })).toThrow(
        `appUser, readonlyUser, monitor.user: given ["vpn_admin","vpn_app","vpn_readonly","${user}"]; adminUser, appUser, readonlyUser and monitor.user must be four different roles`,
      );
    },
  );

  test("the three-role check stays as it was when there is no monitoring role", () => {
    expect(() => renderInitSql({ ...INIT, appUser: "vpn_readonly" })).toThrow(
      "adminUser, appUser and readonlyUser must be three different roles",
    );
  });
});

describe("renderPgpass", () => {
  const entry = { host: "postgres", port: 5432, database: "*", user: "vpn_admin", password: "pw" };

  test("one line; ':' and '\\' escaped; '*' verbatim", () => {
    expect(renderPgpass(entry)).toBe("postgres:5432:*:vpn_admin:pw\n");
    expect(renderPgpass({ ...entry, password: "a:b\\c" })).toBe(
      "postgres:5432:*:vpn_admin:a\\:b\\\\c\n",
    );
    expect(renderPgpass({ ...entry, database: "vpn_enterprise", user: "u:1" })).toBe(
      "postgres:5432:vpn_enterprise:u\\:1:pw\n",
    );
  });

  test("a host starting with '#' is escaped, or libpq would skip the line as a comment", () => {
    expect(renderPgpass({ ...entry, host: "#h" })).toBe("\\#h:5432:*:vpn_admin:pw\n");
  });

  test.each([
    [{ password: "a\nb" }, "password: a .pgpass field cannot contain a line break"],
    [{ password: "a\rb" }, "password: a .pgpass field cannot contain a line break"],
    [{ user: "u\n" }, "user: a .pgpass field cannot contain a line break"],
    [{ host: "" }, "host: a .pgpass field cannot be empty"],
    [{ password: "" }, "password: a .pgpass field cannot be empty"],
    [{ port: 0 }, "port: given 0"],
  ])("refuses %j", (change, message) => {
    expect(() => renderPgpass({ ...entry, ...change })).toThrow(message);
  });
});
