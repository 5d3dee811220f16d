/**
 * Runs the program (index.ts) under Pulumi mocks in plain Node, with a stack's config as the Pulumi
 * CLI passes it, and records every resource it registers with its inputs.
 *
 * The mocks are the test harness's own (tests/program/harness.ts `runProgram`), so the diagram the
 * command writes and the one the test compares come from the same run of the same mocks. The
 * harness takes one thing from jest, `jest.isolateModules`, to give each run fresh modules; a new
 * process already has them, so here it only needs to call its function.
 */
import type { RecordedResource } from "../../tests/program/harness";
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

interface IsolateModules {
  isolateModules(fn: () => void): void;
}

let used = false;

/**
 * The resources the program registers for `config` (`namespace:key` -> string); throws the run's
 * error (a config the program refuses, a failed job). Once per process: the Pulumi SDK and the
 * program keep module state, and outside jest nothing gives a second run fresh modules.
 */
export async function recordProgram(
  config: Readonly<Record<string, string>>,
  stack: string,
): Promise<DiagramResource[]> {
  if (used) throw new Error("recordProgram runs once per process (the program keeps state)");
  used = true;
  const global = globalThis as { jest?: IsolateModules };
  global.jest ??= {
    isolateModules(fn) {
      fn();
    },
  };
  // Loaded now, not at import: the harness is test code, and the shim must be in place first.
  const { runProgram } = await import("../../tests/program/harness");
  const run = await runProgram({ ...config }, stack);
  if (run.error) throw run.error;
  return diagramResources(run.resources);
}
