import * as pulumi from "@pulumi/pulumi";
import { CATALOG, MONITOR_USER } from "../../config/catalog";
import { ServiceConfig } from "../../config/schema";
import { AppService } from "../apps/appService";
import { NGINX_STATUS } from "../edge/site";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { wgetProbe } from "../probe";

export interface ExporterArgs {
  readonly context: ServiceContext;
  readonly config: ServiceConfig;
}

/** nginx-prometheus-exporter: nginx's stub_status as metrics (`nginx_up` is its health). */
export class NginxExporter extends AppService {
  constructor(name: string, args: ExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    const port = CATALOG.nginxExporter.port;
    super(
      "vpn:monitoring:NginxExporter",
      name,
      "nginxExporter",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("nginxExporter", args.config, args.context),
            command: [
              `--nginx.scrape-uri=http://nginx:${NGINX_STATUS.port}${NGINX_STATUS.path}`,
              `--web.listen-address=:${port}`,
            ],
            noHealthcheckReason:
              "the image is FROM scratch (the exporter alone); Prometheus' up and nginx_up say whether it works",
          },
          { parent },
        ),
      opts,
    );
  }
}

export interface MonitorLoginArgs extends ExporterArgs {
  /** The monitoring login's password (a Pulumi secret). */
  readonly password: pulumi.Input<string>;
  /** What makes the login exist (the data tier's ready: the migration job, Redis's ACL load). */
  readonly dependsOn: pulumi.Input<pulumi.Resource[]>;
}

export interface PostgresExporterArgs extends MonitorLoginArgs {
  readonly database: string;
}

const PG_PASSWORD_FILE = "/run/secrets/postgres_monitor_password";

/** postgres-exporter, logged in as the pg_monitor role: statistics, none of the data. */
export class PostgresExporter extends AppService {
  constructor(name: string, args: PostgresExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    const port = CATALOG.postgresExporter.port;
    super(
      "vpn:monitoring:PostgresExporter",
      name,
      "postgresExporter",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("postgresExporter", args.config, args.context),
            env: {
              ...args.config.env,
              DATA_SOURCE_URI: `postgres:${CATALOG.postgres.port}/${args.database}?sslmode=disable`,
              DATA_SOURCE_USER: MONITOR_USER,
              DATA_SOURCE_PASS_FILE: PG_PASSWORD_FILE,
            },
            command: [`--web.listen-address=:${port}`],
            // The landing page: /metrics would query PostgreSQL on every check.
            healthcheck: { test: wgetProbe(port, "/") },
            secretFiles: [{ path: PG_PASSWORD_FILE, content: args.password }],
            dependsOn: args.dependsOn,
          },
          { parent },
        ),
      opts,
    );
  }
}

const REDIS_PASSWORD_FILE = "/run/secrets/redis_monitor_passwords.json";

/** redis_exporter as the ACL user that may run INFO and friends only (no CONFIG, no keys). */
export class RedisExporter extends AppService {
  constructor(name: string, args: MonitorLoginArgs, opts?: pulumi.ComponentResourceOptions) {
    const port = CATALOG.redisExporter.port;
    const address = `redis://redis:${CATALOG.redis.port}`;
    // redis_exporter's password file maps a Redis URI to its password; with a user it looks the
    // URI up with the user in it, so both spellings are given.
    const passwords = pulumi.output(args.password).apply((p) =>
      JSON.stringify({
        [address]: p,
        [`redis://${MONITOR_USER}@redis:${CATALOG.redis.port}`]: p,
      }),
    );
    super(
      "vpn:monitoring:RedisExporter",
      name,
      "redisExporter",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("redisExporter", args.config, args.context),
            env: {
              ...args.config.env,
              REDIS_ADDR: address,
              REDIS_USER: MONITOR_USER,
              REDIS_PASSWORD_FILE: REDIS_PASSWORD_FILE,
              // The ACL gives it no CONFIG GET (that would show the password): skip those metrics.
              REDIS_EXPORTER_CONFIG_COMMAND: "-",
              REDIS_EXPORTER_WEB_LISTEN_ADDRESS: `0.0.0.0:${port}`,
            },
            healthcheck: { test: wgetProbe(port, "/health") },
            secretFiles: [{ path: REDIS_PASSWORD_FILE, content: passwords }],
            dependsOn: args.dependsOn,
          },
          { parent },
        ),
      opts,
    );
  }
}
