import * as pulumi from "@pulumi/pulumi";
import { readableContainerLog } from "../config/dockerValues";
import { uidOf } from "../config/processes";
import { Tier } from "../config/catalog";
import type { ResolvedImage } from "./image";
import type { ServiceContext, Workload, WorkloadArgs } from "./workload";

/** Lines of a failed job's output quoted in the deploy error. */
export const OUTPUT_TAIL_LINES = 15;

/**
 * The deploy error of a oneShot job that did not exit 0. The provider records the exit code of an
 * attached container but does not fail on it, so the gate below turns it into this error.
 */
export class JobError extends pulumi.RunError {
  constructor(
    what: string,
    hint: string,
    container: string,
    exitCode: number | undefined,
    output: string | undefined,
  ) {
    const lines = readableContainerLog(output ?? "")
      .trimEnd()
      .split("\n")
      .slice(-OUTPUT_TAIL_LINES);
    super(
      `${what} failed (container ${container}, exit code ${exitCode ?? "unknown"}); ` +
        `whatever waits for it was left as it was. ${hint} ` +
        `Last lines of its output:\n${lines.map((l) => `  ${l}`).join("\n")}`,
    );
    this.name = "JobError";
  }
}

/**
 * A dependsOn gate on a oneShot job: it resolves to `then` (plus the job's container) only when the
 * job exited 0, and fails the deploy with `error` otherwise.
 */
export function jobGate(
  job: Workload,
  then: readonly pulumi.Resource[],
  error: (container: string, exitCode: number | undefined, output: string | undefined) => Error,
): pulumi.Output<pulumi.Resource[]> {
  if (!job.job) throw new Error("jobGate needs a oneShot Workload");
  const container = job.containers[0];
  return pulumi
    .all([job.job.exitCode, job.job.output, container.name])
    .apply(([exitCode, output, name]) => {
      if (exitCode !== 0) throw error(name, exitCode, output);
      return [...then, container];
    });
}

/**
 * What a service's one-shot job shares with the service: its image, its user (and with it that
 * uid's process budget), the stack's prefix and labels, one container with small limits of its own,
 * on the networks it names. The caller adds what the job runs.
 */
export function serviceJob(
  context: ServiceContext,
  job: {
    readonly service: string;
    readonly tier: Tier;
    readonly image: ResolvedImage;
    readonly user: string;
    readonly networks: WorkloadArgs["networks"];
    readonly resources: WorkloadArgs["resources"];
  },
) {
  return {
    service: job.service,
    tier: job.tier,
    namePrefix: context.namePrefix,
    labels: context.labels,
    image: { resolved: job.image },
    replicas: 1,
    resources: job.resources,
    user: job.user,
    // Its uid is the service's: its processes count against the same budget.
    nprocBudget: context.processBudgets[uidOf(job.user)],
    networks: job.networks,
    oneShot: true,
  } satisfies Partial<WorkloadArgs>;
}
