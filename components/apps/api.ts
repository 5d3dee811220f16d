import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
import { CATALOG } from "../../config/catalog";
import { ApiConfig } from "../../config/schema";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { APP_DIR, httpHealthcheck, nodeDevMode, secretFiles } from "./common";

/** Where the API writes its log files when the logs volume is on (the guide's api-logs). */
export const API_LOG_DIR = `${APP_DIR}/logs`;

/** How an app reaches PostgreSQL: its own role, the password as a file. */
export interface DatabaseAccess {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: pulumi.Input<string>;
}

/** How an app reaches Redis. */
export interface RedisAccess {
  readonly host: string;
  readonly port: number;
  readonly password: pulumi.Input<string>;
}

export interface ApiArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.api` from the stack config. */
  readonly config: ApiConfig;
  /** The platform's public base URL (`https://<domain>`, or http with TLS off). */
  readonly publicUrl: string;
  /** The project directory (devMode's source is relative to it). */
  readonly projectDir: string;
  /** PostgreSQL as the app role. */
  readonly database: DatabaseAccess;
  readonly redis: RedisAccess;
  /** Signs the API's tokens (a Pulumi secret). */
  readonly jwtSecret: pulumi.Input<string>;
  /** What internal callers present to the API (a Pulumi secret). */
  readonly serviceKey: pulumi.Input<string>;
  /** The shared logs volume at /app/logs; none when logs go to stdout only. */
  readonly logsVolume?: docker.Volume;
  /** What must be ready first: the data tier healthy and migrated (Platform.dataReady). */
  readonly dependsOn: pulumi.Input<pulumi.Resource[]>;
}

/**
 * The Node API: `replicas` containers behind the alias `api`, on the app and data networks.
 * Rollout: each replica is created (or replaced) only once the one before it is healthy, so a new
 * image or config never takes all replicas down at once (see the README, "Rollouts").
 */
export class Api extends AppService {
  constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.api;
    const cfg = args.config;
    const dev = nodeDevMode(cfg.image, cfg.devMode, args.projectDir, ["--watch", "."]);
    const secrets = secretFiles({
      DATABASE_PASSWORD: args.database.password,
      REDIS_PASSWORD: args.redis.password,
      JWT_SECRET: args.jwtSecret,
      SERVICE_KEY: args.serviceKey,
    });
    const env: Record<string, string> = {
      ...cfg.env,
      NODE_ENV: dev.nodeEnv,
      PORT: String(entry.port),
      SERVICE_NAME: "api",
      LOG_LEVEL: cfg.logLevel,
      PUBLIC_URL: args.publicUrl,
      ...(cfg.supabaseUrl !== undefined && { SUPABASE_URL: cfg.supabaseUrl }),
      DATABASE_HOST: args.database.host,
      DATABASE_PORT: String(args.database.port),
      DATABASE_NAME: args.database.database,
      DATABASE_USER: args.database.user,
      REDIS_HOST: args.redis.host,
      REDIS_PORT: String(args.redis.port),
      ...(args.logsVolume && { LOG_DIR: API_LOG_DIR }),
      ...secrets.env,
    };
    const server = (parent: pulumi.Resource) =>
      new Workload(
        `${name}-server`,
        {
          ...workloadFromConfig("api", cfg, args.context),
          image: dev.image,
          env,
          command: dev.command,
          ports: [...cfg.ports, ...dev.debugPorts],
          healthcheck: httpHealthcheck("node", entry.port, entry.health),
          secretFiles: secrets.files,
          // The image makes /app/logs its user's, and a new volume there copies that; in dev mode
          // /app is the bind-mounted source, and the volume starts empty and root's (the API
          // failed with EACCES on its log file): handed over either way.
          volumes: args.logsVolume
            ? [{ volume: args.logsVolume, path: API_LOG_DIR, shared: true, handOver: true }]
            : undefined,
          binds: dev.binds,
          anonymousVolumes: dev.anonymousVolumes,
          dependsOn: args.dependsOn,
        },
        { parent },
      );
    super("vpn:app:Api", name, "api", server, opts);
  }
}
