import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MONITOR_USER } from "../../config/catalog";
import { PostgresConfig } from "../../config/schema";
import { renderInitSql } from "../../render/initSql";
import { renderPgpass } from "../../render/postgres";
import { WorkloadFile } from "../workload";

/** Where the server, the migration job and the backup job find their files. */
export const PG_PATHS = {
  conf: "/etc/postgresql/postgresql.conf",
  /** Run by the image's entrypoint on first start (empty data directory) only. */
  firstStartInit: "/docker-entrypoint-initdb.d/10-init.sql",
  tools: "/opt/vpn-postgres",
  initSql: "/opt/vpn-postgres/init.sql",
  migrations: "/opt/vpn-postgres/migrations",
  adminPassword: "/run/secrets/postgres_password",
  appPassword: "/run/secrets/postgres_app_password",
  readonlyPassword: "/run/secrets/postgres_readonly_password",
  monitorPassword: "/run/secrets/postgres_monitor_password",
  pgpass: "/run/secrets/pgpass",
} as const;

/** The passwords of the roles, each a Pulumi secret. */
export interface PostgresPasswords {
  readonly admin: pulumi.Input<string>;
  readonly app: pulumi.Input<string>;
  readonly readonly: pulumi.Input<string>;
  /** The monitoring role's (pg_monitor); none: no such role, as without postgres-exporter. */
  readonly monitor?: pulumi.Input<string>;
}

const ASSETS = path.join(__dirname, "..", "..", "assets", "postgres");

/** Scripts from assets/postgres, uploaded next to each other under PG_PATHS.tools. */
export function toolFiles(names: readonly string[]): WorkloadFile[] {
  return names.map((name) => ({
    path: `${PG_PATHS.tools}/${name}`,
    content: fs.readFileSync(path.join(ASSETS, name), "utf8"),
  }));
}

export function initSql(pg: PostgresConfig, passwords: PostgresPasswords): string {
  return renderInitSql({
    database: pg.database,
    adminUser: pg.adminUser,
    appUser: pg.appUser,
    readonlyUser: pg.readonlyUser,
    extensions: pg.extensions,
    appPasswordFile: PG_PATHS.appPassword,
    readonlyPasswordFile: PG_PATHS.readonlyPassword,
    monitor:
      passwords.monitor === undefined
        ? undefined
        : { user: MONITOR_USER, passwordFile: PG_PATHS.monitorPassword },
  });
}

/** The role password files init.sql reads. */
export function rolePasswordFiles(passwords: PostgresPasswords): WorkloadFile[] {
  return [
    { path: PG_PATHS.appPassword, content: passwords.app },
    { path: PG_PATHS.readonlyPassword, content: passwords.readonly },
    ...(passwords.monitor === undefined
      ? []
      : [{ path: PG_PATHS.monitorPassword, content: passwords.monitor }]),
  ];
}

/** libpq's own variables: a job connects as the admin role, its password in a .pgpass file. */
export function clientEnv(pg: PostgresConfig, host: string, port: number): Record<string, string> {
  return {
    PGHOST: host,
    PGPORT: String(port),
    PGUSER: pg.adminUser,
    PGDATABASE: pg.database,
    PGPASSFILE: PG_PATHS.pgpass,
    PGAPPNAME: "vpn-enterprise-jobs",
    INIT_SQL: PG_PATHS.initSql,
  };
}

/**
 * The secret files a job needs: its .pgpass, and the two role passwords init.sql reads when it
 * (re)sets them.
 */
export function clientSecretFiles(
  pg: PostgresConfig,
  host: string,
  port: number,
  passwords: PostgresPasswords,
): WorkloadFile[] {
  return [
    {
      path: PG_PATHS.pgpass,
      content: pulumi
        .output(passwords.admin)
        .apply((password) =>
          renderPgpass({ host, port, database: "*", user: pg.adminUser, password }),
        ),
    },
    ...rolePasswordFiles(passwords),
  ];
}
