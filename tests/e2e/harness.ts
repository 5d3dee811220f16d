/**
 * The real-engine suite's harness: the real Pulumi CLI (tests/e2e/prepare.sh installs it) on
 * throwaway stacks with a local file backend, against the local Docker engine, with the stand-in
 * images. Stacks are the shipped stack files with what a shared test machine needs changed
 * (stacks.ts). Nothing here is skipped: without the CLI or an engine the suite fails and says why.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { ROOT } from "../stackFiles";
import { DOCKER, docker, dockerOk, tail } from "../images/docker";

/** Where tests/e2e/prepare.sh puts the Pulumi CLI and its plugins. */
const PULUMI_DIR = process.env.VPN_E2E_PULUMI_DIR ?? "/opt/vpn-e2e/pulumi";

/** What the suite needs before any stack: the CLI, the engine, the program's dependencies. */
export function requirements(): void {
  const problems: string[] = [];
  if (!fs.existsSync(path.join(PULUMI_DIR, "pulumi"))) {
    problems.push(`no Pulumi CLI in ${PULUMI_DIR}: run sudo bash tests/e2e/prepare.sh`);
  }
  if (spawnSync(DOCKER, ["info"], { timeout: 20000 }).status !== 0) {
    problems.push("no Docker engine answers `docker info`: run sudo bash tests/e2e/prepare.sh");
  }
  if (problems.length > 0)
    throw new Error(`the real-engine suite cannot run: ${problems.join("; ")}`);
}

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** What each step took, printed at the end of the suite (benchmarks, not assertions). */
export const timings: string[] = [];

/** A throwaway stack of this project: its own state directory, its own Pulumi.<name>.yaml. */
export class E2eStack {
  readonly stateDir: string;
  readonly configFile: string;

  constructor(
    readonly name: string,
    private readonly config: Readonly<Record<string, unknown>>,
    private readonly policyConfig: string,
  ) {
    this.stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `vpn-e2e-${name}-state-`));
    this.configFile = path.join(ROOT, `Pulumi.${name}.yaml`);
  }

  private env(): NodeJS.ProcessEnv {
    // From the toolchain (prepare.sh unpacked it), every plugin is installed and none can be
    // downloaded; otherwise the CLI gets its plugins as a user's does.
    const toolchain = fs.existsSync(path.join(PULUMI_DIR, ".archive-sha256"));
    return {
      ...process.env,
      PATH: `${PULUMI_DIR}:${process.env.PATH ?? ""}`,
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: "real-engine-suite",
      PULUMI_SKIP_UPDATE_CHECK: "1",
      ...(toolchain && {
        // No "using pulumi-resource-X from $PATH" on every run.
        PULUMI_IGNORE_AMBIENT_PLUGINS: "1",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      }),
    };
  }

  /** `pulumi <args>` in the project directory; `what` names it in the timings. */
  cli(what: string, args: readonly string[], timeoutMs = 900000): CliRun {
    return this.run(what, path.join(PULUMI_DIR, "pulumi"), args, timeoutMs);
  }

  /**
   * `scripts/pulumi.sh <command> <this stack> <args>`: the script behind the README's
   * `npm run dev:up` and the other stack commands, with this stack's name and backend.
   */
  script(what: string, command: string, args: readonly string[] = []): CliRun {
    return this.run(what, "bash", ["scripts/pulumi.sh", command, this.name, ...args], 900000);
  }

  private run(what: string, file: string, args: readonly string[], timeoutMs: number): CliRun {
    const start = Date.now();
    const r = spawnSync(file, [...args], {
      cwd: ROOT,
      env: this.env(),
      encoding: "utf8",
      timeout: timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
    });
    const seconds = (Date.now() - start) / 1000;
    timings.push(`${this.name}: ${what}: ${seconds.toFixed(1)} s (exit ${String(r.status)})`);
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: `${r.stderr}${r.error ? `\n${String(r.error)}` : ""}`,
      seconds,
    };
  }

  /** Throws with the output's tail unless the run exited 0. */
  private static checked(r: CliRun, what: string): CliRun {
    if (r.status !== 0) {
      throw new Error(`${what} -> ${String(r.status)}\n${tail(r.stdout + r.stderr, 80)}`);
    }
    return r;
  }

  /** Like cli, but throws with the output's tail unless it exits 0. */
  ok(what: string, args: readonly string[]): CliRun {
    return E2eStack.checked(this.cli(what, args), `pulumi ${args.join(" ")}`);
  }

  private withStack(args: readonly string[]): string[] {
    return [...args, "--stack", this.name, "--non-interactive"];
  }

  /** The policy pack's config where scripts/pulumi.sh looks for this stack's. */
  private get policyConfigCopy(): string {
    return path.join(ROOT, "policy", `config.${this.name}.json`);
  }

  /**
   * Creates the stack with its config file (the passphrase's salt is added by the CLI), the
   * shipped file's text itself when given, else the config object.
   */
  init(text?: string): void {
    fs.writeFileSync(this.configFile, text ?? stringify({ config: this.config }));
    fs.copyFileSync(this.policyConfig, this.policyConfigCopy);
    this.ok("stack init", this.withStack(["stack", "init"]));
  }

  /** Sets one structured key (`--path`), as a user would with `pulumi config set --path`. */
  setConfig(key: string, value: string): void {
    this.ok(`config set ${key}`, this.withStack(["config", "set", "--path", key, value]));
  }

  /**
   * `pulumi up` as `npm run dev:up` runs it (with --yes, as no one is there to confirm): a
   * preview first, then the update; `skipPreview` for the later ones, whose plan a test read.
   */
  up(what = "up", { skipPreview = true }: { skipPreview?: boolean } = {}): CliRun {
    return this.script(what, "up", [
      "--yes",
      "--non-interactive",
      ...(skipPreview ? ["--skip-preview"] : []),
    ]);
  }

  preview(what = "preview", extra: readonly string[] = []): CliRun {
    return this.script(what, "preview", ["--non-interactive", ...extra]);
  }

  refresh(what = "refresh", extra: readonly string[] = []): CliRun {
    return this.script(what, "refresh", ["--yes", "--non-interactive", ...extra]);
  }

  destroy(): CliRun {
    return this.script("destroy", "destroy", ["--yes", "--non-interactive"]);
  }

  /** The stack's outputs, secrets in the clear. */
  outputs(): Record<string, unknown> {
    const r = E2eStack.checked(
      this.script("stack output", "outputs", ["--show-secrets"]),
      "scripts/pulumi.sh outputs",
    );
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  /** What a preview would do, from its JSON: each resource's name with its operations. */
  plannedChanges(): Map<string, string[]> {
    const r = E2eStack.checked(
      this.script("preview --json", "preview", ["--json", "--non-interactive"]),
      "scripts/pulumi.sh preview --json",
    );
    const plan = JSON.parse(r.stdout) as { steps?: { op: string; urn: string }[] };
    const changes = new Map<string, string[]>();
    for (const step of plan.steps ?? []) {
      if (step.op === "same" || step.op === "read") continue;
      const name = step.urn.split("::").at(-1) ?? step.urn;
      changes.set(name, [...(changes.get(name) ?? []), step.op]);
    }
    return changes;
  }

  /** Everything back as it was: the stack's resources, its state, its config file. */
  remove(): void {
    if (fs.existsSync(this.configFile)) {
      this.cli("state unprotect", this.withStack(["state", "unprotect", "--all", "--yes"]));
      this.cli("destroy (cleanup)", this.withStack(["destroy", "--yes"]));
      this.cli("stack rm", this.withStack(["stack", "rm", "--yes", "--force"]));
    }
    fs.rmSync(this.configFile, { force: true });
    fs.rmSync(this.policyConfigCopy, { force: true });
    fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** A container as `docker inspect` shows it (what the suite reads of it). */
export interface Inspected {
  readonly Id: string;
  readonly Name: string;
  readonly Image: string;
  readonly RestartCount: number;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly ExitCode: number;
    readonly Health?: { readonly Status: string };
  };
  readonly Config: {
    readonly User: string;
    readonly Labels: Readonly<Record<string, string>>;
    readonly Healthcheck?: { readonly Test: readonly string[] };
  };
  readonly HostConfig: {
    readonly ReadonlyRootfs: boolean;
    readonly CapDrop: readonly string[] | null;
    readonly CapAdd: readonly string[] | null;
    readonly SecurityOpt: readonly string[] | null;
    readonly PortBindings: Readonly<
      Record<string, readonly { HostIp: string; HostPort: string }[]>
    > | null;
  };
  readonly NetworkSettings: { readonly Networks: Readonly<Record<string, unknown>> };
  readonly Mounts: readonly {
    readonly Type: string;
    readonly Source: string;
    readonly Destination: string;
    readonly RW: boolean;
  }[];
}

/** Every container whose name starts with `prefix-`, inspected. */
export function containersOf(prefix: string): Inspected[] {
  const ids = dockerOk(["ps", "-aq", "--filter", `name=^/${prefix}-`])
    .split("\n")
    .filter(Boolean);
  if (ids.length === 0) return [];
  return JSON.parse(dockerOk(["inspect", ...ids])) as Inspected[];
}

/** Names of the Docker networks and volumes whose names start with `prefix-`. */
export function objectsOf(prefix: string): { networks: string[]; volumes: string[] } {
  const names = (kind: "network" | "volume") =>
    dockerOk([kind, "ls", "--format", "{{.Name}}"])
      .split("\n")
      .filter((n) => n.startsWith(`${prefix}-`))
      .sort();
  return { networks: names("network"), volumes: names("volume") };
}

/** Removes what a failed run may have left of a stack whose names start with `prefix-`. */
export function removeLeftovers(prefix: string): void {
  for (const c of containersOf(prefix)) docker(["rm", "-fv", c.Id]);
  const { networks, volumes } = objectsOf(prefix);
  for (const n of networks) docker(["network", "rm", n]);
  for (const v of volumes) docker(["volume", "rm", "-f", v]);
}

export const nameOf = (c: Inspected) => c.Name.replace(/^\//, "");
export const labelOf = (c: Inspected, label: string): string | undefined => c.Config.Labels[label];
