/**
 * Runs the program (index.ts) under Pulumi mocks in plain Node, with a stack's config as the Pulumi
 * CLI passes it, and records every resource it registers with its inputs.
 *
 * The mocks are the test harness's own (tests/program/harness.ts `runProgram`), so the diagram the
 * command writes and the one the test compares come from the same run of the same mocks. Outside
 * jest the harness runs the program in a runner process of its own.
 */
import { RecordedResource, runProgram } from "../../tests/program/harness";
import type { DiagramResource } from "./model";

/**
 * The id the harness's mocks give a resource (`<name>-id`). Containers reference their networks by
 * id, so the renderer needs it.
 */
export function mockId(name: string): string {
  return `${name}-id`;
}

/** The harness's records as the renderer reads them. */
export function diagramResources(
  resources: readonly Pick<RecordedResource, "type" | "name" | "inputs">[],
): DiagramResource[] {
  return resources.map((r) => ({
    type: r.type,
    name: r.name,
    id: mockId(r.name),
    inputs: r.inputs,
  }));
}

/**
 * The resources the program registers for `config` (`namespace:key` -> string); throws the run's
 * error (a config the program refuses, a failed job).
 */
export async function recordProgram(
  config: Readonly<Record<string, string>>,
  stack: string,
): Promise<DiagramResource[]> {
  const run = await runProgram({ ...config }, stack);
  if (run.error) throw run.error;
  return diagramResources(run.resources);
}
