import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { DbManagerConfig, ProvisionerConfig } from "../../config/schema";
import { ServiceContext, Workload, hostName, workloadFromConfig } from "../workload";
import { DatabaseAccess } from "./api";
import { httpHealthcheck, secretFiles } from "./common";

export interface InternalServiceArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.dbManager` or `services.provisioner` from the stack config. */
  readonly config: DbManagerConfig | ProvisionerConfig;
  /** PostgreSQL as the role this service needs. */
  readonly database: DatabaseAccess;
  /** The API's in-platform URL and the key to call it with (the provisioner). */
  readonly api?: { readonly url: string; readonly serviceKey: pulumi.Input<string> };
  /** What must be ready first (the data tier, the API). */
  readonly dependsOn: pulumi.Input<pulumi.Resource[]>;
}

/**
 * An internal Node service of the platform (the database manager, the tenant provisioner): no
 * public route, wired to the data network, built from the same Dockerfile as the API.
 */
abstract class InternalService extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly containerNames: pulumi.Output<string[]>;
  public readonly containers: readonly docker.Container[];

  protected constructor(
    type: string,
    service: "dbManager" | "provisioner",
    name: string,
    args: InternalServiceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    const entry = CATALOG[service];
    const cfg = args.config;
    const secrets = secretFiles({
      DATABASE_PASSWORD: args.database.password,
      ...(args.api && { SERVICE_KEY: args.api.serviceKey }),
    });
    const workload = new Workload(
      `${name}-server`,
      {
        ...workloadFromConfig(service, cfg, args.context),
        env: {
          ...cfg.env,
          NODE_ENV: "production",
          PORT: String(entry.port),
          SERVICE_NAME: hostName(service),
          LOG_LEVEL: cfg.logLevel,
          DATABASE_HOST: args.database.host,
          DATABASE_PORT: String(args.database.port),
          DATABASE_NAME: args.database.database,
          DATABASE_USER: args.database.user,
          ...(args.api && { API_URL: args.api.url }),
          ...secrets.env,
        },
        healthcheck: httpHealthcheck("node", entry.port, entry.health),
        secretFiles: secrets.files,
        dependsOn: args.dependsOn,
      },
      { parent: this },
    );
    this.host = workload.host;
    this.port = pulumi.output(entry.port);
    this.containerNames = workload.containerNames;
    this.containers = workload.containers;
    this.registerOutputs({
      host: this.host,
      port: this.port,
      containerNames: this.containerNames,
    });
  }
}

/** Creates and drops tenant databases: it connects as the admin role (it needs CREATEDB). */
export class DbManager extends InternalService {
  constructor(name: string, args: InternalServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:app:DbManager", "dbManager", name, args, opts);
  }
}

/** Provisions tenants through the API and the app role. */
export class Provisioner extends InternalService {
  constructor(name: string, args: InternalServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:app:Provisioner", "provisioner", name, args, opts);
  }
}
