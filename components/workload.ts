import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { CATALOG, CatalogEntry, ServiceName, Tier } from "../config/catalog";
import { dockerCpus, goDuration } from "../config/dockerValues";
import { ImageConfig, PublishedPort, ResourcesConfig, ServiceConfig } from "../config/schema";
import { dockerLabels } from "./labels";

/** A file put into every replica before it starts. */
export interface WorkloadFile {
  /** Absolute path inside the container. */
  readonly path: string;
  /** File content; for `secretFiles` it is wrapped in `pulumi.secret`. */
  readonly content: pulumi.Input<string>;
}

export interface WorkloadHealthcheck {
  /** Docker's test: `["CMD", ...]` or `["CMD-SHELL", "..."]`. Never a secret in it. */
  readonly test: readonly string[];
  /** Seconds between checks. Default 10. */
  readonly intervalSeconds?: number;
  /** Seconds one check may take. Default 5. */
  readonly timeoutSeconds?: number;
  /** Seconds of start-up during which failures do not count. Default 10. */
  readonly startPeriodSeconds?: number;
  /** Failures in a row that make the container unhealthy. Default 5. */
  readonly retries?: number;
}

export interface WorkloadArgs {
  /** Service name: container names `<prefix>-<service>-<n>`, network alias, `service` label. */
  readonly service: string;
  /** Tier of the service (label). */
  readonly tier: Tier;
  /** Prefix of container and image names. */
  readonly namePrefix: string;
  /** Labels of the stack (project, stack); the Workload adds service, tier and replica. */
  readonly labels: Readonly<Record<string, string>>;
  /** A pinned remote image, or a local build. */
  readonly image: ImageConfig;
  /** Number of containers, each with a stable name. Must be 1 with a data volume. */
  readonly replicas: number;
  /** CPU, memory (MB) and process limits of each container. */
  readonly resources: ResourcesConfig;
  /** `uid:gid` the process runs as; never root. */
  readonly user: string;
  /** Plain environment. Strings only, so a Pulumi secret cannot end up here. */
  readonly env?: Readonly<Record<string, string>>;
  /** Command (arguments to the image's entrypoint). Plain strings only, like env. */
  readonly command?: readonly string[];
  /** Networks to join, each with the service name as alias. */
  readonly networks: readonly docker.Network[];
  /** Port the service listens on: the default container side of a published port. */
  readonly port: number;
  /** Host ports to publish, from config. Default none. */
  readonly ports?: readonly PublishedPort[];
  /** How Docker decides the container is healthy; `up` waits for it. */
  readonly healthcheck: WorkloadHealthcheck;
  /** Mount the image's root file system read-only. Default true. */
  readonly readOnlyRoot?: boolean;
  /** Writable in-memory directories (with a read-only root). Default `/tmp`. */
  readonly tmpfs?: readonly string[];
  /** Linux capabilities to keep (`CAP_...`); all others are dropped. Default none. */
  readonly capAdd?: readonly string[];
  /** Named volumes to mount. */
  readonly volumes?: readonly { readonly volume: docker.Volume; readonly path: string }[];
  /** Config files, world-readable (0444), shown in preview diffs. */
  readonly files?: readonly WorkloadFile[];
  /** Secret files: content is a Pulumi secret, mode 0400, owned by `user`. */
  readonly secretFiles?: readonly WorkloadFile[];
  /** Seconds Docker waits after the stop signal before it kills a replica. Default 30. */
  readonly stopGraceSeconds?: number;
  /** Resources the first replica waits for (e.g. a database that must be healthy). */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/** What the Platform hands every service component. */
export interface ServiceContext {
  /** Prefix of Docker object names. */
  readonly namePrefix: string;
  /** Labels of the stack (project, stack). */
  readonly labels: Readonly<Record<string, string>>;
  /** The tier networks. */
  readonly networks: Readonly<Record<Tier, docker.Network>>;
}

/**
 * The Workload arguments a service takes straight from the catalog and its config block; a
 * component adds what is its own (env, command, healthcheck, files, volumes).
 */
export function workloadFromConfig(
  service: ServiceName,
  config: ServiceConfig,
  ctx: ServiceContext,
) {
  const entry: CatalogEntry = CATALOG[service];
  return {
    service,
    tier: entry.tier,
    namePrefix: ctx.namePrefix,
    labels: ctx.labels,
    image: config.image,
    replicas: config.replicas,
    resources: config.resources,
    user: config.user,
    env: config.env,
    ports: config.ports,
    networks: entry.networks.map((tier) => ctx.networks[tier]),
    port: entry.port,
  } satisfies Partial<WorkloadArgs>;
}

const TMPFS_OPTIONS = "rw,noexec,nosuid,size=64m";

/**
 * The one place that creates containers. It resolves the image and runs `replicas` containers with
 * the platform's safe defaults: healthcheck and wait, restart policy, limits, log rotation, labels,
 * no-new-privileges, all capabilities dropped, read-only root, non-root user, secrets as files.
 */
export class Workload extends pulumi.ComponentResource {
  /** The network alias every replica answers to. */
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  /** Container names, in rollout order. */
  public readonly containerNames: pulumi.Output<string[]>;
  /** The image id (or local build digest) the containers run. */
  public readonly imageId: pulumi.Output<string>;
  public readonly containers: readonly docker.Container[];

  constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:platform:Workload", name, {}, opts);
    validateWorkload(args);
    const imageId = this.resolveImage(name, args);
    const user = args.user;
    const owner = user.split(":")[0];
    const group = user.split(":")[1] ?? owner;
    const hc = args.healthcheck;
    const interval = hc.intervalSeconds ?? 10;
    const timeout = hc.timeoutSeconds ?? 5;
    const startPeriod = hc.startPeriodSeconds ?? 10;
    const retries = hc.retries ?? 5;
    const readOnly = args.readOnlyRoot ?? true;
    const volumePaths = (args.volumes ?? []).map((v) => v.path);
    const uploads = [
      ...(args.files ?? []).map((f) => ({ file: f.path, content: f.content, permissions: "0444" })),
      ...(args.secretFiles ?? []).map((f) => ({
        file: f.path,
        content: pulumi.secret(f.content),
        permissions: "0400",
        owner,
        group,
      })),
    ];
    // Docker refuses to copy files into a read-only root ("container rootfs is marked read-only"),
    // and a tmpfs is only mounted at start, after the copy. A small anonymous volume per upload
    // directory takes the files instead; it goes away with the container.
    const uploadDirs = readOnly
      ? [...new Set(uploads.map((u) => path.posix.dirname(u.file)))]
          .filter((dir) => !volumePaths.some((v) => isWithin(dir, v)))
          .sort()
      : [];
    const r = args.resources;

    const containers: docker.Container[] = [];
    for (let i = 1; i <= args.replicas; i++) {
      const containerName = `${args.namePrefix}-${args.service}-${i}`;
      const previous = containers.at(-1);
      containers.push(
        new docker.Container(
          `${name}-${i}`,
          {
            name: containerName,
            hostname: containerName,
            image: imageId,
            user,
            envs: Object.keys(args.env ?? {})
              .sort()
              .map((k) => `${k}=${(args.env ?? {})[k]}`),
            command: args.command ? [...args.command] : undefined,
            networksAdvanced: args.networks.map((n) => ({ name: n.id, aliases: [args.service] })),
            ports: (args.ports ?? []).map((p) => ({
              internal: p.container ?? args.port,
              external: p.host,
              ip: p.hostIp,
              protocol: p.protocol,
            })),
            healthcheck: {
              tests: [...hc.test],
              interval: goDuration(interval),
              timeout: goDuration(timeout),
              startPeriod: goDuration(startPeriod),
              // Set, so Docker does not fill it from the image and make the read-back differ.
              startInterval: goDuration(Math.min(interval, 5)),
              retries,
            },
            wait: true,
            waitTimeout: startPeriod + (interval + timeout) * retries + 30,
            restart: "unless-stopped",
            destroyGraceSeconds: args.stopGraceSeconds ?? 30,
            stopTimeout: args.stopGraceSeconds ?? 30,
            cpus: dockerCpus(r.cpus),
            memory: r.memoryMb,
            // Equal to memory: no swap. Left unset, Docker stores 2x memory and the read-back
            // shows a change on every preview.
            memorySwap: r.memoryMb,
            memoryReservation: r.memoryReservationMb,
            // The provider has no PidsLimit; RLIMIT_NPROC is the nearest guard (see README).
            ulimits: [{ name: "nproc", soft: r.pidsLimit, hard: r.pidsLimit }],
            logDriver: "json-file",
            logOpts: { "max-file": "3", "max-size": "10m" },
            labels: dockerLabels({
              ...args.labels,
              "vpn-enterprise.service": args.service,
              "vpn-enterprise.tier": args.tier,
              "vpn-enterprise.replica": String(i),
            }),
            securityOpts: ["no-new-privileges:true"],
            capabilities: { drops: ["ALL"], adds: [...(args.capAdd ?? [])] },
            readOnly,
            tmpfs: readOnly
              ? Object.fromEntries((args.tmpfs ?? ["/tmp"]).map((p) => [p, TMPFS_OPTIONS]))
              : undefined,
            volumes: [
              ...(args.volumes ?? []).map((v) => ({
                volumeName: v.volume.name,
                containerPath: v.path,
              })),
              ...uploadDirs.map((dir) => ({ containerPath: dir })),
            ],
            uploads,
          },
          {
            parent: this,
            // Container names are fixed, so the old container must go before its replacement.
            deleteBeforeReplace: true,
            // The provider updates neither in place; a change must recreate the container.
            replaceOnChanges: ["tmpfs", "init"],
            // Replicas start one after another, each once the previous one is healthy.
            dependsOn: previous ? [previous] : [...(args.dependsOn ?? [])],
          },
        ),
      );
    }

    this.containers = containers;
    this.host = pulumi.output(args.service);
    this.port = pulumi.output(args.port);
    this.containerNames = pulumi.all(containers.map((c) => c.name));
    this.imageId = imageId;
    this.registerOutputs({
      host: this.host,
      port: this.port,
      containerNames: this.containerNames,
      imageId: this.imageId,
    });
  }

  private resolveImage(name: string, args: WorkloadArgs): pulumi.Output<string> {
    const { ref, build } = args.image;
    if (ref !== undefined) {
      // keepLocally: the image may be shared with another stack on the same Docker host.
      return new docker.RemoteImage(
        `${name}-image`,
        { name: ref, keepLocally: true },
        { parent: this },
      ).imageId;
    }
    if (build === undefined) throw new Error(`${args.service}: image has neither ref nor build`);
    return new docker.Image(
      `${name}-image`,
      {
        imageName: `${args.namePrefix}-${args.service}:local`,
        build: {
          context: build.context,
          dockerfile: build.dockerfile,
          args: build.args,
          target: build.target,
        },
        skipPush: true,
        buildOnPreview: false,
      },
      { parent: this },
    ).repoDigest;
  }
}

function isWithin(dir: string, root: string): boolean {
  return dir === root || dir.startsWith(`${root.replace(/\/$/, "")}/`);
}

/** Checks the Workload's own invariants; messages name the service and the argument. */
export function validateWorkload(args: WorkloadArgs): void {
  const problems: string[] = [];
  if (!Number.isInteger(args.replicas) || args.replicas < 1) {
    problems.push(`replicas: given ${args.replicas}; allowed: an integer >= 1`);
  }
  if ((args.volumes ?? []).length > 0 && args.replicas > 1) {
    problems.push(`replicas: given ${args.replicas}; allowed: 1 for a service with a data volume`);
  }
  if (/^0(:|$)/.test(args.user) || args.user === "root") {
    problems.push(`user: given ${JSON.stringify(args.user)}; allowed: a non-root uid[:gid]`);
  }
  if (args.healthcheck.test.length === 0 || !/^CMD(-SHELL)?$/.test(args.healthcheck.test[0])) {
    problems.push(`healthcheck.test: allowed: ["CMD", ...] or ["CMD-SHELL", "..."]`);
  }
  const files = [...(args.files ?? []), ...(args.secretFiles ?? [])].map((f) => f.path);
  for (const f of files) {
    if (!path.posix.isAbsolute(f)) problems.push(`files: ${f} is not an absolute path`);
  }
  const dupes = files.filter((f, i) => files.indexOf(f) !== i);
  if (dupes.length > 0) problems.push(`files: ${dupes.join(", ")} given more than once`);
  for (const cap of args.capAdd ?? []) {
    if (!/^CAP_[A-Z_]+$/.test(cap))
      problems.push(`capAdd: given ${cap}; allowed: CAP_ followed by the name`);
  }
  if (problems.length > 0) {
    throw new Error(`Workload ${args.service}: ${problems.join("; ")}`);
  }
}
