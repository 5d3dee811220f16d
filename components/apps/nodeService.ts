import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
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
abstract class InternalService extends AppService {
  protected constructor(
    type: string,
    service: "dbManager" | "provisioner",
    name: string,
    args: InternalServiceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const entry = CATALOG[service];
    const cfg = args.config;
    const secrets = secretFiles({
      DATABASE_PASSWORD: args.database.password,
      ...(args.api && { SERVICE_KEY: args.api.serviceKey }),
    });
    const server = (parent: pulumi.Resource) =>
      new Workload(
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
        { parent },
      );
    super(type, name, service, server, opts);
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
