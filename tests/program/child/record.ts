/**
 * Runs programs under Pulumi mocks in a plain Node process and records what each registered (a
 * RecordedRun, as JSON). The pool (../runPool.ts) starts it through tsx and keeps each record for
 * every test of the same `jest` run that asks for the same request.
 *
 * A process of its own rather than a fresh SDK inside jest: a run here costs what the program
 * costs (no second module registry, no source-mapped stack on every promise), and a failure that
 * reaches no caller (a rejected gate inside a registration) is observed as the language host
 * observes it, as an unhandled rejection, instead of being pinned on whichever test is running.
 *
 * Protocol: one request per line on stdin, `{ request, out }`; the RecordedRun is written to `out`
 * and `{ done: out }` (or `{ failed }`) printed on a line of its own after ANSWER (whatever the
 * program itself prints is left around it). The SDK is loaded once; each run
 * gets a store of its own (the SDK's withLocalStorage, as the Automation API runs inline programs)
 * and a fresh copy of the project's modules. While a run is in progress stdin does not hold the
 * event loop, so a run held by a failed gate ends as the language host's does, when the loop runs
 * dry (beforeExit). What such a run leaves waiting can never move again (the loop had nothing left
 * to do for it), so the next run shares the process safely.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as state from "@pulumi/pulumi/runtime/state";
import type {
  ExportedValue,
  JobResult,
  RecordedError,
  RecordedRun,
  RecordedResource,
  RunRequest,
} from "../runTypes";
import { MOCK_CERT_PEM, MOCK_KEY_PEM, RUNNER_ANSWER as ANSWER } from "../runTypes";

// Every Output records the stack of its creation (debuggablePromise): formatting those stacks,
// let alone mapping them back to the TypeScript, costs more than the program itself. Recorded
// errors keep their name and message; VPN_PROGRAM_STACKS=1 keeps stacks, to debug a program crash.
process.setSourceMapsEnabled(process.env.VPN_PROGRAM_STACKS === "1");
if (process.env.VPN_PROGRAM_STACKS !== "1") Error.stackTraceLimit = 0;

// Every Output whose value holds a resource (a dependsOn gate) has the SDK walk that value's
// enumerable fields for unknowns (containsUnknowns), and a resource's links (its parent, its
// providers) lead through the whole tree: each such walk visits every resource. These links never
// hold an unknown, so here they are kept off the walk (non-enumerable, same values): a run takes
// half the time and records the same (the records of both stacks were compared byte for byte).
for (const field of [
  "__parentResource",
  "__providers",
  "__prov",
  "__transformations",
  "__aliases",
]) {
  Object.defineProperty(pulumi.Resource.prototype, field, {
    configurable: true,
    set(this: object, value: unknown) {
      Object.defineProperty(this, field, {
        value,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    },
  });
}
const ROOT = path.resolve(__dirname, "..", "..", "..");

/** The run in progress: where its unhandled rejections go. */
let current: { unhandled: RecordedError[] } | undefined;
process.on("unhandledRejection", (reason) => {
  if (!current) throw reason;
  current.unhandled.push(describe(reason));
});

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

function describe(e: unknown): RecordedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "Error", message: String(e) };
}

/** The job result for a oneShot container: that of the longest matching name suffix. */
function jobFor(request: RunRequest, containerName: string): JobResult {
  const match = Object.keys(request.jobs)
    .filter((suffix) => containerName.endsWith(suffix))
    .sort((a, b) => b.length - a.length)
    .at(0);
  return match === undefined ? request.defaultJob : request.jobs[match];
}

/**
 * Runs `request`'s program and records it. A run that a failed gate holds ends when the event
 * loop runs dry (`drained`), as the language host's does.
 */
async function record(request: RunRequest): Promise<RecordedRun> {
  const registered = new Map<string, Omit<RecordedResource, "inputs">>();
  const inputs = new Map<string, Record<string, unknown>>();
  const generatedSecrets: string[] = [];
  const containers: string[] = [];
  const unhandled: RecordedError[] = [];
  current = { unhandled };

  await pulumi.runtime.setMocks(
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
        if (args.type === "tls:index/privateKey:PrivateKey") state.privateKeyPem = MOCK_KEY_PEM;
        if (args.type === "tls:index/selfSignedCert:SelfSignedCert") {
          state.certPem = MOCK_CERT_PEM;
          state.validityEndTime = "2027-11-25T00:00:00Z";
        }
        if (args.type === "pulumi:pulumi:StackReference") {
          const ref = request.stackReferences[String(state.name)] as
            RunRequest["stackReferences"][string] | undefined;
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
        if (args.type === "docker:index/container:Container") {
          containers.push(String(state.name));
          if (state.attach === true) {
            const result = jobFor(request, String(state.name));
            state.exitCode = result.exitCode;
            state.containerLogs = result.logs;
          }
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    request.project,
    request.stack,
    request.preview,
  );
  const monitor = settings.getMonitor() as unknown as { registerResource: Register };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const key = `${req.getType()}::${req.getName()}`;
    // The request as serialised for the engine: nested secrets stay where they are (the mocks'
    // own deserialisation lifts a secret to the top of the property that holds it).
    inputs.set(key, req.getObject()?.toJavaScript() ?? {});
    registered.set(key, {
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
  pulumi.runtime.setAllConfig(request.config);

  let thrown: ReturnType<typeof describe> | undefined;
  let program: Record<string, unknown> = {};
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    program = require(request.program) as Record<string, unknown>;
  } catch (e) {
    thrown = describe(e);
  }
  let error = thrown;
  // Every registration first, as the engine waits for them. A failed gate leaves registrations
  // that never finish: then the event loop runs dry before they do, and what settled is recorded.
  // waitForRPCs is the SDK's own (internal) wait, which disconnect() starts with.
  const sdk = settings as unknown as { waitForRPCs(): Promise<void> };
  const registeredAll = await Promise.race([
    sdk.waitForRPCs().then(
      () => true,
      (e: unknown) => {
        error ??= describe(e);
        return true;
      },
    ),
    drained(),
  ]);
  // A turn of the event loop, so a rejection that nothing handled is reported as unhandled before
  // the exports are read (reading them handles it).
  await new Promise((resolve) => setImmediate(resolve));

  // The SDK's own promise of each value: unlike apply, it also settles on a failure. A failed
  // output (a failed gate) makes the run's error, as it fails a real `up`.
  const exported = Object.entries(program);
  const results: ({ ok: ExportedValue } | { failed: unknown } | undefined)[] = exported.map(
    () => undefined,
  );
  const reads = exported.map(async ([, value], i) => {
    if (!pulumi.Output.isInstance(value)) {
      results[i] = { ok: { value, secret: false } };
      return;
    }
    try {
      const settled = (value as unknown as { promise(): Promise<unknown> }).promise();
      results[i] = { ok: { value: await settled, secret: await pulumi.isSecret(value) } };
    } catch (e) {
      results[i] = { failed: e };
    }
  });
  if (registeredAll) {
    await Promise.all(reads);
    await settings.disconnect().catch((e: unknown) => {
      error ??= describe(e);
    });
  } else {
    await Promise.race([Promise.all(reads), drained()]);
  }
  const outputs: RecordedRun["outputs"] = {};
  exported.forEach(([key], i) => {
    const result = results[i];
    if (result === undefined) return; // never settled: held by a failed gate
    if ("ok" in result) outputs[key] = result.ok;
    else error ??= describe(result.failed);
  });

  const resources = [...registered.entries()].map(([key, o]) => ({
    ...o,
    inputs: inputs.get(key) ?? {},
  }));
  current = undefined;
  return { resources, outputs, generatedSecrets, containers, unhandled, thrown, error };
}

const drainListeners = new Set<() => void>();
/** The end of the event loop's work: the language host's own end of a program. */
function drained(): Promise<false> {
  return new Promise((resolve) => {
    const listener = () => {
      drainListeners.delete(listener);
      resolve(false);
    };
    drainListeners.add(listener);
    process.once("beforeExit", listener);
  });
}

/** Drops what `drained` left waiting, once a run has ended without the loop running dry. */
function forgetDrained(): void {
  for (const listener of drainListeners) process.removeListener("beforeExit", listener);
  drainListeners.clear();
}

/** Forgets the project's modules, so the next require runs the program anew. */
function forgetProgram(): void {
  for (const file of Object.keys(require.cache)) {
    if (file.startsWith(ROOT) && !file.includes(`${path.sep}node_modules${path.sep}`)) {
      Reflect.deleteProperty(require.cache, file);
    }
  }
}

/** The SDK's own (internal) way to give a program a store of its own. */
const store = state as unknown as {
  withLocalStorage<T>(callback: () => Promise<T>): Promise<T>;
};

const stdin = process.stdin as unknown as { ref(): void; unref(): void };

async function serve(): Promise<void> {
  let buffered = "";
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  process.stdin.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let at: number;
    while ((at = buffered.indexOf("\n")) >= 0) {
      lines.push(buffered.slice(0, at));
      buffered = buffered.slice(at + 1);
    }
    wake?.();
  });
  const input = { ended: false };
  process.stdin.on("end", () => {
    input.ended = true;
    wake?.();
  });
  for (;;) {
    if (lines.length === 0 && input.ended) process.exit(0);
    if (lines.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const line = lines.shift();
    if (line === undefined) continue;
    const { request, out } = JSON.parse(line) as { request: RunRequest; out: string };
    forgetProgram();
    try {
      // The run alone may hold the event loop: stdin waits until it is over.
      process.stdin.pause();
      stdin.unref();
      const done = await store.withLocalStorage(() => record(request));
      forgetDrained();
      stdin.ref();
      process.stdin.resume();
      fs.writeFileSync(`${out}.tmp`, JSON.stringify(done));
      fs.renameSync(`${out}.tmp`, out);
      process.stdout.write(`\n${ANSWER}${JSON.stringify({ done: out })}\n`);
    } catch (e) {
      // The runner itself failed: it answers and ends, and the pool starts another.
      const failed = { failed: describe(e).stack ?? String(e) };
      process.stdout.write(`\n${ANSWER}${JSON.stringify(failed)}\n`, () => process.exit(1));
      return;
    }
  }
}

void serve();
