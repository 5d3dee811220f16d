import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { JobError, jobGate } from "./job";
import { Workload, WorkloadArgs } from "./workload";

/**
 * A one-off job that hands a named volume's top directory to the service's user. Docker creates a
 * new volume mounted where the image has no directory as root's, so a non-root service could not
 * write it. The job runs as root with CAP_CHOWN only, and not recursively: everything below the
 * top is the service's own. `ready` resolves once it exited 0 (and fails the deploy otherwise).
 */
export function volumeOwner(
  name: string,
  args: {
    /** The service's Workload args (image, prefix, labels, `user`). */
    readonly base: WorkloadArgs;
    readonly volume: docker.Volume;
    readonly path: string;
    /** What the volume is for, for the error message. */
    readonly what: string;
  },
  parent: pulumi.Resource,
): { readonly job: Workload; readonly ready: pulumi.Output<pulumi.Resource[]> } {
  const job = new Workload(
    name,
    {
      ...args.base,
      service: `${args.base.service}-volume-owner`,
      replicas: 1,
      // It runs one syscall: small limits of its own.
      resources: { cpus: 0.25, memoryMb: 128, pidsLimit: 64 },
      networks: [],
      ports: [],
      oneShot: true,
      healthcheck: undefined,
      files: [],
      secretFiles: [],
      user: "0:0",
      rootReason: `chown of the new ${args.what} volume to the service's user; CAP_CHOWN only`,
      capAdd: ["CAP_CHOWN"],
      entrypoint: ["chown"],
      command: [args.base.user, args.path],
      volumes: [{ volume: args.volume, path: args.path }],
      dependsOn: undefined,
    },
    { parent },
  );
  const ready = jobGate(
    job,
    [],
    (c, code, out) =>
      new JobError(`Handing the ${args.what} volume to its user`, "See the output.", c, code, out),
  );
  return { job, ready };
}
