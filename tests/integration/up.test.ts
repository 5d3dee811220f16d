/**
 * `pulumi up` of a throwaway stack against a real Docker engine through the Automation API, then a
 * preview that must show no change (no perpetual diff), then `destroy`.
 *
 * It needs VPN_INTEGRATION=1, the Pulumi CLI on PATH and a Docker engine that can pull the default
 * images. Without them it is reported as skipped, never as passed; CI here has no Pulumi CLI, so it
 * has not run there.
 */
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT, ROOT } from "../stackFiles";

function missing(): string[] {
  if (process.env.VPN_INTEGRATION !== "1") return ["VPN_INTEGRATION=1 is not set"];
  const reasons: string[] = [];
  if (spawnSync("pulumi", ["version"]).status !== 0) reasons.push("no Pulumi CLI on PATH");
  if (spawnSync("docker", ["info"], { timeout: 20000 }).status !== 0) {
    reasons.push("no Docker engine answers `docker info`");
  }
  return reasons;
}

const reasons = missing();
if (reasons.length > 0) {
  process.stderr.write(`integration tests NOT RUN (reported as skipped): ${reasons.join("; ")}\n`);
}

const STACK = "itest";
const PREFIX = "vpn-itest";
/** Where the stack's nginx listens on the test machine. */
const EDGE_PORT = 18080;

(reasons.length === 0 ? describe : describe.skip)("pulumi up against a real Docker engine", () => {
  let stack: Stack;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-itest-state-"));
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: STACK, workDir: ROOT },
      {
        envVars: {
          PULUMI_BACKEND_URL: `file://${stateDir}`,
          PULUMI_CONFIG_PASSPHRASE: "integration-only",
        },
      },
    );
    const json = (v: unknown) => ({ value: JSON.stringify(v) });
    const unprotected = { dataProtection: { protect: false, retainOnDelete: false } };
    const gone = {
      dataProtection: { protect: false, retainOnDelete: false, keepWhenDisabled: false },
    };
    await stack.setAllConfig({
      [`${PROJECT}:domain`]: { value: "localhost" },
      [`${PROJECT}:namePrefix`]: { value: PREFIX },
      [`${PROJECT}:networks`]: json({
        app: { subnet: "172.27.0.0/24" },
        edge: { subnet: "172.27.1.0/24" },
        data: { subnet: "172.27.2.0/24" },
        monitoring: { subnet: "172.27.3.0/24" },
      }),
      // The images this program builds, plus the data tier; Ollama and n8n (large registry images)
      // stay off, and every volume goes with the stack.
      [`${PROJECT}:tls`]: json({ mode: "off" }),
      [`${PROJECT}:services`]: json({
        // The edge on a loopback port a test machine is unlikely to use, without logins.
        nginx: {
          ports: [{ hostIp: "127.0.0.1", host: EDGE_PORT, container: 80 }],
          admin: { basicAuth: false },
        },
        postgres: unprotected,
        redis: unprotected,
        backup: unprotected,
        ollama: { enabled: false, ...gone },
        n8n: { enabled: false, ...gone },
        // The monitoring tier runs as in the stacks, its volumes going with the stack.
        prometheus: unprotected,
        alertmanager: unprotected,
        grafana: unprotected,
        loki: unprotected,
      }),
    });
  }, 120000);

  afterAll(async () => {
    await stack.destroy();
    await stack.workspace.removeStack(STACK);
    fs.rmSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), { force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  }, 600000);

  test("up succeeds and exports the contract", async () => {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.outputsVersion.value).toBe(1);
    expect(up.outputs.credentials.secret).toBe(true);
  }, 900000);

  test("the edge routes to the API and the dashboard", async () => {
    for (const [p, status] of [
      ["/health", 200],
      ["/api/health", 200],
      ["/", 200],
      ["/admin/", 404],
      // Grafana through the edge, from its sub-path.
      ["/grafana/api/health", 200],
    ] as const) {
      const res = await fetch(`http://127.0.0.1:${EDGE_PORT}${p}`);
      expect([p, res.status]).toEqual([p, status]);
    }
  });

  test("a preview right after up changes nothing", async () => {
    const preview = await stack.preview();
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  }, 300000);

  test("the containers run as configured: healthy, non-root, read-only, no capabilities", () => {
    for (const name of [
      `${PREFIX}-nginx-1`,
      `${PREFIX}-postgres-1`,
      `${PREFIX}-redis-1`,
      `${PREFIX}-api-1`,
      `${PREFIX}-web-1`,
      `${PREFIX}-python-ai-1`,
    ]) {
      const inspect = JSON.parse(
        execFileSync("docker", ["inspect", name], { encoding: "utf8" }),
      ) as {
        State: { Health: { Status: string } };
        Config: { User: string };
        HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[]; SecurityOpt: string[] };
      }[];
      const c = inspect[0];
      expect(c.State.Health.Status).toBe("healthy");
      expect(c.Config.User).not.toMatch(/^(0|root)?(:|$)/);
      expect(c.HostConfig.ReadonlyRootfs).toBe(true);
      expect(c.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(c.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
    }
  });
});
