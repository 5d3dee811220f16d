import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { ServiceConfig } from "../../config/schema";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";

/** Superuser and database the server is initialised with. */
export const POSTGRES_USER = "vpn_admin";
export const POSTGRES_DB = "vpn_enterprise";
const PASSWORD_FILE = "/run/secrets/postgres_password";

export interface PostgresArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.postgres` from the stack config. */
  readonly config: ServiceConfig;
  /** The named volume for PGDATA; it outlives this component. */
  readonly volume: docker.Volume;
  /** Superuser password (a Pulumi secret), handed over as a file. */
  readonly password: pulumi.Input<string>;
}

/** PostgreSQL on the data network, its data on a named volume, its password in a file. */
export class Postgres extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly user: pulumi.Output<string>;
  public readonly database: pulumi.Output<string>;
  public readonly containerNames: pulumi.Output<string[]>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:data:Postgres", name, {}, opts);
    const entry = CATALOG.postgres;
    const workload = new Workload(
      `${name}-server`,
      {
        ...workloadFromConfig("postgres", args.config, args.context),
        env: {
          ...args.config.env,
          POSTGRES_USER,
          POSTGRES_DB,
          POSTGRES_PASSWORD_FILE: PASSWORD_FILE,
          PGDATA: entry.dataPath,
        },
        // Over TCP: the entrypoint's first-start server listens on the socket only, so a socket
        // check would report ready before the real server is up.
        healthcheck: {
          test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", POSTGRES_USER, "-d", POSTGRES_DB],
          startPeriodSeconds: 30,
        },
        tmpfs: ["/tmp", "/var/run/postgresql"],
        volumes: [{ volume: args.volume, path: entry.dataPath }],
        secretFiles: [{ path: PASSWORD_FILE, content: args.password }],
        // A fast shutdown can take a while under load; a kill would mean crash recovery.
        stopGraceSeconds: 60,
      },
      { parent: this },
    );
    this.host = workload.host;
    this.port = workload.port;
    this.user = pulumi.output(POSTGRES_USER);
    this.database = pulumi.output(POSTGRES_DB);
    this.containerNames = workload.containerNames;
    this.registerOutputs({
      host: this.host,
      port: this.port,
      user: this.user,
      database: this.database,
      containerNames: this.containerNames,
    });
  }
}
