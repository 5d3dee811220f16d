import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { BackupConfig, PostgresConfig } from "../../config/schema";
import { ResolvedImage } from "../image";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import {
  PG_PATHS,
  PostgresPasswords,
  clientEnv,
  clientSecretFiles,
  initSql,
  toolFiles,
} from "./postgresFiles";

export interface BackupArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.backup` from the stack config. */
  readonly config: BackupConfig;
  /** `services.postgres`: the database, roles and init.sql a restore re-applies. */
  readonly postgres: PostgresConfig;
  /** The named volume the dumps go to; it outlives this component. */
  readonly volume: docker.Volume;
  /** Role passwords (Pulumi secrets): the admin's for pg_dump, all three for a restore. */
  readonly passwords: PostgresPasswords;
  /** What must be up first (the PostgreSQL server). */
  readonly dependsOn: pulumi.Input<pulumi.Resource[]>;
}

/** How a user restores, lists and checks backups; what the stack outputs publish. */
export interface BackupInfo {
  readonly volume: string;
  readonly directory: string;
  readonly schedule: { readonly startUtc: string; readonly everyHours: number };
  readonly retentionDays: number;
  /** Prometheus text file with vpn_backup_last_success_timestamp_seconds and friends. */
  readonly metricsFile: string;
  readonly listCommand: string;
  readonly restoreCommand: string;
}

/**
 * Scheduled pg_dump of the platform database into the backups volume, with retention, a last-good
 * timestamp for monitoring, and the restore script beside it. One container: a loop that sleeps
 * until the next UTC slot, so a missed slot (host down) is caught up on start.
 */
export class Backup extends pulumi.ComponentResource {
  public readonly containerNames: pulumi.Output<string[]>;
  public readonly info: pulumi.Output<BackupInfo>;
  /** The image the schedule runs (pg_dump's). */
  public readonly image: ResolvedImage;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:data:Backup", name, {}, opts);
    const cfg = args.config;
    const entry = CATALOG.backup;
    const pgPort = CATALOG.postgres.port;
    const interval = cfg.schedule.everyHours;
    const workload = new Workload(
      `${name}-job`,
      {
        ...workloadFromConfig("backup", cfg, args.context),
        command: ["sh", `${PG_PATHS.tools}/schedule.sh`],
        env: {
          ...cfg.env,
          ...clientEnv(args.postgres, "postgres", pgPort),
          BACKUP_DIR: entry.dataPath,
          BACKUP_RETENTION_DAYS: String(cfg.retentionDays),
          BACKUP_INTERVAL_HOURS: String(interval),
          BACKUP_START_UTC: cfg.schedule.startUtc,
          BACKUP_SCRIPT: `${PG_PATHS.tools}/backup.sh`,
        },
        // Healthy while the last good backup is younger than one interval (plus an hour), so a
        // failing schedule shows as an unhealthy container as well as in the metrics file. The
        // check reads one file: every 10 s costs nothing, and `up`, which waits for the first
        // healthy check (engines before API 1.44 have no faster start interval), waits 10 s
        // rather than a minute.
        healthcheck: {
          test: ["CMD", "sh", `${PG_PATHS.tools}/schedule.sh`, "--check"],
          intervalSeconds: 10,
          timeoutSeconds: 10,
          startPeriodSeconds: 120,
          retries: 3,
        },
        volumes: [{ volume: args.volume, path: entry.dataPath }],
        files: [
          ...toolFiles(["schedule.sh", "backup.sh", "restore.sh"]),
          { path: PG_PATHS.initSql, content: initSql(args.postgres, args.passwords) },
        ],
        secretFiles: clientSecretFiles(args.postgres, "postgres", pgPort, args.passwords),
        // A dump in progress when the container stops is left as a .partial file and removed by
        // the next run; a little grace lets a short one finish.
        stopGraceSeconds: 30,
        dependsOn: args.dependsOn,
      },
      { parent: this },
    );
    this.containerNames = workload.containerNames;
    this.image = workload.image;
    const restore = `sh ${PG_PATHS.tools}/restore.sh`;
    this.info = pulumi
      .all([args.volume.name, workload.containerNames])
      .apply(([volume, [container]]) => ({
        volume,
        directory: entry.dataPath,
        schedule: { startUtc: cfg.schedule.startUtc, everyHours: interval },
        retentionDays: cfg.retentionDays,
        metricsFile: `${entry.dataPath}/vpn_backup.prom`,
        listCommand: `docker exec ${container} ${restore}`,
        restoreCommand: `docker exec ${container} ${restore} <file name, or latest>`,
      }));
    this.registerOutputs({ containerNames: this.containerNames, info: this.info });
  }
}
