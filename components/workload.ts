import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerCpus, goDuration } from "../config/dockerValues";
import { ResolvedImage, serviceImage } from "./image";
import { dockerLabels } from "./labels";
import { fileCarrier } from "./carrier";
import { WorkloadArgs, containerName, validateWorkload } from "./workloadArgs";

export * from "./workloadArgs";

const TMPFS_DEFAULT_MB = 64;

/**
 * The one place that creates containers. It resolves the image and runs `replicas` containers with
 * the platform's safe defaults: healthcheck and wait, restart policy, limits, log rotation, labels,
 * no-new-privileges, all capabilities dropped, read-only root, non-root user, secrets as files.
 */
export class Workload extends pulumi.ComponentResource {
  /** The network alias every replica answers to. */
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number | undefined>;
  /** Container names, in rollout order. */
  public readonly containerNames: pulumi.Output<string[]>;
  /** The image the containers run: its reference, its id and, for a pulled one, its digest. */
  public readonly image: ResolvedImage;
  public readonly containers: readonly docker.Container[];
  /** A oneShot job's result, as `up` recorded it when the job exited. */
  public readonly job?: {
    readonly exitCode: pulumi.Output<number | undefined>;
    readonly output: pulumi.Output<string | undefined>;
  };
  /**
   * The live secret files, when there are some: `ready` once a change is in place (what a reload
   * waits for), and a hash of them (not secret) that changes with them.
   */
  public readonly liveFiles?: {
    readonly ready: pulumi.Output<pulumi.Resource[]>;
    readonly hash: pulumi.Output<string>;
  };

  constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:platform:Workload", name, {}, opts);
    validateWorkload(args);
    const image =
      "resolved" in args.image
        ? args.image.resolved
        : serviceImage(`${name}-image`, {
            image: args.image,
            localName: `${args.namePrefix}-${args.service}:local`,
            parent: this,
          });
    const user = args.user;
    const [owner, group = owner] = user.split(":");
    const hc = args.healthcheck;
    const interval = hc?.intervalSeconds ?? 10;
    const timeout = hc?.timeoutSeconds ?? 5;
    const startPeriod = hc?.startPeriodSeconds ?? 10;
    const retries = hc?.retries ?? 5;
    const oneShot = args.oneShot ?? false;
    const readOnly = args.readOnlyRoot ?? true;
    const stopGraceSeconds = args.stopGraceSeconds ?? 30;
    const env = args.env ?? {};
    const files = (args.files ?? []).map((f) => ({
      file: f.path,
      content: f.content,
      permissions: "0444",
    }));
    const secretFiles = (args.secretFiles ?? []).map((f) => ({
      file: f.path,
      content: pulumi.secret(f.content),
      permissions: "0400",
    }));
    // With a read-only root, or with secrets (which only a carrier hands to the service's user on
    // every engine), the files reach the replicas through a carrier (components/carrier.ts);
    // otherwise the provider copies them into each container, owned by root.
    const handOverVolumes = (args.volumes ?? [])
      .filter((v) => v.handOver === true)
      .map((v) => ({ volumeName: v.volume.name, path: v.path }));
    const carried =
      (files.length + secretFiles.length > 0 && (readOnly || secretFiles.length > 0)) ||
      handOverVolumes.length > 0;
    const r = args.resources;
    const nproc = args.nprocBudget ?? r.pidsLimit;

    // What every container of this Workload shares, its carrier included: the image, limits and
    // hardening.
    const base = {
      image: image.id,
      user,
      cpus: dockerCpus(r.cpus),
      memory: r.memoryMb,
      // Equal to memory: no swap. Left unset, Docker stores 2x memory and the read-back
      // shows a change on every preview.
      memorySwap: r.memoryMb,
      // The provider has no PidsLimit; RLIMIT_NPROC, per uid, is the nearest guard (see README).
      ulimits: [
        { name: "nproc", soft: nproc, hard: nproc },
        ...(args.nofile ? [{ name: "nofile", soft: args.nofile, hard: args.nofile }] : []),
      ],
      logDriver: "json-file",
      logOpts: { "max-file": "3", "max-size": "10m" },
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: [...(args.capAdd ?? [])] },
    };
    // The service's own settings: a carrier runs none of them, so a change here (an env var, say)
    // replaces the replicas and leaves the carrier alone.
    const common = {
      ...base,
      envs: Object.keys(env)
        .sort()
        .map((k) => `${k}=${env[k]}`),
      command: args.command ? [...args.command] : undefined,
      entrypoints: args.entrypoint ? [...args.entrypoint] : undefined,
      destroyGraceSeconds: stopGraceSeconds,
      stopTimeout: stopGraceSeconds,
      memoryReservation: r.memoryReservationMb,
      shmSize: args.shmSizeMb,
      groupAdds: args.groupAdds?.map(String),
    };
    const labels = (extra: Record<string, string>) =>
      dockerLabels({
        ...args.labels,
        "vpn-enterprise.service": args.service,
        "vpn-enterprise.tier": args.tier,
        ...extra,
      });
    const replicaLabels = (i: number): Record<string, string> => ({
      "vpn-enterprise.replica": String(i),
      // The reason on the container itself, where `docker inspect` shows it: the one exemption
      // from a healthcheck that the policy pack accepts for a service (policy/rules.ts).
      ...(args.noHealthcheckReason !== undefined && {
        "vpn-enterprise.no-healthcheck": args.noHealthcheckReason,
      }),
    });
    const childOpts = (dependsOn: pulumi.Input<pulumi.Resource[]> | undefined) => ({
      parent: this,
      // Container names are fixed, so the old container must go before its replacement.
      deleteBeforeReplace: true,
      // Changes the provider "updates" without applying them (its update touches restart and the
      // memory and CPU limits only; these have no ForceNew, the healthcheck's nested fields none
      // either: a new interval reached the state, never the container, on Engine 20.10). They must
      // recreate the container.
      replaceOnChanges: ["tmpfs", "init", "healthcheck", "memoryReservation"],
      dependsOn,
    });

    const carrierArgs = {
      namePrefix: args.namePrefix,
      service: args.service,
      owner,
      group,
      labels: {
        ...args.labels,
        "vpn-enterprise.service": args.service,
        "vpn-enterprise.tier": args.tier,
      },
      container: { ...base, capabilities: { drops: ["ALL"], adds: [] } },
    };
    const carrier = carried
      ? fileCarrier(
          `${name}-files`,
          { ...carrierArgs, files, secretFiles, handOverVolumes },
          childOpts(undefined),
        )
      : undefined;
    const liveSecretFiles = (args.liveSecretFiles ?? []).map((f) => ({
      file: f.path,
      content: pulumi.secret(f.content),
      permissions: "0400",
    }));
    const live =
      liveSecretFiles.length > 0
        ? fileCarrier(
            `${name}-live-files`,
            { ...carrierArgs, files: [], secretFiles: liveSecretFiles, live: true },
            childOpts(undefined),
          )
        : undefined;
    const carriers = [carrier, live].filter((c) => c !== undefined);

    const containers: docker.Container[] = [];
    for (let i = 1; i <= args.replicas; i++) {
      const dockerName = containerName(args.namePrefix, args.service, i);
      const previous = containers.at(-1);
      // Replicas start one after another, each once the previous one is healthy; the first one
      // after what the Workload waits for and its files.
      const first =
        carriers.length > 0
          ? pulumi
              .all([args.dependsOn ?? [], ...carriers.map((c) => c.ready)])
              .apply(([d, ...ready]) => [...d, ...ready.flat()])
          : args.dependsOn;
      containers.push(
        new docker.Container(
          `${name}-${i}`,
          {
            ...common,
            name: dockerName,
            hostname: dockerName,
            networksAdvanced: args.networks.map((n) => ({ name: n.id, aliases: [args.service] })),
            // No network at all rather than Docker's default bridge, which would reach out.
            networkMode: args.networks.length === 0 ? "none" : undefined,
            ports: (args.ports ?? []).map((p) => ({
              internal: p.container ?? args.port ?? p.host,
              external: p.host,
              ip: p.hostIp,
              protocol: p.protocol,
            })),
            healthcheck: hc && {
              tests: [...hc.test],
              interval: goDuration(interval),
              timeout: goDuration(timeout),
              startPeriod: goDuration(startPeriod),
              // No start interval: engines before API 1.44 drop it, and its read-back "0s" would then
              // replace the container on every `up`.
              retries,
            },
            ...(oneShot
              ? // `up` attaches until the job exits and keeps the exited container (and with it
                // the exit code and output) until the job's inputs change.
                { attach: true, logs: true, mustRun: false, restart: "no" }
              : {
                  // Without a healthcheck (noHealthcheckReason) there is nothing to wait for.
                  wait: hc !== undefined,
                  waitTimeout: hc ? startPeriod + (interval + timeout) * retries + 30 : undefined,
                  restart: "unless-stopped",
                }),
            labels:
              carrier && files.length + secretFiles.length > 0
                ? carrier.hash.apply((h) =>
                    labels({ ...replicaLabels(i), "vpn-enterprise.files-sha256": h }),
                  )
                : labels(replicaLabels(i)),
            readOnly,
            // Given ones always (a program may need them owned), the default /tmp with a read-only root.
            tmpfs:
              args.tmpfs || readOnly
                ? Object.fromEntries(
                    (args.tmpfs ?? ["/tmp"]).map((t) => {
                      const spec = typeof t === "string" ? { path: t } : t;
                      const size = `size=${spec.sizeMb ?? TMPFS_DEFAULT_MB}m`;
                      const mine = spec.owned ? `,uid=${owner},gid=${group},mode=0700` : "";
                      return [spec.path, `rw,noexec,nosuid,${size}${mine}`];
                    }),
                  )
                : undefined,
            sysctls: args.sysctls ? { ...args.sysctls } : undefined,
            volumes: [
              ...(args.volumes ?? []).map((v) => ({
                volumeName: v.volume.name,
                containerPath: v.path,
                readOnly: v.readOnly,
              })),
              ...carriers.flatMap((c) => c.mounts),
              ...(args.binds ?? []).map((b) => ({
                hostPath: b.hostPath,
                containerPath: b.path,
                readOnly: b.readOnly,
              })),
              ...(args.anonymousVolumes ?? []).map((dir) => ({ containerPath: dir })),
            ],
            deviceRequests:
              args.gpus === undefined
                ? undefined
                : [
                    {
                      driver: "nvidia",
                      count: args.gpus === "all" ? -1 : args.gpus,
                      capabilities: ["gpu"],
                    },
                  ],
            uploads: carried ? [] : files,
          },
          {
            ...childOpts(previous ? [previous] : first),
            // What a job that holds secrets prints is kept encrypted in the state, in case it
            // printed one.
            ...(oneShot &&
              secretFiles.length > 0 && { additionalSecretOutputs: ["containerLogs"] }),
          },
        ),
      );
    }

    this.containers = containers;
    if (oneShot) {
      this.job = { exitCode: containers[0].exitCode, output: containers[0].containerLogs };
    }
    if (live) this.liveFiles = { ready: live.ready, hash: live.hash };
    this.host = pulumi.output(args.service);
    this.port = pulumi.output(args.port);
    this.containerNames = pulumi.all(containers.map((c) => c.name));
    this.image = image;
    this.registerOutputs({
      host: this.host,
      port: this.port,
      containerNames: this.containerNames,
      imageId: image.id,
    });
  }
}
