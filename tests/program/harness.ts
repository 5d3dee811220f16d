/**
 * Runs the whole program (index.ts) under Pulumi mocks, with a stack's config as the CLI would pass
 * it, and records every resource with its inputs and options.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import type * as pulumiType from "@pulumi/pulumi";
import { PROJECT, StackName, cliConfig } from "../stackFiles";

/** The marker Pulumi's RPC layer wraps secret values in. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly replaceOnChanges: string[];
  readonly ignoreChanges: string[];
  readonly additionalSecretOutputs: string[];
  readonly dependencies: string[];
  readonly parent: string;
}

export interface ExportedValue {
  readonly value: unknown;
  readonly secret: boolean;
}

export interface ProgramRun {
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, ExportedValue>;
  /** The values the mocks handed out as generated passwords. */
  readonly generatedSecrets: string[];
  readonly error?: Error;
}

interface MonitorRequest {
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getType(): string;
  getName(): string;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getDependenciesList(): string[];
  getParent(): string;
}
type Register = (req: MonitorRequest, cb: (...a: unknown[]) => void) => Promise<void>;

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

// Each run loads a fresh copy of the Pulumi SDK, which adds its own process exit listeners.
process.setMaxListeners(50);

/** What a oneShot container (attach: true) reports once it has exited. */
/** A referenced stack as the engine reports it: its outputs, and the names of the secret ones. */
export interface StackReferenceFixture {
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly secretOutputNames: readonly string[];
}

export interface JobResult {
  readonly exitCode: number;
  readonly logs: string;
}

/** What the mocked TLS provider hands out (placeholders: nothing parses them under mocks). */
export const MOCK_KEY_PEM = "-----BEGIN PRIVATE KEY-----\nmock-key\n-----END PRIVATE KEY-----\n";
export const MOCK_CERT_PEM = "-----BEGIN CERTIFICATE-----\nmock-cert\n-----END CERTIFICATE-----\n";

/** A job that succeeded, as the migration runner reports it. */
export const JOB_SUCCEEDED: JobResult = {
  exitCode: 0,
  logs: "migrations: applied 1, already applied 0\n",
};

export async function runProgram(
  config: Record<string, string>,
  stack: string,
  options: {
    preview?: boolean;
    program?: string;
    /** The result of each oneShot container, by container name; default success. */
    job?: (containerName: string) => JobResult;
    /** What a StackReference to each stack name reads: its outputs and which are secret. */
    stackReferences?: Readonly<Record<string, StackReferenceFixture>>;
  } = {},
): Promise<ProgramRun> {
  const inputs = new Map<string, Record<string, unknown>>();
  const opts = new Map<string, Omit<RecordedResource, "inputs">>();
  const generatedSecrets: string[] = [];
  let pulumi!: typeof pulumiType;
  let settings!: typeof import("@pulumi/pulumi/runtime/settings");
  let program: Record<string, unknown> = {};
  let error: Error | undefined;

  // isolateModules needs synchronous requires: each run gets a fresh SDK, mocks and program.
  /* eslint-disable @typescript-eslint/no-require-imports */
  jest.isolateModules(() => {
    pulumi = require("@pulumi/pulumi") as typeof pulumiType;
    settings = require("@pulumi/pulumi/runtime/settings") as typeof settings;
    void pulumi.runtime.setMocks(
      {
        newResource(args) {
          const state: Record<string, unknown> = { ...(args.inputs as Record<string, unknown>) };
          if (args.type === "random:index/randomPassword:RandomPassword") {
            const value = `GENERATED${generatedSecrets.length}x${args.name.replace(/\W/g, "")}`;
            generatedSecrets.push(value);
            state.result = value;
          }
          if (args.type === "random:index/randomString:RandomString") {
            state.result = `salt${args.name.replace(/\W/g, "")}`.slice(0, 16);
          }
          if (args.type === "tls:index/privateKey:PrivateKey") {
            state.privateKeyPem = MOCK_KEY_PEM;
          }
          if (args.type === "tls:index/selfSignedCert:SelfSignedCert") {
            state.certPem = MOCK_CERT_PEM;
            state.validityEndTime = "2027-11-25T00:00:00Z";
          }
          if (args.type === "pulumi:pulumi:StackReference") {
            const ref = options.stackReferences?.[String(state.name)];
            if (!ref) throw new Error(`no stack reference fixture for ${String(state.name)}`);
            state.outputs = ref.outputs;
            state.secretOutputNames = ref.secretOutputNames;
          }
          if (args.type === "docker:index/remoteImage:RemoteImage") {
            state.imageId = `sha256:mock-${String(state.name)}`;
            // What the engine reports for a pulled image; nothing for one it built from git.
            if (state.build === undefined) state.repoDigest = `${String(state.name)}@sha256:mock`;
          }
          if (args.type === "docker:index/image:Image") {
            state.repoDigest = `sha256:mock-build-${String(state.imageName)}`;
          }
          if (args.type === "docker:index/container:Container" && state.attach === true) {
            const result = (options.job ?? (() => JOB_SUCCEEDED))(String(state.name));
            state.exitCode = result.exitCode;
            state.containerLogs = result.logs;
          }
          return { id: `${args.name}-id`, state };
        },
        call: (args) => args.inputs as Record<string, unknown>,
      },
      PROJECT,
      stack,
      options.preview ?? false,
    );
    const monitor = settings.getMonitor() as unknown as { registerResource: Register };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      // The request as serialised for the engine: nested secrets stay where they are (the mocks'
      // own deserialisation lifts a secret to the top of the property that holds it).
      inputs.set(`${req.getType()}::${req.getName()}`, req.getObject()?.toJavaScript() ?? {});
      opts.set(`${req.getType()}::${req.getName()}`, {
        type: req.getType(),
        name: req.getName(),
        protect: req.getProtect(),
        retainOnDelete: req.getRetainondelete(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        replaceOnChanges: req.getReplaceonchangesList(),
        ignoreChanges: req.getIgnorechangesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        dependencies: req.getDependenciesList(),
        parent: req.getParent(),
      });
      return original(req, cb);
    };
    pulumi.runtime.setAllConfig(config);
    try {
      program = require(options.program ?? "../../index") as Record<string, unknown>;
    } catch (e) {
      error = e as Error;
    }
  });
  /* eslint-enable @typescript-eslint/no-require-imports */

  const outputs: Record<string, ExportedValue> = {};
  // A failed output (a failed migration gate) makes the run's error, as it fails a real `up`.
  try {
    for (const [key, value] of Object.entries(program)) {
      if (pulumi.Output.isInstance(value)) {
        try {
          // The SDK's own promise of the value: unlike apply, it also settles on a failure.
          const settled = (value as unknown as { promise(): Promise<unknown> }).promise();
          outputs[key] = { value: await settled, secret: await pulumi.isSecret(value) };
        } catch (e) {
          error ??= e as Error;
        }
      } else {
        outputs[key] = { value, secret: false };
      }
    }
    await settings.disconnect().catch((e: unknown) => {
      error ??= e as Error;
    });
  } catch (e) {
    error ??= e as Error;
  }

  const resources = [...opts.entries()].map(([key, o]) => ({
    ...o,
    inputs: inputs.get(key) ?? {},
  }));
  return { resources, outputs, generatedSecrets, error };
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
    for (const stack of stacks) runs.set(stack, await runProgram(configOf(stack), stack));
  });
  return (stack) => {
    const r = runs.get(stack);
    if (!r) throw new Error(`no run for ${stack}`);
    if (r.error) throw r.error;
    return r;
  };
}

/** What a program run in a child process registered and which failures reached no caller. */
export interface ChildRun {
  readonly containers: string[];
  readonly errors: { name?: string; message: string }[];
}

/**
 * Runs a program under mocks in a plain Node child process (child/failingRun.js), where a failure
 * that reaches no caller (a rejected gate inside a registration) can be observed: inside jest it
 * would be pinned on the running test. Every oneShot container gets `job`, or only those whose
 * name ends with `only`.
 */
export function runInChild(
  program: string,
  stack: string,
  config: Record<string, string>,
  job: JobResult,
  only?: string,
  stackReferences: Readonly<Record<string, StackReferenceFixture>> = {},
): ChildRun {
  // Its exit status is the SDK's (it reports promises still pending at exit); stdout is the result.
  const { stdout } = spawnSync(
    process.execPath,
    [path.join(__dirname, "child", "failingRun.js"), program, stack],
    {
      env: {
        ...process.env,
        VPN_CONFIG: JSON.stringify(config),
        VPN_JOB_RESULT: JSON.stringify(job),
        ...(only !== undefined && { VPN_JOB_ONLY: only }),
        VPN_STACK_REFERENCES: JSON.stringify(stackReferences),
      },
      cwd: path.resolve(__dirname, "..", ".."),
      encoding: "utf8",
    },
  );
  return JSON.parse(stdout) as ChildRun;
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
