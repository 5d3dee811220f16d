import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, MONITOR_USER } from "../../config/catalog";
import { RedisConfig } from "../../config/schema";
import { redisHealthcheckCommand, renderRedisConf } from "../../render/redis";
import { ResolvedImage } from "../image";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";

const CONF_FILE = "/run/secrets/redis.conf";
const PASSWORD_FILE = "/run/secrets/redis_password";

export interface RedisArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.redis` from the stack config. */
  readonly config: RedisConfig;
  /** The named volume for `/data` (append-only file); it outlives this component. */
  readonly volume: docker.Volume;
  /** The password clients must give (a Pulumi secret). */
  readonly password: pulumi.Input<string>;
  /** The monitoring ACL user's password; none: no such user, as without redis_exporter. */
  readonly monitorPassword?: pulumi.Input<string>;
}

/**
 * Redis with a rendered redis.conf. The guide's `--requirepass $(cat ...)` cannot work: nothing
 * expands `$(...)` in an exec-form command, so the password goes into the (secret) config file.
 */
export class Redis extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly containerNames: pulumi.Output<string[]>;
  /** The server's containers: what a client that needs the server up depends on. */
  public readonly containers: readonly docker.Container[];
  /** The image the server runs. */
  public readonly image: ResolvedImage;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:data:Redis", name, {}, opts);
    const entry = CATALOG.redis;
    const cfg = args.config;
    const conf = pulumi.all([args.password, args.monitorPassword]).apply(([password, monitor]) =>
      renderRedisConf({
        port: entry.port,
        password,
        dataDir: entry.dataPath,
        maxmemoryMb: cfg.maxmemoryMb ?? Math.floor((cfg.resources.memoryMb * 3) / 4),
        maxmemoryPolicy: cfg.maxmemoryPolicy,
        commands: cfg.commands,
        monitor: monitor === undefined ? undefined : { user: MONITOR_USER, password: monitor },
      }),
    );
    const workload = new Workload(
      `${name}-server`,
      {
        ...workloadFromConfig("redis", cfg, args.context),
        command: ["redis-server", CONF_FILE],
        // Authenticated: an unauthenticated PING only answers NOAUTH.
        healthcheck: {
          test: ["CMD-SHELL", redisHealthcheckCommand(PASSWORD_FILE, entry.port)],
        },
        volumes: [{ volume: args.volume, path: entry.dataPath }],
        secretFiles: [
          { path: CONF_FILE, content: conf },
          { path: PASSWORD_FILE, content: args.password },
        ],
      },
      { parent: this },
    );
    this.host = workload.host;
    this.port = pulumi.output(entry.port);
    this.containerNames = workload.containerNames;
    this.containers = workload.containers;
    this.image = workload.image;
    this.registerOutputs({
      host: this.host,
      port: this.port,
      containerNames: this.containerNames,
    });
  }
}
