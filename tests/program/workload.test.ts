import { createHash } from "crypto";
import * as path from "path";
import { ProgramRun, RecordedResource, reveal, runInChild, runProgram } from "./harness";

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
  // The first replica waits for its files' carrier; the others for the replica before.
  expect(replicaDeps[0]).toEqual([expect.stringMatching(/::api-files$/)]);
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

test("with a read-only root, files come from a carrier through read-only volumes", () => {
  const api = byName("api-1").inputs;
  expect(api.readOnly).toBe(true);
  expect(api.tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,size=64m" });
  // The provider extracts uploads at /, which Docker refuses on a read-only root: none here.
  expect(api.uploads).toEqual([]);
  const hash = createHash("sha256")
    .update("/etc/api/app.json\u00000444\u0000{}\u0000")
    .digest("hex");
  // The volume is named after the files: other files, another volume (nothing left behind).
  const volume = `t-api-files-etc-api-${hash.slice(0, 12)}`;
  expect(api.volumes).toEqual([{ volumeName: volume, containerPath: "/etc/api", readOnly: true }]);
  // The carrier: created with the uploads (no owner: root's, as every engine keeps the archive's
  // owner without one), never started (no secret to hand over), writable root, no network.
  const carrier = byName("api-files").inputs;
  expect(carrier).toMatchObject({
    name: "t-api-files",
    start: false,
    mustRun: false,
    restart: "no",
    readOnly: false,
    networkMode: "none",
    volumes: [{ volumeName: volume, containerPath: "/etc/api" }],
    uploads: [{ file: "/etc/api/app.json", content: "{}", permissions: "0444" }],
  });
  expect(carrier.healthcheck).toBeUndefined();
  expect(byName("api-files-etc-api").inputs.name).toBe(volume);
  // A label with the files' hash replaces the replicas when a file changes.
  for (const n of ["api-1", "api-2", "api-3"]) {
    const labels = byName(n).inputs.labels as { label: string; value: string }[];
    expect(labels.find((l) => l.label === "vpn-enterprise.files-sha256")?.value).toBe(hash);
  }
});

test("secret files and new volumes: a carrier hands them to the user, even with a writable root", () => {
  const worker = byName("worker-1");
  expect(worker.inputs.readOnly).toBe(false);
  expect(worker.inputs.uploads).toEqual([]);
  expect(
    (worker.inputs.volumes as { containerPath: string; readOnly: boolean }[]).map((v) => [
      v.containerPath,
      v.readOnly,
    ]),
  ).toEqual([
    ["/var/lib/worker", undefined],
    ["/etc/worker", true],
    ["/run/secrets", true],
  ]);
  const carrier = byName("worker-files");
  // Root with CAP_CHOWN only, no network, once: chown of the secret files, then the replica.
  expect(carrier.inputs).toMatchObject({
    attach: true,
    logs: true,
    mustRun: false,
    restart: "no",
    user: "0:0",
    networkMode: "none",
    entrypoints: ["chown"],
    // The secret files, and the top of the volume handed over (mounted here read-write).
    command: ["1001:1001", "/run/secrets/token", "/var/lib/worker"],
    capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN"] },
    securityOpts: ["no-new-privileges:true"],
  });
  expect(carrier.inputs.volumes).toEqual(
    expect.arrayContaining([{ volumeName: "t-worker-data", containerPath: "/var/lib/worker" }]),
  );
  expect(carrier.inputs.start).toBeUndefined();
  // Uploaded without owner or group: the provider would otherwise have the engine look the user up
  // in the host's passwd (Engine 20.10: `getent unable to find entry "1001:1001"`).
  expect(reveal(carrier.inputs.uploads)).toEqual([
    { file: "/etc/worker/worker.conf", content: "w", permissions: "0444" },
    { file: "/run/secrets/token", content: "token-value", permissions: "0400" },
  ]);
  expect(
    worker.dependencies.filter((urn) => urn.includes("docker:index/container:Container::")),
  ).toEqual([expect.stringMatching(/::worker-files$/)]);
});

test("a chown that fails fails the deploy with the carrier's output, and no replica starts", async () => {
  const out = await runInChild(
    path.join(__dirname, "fixtures", "workloads.ts"),
    "test",
    {},
    { exitCode: 1, logs: "chown: /run/secrets/token: Operation not permitted\n" },
    "-worker-files",
  );
  expect(out.containers).toContain("t-worker-files");
  expect(out.containers).not.toContain("t-worker-1");
  // What does not wait for that carrier is deployed as usual.
  expect(out.containers).toContain("t-api-1");
  const error = out.errors.find((e) => e.name === "JobError");
  expect(error?.message).toMatch(
    /^Handing the secret files and new volumes of worker to 1001:1001 failed \(container t-worker-files, exit code 1\)/,
  );
  expect(error?.message).toContain("  chown: /run/secrets/token: Operation not permitted");
});

test("a job's output is a secret in the state when it holds secrets, and only then", () => {
  expect(byName("job-1").additionalSecretOutputs).toEqual(["containerLogs"]);
  expect(byName("api-1").additionalSecretOutputs).toEqual([]);
  expect(byName("worker-1").additionalSecretOutputs).toEqual([]);
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
  expect(api.replaceOnChanges).toEqual(["tmpfs", "init", "healthcheck", "memoryReservation"]);
  for (const c of run.resources.filter((r) => r.type === CONTAINER)) {
    const carrier = c.name.endsWith("-files");
    const files = !carrier && (c.inputs.volumes as Obj[]).length > 0;
    expect((c.inputs.labels as Obj[]).map((l) => l.label)).toEqual([
      ...(files ? ["vpn-enterprise.files-sha256"] : []),
      "vpn-enterprise.project",
      carrier ? "vpn-enterprise.role" : "vpn-enterprise.replica",
      "vpn-enterprise.service",
      "vpn-enterprise.stack",
      "vpn-enterprise.tier",
    ]);
  }
});
