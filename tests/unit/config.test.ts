import * as pulumi from "@pulumi/pulumi";
import { defaultNamePrefix, parseStackConfig } from "../../config/load";
import { isPinnedImage } from "../../config/schema";
import { PROJECT, STACKS, projectValues } from "../stackFiles";
import { expectProblem, problemsOf } from "./configProblems";

const base = { domain: "vpn.example.com" };
const svc = (name: string, body: unknown) => ({ ...base, services: { [name]: body } });
const ns = `${PROJECT}:`;

describe("the real stack files", () => {
  test.each(STACKS)("%s validates", (stack) => {
    const cfg = parseStackConfig(projectValues(stack), PROJECT, stack);
    expect(cfg.namePrefix).toBe(`vpn-enterprise-${stack}`);
    expect(Object.isFrozen(cfg.services.postgres.resources)).toBe(true);
  });

  test("dev and prod use disjoint subnets, so they can share one Docker host", () => {
    const [dev, prod] = STACKS.map((s) => parseStackConfig(projectValues(s), PROJECT, s));
    const all = [dev, prod].flatMap((c) => Object.values(c.networks).map((n) => n.subnet));
    expect(new Set(all).size).toBe(all.length);
    expect(prod.networks.app.subnet).toBe("172.20.0.0/16");
  });
});

describe("defaults", () => {
  const cfg = parseStackConfig(base, PROJECT, "staging");

  test("stateful volumes are protected unless a stack opts out", () => {
    expect(cfg.services.postgres.dataProtection).toEqual({
      protect: true,
      retainOnDelete: true,
      keepWhenDisabled: true,
    });
  });

  test("the data network is internal and nothing is published", () => {
    expect(cfg.networks.data.internal).toBe(true);
    expect(cfg.services.postgres.ports).toEqual([]);
  });

  test("a published port binds to loopback unless an address is given", () => {
    const c = parseStackConfig(
      {
        ...base,
        networks: { data: { internal: false } },
        services: { redis: { ports: [{ host: 6380 }] } },
      },
      PROJECT,
      "dev",
    );
    expect(c.services.redis.ports).toEqual([{ hostIp: "127.0.0.1", host: 6380, protocol: "tcp" }]);
  });

  test("partial blocks are completed from the catalog", () => {
    const c = parseStackConfig(svc("postgres", { resources: { cpus: 2 } }), PROJECT, "x");
    expect(c.services.postgres.resources).toEqual({ cpus: 2, memoryMb: 1024, pidsLimit: 200 });
    expect(c.services.postgres.image).toEqual({ ref: "postgres:15-alpine" });
  });

  test("secret overrides come back as Pulumi secrets", async () => {
    const c = parseStackConfig(
      { ...base, secrets: { redisPassword: "a-long-enough-password" } },
      PROJECT,
      "x",
    );
    const out = c.secrets.redisPassword;
    expect(out).toBeDefined();
    expect(out && (await pulumi.isSecret(out))).toBe(true);
  });

  test.each([
    ["VPN Enterprise", "Prod_1", "vpn-enterprise-prod-1"],
    ["vpn-enterprise", "dev", "vpn-enterprise-dev"],
    ["--odd--", "__stack__", "odd-stack"],
    [
      "a-very-long-project-name-indeed",
      "and-a-long-stack-name",
      "a-very-long-project-name-indeed-and-a-lo",
    ],
  ])(
    "the default name prefix of %s/%s is %s, which the schema accepts",
    (project, stack, prefix) => {
      expect(defaultNamePrefix(project, stack)).toBe(prefix);
      expect(parseStackConfig({ ...base, namePrefix: prefix }, PROJECT, stack).namePrefix).toBe(
        prefix,
      );
    },
  );
});

// Each bad config, the key path the error must name, and a fragment of what it must say.
const BAD: [string, Record<string, unknown>, string, string][] = [
  ["missing domain", {}, "domain", "given nothing; allowed: a lower-case DNS name"],
  ["domain of wrong type", { domain: 42 }, "domain", "given 42"],
  ["domain not a DNS name", { domain: "vpn example" }, "domain", "DNS name"],
  ["unknown top-level key", { ...base, domian: "x" }, "domian", "unknown key"],
  ["bad name prefix", { ...base, namePrefix: "Bad Prefix!" }, "namePrefix", "lower-case letters"],
  [
    "name prefix with a doubled separator",
    { ...base, namePrefix: "vpn.-dev" },
    "namePrefix",
    "joined by one",
  ],
  [
    "unknown network tier",
    { ...base, networks: { dmz: {} } },
    "networks.dmz",
    "allowed keys: edge, app, data, monitoring",
  ],
  [
    "subnet not CIDR",
    { ...base, networks: { app: { subnet: "172.20.0.0" } } },
    "networks.app.subnet",
    "CIDR",
  ],
  [
    "subnet with host bits",
    { ...base, networks: { app: { subnet: "172.20.0.1/16" } } },
    "networks.app.subnet",
    "host bits zero",
  ],
  [
    "subnet octet out of range",
    { ...base, networks: { edge: { subnet: "172.300.0.0/24" } } },
    "networks.edge.subnet",
    "CIDR",
  ],
  [
    "overlapping subnets",
    { ...base, networks: { edge: { subnet: "172.20.5.0/24" } } },
    "networks.app.subnet",
    "172.20.0.0/16 overlaps networks.edge.subnet 172.20.5.0/24",
  ],
  [
    "gateway outside subnet",
    { ...base, networks: { data: { gateway: "10.0.0.1" } } },
    "networks.data.gateway",
    "inside 172.21.1.0/24",
  ],
  [
    "internal not boolean",
    { ...base, networks: { data: { internal: "yes" } } },
    "networks.data.internal",
    "a boolean",
  ],
  ["unknown service", svc("mongo", {}), "services.mongo", "allowed keys: nginx, postgres, redis"],
  [
    "misspelled service key",
    svc("redis", { replicaz: 1 }),
    "services.redis.replicaz",
    'did you mean "replicas"',
  ],
  [
    "replicas 0",
    svc("redis", { replicas: 0 }),
    "services.redis.replicas",
    "given 0; allowed: a number >= 1",
  ],
  [
    "replicas negative",
    svc("postgres", { replicas: -2 }),
    "services.postgres.replicas",
    "given -2",
  ],
  ["replicas fractional", svc("redis", { replicas: 1.5 }), "services.redis.replicas", "an integer"],
  [
    "stateful service scaled out",
    svc("postgres", { replicas: 3 }),
    "services.postgres.replicas",
    "exactly 1",
  ],
  [
    "memory below floor",
    svc("redis", { resources: { memoryMb: 8 } }),
    "services.redis.resources.memoryMb",
    "given 8; allowed: a number >= 32",
  ],
  [
    "reservation above limit",
    svc("redis", { resources: { memoryMb: 256, memoryReservationMb: 512 } }),
    "services.redis.resources.memoryReservationMb",
    "less than resources.memoryMb (256)",
  ],
  [
    "cpus zero",
    svc("redis", { resources: { cpus: 0 } }),
    "services.redis.resources.cpus",
    "a number > 0",
  ],
  [
    "pids limit too low",
    svc("redis", { resources: { pidsLimit: 2 } }),
    "services.redis.resources.pidsLimit",
    ">= 16",
  ],
  [
    "port out of range",
    {
      ...base,
      networks: { data: { internal: false } },
      services: { redis: { ports: [{ host: 70000 }] } },
    },
    "services.redis.ports[0].host",
    "given 70000; allowed: a number <= 65535",
  ],
  [
    "port on an internal network",
    svc("postgres", { ports: [{ host: 5432 }] }),
    "services.postgres.ports[0]",
    "only on internal networks",
  ],
  [
    "duplicate host port",
    {
      ...base,
      networks: { data: { internal: false } },
      services: { postgres: { ports: [{ host: 7000 }] }, redis: { ports: [{ host: 7000 }] } },
    },
    "services.redis.ports[0].host",
    "services.postgres.ports[0] already publishes 127.0.0.1:7000/tcp",
  ],
  [
    "wildcard clashes with loopback",
    {
      ...base,
      networks: { data: { internal: false } },
      services: {
        postgres: { ports: [{ hostIp: "0.0.0.0", host: 7000 }] },
        redis: { ports: [{ host: 7000 }] },
      },
    },
    "services.redis.ports[0].host",
    "already publishes 0.0.0.0:7000/tcp",
  ],
  [
    "bad host IP",
    {
      ...base,
      networks: { data: { internal: false } },
      services: { redis: { ports: [{ hostIp: "localhost", host: 7000 }] } },
    },
    "services.redis.ports[0].hostIp",
    "an IPv4 address",
  ],
  [
    "bad protocol",
    {
      ...base,
      networks: { data: { internal: false } },
      services: { redis: { ports: [{ host: 7000, protocol: "sctp" }] } },
    },
    "services.redis.ports[0].protocol",
    'one of "tcp", "udp"',
  ],
  [
    "image both remote and build",
    svc("redis", { image: { ref: "redis:7.2-alpine", build: { context: "./redis" } } }),
    "services.redis.image",
    "exactly one of `ref`",
  ],
  ["image neither", svc("redis", { image: {} }), "services.redis.image", "exactly one of `ref`"],
  [
    "image latest",
    svc("redis", { image: { ref: "redis:latest" } }),
    "services.redis.image.ref",
    "pinned image reference",
  ],
  [
    "image without tag",
    svc("redis", { image: { ref: "redis" } }),
    "services.redis.image.ref",
    "pinned image reference",
  ],
  [
    "build without context",
    svc("redis", { image: { build: { dockerfile: "Dockerfile" } } }),
    "services.redis.image.build.context",
    "a string (required)",
  ],
  [
    "env with a credential",
    svc("redis", { env: { REDIS_PASSWORD: "x" } }),
    "services.redis.env.REDIS_PASSWORD",
    "no credentials in env",
  ],
  [
    "env with a bad name",
    svc("redis", { env: { "BAD-NAME": "x" } }),
    "services.redis.env.BAD-NAME",
    "letters, digits and _",
  ],
  [
    "env value not a string",
    svc("redis", { env: { LOG_LEVEL: 3 } }),
    "services.redis.env.LOG_LEVEL",
    "a string",
  ],
  ["root user", svc("redis", { user: "0:0" }), "services.redis.user", "non-root"],
  [
    "dataProtection not boolean",
    svc("postgres", { dataProtection: { protect: "always" } }),
    "services.postgres.dataProtection.protect",
    "a boolean",
  ],
  ["enabled not boolean", svc("redis", { enabled: "no" }), "services.redis.enabled", "a boolean"],
  [
    "secret too short",
    { ...base, secrets: { postgresPassword: "hunter2" } },
    "secrets.postgresPassword",
    "at least 16 characters",
  ],
  [
    "unknown secret",
    { ...base, secrets: { dbPassword: "x".repeat(20) } },
    "secrets.dbPassword",
    "allowed keys: postgresPassword",
  ],
];

describe("bad configs", () => {
  test.each(BAD)("%s", (_name, raw, key, fragment) => {
    expectProblem(raw, key, fragment);
  });

  test("every problem is reported at once, in one error", () => {
    const problems = problemsOf({
      domain: "BAD DOMAIN",
      networks: { app: { subnet: "nope" } },
      services: { redis: { replicas: 0, resources: { memoryMb: 1 } } },
    });
    expect(problems.map((p) => p.split(":").slice(0, 2).join(":"))).toEqual(
      expect.arrayContaining([
        `${ns}domain`,
        `${ns}networks.app.subnet`,
        `${ns}services.redis.replicas`,
        `${ns}services.redis.resources.memoryMb`,
      ]),
    );
  });

  test.each([
    ["too short", { postgresPassword: "hunter2-short" }],
    ["under an unknown name", { dbPassword: "hunter2-long-enough-value" }],
    ["as a string instead of an object", "hunter2-in-the-wrong-place"],
    ["of the wrong type", { redisPassword: ["hunter2-in-a-list"] }],
  ])("a secret value %s never appears in an error", (_name, secrets) => {
    const problems = problemsOf({ ...base, secrets });
    expect(problems.join("\n")).not.toContain("hunter2");
    expect(problems.join("\n")).toContain("a secret value (not shown)");
  });
});

describe("isPinnedImage", () => {
  test.each([
    ["postgres:15-alpine", true],
    ["registry.example.com:5000/team/api:1.4.2", true],
    [`ghcr.io/org/app@sha256:${"a".repeat(64)}`, true],
    ["postgres", false],
    ["postgres:latest", false],
    ["registry.example.com:5000/team/api", false],
    ["Postgres:15", false],
    ["postgres@sha256:short", false],
  ])("%s -> %s", (ref, pinned) => {
    expect(isPinnedImage(ref)).toBe(pinned);
  });
});
