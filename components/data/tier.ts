import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, StatefulServiceName } from "../../config/catalog";
import { StackConfig } from "../../config/load";
import { SecretName } from "../../config/schema";
import { volumeOf } from "../volume";
import { ServiceContext } from "../workload";
import { Backup, BackupInfo } from "./backup";
import { Postgres } from "./postgres";
import { Redis } from "./redis";

/** What other services and teams need to reach the data services (no secrets). */
export interface DataEndpoints {
  readonly postgres?: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly adminUser: string;
    readonly appUser: string;
    readonly readonlyUser: string;
    /** File name of the last migration applied, or null when there are none. */
    readonly schemaVersion: string | null;
  };
  readonly redis?: { readonly host: string; readonly port: number };
}

/** Connection strings for the in-network host names (a Pulumi secret as a whole). */
export interface ConnectionStrings {
  readonly postgresApp?: string;
  readonly postgresReadonly?: string;
  readonly redis?: string;
}

export interface DataTier {
  readonly postgres?: Postgres;
  readonly redis?: Redis;
  readonly backup?: Backup;
  readonly endpoints: pulumi.Output<DataEndpoints>;
  readonly connectionStrings: pulumi.Output<ConnectionStrings>;
  readonly backups: pulumi.Output<BackupInfo | null>;
  /**
   * Everything a consumer of the data tier must wait for: PostgreSQL healthy and migrated (its
   * roles, the monitoring one included, made by init.sql in the same job), Redis healthy with its
   * users loaded. Use it as `dependsOn`; it fails the deploy when either job failed.
   */
  readonly ready: pulumi.Output<pulumi.Resource[]>;
}

/**
 * Creates the enabled data services as children of `parent` (the Platform): their URNs stay the
 * ones they had before this wiring moved out of platform.ts.
 */
export function createDataTier(
  name: string,
  parent: pulumi.Resource,
  cfg: StackConfig,
  context: ServiceContext,
  volumes: Readonly<Partial<Record<StatefulServiceName, docker.Volume>>>,
  secrets: Readonly<Record<SecretName, pulumi.Output<string>>>,
): DataTier {
  const services = cfg.services;
  const passwords = {
    admin: secrets.postgresPassword,
    app: secrets.postgresAppPassword,
    readonly: secrets.postgresReadonlyPassword,
    // The exporter's role exists only while the exporter does.
    monitor: services.postgresExporter.enabled ? secrets.postgresMonitorPassword : undefined,
  };
  const postgres = services.postgres.enabled
    ? new Postgres(
        `${name}-postgres`,
        {
          context,
          config: services.postgres,
          volume: volumeOf(volumes, "postgres"),
          passwords,
          migrations: cfg.migrations,
        },
        { parent },
      )
    : undefined;
  const redis = services.redis.enabled
    ? new Redis(
        `${name}-redis`,
        {
          context,
          config: services.redis,
          volume: volumeOf(volumes, "redis"),
          password: secrets.redisPassword,
          monitorPassword: services.redisExporter.enabled
            ? secrets.redisMonitorPassword
            : undefined,
        },
        { parent },
      )
    : undefined;
  // The schema refuses an enabled backup without PostgreSQL.
  const backup =
    postgres && services.backup.enabled
      ? new Backup(
          `${name}-backup`,
          {
            context,
            config: services.backup,
            postgres: services.postgres,
            volume: volumeOf(volumes, "backup"),
            passwords,
            dependsOn: [...postgres.containers],
          },
          { parent },
        )
      : undefined;

  const pg = services.postgres;
  const pgEndpoint = {
    host: "postgres",
    port: CATALOG.postgres.port,
    database: pg.database,
    adminUser: pg.adminUser,
    appUser: pg.appUser,
    readonlyUser: pg.readonlyUser,
  };
  const redisEndpoint = { host: "redis", port: CATALOG.redis.port };
  // Waits for the migrations, so a failed run fails the deploy even before any app depends on it.
  const endpoints: pulumi.Output<DataEndpoints> = pulumi
    .output(postgres?.schemaVersion ?? null)
    .apply((schemaVersion) => ({
      ...(postgres && { postgres: { ...pgEndpoint, schemaVersion } }),
      ...(redis && { redis: redisEndpoint }),
    }));
  const connectionStrings = pulumi.secret(
    pulumi
      .all([secrets.postgresAppPassword, secrets.postgresReadonlyPassword, secrets.redisPassword])
      .apply(([app, ro, redisPassword]): ConnectionStrings => {
        const p = pgEndpoint;
        const url = (user: string, password: string) =>
          `postgresql://${user}:${encodeURIComponent(password)}@${p.host}:${p.port}/${p.database}`;
        const r = redisEndpoint;
        return {
          ...(postgres && {
            postgresApp: url(p.appUser, app),
            postgresReadonly: url(p.readonlyUser, ro),
          }),
          ...(redis && {
            redis: `redis://:${encodeURIComponent(redisPassword)}@${r.host}:${r.port}/0`,
          }),
        };
      }),
  );
  const ready = pulumi
    .all([postgres?.ready ?? [], redis?.ready ?? []])
    .apply(([p, r]) => [...p, ...r]);
  return {
    postgres,
    redis,
    backup,
    endpoints,
    connectionStrings,
    backups: backup ? backup.info : pulumi.output(null),
    ready,
  };
}
