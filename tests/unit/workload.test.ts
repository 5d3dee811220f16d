import type * as docker from "@pulumi/docker";
import { WorkloadArgs, validateWorkload } from "../../components/workload";

const base: WorkloadArgs = {
  service: "api",
  tier: "app",
  namePrefix: "p",
  labels: {},
  image: { ref: "api:1.0.0" },
  replicas: 2,
  resources: { cpus: 1, memoryMb: 512, pidsLimit: 100 },
  user: "1001:1001",
  networks: [],
  port: 3000,
  healthcheck: { test: ["CMD", "true"] },
};

describe("validateWorkload", () => {
  test("accepts a sound workload", () => {
    expect(() => {
      validateWorkload(base);
    }).not.toThrow();
  });

  test("accepts a job: one container, no healthcheck, no port", () => {
    expect(() => {
      validateWorkload({
        ...base,
        oneShot: true,
        replicas: 1,
        healthcheck: undefined,
        port: undefined,
      });
    }).not.toThrow();
  });

  test("accepts root for a oneShot job that says why, and a volume the replicas share", () => {
    expect(() => {
      validateWorkload({
        ...base,
        oneShot: true,
        replicas: 1,
        healthcheck: undefined,
        user: "0:0",
        rootReason: "chown of a new volume",
        capAdd: ["CAP_CHOWN"],
      });
      validateWorkload({
        ...base,
        volumes: [{ volume: undefined as unknown as docker.Volume, path: "/logs", shared: true }],
      });
    }).not.toThrow();
  });

  test("accepts root without capabilities for a service that says why, and no healthcheck with a reason", () => {
    expect(() => {
      validateWorkload({ ...base, user: "0:0", rootReason: "reads the Docker socket" });
      validateWorkload({ ...base, healthcheck: undefined, noHealthcheckReason: "scratch image" });
      validateWorkload({ ...base, groupAdds: [998] });
    }).not.toThrow();
  });

  test.each<[string, Partial<WorkloadArgs>, string]>([
    ["zero replicas", { replicas: 0 }, "replicas: given 0"],
    ["root user", { user: "0:0" }, 'user: given "0:0"'],
    ["named root", { user: "root" }, 'user: given "root"'],
    ["empty healthcheck", { healthcheck: { test: [] } }, "healthcheck.test"],
    ["healthcheck without CMD", { healthcheck: { test: ["curl", "x"] } }, "healthcheck.test"],
    [
      "relative file path",
      { files: [{ path: "etc/app.conf", content: "" }] },
      "not an absolute path",
    ],
    [
      "one path twice",
      {
        files: [{ path: "/etc/a", content: "" }],
        secretFiles: [{ path: "/etc/a", content: "" }],
      },
      "/etc/a given more than once",
    ],
    [
      "capability without prefix",
      { capAdd: ["NET_BIND_SERVICE"] },
      "capAdd: given NET_BIND_SERVICE",
    ],
    [
      "scaled with a data volume",
      { volumes: [{ volume: undefined as unknown as docker.Volume, path: "/data" }] },
      "1 for a service with a data volume",
    ],
    ["a service without a healthcheck", { healthcheck: undefined }, "healthcheck: required"],
    ["a job with a healthcheck", { oneShot: true, replicas: 1 }, "none for a oneShot job"],
    [
      "a job with replicas",
      { oneShot: true, healthcheck: undefined },
      "replicas: given 2; allowed: 1 for a oneShot job",
    ],
    [
      "root for a service with a reason but a capability",
      { user: "0:0", rootReason: "because", capAdd: ["CAP_CHOWN"] },
      "capAdd: given CAP_CHOWN; allowed: none for a service running as root",
    ],
    [
      "root for a service without a reason",
      { user: "0:0" },
      'user: given "0:0"; allowed: a non-root uid[:gid] (root only with a rootReason)',
    ],
    [
      "root for a job without a reason",
      { user: "0:0", oneShot: true, replicas: 1, healthcheck: undefined },
      "root only with a rootReason",
    ],
    [
      "a healthcheck and a reason for having none",
      { noHealthcheckReason: "scratch image" },
      "noHealthcheckReason: allowed only without a healthcheck",
    ],
    ["root's group added", { groupAdds: [0] }, "groupAdds: given 0"],
    [
      "a relative bind mount",
      { binds: [{ hostPath: "src", path: "/app" }] },
      "absolute paths on both sides",
    ],
    [
      "a published port without a service port",
      { port: undefined, replicas: 1, ports: [{ hostIp: "127.0.0.1", host: 80, protocol: "tcp" }] },
      "none for a service without a port",
    ],
  ])("refuses %s", (_name, change, message) => {
    expect(() => {
      validateWorkload({ ...base, ...change });
    }).toThrow(`Workload api: `);
    expect(() => {
      validateWorkload({ ...base, ...change });
    }).toThrow(message);
  });
});
