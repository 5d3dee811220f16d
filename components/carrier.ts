import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as path from "path";
import { isRootUser } from "../config/catalog";
import { JobError } from "./job";
import { dockerLabels } from "./labels";
import { isWithin } from "./workloadArgs";

/** One file as the provider uploads it. */
export interface Upload {
  readonly file: string;
  readonly content: pulumi.Input<string>;
  readonly permissions: string;
}

/** What the Workload hands the carrier: its container settings and the files. */
export interface CarrierArgs {
  /** Prefix of Docker names. */
  readonly namePrefix: string;
  /** The service (Docker names `<prefix>-<service>-files...`). */
  readonly service: string;
  /** `uid:gid` the replicas run as: the secret files become theirs. */
  readonly owner: string;
  readonly group: string;
  /** Labels of the carrier and its volumes. */
  readonly labels: Readonly<Record<string, string>>;
  /** The replicas' image, limits and hardening: the carrier's too. */
  readonly container: Omit<docker.ContainerArgs, "name">;
  /** World-readable files (0444). */
  readonly files: readonly Upload[];
  /** Secret files (0400), each handed to `owner:group`. */
  readonly secretFiles: readonly Upload[];
  /** Volumes whose top directory goes to `owner:group` too (WorkloadArgs.volumes handOver). */
  readonly handOverVolumes?: readonly {
    readonly volumeName: pulumi.Input<string>;
    readonly path: string;
  }[];
  /**
   * Files the service reads again while it runs (WorkloadArgs.liveSecretFiles): volumes of stable
   * names, rewritten in place by a new carrier, so the replicas keep running on them. Default false.
   */
  readonly live?: boolean;
}

/** How the files reach the replicas. */
export interface CarriedFiles {
  /** Read-only mounts of the files' volumes, for each replica. */
  readonly mounts: { volumeName: pulumi.Output<string>; containerPath: string; readOnly: true }[];
  /** SHA-256 over every file (path, mode, content): not secret, for the replicas' label. */
  readonly hash: pulumi.Output<string>;
  /** What the first replica waits for: the carrier, once the secret files are its user's. */
  readonly ready: pulumi.Output<pulumi.Resource[]>;
  readonly container: docker.Container;
}

/**
 * The container that takes a Workload's uploads, and the named volumes it writes them into, one per
 * top upload directory; the replicas mount those read-only.
 *
 * Why a carrier at all: the provider copies each upload in as an archive extracted at `/`, which
 * Docker refuses for a container with a read-only root, whatever is mounted where the file lands.
 *
 * Why no `owner`/`group` on the uploads: with them the provider asks Docker to chown the files to
 * the container's user, and engines before 25.0 look that user up by name in the host's passwd
 * (`getent unable to find entry "1001:1001"`, Engine 20.10). Without them every engine keeps the
 * archive's own owner, root. So when there are secret files (0400, readable by their owner only),
 * the carrier runs once, as root with CAP_CHOWN only and no network, `chown <uid>:<gid>` on them
 * (and on the top directory of each volume the Workload hands over), and the replicas start once it
 * exited 0. Without either, or for a root service, it is created and never started.
 *
 * The volumes' names carry the files' hash: changed files get new volumes (the replicas are replaced
 * anyway, for the label), so a file the program no longer writes is gone, not left behind for a
 * script that globs the directory (the migrations). Live files keep their volumes: a new carrier
 * writes the new content over the old, under the running replicas.
 */
export function fileCarrier(
  name: string,
  args: CarrierArgs,
  opts: pulumi.CustomResourceOptions,
): CarriedFiles {
  const uploads = [...args.files, ...args.secretFiles];
  // Not secret, as Helm's checksum annotations are not: a SHA-256 over the files, whose secret
  // parts are generated high-entropy values, gives nothing away and keeps names and labels readable.
  const hash = pulumi.unsecret(
    pulumi.all(uploads.map((u) => pulumi.all([u.file, u.permissions, u.content]))).apply((all) => {
      const h = createHash("sha256");
      for (const [file, mode, content] of [...all].sort((a, b) => a[0].localeCompare(b[0]))) {
        h.update(`${file}\0${mode}\0${content}\0`);
      }
      return h.digest("hex");
    }),
  );
  const dirs = topDirectories(uploads.map((u) => path.posix.dirname(u.file)));
  const base = `${args.namePrefix}-${args.service}-${args.live ? "live-files" : "files"}`;
  const volumes = dirs.map((dir) => ({
    dir,
    volume: new docker.Volume(
      `${name}${slug(dir)}`,
      {
        name: args.live
          ? `${base}${slug(dir)}`
          : hash.apply((h) => `${base}${slug(dir)}-${h.slice(0, 12)}`),
        labels: dockerLabels({ ...args.labels, "vpn-enterprise.role": "files" }),
      },
      // What the carrier writes again on every change: nothing to keep. A new name is a new volume
      // beside the old one, which goes once nothing mounts it.
      { parent: opts.parent, ignoreChanges: ["labels"] },
    ),
  }));
  const handOverVolumes = args.handOverVolumes ?? [];
  const owned = [...args.secretFiles.map((f) => f.file), ...handOverVolumes.map((v) => v.path)];
  const handOver = owned.length > 0 && !isRootUser(args.owner);
  const container = new docker.Container(
    name,
    {
      ...args.container,
      name: base,
      hostname: base,
      restart: "no",
      mustRun: false,
      networkMode: "none",
      labels: dockerLabels({ ...args.labels, "vpn-enterprise.role": "files" }),
      // The uploads are extracted into this container's root file system and the volumes on it.
      readOnly: false,
      volumes: [
        ...volumes.map((v) => ({ volumeName: v.volume.name, containerPath: v.dir })),
        ...handOverVolumes.map((v) => ({ volumeName: v.volumeName, containerPath: v.path })),
      ],
      uploads: uploads.map((u) => ({
        file: u.file,
        content: u.content,
        permissions: u.permissions,
      })),
      ...(handOver
        ? {
            // Attached until chown exits; its exit code gates the replicas below.
            attach: true,
            logs: true,
            user: "0:0",
            entrypoints: ["chown"],
            command: [`${args.owner}:${args.group}`, ...owned.sort()],
            capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN"] },
          }
        : // Created with the files, never started: nothing to restart, wait for or keep running.
          { start: false }),
    },
    opts,
  );
  const ready: pulumi.Output<pulumi.Resource[]> = handOver
    ? pulumi
        .all([container.exitCode, container.containerLogs, container.name])
        .apply(([code, logs, containerName]) => {
          if (code !== 0) {
            throw new JobError(
              `Handing the secret files and new volumes of ${args.service} to ${args.owner}:${args.group}`,
              "The image needs a chown on its PATH.",
              containerName,
              code,
              logs,
            );
          }
          return [container];
        })
    : pulumi.output([container]);
  return {
    mounts: volumes.map((v) => ({
      volumeName: v.volume.name,
      containerPath: v.dir,
      readOnly: true as const,
    })),
    hash,
    ready,
    container,
  };
}

/** The directories that are not inside another one of the list, sorted. */
function topDirectories(dirs: readonly string[]): string[] {
  const unique = [...new Set(dirs)].sort();
  return unique.filter((d) => !unique.some((o) => o !== d && isWithin(d, o)));
}

/** A directory as a name suffix: `/run/secrets` -> `-run-secrets`. */
function slug(dir: string): string {
  return dir.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "");
}
