/**
 * Runs a program (index.ts, or a fixture) under Pulumi mocks, with a stack's config as the CLI would
 * pass it, and records every resource with its inputs and options.
 *
 * Each distinct run happens once per `jest` run: the pool that globalSetup.ts starts (runPool.ts)
 * runs the program in a child Node process (child/record.ts, through tsx) and keeps the result as
 * JSON for every test file that asks for the same run.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as net from "net";
import * as path from "path";
import { PROJECT, ROOT, StackName, cliConfig } from "../stackFiles";
import type {
  ExportedValue,
  JobResult,
  RecordedError,
  RecordedResource,
  RecordedRun,
  RunRequest,
  StackReferenceFixture,
} from "./runTypes";
import { PoolAnswer, PoolAsk, RunPool } from "./runPool";

export type { ExportedValue, JobResult, RecordedResource, StackReferenceFixture } from "./runTypes";
export { MOCK_CERT_PEM, MOCK_KEY_PEM } from "./runTypes";

/** The marker Pulumi's RPC layer wraps secret values in. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface ProgramRun {
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, ExportedValue>;
  /** The values the mocks handed out as generated passwords. */
  readonly generatedSecrets: string[];
  readonly error?: Error;
}

export function isSecretValue(v: unknown): v is { value: unknown } {
  return (
    typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** The value with every secret wrapper replaced by what `onSecret` makes of it. */
export function mapSecrets(v: unknown, onSecret: (secret: { value: unknown }) => unknown): unknown {
  if (isSecretValue(v)) return onSecret(v);
  if (Array.isArray(v)) return v.map((x) => mapSecrets(x, onSecret));
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapSecrets(x, onSecret)]));
  }
  return v;
}

/** The value with secret wrappers removed. */
export function reveal(v: unknown): unknown {
  return mapSecrets(v, (secret) => reveal(secret.value));
}

/** A job that succeeded, as the migration runner reports it. */
export const JOB_SUCCEEDED: JobResult = {
  exitCode: 0,
  logs: "migrations: applied 1, already applied 0\n",
};

const INDEX = path.join(ROOT, "index.ts");

let ownPool: RunPool | undefined;
/**
 * Asks this jest run's pool (globalSetup.ts) for a run. A test file run by a jest config without
 * that global setup gets a pool of its own, kept for that file only.
 */
function ask(question: PoolAsk): Promise<PoolAnswer> {
  const socket = process.env.VPN_PROGRAM_RUNS;
  if (!socket) {
    ownPool ??= new RunPool(fs.mkdtempSync(path.join(os.tmpdir(), "vpn-program-runs-")), 1);
    return ownPool.answer(question);
  }
  return new Promise((resolve, reject) => {
    const connection = net.connect(socket);
    let text = "";
    connection.on("data", (b: Buffer) => (text += b.toString("utf8")));
    connection.on("end", () => {
      try {
        resolve(JSON.parse(text) as PoolAnswer);
      } catch {
        reject(new Error(`the program run pool at ${socket} gave no answer: ${text}`));
      }
    });
    connection.on("error", reject);
    connection.end(`${JSON.stringify(question)}\n`);
  });
}

function errorOf(e: RecordedError): Error {
  const error = new Error(e.message);
  error.name = e.name;
  if (e.stack !== undefined) error.stack = e.stack;
  return error;
}

/** Every string in a config value, JSON ones opened. */
function strings(v: unknown): string[] {
  if (typeof v === "string") {
    if (/^[[{]/.test(v)) {
      try {
        return strings(JSON.parse(v));
      } catch {
        return [v];
      }
    }
    return [v];
  }
  if (Array.isArray(v)) return v.flatMap(strings);
  if (typeof v === "object" && v !== null) return Object.values(v).flatMap(strings);
  return [];
}

/** A file's or a directory tree's names and contents, into `hash`. */
function hashTree(file: string, hash: ReturnType<typeof createHash>): void {
  const stat = fs.statSync(file);
  hash.update(`${file}\0${stat.mode}\0`);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(file).sort()) hashTree(path.join(file, entry), hash);
  } else if (stat.isFile()) {
    hash.update(fs.readFileSync(file));
  }
}

/**
 * What the program reads outside the project for this config: the files and directories under the
 * temporary directory that a path in it names (a test's own migrations directory, written between
 * two runs). The project's own files do not change during a jest run; host paths in a config
 * (the Docker socket, `/`) are passed on, never read.
 */
function externalInputs(config: Readonly<Record<string, string>>): string {
  const hash = createHash("sha256");
  const tmp = [os.tmpdir(), fs.realpathSync(os.tmpdir())].map((d) => `${d}${path.sep}`);
  for (const value of strings(config)) {
    if (tmp.some((d) => value.startsWith(d)) && fs.existsSync(value)) hashTree(value, hash);
  }
  return hash.digest("hex");
}

/** The recorded run of `request`, run now or earlier in this jest run. */
async function recorded(request: RunRequest): Promise<RecordedRun> {
  const key = createHash("sha256")
    .update(JSON.stringify(request))
    .update(externalInputs(request.config))
    .digest("hex")
    .slice(0, 32);
  const answer = await ask({ key, request });
  if ("failed" in answer) throw new Error(answer.failed);
  return JSON.parse(fs.readFileSync(answer.file, "utf8")) as RecordedRun;
}

export interface RunOptions {
  preview?: boolean;
  /** The program to run, absolute or relative to this directory; default the project's index.ts. */
  program?: string;
  /** The result of a oneShot container whose name ends with the key; every other one succeeds. */
  jobs?: Readonly<Record<string, JobResult>>;
  /** What a StackReference to each stack name reads: its outputs and which are secret. */
  stackReferences?: Readonly<Record<string, StackReferenceFixture>>;
}

function request(
  config: Record<string, string>,
  stack: string,
  options: RunOptions,
  defaultJob: JobResult,
): RunRequest {
  return {
    program: options.program === undefined ? INDEX : path.resolve(__dirname, options.program),
    project: PROJECT,
    stack,
    config,
    preview: options.preview ?? false,
    jobs: options.jobs ?? {},
    defaultJob,
    stackReferences: options.stackReferences ?? {},
  };
}

export async function runProgram(
  config: Record<string, string>,
  stack: string,
  options: RunOptions = {},
): Promise<ProgramRun> {
  const r = await recorded(request(config, stack, options, JOB_SUCCEEDED));
  return {
    resources: r.resources,
    outputs: r.outputs,
    generatedSecrets: r.generatedSecrets,
    ...(r.error && { error: errorOf(r.error) }),
  };
}

/**
 * Runs the program once per stack file before the tests of the calling file, and returns a lookup
 * that throws the run's error, so each test reads a successful run.
 */
export function runEachStack<S extends string>(
  stacks: readonly S[],
  configOf: (stack: S) => Record<string, string>,
): (stack: S) => ProgramRun {
  const runs = new Map<S, ProgramRun>();
  beforeAll(async () => {
    const done = await Promise.all(stacks.map((stack) => runProgram(configOf(stack), stack)));
    stacks.forEach((stack, i) => runs.set(stack, done[i]));
  });
  return (stack) => {
    const r = runs.get(stack);
    if (!r) throw new Error(`no run for ${stack}`);
    if (r.error) throw r.error;
    return r;
  };
}

/** What a program registered and which failures reached no caller (the language host's view). */
export interface ChildRun {
  readonly containers: string[];
  readonly errors: { name?: string; message: string }[];
}

/**
 * A run's failures as the language host reports them: the program's own error and every failure
 * that reached no caller (a rejected gate inside a registration). Every oneShot container gets
 * `job`, or only those whose name ends with `only`.
 */
export async function runInChild(
  program: string,
  stack: string,
  config: Record<string, string>,
  job: JobResult,
  only?: string,
  stackReferences: Readonly<Record<string, StackReferenceFixture>> = {},
): Promise<ChildRun> {
  const options: RunOptions = { program, stackReferences };
  const r = await recorded(
    only === undefined
      ? request(config, stack, options, job)
      : request(config, stack, { ...options, jobs: { [only]: job } }, { exitCode: 0, logs: "" }),
  );
  return {
    containers: r.containers,
    errors: [...(r.thrown ? [r.thrown] : []), ...r.unhandled].map((e) => ({
      name: e.name,
      message: e.message,
    })),
  };
}

/** A stack's CLI config with `change` merged into its `services`, key by key per service. */
export function servicesWith(
  stack: StackName,
  change: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const config = cliConfig(stack);
  const services = JSON.parse(config[`${PROJECT}:services`]) as Record<string, unknown>;
  for (const [name, body] of Object.entries(change)) {
    services[name] = { ...(services[name] as object | undefined), ...(body as object) };
  }
  return { ...config, [`${PROJECT}:services`]: JSON.stringify(services) };
}

/** Runs the program with servicesWith(stack, change); throws the run's error. */
export async function runWithServices(
  stack: StackName,
  change: Readonly<Record<string, unknown>>,
): Promise<ProgramRun> {
  const r = await runProgram(servicesWith(stack, change), stack);
  if (r.error) throw r.error;
  return r;
}

/** A container's env (`NAME=value` entries) as a record. */
export function envOf(c: RecordedResource): Record<string, string> {
  return Object.fromEntries(
    (c.inputs.envs as string[]).map((e): [string, string] => {
      const at = e.indexOf("=");
      return [e.slice(0, at), e.slice(at + 1)];
    }),
  );
}

/** A resource's Docker labels as a record. */
export function labelsOf(r: RecordedResource): Record<string, string> {
  return Object.fromEntries(
    ((r.inputs.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]),
  );
}

/**
 * A file carrier: the container a Workload creates to take its uploads into volumes, never started,
 * or run once to hand the secret files to the service's user (components/carrier.ts).
 */
export function isCarrier(c: RecordedResource): boolean {
  return labelsOf(c)["vpn-enterprise.role"] === "files";
}

/** Every container that runs as the service (or job) it is: all but the file carriers. */
export function runningContainers(r: ProgramRun): RecordedResource[] {
  return r.resources.filter((x) => x.type === "docker:index/container:Container" && !isCarrier(x));
}

/** The files a container gets: its own uploads, or those of its Workload's carriers. */
export function uploadsOf(r: ProgramRun, c: RecordedResource): Record<string, unknown>[] {
  const own = (c.inputs.uploads ?? []) as Record<string, unknown>[];
  if (own.length > 0 || isCarrier(c)) return own;
  return [carrierOf(r, c), carrierOf(r, c, "live-files")].flatMap(
    (carrier) => (carrier?.inputs.uploads ?? []) as Record<string, unknown>[],
  );
}

/** The carrier of a replica's Workload (`live-files`: that of its live files), if it has one. */
export function carrierOf(
  r: ProgramRun,
  c: RecordedResource,
  kind: "files" | "live-files" = "files",
): RecordedResource | undefined {
  return r.resources.find((x) => x.name === c.name.replace(/-\d+$/, `-${kind}`));
}
