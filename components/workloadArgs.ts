import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { CATALOG, CatalogEntry, ServiceName, Tier, hostName, isRootUser } from "../config/catalog";
import { uidOf } from "../config/processes";
import { ImageConfig, PublishedPort, ResourcesConfig, ServiceConfig } from "../config/schema";
import type { ResolvedImage } from "./image";

export { hostName };

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

export interface WorkloadTmpfs {
  readonly path: string;
  readonly sizeMb?: number;
  readonly owned?: boolean;
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
  /** A pinned remote image, a local build, or `{ resolved }`: the image another Workload resolved. */
  readonly image: ImageConfig | { readonly resolved: ResolvedImage };
  /** Number of containers, each with a stable name. Must be 1 with a data volume. */
  readonly replicas: number;
  /** CPU, memory (MB) and process limits of each container. */
  readonly resources: ResourcesConfig;
  /** `uid:gid` the process runs as; never root unless `rootReason` says why. */
  readonly user: string;
  /**
   * Why this workload must run as root (uid 0). A oneShot job may, with the capabilities it names
   * in `capAdd`; a service may only with none at all (root without capabilities can open what root
   * owns, such as the Docker socket, and nothing more). Default none: root is refused.
   */
  readonly rootReason?: string;
  /** Extra group ids for the process (e.g. the Docker socket's group). Default none. */
  readonly groupAdds?: readonly number[];
  /** Plain environment. Strings only, so a Pulumi secret cannot end up here. */
  readonly env?: Readonly<Record<string, string>>;
  /** Command (arguments to the image's entrypoint). Plain strings only, like env. */
  readonly command?: readonly string[];
  /** Replaces the image's entrypoint. Default the image's. */
  readonly entrypoint?: readonly string[];
  /** Networks to join, each with the service name as alias. */
  readonly networks: readonly docker.Network[];
  /** Port the service listens on (the default container side of a published port); none for a job. */
  readonly port?: number;
  /** Host ports to publish, from config. Default none. */
  readonly ports?: readonly PublishedPort[];
  /** How Docker decides the container is healthy; `up` waits for it. Required unless `oneShot`. */
  readonly healthcheck?: WorkloadHealthcheck;
  /**
   * Why a service has no healthcheck: an image with nothing in it but the program (no shell, no
   * HTTP client). `up` then waits only for it to run; its health is what Prometheus scrapes.
   */
  readonly noHealthcheckReason?: string;
  /**
   * A job rather than a service: one container that runs to completion. `up` waits for it to exit
   * and records its exit code and output (`Workload.job`); it is never restarted. Default false.
   */
  readonly oneShot?: boolean;
  /** Size of /dev/shm in MB. Default Docker's (64). */
  readonly shmSizeMb?: number;
  /** Mount the image's root file system read-only. Default true. */
  readonly readOnlyRoot?: boolean;
  /**
   * Writable in-memory directories (with a read-only root), 64 MB each unless sized; `owned`
   * makes one private to `user` (mode 0700) for programs that refuse a world-writable directory.
   * Counts against the memory limit. Default `/tmp`.
   */
  readonly tmpfs?: readonly (string | WorkloadTmpfs)[];
  /** Namespaced kernel settings of the container (`net.*`), e.g. for ports below 1024. */
  readonly sysctls?: Readonly<Record<string, string>>;
  /**
   * The `nproc` ulimit: RLIMIT_NPROC counts every process of the uid on the host, so it is the
   * stack's budget for `user`'s uid (config/processes.ts), not this service's own. Default
   * `resources.pidsLimit` (for a uid no service of the stack runs as).
   */
  readonly nprocBudget?: number;
  /** Open-file limit (RLIMIT_NOFILE, soft and hard). Default the engine's. */
  readonly nofile?: number;
  /** Linux capabilities to keep (`CAP_...`); all others are dropped. Default none. */
  readonly capAdd?: readonly string[];
  /**
   * Named volumes to mount. A volume holds one replica's state unless `shared` says the replicas
   * may write it together (each to its own files, such as logs).
   */
  readonly volumes?: readonly {
    readonly volume: docker.Volume;
    readonly path: string;
    readonly shared?: boolean;
    /** Mounted read-only: the service only reads what a job wrote. */
    readonly readOnly?: boolean;
    /**
     * A new volume here is root's (the image has no directory there to copy the owner from, or
     * a bind mount hides it): the Workload's carrier hands its top directory to `user` (chown,
     * not recursive) before the replicas start. Default false.
     */
    readonly handOver?: boolean;
  }[];
  /**
   * Host paths to bind-mount: a development source, or what a collector reads of the host (then
   * read-only).
   */
  readonly binds?: readonly {
    readonly hostPath: string;
    readonly path: string;
    readonly readOnly?: boolean;
  }[];
  /** Paths that get a fresh anonymous volume (filled from the image) per container. */
  readonly anonymousVolumes?: readonly string[];
  /** GPUs to request from the NVIDIA runtime: `all` or a count. Default none. */
  readonly gpus?: "all" | number;
  /** Config files, world-readable (0444), shown in preview diffs. */
  readonly files?: readonly WorkloadFile[];
  /** Secret files: content is a Pulumi secret, mode 0400, owned by `user`. */
  readonly secretFiles?: readonly WorkloadFile[];
  /**
   * Secret files the service reads again while it runs, on a reload its component triggers (Redis's
   * users, by ACL LOAD). They reach the replicas through volumes of their own that a second carrier
   * rewrites in place: a change replaces no replica. Mode 0400, owned by `user`. In directories of
   * their own (not those of `files` or `secretFiles`). Default none.
   */
  readonly liveSecretFiles?: readonly WorkloadFile[];
  /** Seconds Docker waits after the stop signal before it kills a replica. Default 30. */
  readonly stopGraceSeconds?: number;
  /**
   * Resources the first replica waits for (e.g. a database that must be healthy). May be an Output:
   * a gate that resolves only once its condition holds (see Postgres.ready).
   */
  readonly dependsOn?: pulumi.Input<pulumi.Resource[]>;
}

/** What the Platform hands every service component. */
export interface ServiceContext {
  /** Prefix of Docker object names. */
  readonly namePrefix: string;
  /** Labels of the stack (project, stack). */
  readonly labels: Readonly<Record<string, string>>;
  /** The tier networks. */
  readonly networks: Readonly<Record<Tier, docker.Network>>;
  /** uid -> the processes the stack's services of that uid may run together (config/processes). */
  readonly processBudgets: Readonly<Partial<Record<string, number>>>;
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
    service: hostName(service),
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
    nprocBudget: ctx.processBudgets[uidOf(config.user)],
  } satisfies Partial<WorkloadArgs>;
}

/** True when directory `dir` is `root` or lies below it. */
export function isWithin(dir: string, root: string): boolean {
  return dir === root || dir.startsWith(`${root.replace(/\/$/, "")}/`);
}

/** The Docker name of a service's replica `index` (from 1); fixed, so others can address it. */
export function containerName(namePrefix: string, service: string, index: number): string {
  return `${namePrefix}-${service}-${index}`;
}

/** How other services of the platform call an HTTP service: `http://<alias>:<port>`. */
export function internalUrl(service: ServiceName): string {
  return `http://${hostName(service)}:${portOf(service)}`;
}

/** The port a catalog service listens on; an error for one that listens on none. */
export function portOf(service: ServiceName): number {
  const port = (CATALOG[service] as CatalogEntry).port;
  if (port === undefined) throw new Error(`${service} listens on no port`);
  return port;
}

/** Checks the Workload's own invariants; messages name the service and the argument. */
export function validateWorkload(args: WorkloadArgs): void {
  const problems: string[] = [];
  if (!Number.isInteger(args.replicas) || args.replicas < 1) {
    problems.push(`replicas: given ${args.replicas}; allowed: an integer >= 1`);
  }
  if ((args.volumes ?? []).some((v) => v.shared !== true) && args.replicas > 1) {
    problems.push(`replicas: given ${args.replicas}; allowed: 1 for a service with a data volume`);
  }
  const root = isRootUser(args.user);
  if (root && args.rootReason === undefined) {
    problems.push(
      `user: given ${JSON.stringify(args.user)}; allowed: a non-root uid[:gid] (root only with a rootReason)`,
    );
  }
  if (root && args.oneShot !== true && (args.capAdd ?? []).length > 0) {
    problems.push(
      `capAdd: given ${(args.capAdd ?? []).join(", ")}; allowed: none for a service running as root (only a oneShot job may add capabilities to root)`,
    );
  }
  for (const g of args.groupAdds ?? []) {
    if (!Number.isInteger(g) || g < 1) {
      problems.push(`groupAdds: given ${g}; allowed: group ids >= 1 (not root's group)`);
    }
  }
  for (const b of args.binds ?? []) {
    if (!path.posix.isAbsolute(b.hostPath) || !path.posix.isAbsolute(b.path)) {
      problems.push(`binds: ${b.hostPath} -> ${b.path}: allowed: absolute paths on both sides`);
    }
  }
  const hc = args.healthcheck;
  if (args.oneShot === true) {
    if (hc !== undefined) problems.push("healthcheck: allowed: none for a oneShot job");
    if (args.replicas !== 1)
      problems.push(`replicas: given ${args.replicas}; allowed: 1 for a oneShot job`);
    if ((args.ports ?? []).length > 0) problems.push("ports: allowed: none for a oneShot job");
  } else if (hc === undefined) {
    if (args.noHealthcheckReason === undefined) {
      problems.push(
        "healthcheck: required for a service (allowed to be missing only with oneShot or a noHealthcheckReason)",
      );
    }
  } else if (args.noHealthcheckReason !== undefined) {
    problems.push("noHealthcheckReason: allowed only without a healthcheck");
  } else if (hc.test.length === 0 || !/^CMD(-SHELL)?$/.test(hc.test[0])) {
    problems.push(`healthcheck.test: allowed: ["CMD", ...] or ["CMD-SHELL", "..."]`);
  }
  if ((args.ports ?? []).length > 0 && args.port === undefined) {
    problems.push("ports: allowed: none for a service without a port");
  }
  const carriedPaths = [...(args.files ?? []), ...(args.secretFiles ?? [])].map((f) => f.path);
  const live = (args.liveSecretFiles ?? []).map((f) => f.path);
  const files = [...carriedPaths, ...live];
  for (const l of live) {
    // Their volumes are rewritten in place, the others' replaced: the two cannot share one.
    const dir = path.posix.dirname(l);
    const clash = carriedPaths.find((f) => {
      const other = path.posix.dirname(f);
      return isWithin(dir, other) || isWithin(other, dir);
    });
    if (clash !== undefined) {
      problems.push(
        `liveSecretFiles: ${l} shares its directory with ${clash}; allowed: a directory of their own`,
      );
    }
  }
  for (const f of files) {
    if (!path.posix.isAbsolute(f)) problems.push(`files: ${f} is not an absolute path`);
  }
  for (const f of files) {
    // Files reach a read-only root through volumes of their own (see Workload), which cannot be
    // mounted inside another volume.
    const under = (args.volumes ?? []).find((v) => isWithin(path.posix.dirname(f), v.path));
    if (under) problems.push(`files: ${f} is inside the volume at ${under.path}`);
  }
  const dupes = files.filter((f, i) => files.indexOf(f) !== i);
  if (dupes.length > 0) problems.push(`files: ${dupes.join(", ")} given more than once`);
  for (const key of Object.keys(args.sysctls ?? {})) {
    // Docker allows only network-namespaced sysctls next to a private network stack.
    if (!/^net\.[a-z0-9_.]+$/.test(key)) problems.push(`sysctls: given ${key}; allowed: net.*`);
  }
  for (const t of args.tmpfs ?? []) {
    const size = typeof t === "string" ? undefined : t.sizeMb;
    if (size !== undefined && !(Number.isInteger(size) && size >= 1)) {
      problems.push(`tmpfs: given size ${size} MB; allowed: an integer >= 1`);
    }
  }
  for (const cap of args.capAdd ?? []) {
    if (!/^CAP_[A-Z_]+$/.test(cap))
      problems.push(`capAdd: given ${cap}; allowed: CAP_ followed by the name`);
  }
  if (problems.length > 0) {
    throw new Error(`Workload ${args.service}: ${problems.join("; ")}`);
  }
}
