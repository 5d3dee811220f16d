/**
 * Running a checker on generated files, shared by the tool harnesses (prometheus/, logs/): the
 * files go into a fresh directory, the tool runs there with a bare environment, the directory goes.
 */
import { SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** jest's environment is not passed on (its PATH may also lack the sbin chroot lives in). */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ToolRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, for messages. */
  readonly output: string;
}

/**
 * Writes `files` (relative paths -> content) into a new directory `<prefix>XXXXXX`, hands it to
 * `run` and removes it afterwards. `what` names the caller in the refusal of a path outside it.
 */
export function withFiles<T>(
  prefix: string,
  files: Readonly<Record<string, string>>,
  what: string,
  run: (dir: string) => T,
): T {
  const dir = fs.mkdtempSync(prefix);
  try {
    for (const [rel, content] of Object.entries(files)) {
      const file = path.join(dir, rel);
      if (!file.startsWith(`${dir}/`)) {
        throw new Error(`${what}: ${rel} is outside the run directory`);
      }
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    return run(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A finished spawnSync (encoding utf8) as a ToolRun; a process that could not start throws. */
export function toolRun(run: SpawnSyncReturns<string>): ToolRun {
  if (run.error) throw run.error;
  return {
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    output: `${run.stdout}${run.stderr}`,
  };
}
