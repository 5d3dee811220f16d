import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, MONITOR_USER } from "../../config/catalog";
import { RedisConfig } from "../../config/schema";
import {
  redisAclLoadCommand,
  redisHealthcheckCommand,
  renderRedisAcl,
  renderRedisConf,
} from "../../render/redis";
import { ResolvedImage } from "../image";
import { JobError, jobGate, serviceJob } from "../job";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";

const CONF_FILE = "/run/secrets/redis.conf";
const PASSWORD_FILE = "/run/secrets/redis_password";
/** Live (WorkloadArgs.liveSecretFiles): its own directory, rewritten under the running server. */
const ACL_FILE = "/run/redis-users/users.acl";

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
 * Redis with a rendered redis.conf and its users in an ACL file. The guide's
 * `--requirepass $(cat ...)` cannot work: nothing expands `$(...)` in an exec-form command, so the
 * password goes into the (secret) ACL file. That file is live: a change (the monitoring user coming
 * or going, say) is written under the running server and applied by a job's `ACL LOAD`, without a
 * restart.
 */
export class Redis extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly containerNames: pulumi.Output<string[]>;
  /** The server's containers: what a client that needs the server up depends on. */
  public readonly containers: readonly docker.Container[];
  /** The image the server runs. */
  public readonly image: ResolvedImage;
  /**
   * Resolves once the server is healthy with the users of its ACL file loaded; fails the deploy,
   * with the job's output, when the server refused the file.
   */
  public readonly ready: pulumi.Output<pulumi.Resource[]>;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:data:Redis", name, {}, opts);
    const entry = CATALOG.redis;
    const cfg = args.config;
    const conf = renderRedisConf({
      port: entry.port,
      aclFile: ACL_FILE,
      dataDir: entry.dataPath,
      maxmemoryMb: cfg.maxmemoryMb ?? Math.floor((cfg.resources.memoryMb * 3) / 4),
      maxmemoryPolicy: cfg.maxmemoryPolicy,
      commands: cfg.commands,
    });
    const users = pulumi.all([args.password, args.monitorPassword]).apply(([password, monitor]) =>
      renderRedisAcl({
        password,
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
        // Secret: renamed commands are only as good as their new names are unknown.
        secretFiles: [
          { path: CONF_FILE, content: conf },
          { path: PASSWORD_FILE, content: args.password },
        ],
        liveSecretFiles: [{ path: ACL_FILE, content: users }],
      },
      { parent: this },
    );
    const live = workload.liveFiles;
    if (!live) throw new Error("redis: the ACL file is not live");
    // Runs on the first deploy (a no-op then) and again whenever the ACL file changes: its own file
    // is the ACL file's hash.
    const load = new Workload(
      `${name}-acl`,
      {
        ...serviceJob(args.context, {
          service: "redis-acl",
          tier: entry.tier,
          image: workload.image,
          user: cfg.user,
          networks: [args.context.networks.data],
          resources: { cpus: 0.25, memoryMb: 64, pidsLimit: 32 },
        }),
        entrypoint: ["sh", "-c", redisAclLoadCommand(PASSWORD_FILE, "redis", entry.port)],
        files: [{ path: "/run/redis-acl-job/users.acl.sha256", content: live.hash }],
        secretFiles: [{ path: PASSWORD_FILE, content: args.password }],
        dependsOn: live.ready.apply((r) => [...r, ...workload.containers]),
      },
      { parent: this },
    );
    this.ready = jobGate(
      load,
      workload.containers,
      (container, exitCode, output) =>
        new JobError(
          "Loading Redis's users (ACL LOAD)",
          "The server keeps the users it had; fix the ACL file's input and run up again.",
          container,
          exitCode,
          output,
        ),
    );
    this.host = workload.host;
    this.port = pulumi.output(entry.port);
    this.containerNames = workload.containerNames;
    this.containers = workload.containers;
    this.image = workload.image;
    // Not `ready`: a refused ACL file must fail the deploy once, through what waits for it.
    this.registerOutputs({
      host: this.host,
      port: this.port,
      containerNames: this.containerNames,
    });
  }
}
