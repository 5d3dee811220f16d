/**
 * Each rule of the policy pack (policy/rules.ts) against a compliant resource and a violating one,
 * called the way @pulumi/policy's runtime calls a validation: one args object per resource (type,
 * props, urn, name, opts, getConfig, isType/asType, notApplicable) and a reportViolation callback.
 */
import type {
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import {
  CONTAINER,
  DOCKER_SOCKET_SERVICES,
  POLICIES,
  PROTECTED_DATA_SERVICES,
  REMOTE_IMAGE,
  VOLUME,
  containerDropAllCapabilities,
  containerHealthcheck,
  containerLogRotation,
  containerMemoryLimit,
  containerNoNewPrivileges,
  containerNoSecretEnv,
  containerNotPrivileged,
  containerRestartPolicy,
  dockerSocketRestricted,
  imagesPinned,
  isLoopback,
  publishedPorts,
  statefulVolumesProtected,
} from "../../policy/rules";

type Props = Record<string, unknown>;

/** What the runtime reports when a policy calls notApplicable (server.js NotApplicableError). */
class NotApplicable extends Error {}

interface Case {
  readonly type?: string;
  readonly config?: Record<string, unknown>;
  readonly opts?: Partial<PolicyResourceOptions>;
}

/**
 * Runs `policy` over one resource as the runtime's analyze RPC does, and returns the messages it
 * reported, or "not applicable".
 */
function validate(
  policy: ResourceValidationPolicy,
  props: Props,
  { type = CONTAINER, config = {}, opts = {} }: Case = {},
): string[] | "not applicable" {
  let name = "res";
  try {
    if (typeof props.name === "string") name = props.name;
  } catch {
    // Unknown in a preview (withUnknown below): the runtime names the resource by its URN then.
  }
  const args: ResourceValidationArgs = {
    type,
    props,
    urn: `urn:pulumi:test::vpn-enterprise::${type}::${name}`,
    name,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
      ...opts,
    },
    stackTags: new Map(),
    isType: (cls) => (cls as unknown as { __pulumiType?: string }).__pulumiType === type,
    asType: () => undefined,
    getConfig: (() => config) as ResourceValidationArgs["getConfig"],
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
  const messages: string[] = [];
  const report: ReportViolation = (m) => {
    messages.push(m);
  };
  const validations = [policy.validateResource ?? []].flat();
  try {
    for (const v of validations) void v(args, report);
  } catch (e) {
    if (e instanceof NotApplicable) return "not applicable";
    throw e;
  }
  return messages;
}

const labels = (l: Record<string, string>) =>
  Object.entries(l).map(([label, value]) => ({ label, value }));

/** A service replica as the Workload records it (tests/program: every field the rules read). */
const SERVICE: Props = {
  name: "vpn-enterprise-prod-grafana-1",
  image: "sha256:4b3a8f0e5c0f5f2f0d4b2a8c4e9f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f",
  restart: "unless-stopped",
  wait: true,
  memory: 512,
  memorySwap: 512,
  logDriver: "json-file",
  logOpts: { "max-file": "3", "max-size": "10m" },
  securityOpts: ["no-new-privileges:true"],
  capabilities: { drops: ["ALL"], adds: [] },
  healthcheck: { tests: ["CMD", "wget", "-q", "http://127.0.0.1:3000/api/health"], retries: 5 },
  envs: [
    "GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana_admin_password",
    "GF_LOG_MODE=console",
  ],
  ports: [],
  volumes: [{ containerPath: "/var/lib/grafana", volumeName: "vpn-enterprise-prod-grafana-data" }],
  labels: labels({
    "vpn-enterprise.project": "vpn-enterprise",
    "vpn-enterprise.replica": "1",
    "vpn-enterprise.service": "grafana",
    "vpn-enterprise.stack": "prod",
    "vpn-enterprise.tier": "monitoring",
  }),
};
const JOB: Props = {
  ...SERVICE,
  name: "vpn-enterprise-prod-postgres-migrate-1",
  healthcheck: undefined,
  wait: undefined,
  attach: true,
  restart: "no",
  labels: labels({ "vpn-enterprise.service": "postgres-migrate" }),
};
const CARRIER: Props = {
  ...SERVICE,
  name: "vpn-enterprise-prod-grafana-files",
  healthcheck: undefined,
  start: false,
  restart: "no",
  labels: labels({ "vpn-enterprise.role": "files", "vpn-enterprise.service": "grafana" }),
};
const with_ = (base: Props, change: Props): Props => ({ ...base, ...change });

test("the pack holds every rule once, each mandatory", () => {
  const names = POLICIES.map((p) => p.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names).toHaveLength(12);
  for (const p of POLICIES) expect(p.enforcementLevel).toBe("mandatory");
});

test("container rules leave other resource types alone (not applicable, as the runtime's own helpers do)", () => {
  const container = POLICIES.filter((p) => p !== imagesPinned && p !== statefulVolumesProtected);
  for (const p of container) {
    expect(validate(p, { name: "vpn-net" }, { type: "docker:index/network:Network" })).toBe(
      "not applicable",
    );
  }
  expect(validate(statefulVolumesProtected, SERVICE)).toBe("not applicable");
});

/**
 * What a preview hands a rule where a value is not known yet (@pulumi/policy's proxy.js, internal
 * to the package, so reached by path): the props behind its unknown-checking proxy, with the named
 * keys set to the runtime's sentinel for an unknown string.
 */
function withUnknown(props: Props, keys: readonly string[]): Props {
  const proxy = jest.requireActual<{
    unknownCheckingProxy: (p: Props) => Props;
    unknownStringValue: string;
  }>("@pulumi/policy/proxy");
  return proxy.unknownCheckingProxy({
    ...props,
    ...Object.fromEntries(keys.map((k) => [k, proxy.unknownStringValue])),
  });
}

describe("values unknown in a preview", () => {
  test("the proxy does throw on such a value, so the tests below can fail", () => {
    expect(() => withUnknown(SERVICE, ["image"]).image).toThrow("can't be known during preview");
  });

  test("every rule passes quietly over any one unknown field, reporting no more than with it known", () => {
    for (const base of [SERVICE, JOB, CARRIER]) {
      for (const key of Object.keys(base)) {
        for (const p of POLICIES) {
          const known = validate(p, base);
          const unknown = validate(p, withUnknown(base, [key]));
          if (unknown !== "not applicable" && known !== "not applicable") {
            expect([p.name, key, unknown.filter((m) => !known.includes(m))]).toEqual([
              p.name,
              key,
              [],
            ]);
          }
        }
      }
    }
  });

  test("an image not built yet is judged at up, where it is known: a tag is refused then", () => {
    const tagged = with_(SERVICE, { image: "grafana/grafana:11.4.0" });
    expect(validate(imagesPinned, withUnknown(tagged, ["image"]))).toEqual([]);
    expect(validate(imagesPinned, tagged)).toEqual([
      expect.stringContaining('image "grafana/grafana:11.4.0" is a tag'),
    ]);
  });

  test("what is known is still judged: a container without a healthcheck whose image is unknown", () => {
    const unhealthy = with_(SERVICE, { healthcheck: undefined });
    expect(validate(containerHealthcheck, withUnknown(unhealthy, ["image"]))).toEqual(
      validate(containerHealthcheck, unhealthy),
    );
    expect(validate(containerHealthcheck, unhealthy)).toEqual([
      expect.stringContaining("container vpn-enterprise-prod-grafana-1: "),
    ]);
    // Its Docker name unknown too, the violation is reported under the resource's Pulumi name.
    expect(validate(containerHealthcheck, withUnknown(unhealthy, ["image", "name"]))).toEqual([
      expect.stringContaining("container res: "),
    ]);
  });
});

describe("container-healthcheck", () => {
  test("a service with a CMD healthcheck, a job and a carrier pass", () => {
    expect(validate(containerHealthcheck, SERVICE)).toEqual([]);
    expect(validate(containerHealthcheck, JOB)).toEqual([]);
    expect(validate(containerHealthcheck, CARRIER)).toEqual([]);
    const shell = { tests: ["CMD-SHELL", "pg_isready -q"] };
    expect(validate(containerHealthcheck, with_(SERVICE, { healthcheck: shell }))).toEqual([]);
  });

  test("a service without one is refused, naming the container and the way out", () => {
    expect(validate(containerHealthcheck, with_(SERVICE, { healthcheck: undefined }))).toEqual([
      expect.stringMatching(
        /^container vpn-enterprise-prod-grafana-1: has no healthcheck.*vpn-enterprise\.no-healthcheck/,
      ),
    ]);
  });

  test("only the explicit label exempts a service, and only with a reason in it", () => {
    const exempt = (reason: string) =>
      with_(SERVICE, {
        healthcheck: undefined,
        labels: labels({
          "vpn-enterprise.service": "nginx-exporter",
          "vpn-enterprise.no-healthcheck": reason,
        }),
      });
    expect(validate(containerHealthcheck, exempt("FROM scratch: nothing to check with"))).toEqual(
      [],
    );
    expect(validate(containerHealthcheck, exempt("  "))).toHaveLength(1);
  });

  test("a job must be one (attached, never restarted), a carrier must never start", () => {
    const bad = [
      with_(JOB, { restart: "unless-stopped" }),
      with_(JOB, { attach: false }),
      with_(CARRIER, { start: true }),
      with_(CARRIER, { labels: labels({ "vpn-enterprise.service": "grafana" }) }),
    ];
    for (const c of bad) expect(validate(containerHealthcheck, c)).toHaveLength(1);
  });

  test("a healthcheck that checks nothing (NONE, an empty CMD) is refused", () => {
    for (const tests of [["NONE"], ["CMD"], []]) {
      expect(validate(containerHealthcheck, with_(SERVICE, { healthcheck: { tests } }))).toEqual([
        expect.stringContaining("checks nothing"),
      ]);
    }
  });
});

describe("container-memory-limit", () => {
  test("a limit with memorySwap equal to it passes", () => {
    expect(validate(containerMemoryLimit, SERVICE)).toEqual([]);
  });

  test("no limit, a zero limit or swap beyond the limit is refused", () => {
    expect(validate(containerMemoryLimit, with_(SERVICE, { memory: undefined }))).toEqual([
      "container vpn-enterprise-prod-grafana-1: memory is undefined; allowed: a limit in MB > 0",
    ]);
    expect(
      validate(containerMemoryLimit, with_(SERVICE, { memory: 0, memorySwap: 0 })),
    ).toHaveLength(1);
    expect(validate(containerMemoryLimit, with_(SERVICE, { memorySwap: 1024 }))).toEqual([
      "container vpn-enterprise-prod-grafana-1: memorySwap is 1024; allowed: 512, equal to memory",
    ]);
    expect(validate(containerMemoryLimit, with_(SERVICE, { memorySwap: undefined }))).toHaveLength(
      1,
    );
  });
});

describe("container-restart-policy", () => {
  test("unless-stopped for a service, no for a job and a carrier", () => {
    for (const c of [SERVICE, JOB, CARRIER])
      expect(validate(containerRestartPolicy, c)).toEqual([]);
  });

  test("anything else is refused", () => {
    for (const restart of [undefined, "no", "always", "on-failure"]) {
      expect(validate(containerRestartPolicy, with_(SERVICE, { restart }))).toEqual([
        expect.stringMatching(/allowed: "unless-stopped" for a service$/),
      ]);
    }
    expect(validate(containerRestartPolicy, with_(JOB, { restart: "on-failure" }))).toEqual([
      expect.stringMatching(/allowed: "no" for a job or a carrier$/),
    ]);
    expect(validate(containerRestartPolicy, with_(CARRIER, { restart: "always" }))).toHaveLength(1);
  });
});

describe("container-log-rotation", () => {
  test("json-file with max-size and max-file, local and a remote driver pass", () => {
    expect(validate(containerLogRotation, SERVICE)).toEqual([]);
    for (const logDriver of ["local", "journald", "none"]) {
      expect(validate(containerLogRotation, with_(SERVICE, { logDriver, logOpts: {} }))).toEqual(
        [],
      );
    }
  });

  test("an unset driver, json-file without limits, or an unlimited size is refused", () => {
    expect(validate(containerLogRotation, with_(SERVICE, { logDriver: undefined }))).toEqual([
      expect.stringContaining("logDriver is unset"),
    ]);
    expect(validate(containerLogRotation, with_(SERVICE, { logOpts: {} }))).toHaveLength(2);
    expect(
      validate(containerLogRotation, with_(SERVICE, { logOpts: { "max-size": "10m" } })),
    ).toEqual([expect.stringContaining("max-file is undefined")]);
    expect(
      validate(
        containerLogRotation,
        with_(SERVICE, { logOpts: { "max-size": "-1", "max-file": "3" } }),
      ),
    ).toEqual([expect.stringContaining('logOpts.max-size is "-1"')]);
    expect(
      validate(
        containerLogRotation,
        with_(SERVICE, { logDriver: "fluentd", logOpts: { "cache-max-size": "-1" } }),
      ),
    ).toHaveLength(1);
  });
});

describe("container-no-new-privileges, container-drop-all-capabilities, container-not-privileged", () => {
  test("the Workload's hardening passes", () => {
    for (const p of [
      containerNoNewPrivileges,
      containerDropAllCapabilities,
      containerNotPrivileged,
    ]) {
      expect(validate(p, SERVICE)).toEqual([]);
    }
    const chown = { drops: ["ALL"], adds: ["CAP_CHOWN"] };
    expect(validate(containerDropAllCapabilities, with_(JOB, { capabilities: chown }))).toEqual([]);
  });

  test("each is refused without it", () => {
    expect(validate(containerNoNewPrivileges, with_(SERVICE, { securityOpts: [] }))).toEqual([
      "container vpn-enterprise-prod-grafana-1: securityOpts [] lack no-new-privileges:true",
    ]);
    expect(
      validate(
        containerNoNewPrivileges,
        with_(SERVICE, { securityOpts: ["no-new-privileges:false"] }),
      ),
    ).toHaveLength(1);
    expect(
      validate(
        containerDropAllCapabilities,
        with_(SERVICE, { capabilities: { drops: ["NET_RAW"] } }),
      ),
    ).toEqual([expect.stringContaining('capabilities.drops ["NET_RAW"] do not include ALL')]);
    expect(
      validate(containerDropAllCapabilities, with_(SERVICE, { capabilities: undefined })),
    ).toHaveLength(1);
    expect(validate(containerNotPrivileged, with_(SERVICE, { privileged: true }))).toEqual([
      "container vpn-enterprise-prod-grafana-1: privileged: true gives it the whole host",
    ]);
  });
});

describe("images-pinned", () => {
  test("a container runs an id or a digest; a RemoteImage names a pinned reference", () => {
    expect(validate(imagesPinned, SERVICE)).toEqual([]);
    const digest = `grafana/grafana@sha256:${"a".repeat(64)}`;
    expect(validate(imagesPinned, with_(SERVICE, { image: digest }))).toEqual([]);
    for (const name of [
      "grafana/grafana:12.0.2",
      digest,
      "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
    ]) {
      expect(validate(imagesPinned, { name }, { type: REMOTE_IMAGE })).toEqual([]);
    }
  });

  test("a tag on a container, or an unpinned RemoteImage, is refused", () => {
    expect(validate(imagesPinned, with_(SERVICE, { image: "grafana/grafana:12.0.2" }))).toEqual([
      expect.stringMatching(
        /^container vpn-enterprise-prod-grafana-1: image "grafana\/grafana:12.0.2" is a tag/,
      ),
    ]);
    for (const name of [
      "grafana/grafana",
      "grafana/grafana:latest",
      "grafana/grafana@sha256:abc",
    ]) {
      expect(validate(imagesPinned, { name }, { type: REMOTE_IMAGE })).toEqual([
        expect.stringContaining(`image ${JSON.stringify(name)}: not pinned`),
      ]);
    }
    expect(validate(imagesPinned, { name: "n" }, { type: VOLUME })).toBe("not applicable");
  });
});

describe("container-no-secret-env", () => {
  test("credentials passed as file paths, and ordinary URLs, pass", () => {
    expect(validate(containerNoSecretEnv, SERVICE)).toEqual([]);
    const envs = [
      "DATABASE_PASSWORD_FILE=/run/secrets/db_password",
      "JWT_SECRET_FILE=/run/secrets/jwt",
      "GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana_admin_password",
      "WEBHOOK_URL=https://vpn.example.com/admin/n8n/",
      "DATA_SOURCE_URI=postgres:5432/vpn_enterprise?sslmode=disable",
      "PGPASSFILE=/run/secrets/pgpass",
    ];
    expect(validate(containerNoSecretEnv, with_(SERVICE, { envs }))).toEqual([]);
  });

  test("a credential's name, a private key or a URL with a password is refused, never echoing the value", () => {
    const envs = [
      "POSTGRES_PASSWORD=hunter2",
      "api_token=hunter3",
      "STRIPE_API_KEY=hunter4",
      "AWS_CREDENTIALS=hunter5",
      "TLS_KEY=-----BEGIN EC PRIVATE KEY-----\nhunter6\n-----END EC PRIVATE KEY-----",
      "DATABASE_URL=postgres://app:hunter7@postgres:5432/db",
    ];
    const messages = validate(containerNoSecretEnv, with_(SERVICE, { envs }));
    expect(messages).toEqual([
      expect.stringContaining("env POSTGRES_PASSWORD holds a credential"),
      expect.stringContaining("env api_token holds a credential"),
      expect.stringContaining("env STRIPE_API_KEY holds a credential"),
      expect.stringContaining("env AWS_CREDENTIALS holds a credential"),
      expect.stringContaining("env TLS_KEY holds a private key"),
      expect.stringContaining("env DATABASE_URL holds a URL with a password"),
    ]);
    expect(JSON.stringify(messages)).not.toMatch(/hunter/);
  });
});

describe("docker-socket-restricted", () => {
  const socket = (readOnly: boolean | undefined, service: string) =>
    with_(SERVICE, {
      name: `vpn-enterprise-prod-${service}-1`,
      volumes: [
        { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly },
      ],
      labels: labels({ "vpn-enterprise.service": service }),
    });

  test("the allow-list is the catalog's socket readers", () => {
    expect([...DOCKER_SOCKET_SERVICES].sort()).toEqual(["alloy", "cadvisor", "promtail"]);
  });

  test("a listed service binding it read-only passes, as does a container without it", () => {
    for (const s of DOCKER_SOCKET_SERVICES)
      expect(validate(dockerSocketRestricted, socket(true, s))).toEqual([]);
    expect(validate(dockerSocketRestricted, SERVICE)).toEqual([]);
  });

  test("a writable bind, or a service not in the list, is refused", () => {
    expect(validate(dockerSocketRestricted, socket(undefined, "alloy"))).toEqual([
      "container vpn-enterprise-prod-alloy-1: binds /var/run/docker.sock writable; allowed: readOnly",
    ]);
    expect(validate(dockerSocketRestricted, socket(true, "grafana"))).toEqual([
      expect.stringMatching(
        /^container vpn-enterprise-prod-grafana-1: service "grafana" binds the Docker socket/,
      ),
    ]);
    const runSocket = with_(socket(true, "api"), {
      volumes: [{ hostPath: "/run/docker.sock/", containerPath: "/docker.sock", readOnly: false }],
    });
    expect(validate(dockerSocketRestricted, runSocket)).toHaveLength(2);
  });
});

describe("published-ports", () => {
  const publishing = (service: string, ip: string | undefined) =>
    with_(SERVICE, {
      name: `vpn-enterprise-prod-${service}-1`,
      ports: [{ internal: 3000, external: 3000, ip, protocol: "tcp" }],
      labels: labels({ "vpn-enterprise.service": service }),
    });

  test("loopback is open to every service; other addresses to the configured ones only", () => {
    for (const ip of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1"]) {
      expect(isLoopback(ip)).toBe(true);
      expect(validate(publishedPorts, publishing("grafana", ip))).toEqual([]);
    }
    for (const ip of ["0.0.0.0", "::", "10.0.0.5", "128.0.0.1", "::11"])
      expect(isLoopback(ip)).toBe(false);
    expect(validate(publishedPorts, publishing("nginx", "0.0.0.0"))).toEqual([]);
    const config = { publishingServices: ["nginx", "grafana"] };
    expect(validate(publishedPorts, publishing("grafana", "0.0.0.0"), { config })).toEqual([]);
  });

  test("another service on every interface (given or Docker's default) is refused", () => {
    expect(validate(publishedPorts, publishing("grafana", "0.0.0.0"))).toEqual([
      'container vpn-enterprise-prod-grafana-1: service "grafana" publishes 0.0.0.0:3000; only nginx may publish beyond loopback (publishingServices)',
    ]);
    expect(validate(publishedPorts, publishing("grafana", undefined))).toHaveLength(1);
    const config = { publishingServices: [] };
    expect(validate(publishedPorts, publishing("nginx", "10.0.0.5"), { config })).toEqual([
      expect.stringContaining("only no service may publish"),
    ]);
  });
});

describe("stateful-volumes-protected", () => {
  const volume = (service: string, suffix = "data") => ({
    name: `vpn-enterprise-prod-${service}-${suffix}`,
    labels: labels({ "vpn-enterprise.service": service }),
  });

  test("covers the catalog's stateful services whose data is not disposable", () => {
    expect(PROTECTED_DATA_SERVICES.has("postgres")).toBe(true);
    expect(PROTECTED_DATA_SERVICES.has("alloy")).toBe(false);
    expect(PROTECTED_DATA_SERVICES.has("api")).toBe(false);
  });

  test("a protected data volume passes; files, logs and disposable data need no protection", () => {
    const opts = { protect: true };
    expect(validate(statefulVolumesProtected, volume("postgres"), { type: VOLUME, opts })).toEqual(
      [],
    );
    for (const v of [
      volume("postgres", "files-run-secrets"),
      volume("api", "logs"),
      volume("alloy"),
    ]) {
      expect(validate(statefulVolumesProtected, v, { type: VOLUME })).toEqual([]);
    }
  });

  test("an unprotected data volume is refused, unless the stack's config turns the rule off", () => {
    expect(validate(statefulVolumesProtected, volume("postgres"), { type: VOLUME })).toEqual([
      "volume vpn-enterprise-prod-postgres-data: holds postgres's data and is not protected; set services.postgres.dataProtection.protect (or protectStatefulVolumes: false for a disposable stack)",
    ]);
    const config = { protectStatefulVolumes: true };
    expect(
      validate(statefulVolumesProtected, volume("grafana"), { type: VOLUME, config }),
    ).toHaveLength(1);
    const off = { protectStatefulVolumes: false };
    expect(
      validate(statefulVolumesProtected, volume("postgres"), { type: VOLUME, config: off }),
    ).toBe("not applicable");
  });
});
