/**
 * The delivery files: .github/workflows (actionlint with shellcheck, then what each workflow must
 * do), and the shell scripts behind them (scripts/pulumi.sh for the npm scripts, scripts/ci-ssh-key.sh
 * for the prod SSH identity), run against a stub `pulumi` and a throwaway HOME.
 *
 * actionlint is built by tests/tools/actionlint/prepare.sh (.ci/run runs it); without it, or
 * without shellcheck, these tests fail and say how to get them.
 */
import { spawnSync, type SpawnSyncReturns } from "child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { parse } from "yaml";

const ROOT = resolve(__dirname, "../../..");
const WORKFLOW_DIR = join(ROOT, ".github/workflows");
const ACTIONLINT = process.env.VPN_ACTIONLINT ?? "/opt/vpn-test-tools/actionlint";
const STACKS = ["dev", "prod"];

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  "runs-on"?: string;
  needs?: string | string[];
  environment?: string | { name: string };
  strategy?: { matrix?: { stack?: string[] } };
  concurrency?: unknown;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

const workflowFiles = () =>
  readdirSync(WORKFLOW_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
const readWorkflow = (file: string) => readFileSync(join(WORKFLOW_DIR, file), "utf8");
const workflow = (file: string) => parse(readWorkflow(file)) as Workflow;

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function shellcheckPath(): string {
  const found = spawnSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === "") {
    throw new Error(
      "shellcheck is not on PATH: actionlint checks run steps with it. Run `sudo bash " +
        "tests/tools/actionlint/prepare.sh` (it installs Debian's shellcheck) or apt-get install shellcheck",
    );
  }
  return path;
}

/** actionlint on the given files (relative to cwd), with shellcheck; never silently skipped. */
function actionlint(files: string[], cwd: string): SpawnSyncReturns<string> {
  if (!existsSync(ACTIONLINT)) {
    throw new Error(
      `actionlint is missing at ${ACTIONLINT}: run \`bash tests/tools/actionlint/prepare.sh\` ` +
        "(it builds it from the Go module proxy; set VPN_ACTIONLINT to use another binary)",
    );
  }
  return spawnSync(ACTIONLINT, ["-no-color", "-shellcheck", shellcheckPath(), ...files], {
    cwd,
    encoding: "utf8",
  });
}

const allSteps = (wf: Workflow) => Object.values(wf.jobs).flatMap((job) => job.steps);
const isPulumi = (step: Step) => step.uses?.startsWith("pulumi/actions@") === true;
const pulumiStep = (job: Job) => {
  const steps = job.steps.filter(isPulumi);
  expect(steps).toHaveLength(1);
  return steps[0];
};
const needsOf = (job: Job) => (job.needs === undefined ? [] : [job.needs].flat());
const environmentOf = (job: Job) =>
  typeof job.environment === "object" ? job.environment.name : job.environment;
/** The step that installs the prod SSH identity, and where it stands among the job's steps. */
const sshStepIndex = (job: Job) =>
  job.steps.findIndex((s) => s.run === "bash scripts/ci-ssh-key.sh");

/** Every string in the workflow with the path that leads to it. */
function strings(value: unknown, path: string[] = []): [string[], string][] {
  if (typeof value === "string") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...path, String(i)]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => strings(v, [...path, k]));
  }
  return [];
}

/**
 * Where a workflow lets a secret out: a `secrets.` reference anywhere but the env of a step
 * (jobs.<job>.steps.<n>.env.<NAME>), or a run step that names a secret or traces with `set -x`.
 */
function secretLeaks(wf: Workflow): string[] {
  const leaks: string[] = [];
  for (const [path, text] of strings(wf)) {
    if (!text.includes("secrets.")) continue;
    if (path[0] !== "jobs" || path[2] !== "steps" || path[4] !== "env") {
      leaks.push(`${path.join(".")}: a secret outside a step's env`);
    }
  }
  for (const [name, job] of Object.entries(wf.jobs)) {
    job.steps.forEach((step, n) => {
      if (/secrets\.|set -x/.test(step.run ?? "")) {
        leaks.push(`jobs.${name}.steps.${n}.run: names a secret or traces: ${step.run ?? ""}`);
      }
    });
  }
  return leaks;
}

describe("actionlint", () => {
  test("every workflow passes actionlint with shellcheck", () => {
    const files = workflowFiles();
    expect(files).toEqual(["deploy.yml", "drift.yml", "preview.yml", "test.yml"]);
    const result = actionlint(
      files.map((f) => join(".github/workflows", f)),
      ROOT,
    );
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  // The same file, broken one way at a time, in a directory of its own beside an unbroken copy.
  const dir = tempDir("actionlint-");
  const original = readWorkflow("preview.yml");
  const lint = (text: string) => {
    writeFileSync(join(dir, "preview.yml"), text);
    return actionlint(["preview.yml"], dir);
  };
  const lineOf = (text: string, needle: string) =>
    text.split("\n").findIndex((l) => l.includes(needle)) + 1;

  test("the unbroken copy passes, so what fails below is the breakage", () => {
    const result = lint(original);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  test.each([
    {
      what: "an unclosed expression",
      from: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
      to: "${{ secrets.PULUMI_ACCESS_TOKEN }",
      finding: /\[expression\]/,
    },
    {
      what: "an input pulumi/actions@v6 does not have (the kebab-case spelling of policyPacks)",
      from: "policyPacks: policy",
      to: "policy-packs: policy",
      finding: /input "policy-packs" is not defined in action "pulumi\/actions@v6".*\[action\]/,
    },
    {
      what: "an input actions/setup-node@v4 does not have",
      from: "node-version: 20",
      to: "node-versoin: 20",
      finding: /input "node-versoin" is not defined in action "actions\/setup-node@v4"/,
    },
    {
      what: "a pull request's branch name pasted into a script",
      from: "run: bash scripts/ci-ssh-key.sh",
      to: 'run: echo "${{ github.event.pull_request.head.ref }}"',
      finding: /"github\.event\.pull_request\.head\.ref" is potentially untrusted/,
    },
    {
      what: "an unquoted variable in a run step (shellcheck)",
      from: "run: npm ci --no-audit --no-fund",
      to: "run: npm ci --prefix $HOME/*",
      finding: /SC2086.*\[shellcheck\]/,
    },
    {
      what: "a matrix value no job defines",
      from: "policy/config.${{ matrix.stack }}.json",
      to: "policy/config.${{ matrix.stak }}.json",
      finding: /property "stak" is not defined/,
    },
  ])("actionlint fails on $what", ({ from, to, finding }) => {
    expect(original).toContain(from);
    const broken = original.replace(from, to);
    const result = lint(broken);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(finding);
    expect(result.stdout).toContain(`preview.yml:${lineOf(broken, to)}:`);
  });
});

describe("what the workflows do", () => {
  test("every workflow has top-level permissions, and only the preview may write (its comment)", () => {
    for (const file of workflowFiles()) {
      const { permissions } = workflow(file);
      expect([file, typeof permissions]).toEqual([file, "object"]);
      const writes = Object.entries(permissions as Record<string, string>)
        .filter(([, level]) => level !== "read")
        .map(([scope]) => scope);
      expect([file, writes]).toEqual([file, file === "preview.yml" ? ["pull-requests"] : []]);
    }
  });

  test("secrets reach steps only through the env of the step that needs them", () => {
    for (const file of workflowFiles()) {
      expect([file, secretLeaks(workflow(file))]).toEqual([file, []]);
    }
  });

  test("the check above reports a secret outside a step's env and a run step that could print one", () => {
    const token = "${{ secrets.X }}";
    const clean: Workflow = {
      on: {},
      jobs: { j: { steps: [{ run: "deploy", env: { TOKEN: token } }] } },
    };
    expect(secretLeaks(clean)).toEqual([]);

    const leaky: Workflow = { on: {}, jobs: { j: { steps: [{ run: `echo ${token}` }] } } };
    expect(secretLeaks(leaky)).toEqual([
      "jobs.j.steps.0.run: a secret outside a step's env",
      `jobs.j.steps.0.run: names a secret or traces: echo ${token}`,
    ]);

    const jobWide: Workflow = {
      on: {},
      jobs: { j: { env: { TOKEN: token }, steps: [{ run: "set -x; deploy" }] } },
    };
    expect(secretLeaks(jobWide)).toEqual([
      "jobs.j.env.TOKEN: a secret outside a step's env",
      "jobs.j.steps.0.run: names a secret or traces: set -x; deploy",
    ]);
  });

  test("actions are pinned to a major version at least", () => {
    for (const file of workflowFiles()) {
      for (const step of allSteps(workflow(file))) {
        if (step.uses === undefined) continue;
        expect([file, step.uses]).toEqual([
          file,
          expect.stringMatching(/^[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/),
        ]);
      }
    }
  });

  test("every Pulumi step logs in with the token, in the root project, and is serialised per stack", () => {
    for (const file of ["preview.yml", "deploy.yml", "drift.yml"]) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        const step = pulumiStep(job);
        expect([file, name, step.uses, step.with?.["work-dir"], step.env]).toEqual([
          file,
          name,
          "pulumi/actions@v6",
          ".",
          { PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}" },
        ]);
        expect([file, name, step.with?.["stack-name"]]).toEqual([
          file,
          name,
          "${{ env.STACK_NAME }}",
        ]);
        expect([file, name, job.concurrency]).toEqual([file, name, expect.anything()]);
      }
    }
  });

  test("preview: on pull requests, both stacks, the diff on the PR, with the policy pack", () => {
    const wf = workflow("preview.yml");
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    const job = wf.jobs.preview;
    expect(job.strategy?.matrix?.stack).toEqual(STACKS);
    expect(job.env?.STACK_NAME).toContain("matrix.stack");
    expect(pulumiStep(job).with).toMatchObject({
      command: "preview",
      "comment-on-pr": true,
      diff: true,
      policyPacks: "policy",
      policyPackConfigs: "policy/config.${{ matrix.stack }}.json",
    });
    for (const stack of STACKS) {
      expect(existsSync(join(ROOT, `Pulumi.${stack}.yaml`))).toBe(true);
      expect([stack, existsSync(join(ROOT, "policy", `config.${stack}.json`))]).toEqual([
        stack,
        true,
      ]);
    }
    const ssh = sshStepIndex(job);
    expect(ssh).toBeGreaterThan(-1);
    expect(ssh).toBeLessThan(job.steps.findIndex(isPulumi));
    expect(job.steps[ssh].if).toBe("matrix.stack == 'prod'");
  });

  test("deploy: on pushes to main, dev first, then prod behind the production environment", () => {
    const wf = workflow("deploy.yml");
    expect(wf.on.push).toEqual({ branches: ["main"] });
    const { dev, prod } = wf.jobs;
    expect(needsOf(dev)).toEqual([]);
    expect(needsOf(prod)).toEqual(["dev"]);
    expect(environmentOf(prod)).toBe("production");
    expect(environmentOf(dev)).toBeUndefined();
    for (const [stack, job] of [
      ["dev", dev],
      ["prod", prod],
    ] as const) {
      expect(job.env?.STACK_NAME).toContain(`'${stack}'`);
      expect(pulumiStep(job).with).toMatchObject({
        command: "up",
        policyPacks: "policy",
        policyPackConfigs: `policy/config.${stack}.json`,
      });
    }
    expect(sshStepIndex(prod)).toBeGreaterThan(-1);
    expect(sshStepIndex(prod)).toBeLessThan(prod.steps.findIndex(isPulumi));
    expect(sshStepIndex(dev)).toBe(-1);
    // dev's engine is the runner's own: a GitHub-hosted runner's vanishes with the job.
    expect(dev["runs-on"]).toContain("vars.DEV_RUNNER");
    expect(dev.steps[0].if).toBe("vars.DEV_RUNNER == ''");
  });

  test("drift: daily and by hand, a refresh of both stacks that fails on any change", () => {
    const wf = workflow("drift.yml");
    expect(Object.keys(wf.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    const daily = expect.stringMatching(/^\d+ \d+ \* \* \*$/) as string;
    expect(wf.on.schedule).toEqual([{ cron: daily }]);
    const job = wf.jobs.refresh;
    expect(job.strategy?.matrix?.stack).toEqual(STACKS);
    expect(pulumiStep(job).with).toMatchObject({ command: "refresh", "expect-no-changes": true });
    expect(job.steps[sshStepIndex(job)].if).toBe("matrix.stack == 'prod'");
    expect(job["runs-on"]).toContain("vars.DEV_RUNNER");
  });

  test("the prod SSH identity comes from the key secret and the known-hosts variable", () => {
    for (const file of ["preview.yml", "deploy.yml", "drift.yml"]) {
      const steps = allSteps(workflow(file)).filter((s) => s.run === "bash scripts/ci-ssh-key.sh");
      expect([file, steps.length]).toEqual([file, 1]);
      expect(steps[0].env).toEqual({
        DEPLOY_SSH_KEY: "${{ secrets.PROD_SSH_PRIVATE_KEY }}",
        DEPLOY_SSH_KNOWN_HOSTS: "${{ vars.PROD_SSH_KNOWN_HOSTS }}",
      });
    }
  });

  test("test: runs .ci/run on Debian as root, as CI does", () => {
    const wf = workflow("test.yml");
    expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "push"]);
    const steps = wf.jobs.test.steps;
    expect(steps[steps.length - 1].run).toBe("bash .ci/run");
  });
});

describe("shell scripts", () => {
  test("shellcheck passes on scripts/ and the actionlint prepare script", () => {
    const files = [
      ...readdirSync(join(ROOT, "scripts"))
        .filter((f) => f.endsWith(".sh"))
        .map((f) => join("scripts", f)),
      "tests/tools/actionlint/prepare.sh",
    ];
    expect(files).toEqual(expect.arrayContaining(["scripts/pulumi.sh", "scripts/ci-ssh-key.sh"]));
    const result = spawnSync(shellcheckPath(), files, { cwd: ROOT, encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("scripts/pulumi.sh (npm run <command>:<stack>)", () => {
  const COMMANDS = ["preview", "up", "destroy", "refresh", "outputs"];

  test("package.json runs every command for every stack through it, and keeps dev:preview/dev:up", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    for (const command of COMMANDS) {
      for (const stack of STACKS) {
        expect(pkg.scripts[`${command}:${stack}`]).toBe(
          `bash scripts/pulumi.sh ${command} ${stack}`,
        );
      }
    }
    expect(pkg.scripts["dev:preview"]).toBe("bash scripts/pulumi.sh preview dev");
    expect(pkg.scripts["dev:up"]).toBe("bash scripts/pulumi.sh up dev");
  });

  // A copy of the script in a project of its own, with a `pulumi` that records how it was called.
  const base = tempDir("pulumi-sh-");
  let n = 0;
  function project(withPolicy = true): string {
    const root = join(base, `p${++n}`);
    mkdirSync(join(root, "scripts"), { recursive: true });
    copyFileSync(join(ROOT, "scripts/pulumi.sh"), join(root, "scripts/pulumi.sh"));
    for (const stack of STACKS) writeFileSync(join(root, `Pulumi.${stack}.yaml`), "config: {}\n");
    if (withPolicy) {
      mkdirSync(join(root, "policy"));
      for (const stack of STACKS) writeFileSync(join(root, `policy/config.${stack}.json`), "{}\n");
    }
    mkdirSync(join(root, "bin"));
    writeFileSync(
      join(root, "bin/pulumi"),
      '#!/bin/sh\nprintf "%s|%s\\n" "$PULUMI_BACKEND_URL" "$*" >>"$(dirname "$0")/calls"\n',
      { mode: 0o755 },
    );
    return root;
  }
  function run(root: string, args: string[], env: Record<string, string> = {}) {
    const result = spawnSync("bash", [join(root, "scripts/pulumi.sh"), ...args], {
      cwd: tmpdir(),
      encoding: "utf8",
      env: { PATH: `${join(root, "bin")}:${process.env.PATH ?? ""}`, HOME: root, ...env },
    });
    const log = join(root, "bin/calls");
    const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
    return { ...result, calls };
  }

  test("preview: a local file backend made in the project, the stack created, the policy pack applied", () => {
    const root = project();
    const r = run(root, ["preview", "dev", "--diff"]);
    expect(r.stderr).toContain("preview on stack dev, local file backend ./.pulumi-state");
    expect(r.status).toBe(0);
    const backend = `file://${root}/.pulumi-state`;
    expect(r.calls).toEqual([
      `${backend}|stack select --create dev`,
      `${backend}|preview --stack dev --policy-pack ${root}/policy --policy-pack-config ${root}/policy/config.dev.json --diff`,
    ]);
    expect(statSync(join(root, ".pulumi-state")).isDirectory()).toBe(true);
  });

  test("up prod applies prod's policy config", () => {
    const root = project();
    const r = run(root, ["up", "prod"]);
    expect(r.status).toBe(0);
    expect(r.calls[1]).toContain(
      `up --stack prod --policy-pack ${root}/policy --policy-pack-config ${root}/policy/config.prod.json`,
    );
  });

  test("a backend already set is used as it is, and its URL is not printed", () => {
    const root = project();
    const url = "postgres://pulumi:hunter2@db.example.com/state";
    const r = run(root, ["refresh", "prod", "--yes"], { PULUMI_BACKEND_URL: url });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([`${url}|refresh --stack prod --yes`]);
    expect(existsSync(join(root, ".pulumi-state"))).toBe(false);
    expect(r.stdout + r.stderr).not.toContain("hunter2");
    expect(r.stderr).toContain("PULUMI_BACKEND_URL (postgres)");
  });

  test("destroy, refresh and outputs never create a stack; outputs masks secrets", () => {
    const root = project(false);
    for (const command of ["destroy", "refresh", "outputs"]) run(root, [command, "dev"]);
    const backend = `file://${root}/.pulumi-state`;
    expect(run(root, ["outputs", "prod"]).calls).toEqual([
      `${backend}|destroy --stack dev`,
      `${backend}|refresh --stack dev`,
      `${backend}|stack output --stack dev --json`,
      `${backend}|stack output --stack prod --json`,
    ]);
  });

  test("PULUMI_ORG names the organisation, as the CI's variable does", () => {
    const root = project();
    const r = run(root, ["preview", "prod"], { PULUMI_ORG: "acme" });
    expect(r.calls.map((c) => c.split("|")[1].split(" --policy-pack")[0])).toEqual([
      "stack select --create acme/prod",
      "preview --stack acme/prod",
    ]);
  });

  test.each([
    {
      args: ["preview", "staging"],
      says: "no stack file Pulumi.staging.yaml (stacks here: dev prod)",
    },
    { args: ["deploy", "dev"], says: "unknown command 'deploy'" },
    { args: ["up"], says: "usage: scripts/pulumi.sh" },
  ])("$args fails before calling pulumi: $says", ({ args, says }) => {
    const root = project();
    const r = run(root, args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(says);
    expect(r.calls).toEqual([]);
    expect(existsSync(join(root, ".pulumi-state"))).toBe(false);
  });

  test("preview and up refuse to run without the policy pack", () => {
    const root = project(false);
    for (const command of ["preview", "up"]) {
      const r = run(root, [command, "dev"]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("policy/ (the policy pack that preview and up apply) is missing");
    }
    expect(run(root, ["outputs", "dev"]).calls).toHaveLength(1);
  });

  test("without the Pulumi CLI it says so", () => {
    const root = project();
    const r = spawnSync("/bin/bash", [join(root, "scripts/pulumi.sh"), "up", "dev"], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin" },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("the Pulumi CLI is not on PATH");
  });
});

describe("scripts/ci-ssh-key.sh (the prod SSH identity in CI)", () => {
  const base = tempDir("ci-ssh-");
  const keygen = spawnSync("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "ci",
    "-f",
    join(base, "key"),
  ]);
  const key = () => readFileSync(join(base, "key"), "utf8");
  const knownHosts = () => `vpn-prod.example.com ${readFileSync(join(base, "key.pub"), "utf8")}`;
  let n = 0;
  function run(env: Record<string, string>) {
    const home = join(base, `home${++n}`);
    mkdirSync(home);
    const r = spawnSync("bash", [join(ROOT, "scripts/ci-ssh-key.sh")], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: home, ...env },
    });
    return { ...r, ssh: join(home, ".ssh") };
  }

  test("installs the key and host keys privately, strict host checking, and prints neither", () => {
    expect(keygen.status).toBe(0);
    // As a secret pasted on Windows arrives.
    const r = run({
      DEPLOY_SSH_KEY: key().replace(/\n/g, "\r\n"),
      DEPLOY_SSH_KNOWN_HOSTS: knownHosts(),
    });
    expect(r.stderr).toContain("deploy key and 1 host key(s) installed");
    expect(r.status).toBe(0);
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(r.ssh)).toBe(0o700);
    for (const f of ["vpn-enterprise-deploy", "known_hosts", "config"]) {
      expect([f, mode(join(r.ssh, f))]).toEqual([f, 0o600]);
    }
    expect(readFileSync(join(r.ssh, "vpn-enterprise-deploy"), "utf8")).toBe(key());
    const config = readFileSync(join(r.ssh, "config"), "utf8");
    expect(config).toContain(`IdentityFile ${join(r.ssh, "vpn-enterprise-deploy")}`);
    expect(config).toContain("StrictHostKeyChecking yes");
    const body = key().split("\n")[1];
    expect(r.stdout + r.stderr).not.toContain(body);
    // ssh itself reads it: the key answers for the host it names.
    const check = spawnSync("ssh", ["-F", join(r.ssh, "config"), "-G", "vpn-prod.example.com"], {
      encoding: "utf8",
    });
    expect(check.stdout).toMatch(/^stricthostkeychecking true$/m);
    expect(check.stdout).toContain(`identityfile ${join(r.ssh, "vpn-enterprise-deploy")}`);
  });

  test.each<{ what: string; env: Record<string, string>; says: string }>([
    { what: "no key", env: { DEPLOY_SSH_KNOWN_HOSTS: "x" }, says: "PROD_SSH_PRIVATE_KEY secret" },
    { what: "no host keys", env: { DEPLOY_SSH_KEY: "x" }, says: "PROD_SSH_KNOWN_HOSTS variable" },
    {
      what: "a key that is not one",
      env: { DEPLOY_SSH_KEY: "not-a-key-4f9a", DEPLOY_SSH_KNOWN_HOSTS: "x" },
      says: "not a private key OpenSSH can read",
    },
  ])("fails on $what, naming it without printing it", ({ env, says }) => {
    expect(keygen.status).toBe(0);
    const r = run(env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(says);
    expect(r.stdout + r.stderr).not.toContain("4f9a");
  });

  test("fails on host keys that are not any", () => {
    const r = run({
      DEPLOY_SSH_KEY: key(),
      DEPLOY_SSH_KNOWN_HOSTS: "vpn-prod.example.com nonsense",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("DEPLOY_SSH_KNOWN_HOSTS holds no host key");
  });
});
