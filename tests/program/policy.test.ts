/**
 * The policy pack over every resource each stack registers, as the Pulumi CLI runs it: the pack
 * is started the way the engine's analyzer plugin starts it (run-policy-pack in policy/, which
 * compiles it with ts-node), configured with the stack's policy/config.<stack>.json, and asked over
 * gRPC to analyze each recorded resource, inputs serialized as the engine sends them (secrets
 * included, wrapped).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { JavaScriptValue, Struct } from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import { CONTAINER, POLICIES, VOLUME } from "../../policy/rules";
import { PROJECT, ROOT, STACKS, StackName, cliConfig } from "../stackFiles";
import { RecordedResource, SECRET_SIG, SIG_KEY, labelsOf, runEachStack } from "./harness";

type Obj = Record<string, unknown>;
type PackConfig = Record<string, Obj>;

interface Analysis {
  readonly violations: { policy: string; level: pb.EnforcementLevel; message: string }[];
  readonly notApplicable: { policy: string; reason: string }[];
}

const POLICY_DIR = path.join(ROOT, "policy");
const run = runEachStack(STACKS, cliConfig);

let pack: ChildProcess;
let client: AnalyzerClient;
let info: pb.AnalyzerInfo;

/** Starts the pack as the engine does; resolves with the port it prints. */
function startPack(): Promise<string> {
  const entry = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICY_DIR] });
  // Arguments as the engine passes them: its own address (unused here) and the pack directory.
  pack = spawn(process.execPath, [entry, "127.0.0.1:0", "."], { cwd: POLICY_DIR });
  let out = "";
  let err = "";
  pack.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    pack.on("exit", (code) => {
      reject(new Error(`policy pack exited (${String(code)}): ${err}`));
    });
    pack.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const port = /^(\d+)\n/.exec(out);
      if (port) resolve(port[1]);
    });
  });
}

function unary<Res>(
  send: (cb: (e: grpc.ServiceError | null, res: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    send((e, res) => {
      if (e) reject(e);
      else resolve(res);
    });
  });
}

function packConfig(stack: StackName): PackConfig {
  const file = path.join(POLICY_DIR, `config.${stack}.json`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as PackConfig;
}

const LEVELS: Record<string, pb.EnforcementLevel> = {
  advisory: pb.EnforcementLevel.ADVISORY,
  mandatory: pb.EnforcementLevel.MANDATORY,
  disabled: pb.EnforcementLevel.DISABLED,
};

/**
 * Configures the pack as the CLI does with `--policy-pack-config`: every policy gets its level
 * (the file's, else its own) and its properties (the schema's defaults, then the file's).
 */
async function configure(config: PackConfig): Promise<void> {
  const req = new pb.ConfigureAnalyzerRequest();
  for (const p of info.getPoliciesList()) {
    const { enforcementLevel, ...given } = config[p.getName()] ?? {};
    const defaults = Object.fromEntries(
      Object.entries(p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}).map(([k, s]) => [
        k,
        (s as { default?: JavaScriptValue }).default,
      ]),
    );
    const c = new pb.PolicyConfig();
    c.setEnforcementlevel(
      typeof enforcementLevel === "string" ? LEVELS[enforcementLevel] : p.getEnforcementlevel(),
    );
    c.setProperties(
      Struct.fromJavaScript({ ...defaults, ...given } as Record<string, JavaScriptValue>),
    );
    req.getPolicyconfigMap().set(p.getName(), c);
  }
  await unary((cb) => client.configure(req, cb));
}

async function analyze(stack: StackName, r: RecordedResource): Promise<Analysis> {
  const req = new pb.AnalyzeRequest();
  req.setType(r.type);
  req.setName(r.name);
  req.setUrn(`urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`);
  req.setProperties(Struct.fromJavaScript(r.inputs as Record<string, JavaScriptValue>));
  const opts = new pb.AnalyzerResourceOptions();
  opts.setProtect(r.protect);
  opts.setIgnorechangesList(r.ignoreChanges);
  opts.setDeletebeforereplace(r.deleteBeforeReplace);
  opts.setDeletebeforereplacedefined(true);
  opts.setParent(r.parent);
  req.setOptions(opts);
  const res = await unary<pb.AnalyzeResponse>((cb) => client.analyze(req, cb));
  return {
    violations: res.getDiagnosticsList().map((d) => ({
      policy: d.getPolicyname(),
      level: d.getEnforcementlevel(),
      message: d.getMessage(),
    })),
    notApplicable: res
      .getNotApplicableList()
      .map((n) => ({ policy: n.getPolicyName(), reason: n.getReason() })),
  };
}

beforeAll(async () => {
  const port = await startPack();
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  info = await unary<pb.AnalyzerInfo>((cb) => client.getAnalyzerInfo(new Empty(), cb));
}, 60000);

afterAll(() => {
  client.close();
  pack.removeAllListeners("exit");
  pack.kill();
});

test("the pack serves every rule of policy/rules.ts, mandatory", () => {
  expect(info.getName()).toBe("vpn-enterprise");
  expect(info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()])).toEqual(
    POLICIES.map((p) => [p.name, pb.EnforcementLevel.MANDATORY]),
  );
});

test.each(STACKS)("policy/config.%s.json sets only what the pack's schemas declare", (stack) => {
  const schemas = new Map(
    info
      .getPoliciesList()
      .map((p) => [p.getName(), p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}]),
  );
  for (const [policy, body] of Object.entries(packConfig(stack))) {
    const schema = schemas.get(policy) as Record<string, { type: string }> | undefined;
    expect([policy, schema === undefined]).toEqual([policy, false]);
    for (const [key, value] of Object.entries(body)) {
      const type = Array.isArray(value) ? "array" : typeof value;
      expect([policy, key, schema?.[key]?.type]).toEqual([policy, key, type]);
    }
  }
});

describe.each(STACKS)("the %s stack", (stack) => {
  const byName = (name: string): RecordedResource => {
    const r = run(stack).resources.find((x) => x.inputs.name === `vpn-enterprise-${stack}-${name}`);
    if (!r) throw new Error(`no resource vpn-enterprise-${stack}-${name}`);
    return r;
  };
  const changed = (r: RecordedResource, inputs: Obj, protect = r.protect): RecordedResource => ({
    ...r,
    inputs: { ...r.inputs, ...inputs },
    protect,
  });

  beforeAll(() => configure(packConfig(stack)));

  test("every resource the stack registers passes every rule", async () => {
    const resources = run(stack).resources;
    const results = await Promise.all(resources.map((r) => analyze(stack, r)));
    const violations = results.flatMap((a, i) =>
      a.violations.map((v) => `${resources[i].name}: ${v.policy}: ${v.message}`),
    );
    expect(violations).toEqual([]);
    // Not vacuous: each container rule ran on every container, the volume rule per the config.
    const containers = resources.filter((r) => r.type === CONTAINER);
    expect(containers.length).toBeGreaterThan(30);
    for (const [i, r] of resources.entries()) {
      const skipped = results[i].notApplicable.map((n) => n.policy);
      if (r.type === CONTAINER) expect(skipped).toEqual(["stateful-volumes-protected"]);
      if (r.type === VOLUME) {
        const volumeRule = results[i].notApplicable.find(
          (n) => n.policy === "stateful-volumes-protected",
        );
        expect(volumeRule?.reason).toBe(
          stack === "dev" ? "protectStatefulVolumes is off for this stack" : undefined,
        );
      }
    }
  });

  test("a container that publishes beyond loopback is reported, naming it", async () => {
    const grafana = byName("grafana-1");
    const open = changed(grafana, {
      ports: [{ internal: 3000, external: 3000, ip: "0.0.0.0", protocol: "tcp" }],
    });
    expect((await analyze(stack, open)).violations).toEqual([
      {
        policy: "published-ports",
        level: pb.EnforcementLevel.MANDATORY,
        message: expect.stringContaining(
          `container vpn-enterprise-${stack}-grafana-1: service "grafana" publishes 0.0.0.0:3000`,
        ) as unknown,
      },
    ]);
    const local = changed(grafana, {
      ports: [{ internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" }],
    });
    expect((await analyze(stack, local)).violations).toEqual([]);
  });

  test("a service without a healthcheck is reported, unless its label gives the reason", async () => {
    const api = changed(byName("api-1"), { healthcheck: undefined });
    delete api.inputs.healthcheck;
    expect((await analyze(stack, api)).violations.map((v) => [v.policy, v.message])).toEqual([
      [
        "container-healthcheck",
        expect.stringContaining(`container vpn-enterprise-${stack}-api-1: has no healthcheck`),
      ],
    ]);
    const exporter = byName("nginx-exporter-1");
    expect(labelsOf(exporter)["vpn-enterprise.no-healthcheck"]).toMatch(/FROM scratch/);
    const unlabelled = changed(exporter, {
      labels: (exporter.inputs.labels as { label: string }[]).filter(
        (l) => l.label !== "vpn-enterprise.no-healthcheck",
      ),
    });
    expect((await analyze(stack, unlabelled)).violations.map((v) => v.policy)).toEqual([
      "container-healthcheck",
    ]);
  });

  test("a credential in env is reported by name, even as a Pulumi secret", async () => {
    const api = byName("api-1");
    const secret = { [SIG_KEY]: SECRET_SIG, value: "API_TOKEN=s3cr3t-value" };
    const leaky = changed(api, { envs: [...(api.inputs.envs as unknown[]), secret] });
    const { violations } = await analyze(stack, leaky);
    expect(violations.map((v) => [v.policy, v.message])).toEqual([
      [
        "container-no-secret-env",
        expect.stringContaining(`container vpn-enterprise-${stack}-api-1: env API_TOKEN holds`),
      ],
    ]);
    expect(violations[0].message).not.toContain("s3cr3t");
  });

  test("an unprotected data volume is reported where the stack's config asks for protection", async () => {
    const volume = changed(byName("postgres-data"), {}, false);
    const { violations } = await analyze(stack, volume);
    if (stack === "dev") {
      expect(violations).toEqual([]);
    } else {
      expect(violations.map((v) => [v.policy, v.message])).toEqual([
        [
          "stateful-volumes-protected",
          expect.stringContaining(
            `volume vpn-enterprise-${stack}-postgres-data: holds postgres's data`,
          ),
        ],
      ]);
    }
  });
});
