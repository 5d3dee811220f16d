import * as pulumi from "@pulumi/pulumi";
import { readableContainerLog } from "../config/dockerValues";
import type { Workload } from "./workload";

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
