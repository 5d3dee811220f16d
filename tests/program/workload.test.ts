import { ProgramRun, RecordedResource, runProgram } from "./harness";

const CONTAINER = "docker:index/container:Container";
type Obj = Record<string, unknown>;

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram({}, "test", { program: "./fixtures/workloads" });
  if (run.error) throw run.error;
});
const byName = (name: string): RecordedResource => {
  const r = run.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};

test("replicas get stable names, one alias, and start one after another", () => {
  const replicas = ["api-1", "api-2", "api-3"].map(byName);
  expect(replicas.map((r) => r.inputs.name)).toEqual(["t-api-1", "t-api-2", "t-api-3"]);
  for (const r of replicas) {
    expect(r.inputs.networksAdvanced).toEqual([{ name: "net-app-id", aliases: ["api"] }]);
  }
  const replicaDeps = replicas.map((r) =>
    r.dependencies.filter((urn) => urn.includes("docker:index/container:Container::")),
  );
  expect(replicaDeps[0]).toEqual([]);
  expect(replicaDeps[1]).toEqual([expect.stringMatching(/::api-1$/)]);
  expect(replicaDeps[2]).toEqual([expect.stringMatching(/::api-2$/)]);
  expect(run.outputs.apiNames.value).toEqual(["t-api-1", "t-api-2", "t-api-3"]);
});

test("a build is local only, never at preview, and containers run its digest", () => {
  const image = byName("api-image");
  expect(image.type).toBe("docker:index/image:Image");
  expect(image.inputs).toMatchObject({
    imageName: "t-api:local",
    skipPush: true,
    buildOnPreview: false,
    build: { context: "./examples/api", dockerfile: "Dockerfile", target: "runtime" },
  });
  expect(byName("api-1").inputs.image).toBe("sha256:mock-build-t-api:local");
});

test("a remote image is pulled by reference, kept on the host, and run by id", () => {
  expect(byName("web-image").inputs).toMatchObject({
    name: "registry.example.com/web:2.0.0",
    keepLocally: true,
  });
  expect(byName("web-1").inputs.image).toBe("sha256:mock-registry.example.com/web:2.0.0");
});

test("with a read-only root, uploads land on an anonymous volume of their directory", () => {
  const api = byName("api-1").inputs;
  expect(api.readOnly).toBe(true);
  expect(api.tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,size=64m" });
  expect(api.volumes).toEqual([{ containerPath: "/etc/api" }]);
  expect(api.uploads).toEqual([{ file: "/etc/api/app.json", content: "{}", permissions: "0444" }]);
});

test("a service that needs a writable root says so, and gets no tmpfs or upload volumes", () => {
  const web = byName("web-1").inputs;
  expect(web.readOnly).toBe(false);
  expect(web.tmpfs).toBeUndefined();
  expect(web.volumes).toEqual([]);
  expect(web.capabilities).toEqual({ drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE"] });
});

test("published ports bind exactly the configured address", () => {
  expect(byName("web-1").inputs.ports).toEqual([
    { internal: 3000, external: 8080, ip: "0.0.0.0", protocol: "tcp" },
  ]);
  expect(byName("api-1").inputs.ports).toEqual([]);
});

test("explicit dependencies hold the first replica back until every replica they name is up", () => {
  const deps = byName("web-1").dependencies;
  for (const n of ["api-1", "api-2", "api-3"]) {
    expect(
      deps.filter((urn) => urn.endsWith(`docker:index/container:Container::${n}`)),
    ).toHaveLength(1);
  }
});

test("values are written as the provider reads them back", () => {
  const api = byName("api-1");
  expect(api.inputs.cpus).toBe("0.5");
  expect(api.inputs.healthcheck).toEqual({
    tests: ["CMD", "true"],
    interval: "1m30s",
    timeout: "5s",
    startPeriod: "10s",
    retries: 5,
  });
  expect(api.inputs.waitTimeout).toBe(10 + (90 + 5) * 5 + 30);
  expect(api.inputs.envs).toEqual(["NODE_ENV=production"]);
  expect(api.replaceOnChanges).toEqual(["tmpfs", "init"]);
  for (const c of run.resources.filter((r) => r.type === CONTAINER)) {
    expect((c.inputs.labels as Obj[]).map((l) => l.label)).toEqual([
      "vpn-enterprise.project",
      "vpn-enterprise.replica",
      "vpn-enterprise.service",
      "vpn-enterprise.stack",
      "vpn-enterprise.tier",
    ]);
  }
});
