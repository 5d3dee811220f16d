import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { Migration } from "../../config/migrations";
import { PostgresConfig } from "../../config/schema";
import { renderPostgresConf } from "../../render/postgres";
import { JobError, jobGate, serviceJob } from "../job";
import { ResolvedImage } from "../image";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import {
  PG_PATHS,
  PostgresPasswords,
  clientEnv,
  clientSecretFiles,
  initSql,
  rolePasswordFiles,
  toolFiles,
} from "./postgresFiles";

export interface PostgresArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.postgres` from the stack config. */
  readonly config: PostgresConfig;
  /** The named volume for PGDATA; it outlives this component. */
  readonly volume: docker.Volume;
  /** Passwords of the admin, app and read-only roles (Pulumi secrets), handed over as files. */
  readonly passwords: PostgresPasswords;
  /** The SQL migrations, in the order they apply. */
  readonly migrations: readonly Migration[];
}

/**
 * PostgreSQL on the data network, its data on a named volume, its passwords in files, its settings
 * in a rendered postgresql.conf; then a one-shot job that applies init.sql and the migrations.
 */
export class Postgres extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly database: pulumi.Output<string>;
  public readonly adminUser: pulumi.Output<string>;
  public readonly appUser: pulumi.Output<string>;
  public readonly readonlyUser: pulumi.Output<string>;
  public readonly containerNames: pulumi.Output<string[]>;
  /** The server's containers: what a client that needs the server up depends on. */
  public readonly containers: readonly docker.Container[];
  /** The image the server runs; the jobs that talk to it use the same one. */
  public readonly image: ResolvedImage;
  /**
   * Resolves once the server is healthy and every migration is applied; a dependency for whatever
   * uses the database. Fails the deploy, with the job's output, when the migrations failed.
   */
  public readonly ready: pulumi.Output<pulumi.Resource[]>;
  /** The last migration applied (its file name), or null without migrations; known after `ready`. */
  public readonly schemaVersion: pulumi.Output<string | null>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:data:Postgres", name, {}, opts);
    const pg = args.config;
    const entry = CATALOG.postgres;
    const s = pg.settings;
    const conf = renderPostgresConf({
      port: entry.port,
      maxConnections: s.maxConnections,
      sharedBuffersMb: s.sharedBuffersMb,
      workMemMb: s.workMemMb,
      effectiveCacheSizeMb: s.effectiveCacheSizeMb ?? Math.floor((pg.resources.memoryMb * 3) / 4),
      statementTimeoutMs: s.statementTimeoutMs,
      idleInTransactionTimeoutMs: s.idleInTransactionTimeoutMs,
      logMinDurationStatementMs: s.logMinDurationStatementMs,
      sharedPreloadLibraries: pg.extensions.includes("pg_stat_statements")
        ? ["pg_stat_statements"]
        : [],
    });
    const init = initSql(pg, args.passwords);
    // The server's own copy of init.sql (run on its first start only) leaves the monitoring role
    // out: the migration job, which runs init.sql on every change, makes it. So turning the
    // exporter on changes the job, and leaves the running server alone.
    const serverPasswords = { ...args.passwords, monitor: undefined };
    const server = new Workload(
      `${name}-server`,
      {
        ...workloadFromConfig("postgres", pg, args.context),
        env: {
          ...pg.env,
          POSTGRES_USER: pg.adminUser,
          POSTGRES_DB: pg.database,
          POSTGRES_PASSWORD_FILE: PG_PATHS.adminPassword,
          PGDATA: entry.dataPath,
        },
        command: ["postgres", "-c", `config_file=${PG_PATHS.conf}`],
        // Over TCP: the entrypoint's first-start server listens on the socket only, so a socket
        // check would report ready before the real server is up.
        healthcheck: {
          test: [
            "CMD",
            "pg_isready",
            "-h",
            "127.0.0.1",
            "-p",
            String(entry.port),
            "-U",
            pg.adminUser,
            "-d",
            pg.database,
          ],
          startPeriodSeconds: 30,
        },
        tmpfs: ["/tmp", "/var/run/postgresql"],
        shmSizeMb: pg.shmSizeMb,
        volumes: [{ volume: args.volume, path: entry.dataPath }],
        files: [
          { path: PG_PATHS.conf, content: conf },
          { path: PG_PATHS.firstStartInit, content: initSql(pg, serverPasswords) },
        ],
        secretFiles: [
          { path: PG_PATHS.adminPassword, content: args.passwords.admin },
          ...rolePasswordFiles(serverPasswords),
        ],
        // A fast shutdown can take a while under load; a kill would mean crash recovery.
        stopGraceSeconds: 60,
      },
      { parent: this },
    );

    // Re-runs whenever a migration, init.sql or a role password changes: each is an upload, and
    // a changed upload replaces the job. A re-run of the same files applies nothing.
    const migrate = new Workload(
      `${name}-migrate`,
      {
        ...serviceJob(args.context, {
          service: "postgres-migrate",
          tier: entry.tier,
          image: server.image,
          user: pg.user,
          networks: [args.context.networks.data],
          resources: { cpus: 0.25, memoryMb: 128, pidsLimit: 32 },
        }),
        command: ["sh", `${PG_PATHS.tools}/migrate.sh`],
        env: { ...clientEnv(pg, "postgres", entry.port), MIGRATIONS_DIR: PG_PATHS.migrations },
        files: [
          ...toolFiles(["migrate.sh"]),
          { path: PG_PATHS.initSql, content: init },
          ...args.migrations.map((m) => ({
            path: `${PG_PATHS.migrations}/${m.name}`,
            content: m.sql,
          })),
        ],
        secretFiles: clientSecretFiles(pg, "postgres", entry.port, args.passwords),
        dependsOn: [...server.containers],
      },
      { parent: this },
    );
    this.ready = jobGate(
      migrate,
      server.containers,
      (container, exitCode, output) => new MigrationError(container, exitCode, output),
    );

    const last = args.migrations.at(-1)?.name ?? null;
    this.schemaVersion = this.ready.apply(() => last);
    this.host = server.host;
    this.port = pulumi.output(entry.port);
    this.database = pulumi.output(pg.database);
    this.adminUser = pulumi.output(pg.adminUser);
    this.appUser = pulumi.output(pg.appUser);
    this.readonlyUser = pulumi.output(pg.readonlyUser);
    this.containerNames = server.containerNames;
    this.containers = server.containers;
    this.image = server.image;
    this.registerOutputs({
      host: this.host,
      port: this.port,
      database: this.database,
      adminUser: this.adminUser,
      appUser: this.appUser,
      readonlyUser: this.readonlyUser,
      containerNames: this.containerNames,
      imageId: this.image.id,
      schemaVersion: this.schemaVersion,
    });
  }
}

/** The deploy error of a failed migration run: the runner's last lines name the file and error. */
export class MigrationError extends JobError {
  constructor(container: string, exitCode: number | undefined, output: string | undefined) {
    super(
      "PostgreSQL migrations",
      "Fix the file (or add a new one) and run up again.",
      container,
      exitCode,
      output,
    );
    this.name = "MigrationError";
  }
}
