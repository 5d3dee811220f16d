/**
 * The post-deploy smoke check as the program registers it for each stack: a job on the edge
 * network in nginx's image that runs after nginx and every routed container, with the script the
 * plan renders, the CA the edge serves and the logins as secret files; its result is an output and
 * its failure fails the run with each failing route.
 */
import { smokePlan } from "../../components/edge/smokePlan";
import { parseStackConfig } from "../../config/load";
import * as path from "path";
import { PROJECT, ROOT, STACKS, cliConfig, projectValues } from "../stackFiles";
import {
  MOCK_CERT_PEM,
  ProgramRun,
  RecordedResource,
  isSecretValue,
  labelsOf,
  reveal,
  runEachStack,
  runInChild,
  runProgram,
  runningContainers,
  servicesWith,
  uploadsOf,
} from "./harness";

const run = runEachStack(STACKS, cliConfig);
const CONTAINER = "docker:index/container:Container";
const PROGRAM = path.join(ROOT, "index.ts");

function smokeJob(r: ProgramRun): RecordedResource | undefined {
  return runningContainers(r).find((c) => labelsOf(c)["vpn-enterprise.service"] === "nginx-smoke");
}

function upload(r: ProgramRun, c: RecordedResource, file: string): { content: unknown } {
  const u = uploadsOf(r, c).find((x) => x.file === file);
  if (!u) throw new Error(`${String(c.inputs.name)} has no upload ${file}`);
  return u as { content: unknown };
}

describe.each(STACKS)("the %s stack's smoke check", (stack) => {
  const prefix = `${PROJECT}-${stack}`;

  test("one job, in nginx's image, on the edge network only, after nginx and every routed container", () => {
    const r = run(stack);
    const job = smokeJob(r);
    if (!job) throw new Error("no smoke check job");
    const nginx = runningContainers(r).find((c) => c.inputs.name === `${prefix}-nginx-1`);
    expect(job.inputs).toMatchObject({
      name: `${prefix}-nginx-smoke-1`,
      image: nginx?.inputs.image,
      user: "101:101",
      attach: true,
      restart: "no",
      ports: [],
      envs: [],
      entrypoints: ["/bin/sh", "/run/smoke/check.sh"],
      capabilities: { adds: [], drops: ["ALL"] },
    });
    const networks = (job.inputs.networksAdvanced as { name: string }[]).map((n) => n.name);
    expect(networks).toEqual(["vpn-networks-edge-id"]);
    // The edge's install jobs too: a new config or certificate is served without replacing nginx.
    const routed = [
      "nginx-1",
      "nginx-config-1",
      ...(stack === "prod" ? ["nginx-secrets-1"] : []),
      "web-1",
      "python-ai-1",
      "n8n-1",
      "grafana-1",
    ].map((c) => `${prefix}-${c}`);
    const apis = runningContainers(r)
      .map((c) => String(c.inputs.name))
      .filter((n) => n.startsWith(`${prefix}-api-`));
    expect(apis.length).toBeGreaterThan(0);
    for (const name of [...routed, ...apis]) {
      const container = r.resources.find((c) => c.type === CONTAINER && c.inputs.name === name);
      if (!container) throw new Error(`no container ${name}`);
      expect([name, job.dependencies.some((urn) => urn.endsWith(`::${container.name}`))]).toEqual([
        name,
        true,
      ]);
    }
  });

  test("its script asks for each check of the plan; the CA and logins are files, logins secret", () => {
    const r = run(stack);
    const job = smokeJob(r);
    if (!job) throw new Error("no smoke check job");
    const cfg = parseStackConfig(projectValues(stack), PROJECT, stack, ROOT);
    const plan = smokePlan(cfg);
    const script = reveal(upload(r, job, "/run/smoke/check.sh").content) as string;
    for (const c of plan.checks) {
      expect(script).toContain(`check '${c.name}' '${c.url}' ${c.expect}`);
    }
    expect(script).toMatch(/^# Runs again when this changes: containers [0-9a-f]{64}$/m);
    // It first waits out nginx's reload check (services.nginx.reloadCheckSeconds, 5, plus 1).
    expect(script).toContain('sleep "${SMOKE_SETTLE_SECONDS:-6}"');
    const files = uploadsOf(r, job).map((u) => u.file);
    if (stack === "prod") {
      // selfSigned: the check trusts exactly the certificate the edge serves.
      expect(reveal(upload(r, job, "/run/smoke/ca.pem").content)).toBe(MOCK_CERT_PEM);
      for (const login of plan.logins) {
        const u = upload(r, job, `/run/smoke/${login.name}.curlrc`);
        expect(isSecretValue(u.content)).toBe(true);
        expect(reveal(u.content)).toMatch(new RegExp(`^user = "${login.user}:GENERATED\\d+x`));
      }
      expect(plan.logins.length).toBe(2);
    } else {
      // dev: plain HTTP, no guard: nothing to trust, nobody to log in as.
      expect(files).toEqual(["/run/smoke/check.sh"]);
    }
  });

  test("its result is the smokeCheck output: the container and the checks that passed", async () => {
    const logs = "PASS edge health: GET x -> 200\nNOTE left out\nall 1 checks passed\n";
    const r = await runProgram(cliConfig(stack), stack, {
      jobs: { "-nginx-smoke-1": { exitCode: 0, logs } },
    });
    expect(r.error).toBeUndefined();
    expect(r.outputs.smokeCheck).toEqual({
      value: {
        container: `${prefix}-nginx-smoke-1`,
        passed: ["edge health: GET x -> 200"],
        notes: ["left out"],
      },
      secret: false,
    });
  });
});

/**
 * The prod program's error when only the smoke job exits with `exitCode` and `logs`. The failure
 * reaches no caller inside the program (as a failed `up` reports it): observed in a child process.
 */
async function smokeFailure(exitCode: number, logs: string): Promise<string> {
  const r = await runInChild(
    PROGRAM,
    "prod",
    cliConfig("prod"),
    { exitCode, logs },
    "-nginx-smoke-1",
  );
  expect(r.containers).toContain("vpn-enterprise-prod-nginx-smoke-1");
  // One failure (the SDK may report the same rejection once per promise that carries it).
  expect([...new Set(r.errors.map((e) => `${e.name}: ${e.message}`))]).toHaveLength(1);
  expect(r.errors[0].name).toBe("SmokeCheckError");
  return r.errors[0].message;
}

describe("a failed smoke check", () => {
  test("fails the run with each failing route and status, and says how to go on", async () => {
    const logs = [
      "PASS edge health: GET https://vpn.example.com/health -> 200",
      "FAIL route /api/ai/ (pythonAi): GET https://vpn.example.com/api/ai/health -> 502, expected 2xx, after 20 tries",
      "FAIL route /grafana/ (grafana), logged in: GET https://vpn.example.com/grafana/api/health -> 401, expected 2xx, after 1 tries",
      "2 check(s) failed",
    ].join("\n");
    const message = await smokeFailure(1, logs);
    expect(message).toContain(
      "The post-deploy smoke check failed (container vpn-enterprise-prod-nginx-smoke-1, exit code 1)",
    );
    expect(message).toContain(
      "  FAIL route /api/ai/ (pythonAi): GET https://vpn.example.com/api/ai/health -> 502, expected 2xx, after 20 tries",
    );
    expect(message).toContain("  FAIL route /grafana/ (grafana), logged in:");
    expect(message).not.toContain("PASS edge health");
    expect(message).toContain('README, "Rolling back"');
    expect(message).toMatch(
      /pulumi up --replace 'urn:pulumi:prod::vpn-enterprise::[^']*docker:index\/container:Container::vpn-smoke-job-1'/,
    );
  });

  test("without FAIL lines (the script could not run), the last lines of its output", async () => {
    const logs = "/bin/sh: /run/smoke/check.sh: Permission denied\n";
    const message = await smokeFailure(126, logs);
    expect(message).toContain("exit code 126");
    expect(message).toContain("  /bin/sh: /run/smoke/check.sh: Permission denied");
  });
});

describe("without the check", () => {
  test.each([
    ["smokeCheck.enabled false", { nginx: { smokeCheck: { enabled: false } } }],
    ["nginx disabled", { nginx: { enabled: false } }],
  ])("%s: no job, and the output is null", async (_what, change) => {
    const r = await runProgram(servicesWith("prod", change), "prod");
    expect(r.error).toBeUndefined();
    expect(smokeJob(r)).toBeUndefined();
    expect(r.outputs.smokeCheck).toEqual({ value: null, secret: false });
  });
});
