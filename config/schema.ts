/**
 * The stack config schema: every key a stack file may set, its default and what it allows.
 * Pure (no Pulumi): config/load.ts feeds it the raw values and turns its issues into one error.
 * Every object is strict, so a misspelled key is an error rather than a silently ignored value.
 */
import { z } from "zod";
import {
  CATALOG,
  CatalogEntry,
  SERVICE_NAMES,
  ServiceName,
  TIERS,
  Tier,
  isRootUser,
} from "./catalog";
import {
  GIT_CONTEXT,
  apiExtras,
  checkDevMode,
  dbManagerExtras,
  isGitContext,
  n8nExtras,
  ollamaExtras,
  provisionerExtras,
  pythonAiExtras,
  reservedEnv,
  webExtras,
} from "./appSchema";
import {
  backupExtras,
  checkBackup,
  checkPostgres,
  checkRedis,
  postgresExtras,
  redisExtras,
} from "./dataSchema";
import { cpusRoundTrips } from "./dockerValues";
import {
  TlsMode,
  checkEdge,
  checkNginx,
  checkTlsFiles,
  derivedEdgePorts,
  nginxExtras,
  tlsSchema,
} from "./edgeSchema";
import {
  GivenSecretName,
  alertmanagerExtras,
  checkLoki,
  checkMonitoring,
  checkPrometheus,
  grafanaExtras,
  lokiExtras,
  monitoringSchema,
  prometheusExtras,
  withMonitoring,
} from "./monitoringSchema";
import { strict } from "./strict";

export { ALLOWED_KEYS } from "./strict";
import { contains, formatIpv4, overlaps, parseCidr, parseIpv4 } from "./net";

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** Words of lower-case letters and digits joined by single `.`, `_` or `-`: valid in image names too. */
const NAME_PREFIX = /^(?=.{1,40}$)[a-z0-9]+([._-][a-z0-9]+)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Env names that carry credentials: those go through `secrets` and files, never env. */
export const SECRET_ENV_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL)/i;
const IMAGE_REPO = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const REGISTRY_HOST = /^[a-zA-Z0-9.-]+(:\d+)?$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The smallest memory limit accepted: below it no platform service starts reliably. */
export const MEMORY_FLOOR_MB = 32;
export const MAX_REPLICAS = 20;

/** True when `ref` names one image for good: `repo:tag` with a tag other than `latest`, or a digest. */
export function isPinnedImage(ref: string): boolean {
  const at = ref.indexOf("@");
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const hasTag = colon > slash;
  const path = hasTag ? name.slice(0, colon) : name;
  const tag = hasTag ? name.slice(colon + 1) : undefined;
  const first = path.split("/")[0];
  const hasRegistry =
    path.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const repo = hasRegistry ? path.slice(first.length + 1) : path;
  if (hasRegistry && !REGISTRY_HOST.test(first)) return false;
  if (!IMAGE_REPO.test(repo)) return false;
  if (tag !== undefined && !IMAGE_TAG.test(tag)) return false;
  if (digest !== undefined) return DIGEST.test(digest);
  return tag !== undefined && tag !== "latest";
}

const port = z.int().min(1).max(65535);

const imageSchema = strict({
  ref: z
    .string()
    .refine(isPinnedImage, {
      error:
        "a pinned image reference: repository:tag (a tag other than latest) or repository@sha256:<64 hex>",
    })
    .optional(),
  build: strict({
    /**
     * A directory relative to the project directory, or a git URL
     * (`https://host/org/repo.git#<tag or commit>[:<subdirectory>]`).
     */
    context: z.string().min(1).refine(validContext, {
      error:
        "a directory relative to the project (such as ../vpn-enterprise/apps/api) or a git URL https://host/org/repo.git#<tag or commit>[:<subdirectory>] (also ssh:// or git@)",
    }),
    /** Relative to the project directory for a path context; inside the repository for a git one. */
    dockerfile: z.string().min(1).refine(isRelativePath, { error: "a relative path" }).optional(),
    args: z.record(z.string().regex(ENV_NAME), z.string()).optional(),
    target: z.string().min(1).optional(),
  }).optional(),
}).superRefine((image, ctx) => {
  if ((image.ref === undefined) === (image.build === undefined)) {
    ctx.addIssue({
      code: "custom",
      message:
        "exactly one of `ref` (a pinned remote image) or `build` (context, dockerfile, args, target)",
    });
  }
});

function isRelativePath(p: string): boolean {
  return !p.startsWith("/") && !p.includes("\\") && !p.includes("\0");
}

function validContext(context: string): boolean {
  return isGitContext(context) ? GIT_CONTEXT.test(context) : isRelativePath(context);
}

const envSchema = z.record(z.string(), z.string()).superRefine((env, ctx) => {
  for (const key of Object.keys(env)) {
    if (!ENV_NAME.test(key)) {
      ctx.addIssue({ code: "custom", path: [key], message: "a name of letters, digits and _" });
    } else if (SECRET_ENV_NAME.test(key)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message:
          "no credentials in env: set them under vpn-enterprise:secrets (with --secret); services read them as files",
      });
    }
  }
});

const publishSchema = strict({
  hostIp: z
    .string()
    .refine((ip) => parseIpv4(ip) !== undefined, { error: "an IPv4 address such as 127.0.0.1" })
    .default("127.0.0.1"),
  host: port,
  container: port.optional(),
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
});

const NON_ROOT_USER = z.string().refine((u) => /^\d+(:\d+)?$/.test(u) && !isRootUser(u), {
  error: "a numeric non-root uid or uid:gid, such as 1001:1001",
});
/** Root only for a service whose catalog entry says why (its `rootReason`). */
const ROOT_OR_USER = z.string().refine((u) => /^\d+(:\d+)?$/.test(u), {
  error: "a numeric uid or uid:gid, such as 1001:1001 (or 0:0, root, the default)",
});

/**
 * How a stateful service's volume survives Pulumi: all on by default, so data loss is opt-in; all
 * off for a volume whose content is disposable (the catalog's `disposableData`).
 */
const dataProtectionSchema = (disposable: boolean) =>
  strict({
    protect: z.boolean().default(!disposable),
    retainOnDelete: z.boolean().default(!disposable),
    /** Keep the volume while the service is disabled. False removes it (needs protect: false). */
    keepWhenDisabled: z.boolean().default(!disposable),
  }).superRefine((p, ctx) => {
    if (!p.keepWhenDisabled && p.protect) {
      ctx.addIssue({
        code: "custom",
        path: ["keepWhenDisabled"],
        message:
          "true while protect is true (Pulumi refuses to delete a protected volume); set protect: false as well to remove it",
      });
    }
  });

/**
 * The stack-wide default of every stateful service's dataProtection: each key given here is what a
 * service that does not set it gets, so a stack whose data is disposable says so once. Services
 * whose data is disposable anyway (the catalog's `disposableData`) keep their own defaults.
 */
const stackDataProtectionSchema = strict({
  protect: z.boolean().optional(),
  retainOnDelete: z.boolean().optional(),
  keepWhenDisabled: z.boolean().optional(),
})
  .superRefine((p, ctx) => {
    if (p.keepWhenDisabled === false && p.protect !== false) {
      ctx.addIssue({
        code: "custom",
        path: ["keepWhenDisabled"],
        message:
          "true unless protect is false as well (Pulumi refuses to delete a protected volume)",
      });
    }
  })
  .optional();

/**
 * The raw config with the stack-wide `dataProtection` filled into each stateful service that does
 * not set a key itself. A stack-wide value that is not valid is left to the schema's error, not
 * copied into every service.
 */
export function withDataProtectionDefaults(
  raw: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const given = raw.dataProtection;
  if (given === undefined || !stackDataProtectionSchema.safeParse(given).success) return { ...raw };
  const defaults = given as Readonly<Record<string, boolean>>;
  const rawServices = raw.services;
  if (rawServices !== undefined && (typeof rawServices !== "object" || rawServices === null)) {
    return { ...raw };
  }
  const services: Record<string, unknown> = { ...(rawServices as Record<string, unknown>) };
  for (const name of SERVICE_NAMES) {
    const entry: CatalogEntry = CATALOG[name];
    if (entry.dataPath === undefined || entry.disposableData === true) continue;
    const svc: unknown = services[name] ?? {};
    if (typeof svc !== "object" || svc === null || Array.isArray(svc)) continue;
    const own: unknown = (svc as Record<string, unknown>).dataProtection ?? {};
    if (typeof own !== "object" || own === null || Array.isArray(own)) continue;
    services[name] = { ...svc, dataProtection: { ...defaults, ...own } };
  }
  return { ...raw, services };
}

function serviceShape(entry: CatalogEntry) {
  const d = entry.defaults;
  const stateful = entry.dataPath !== undefined;
  const resources = strict({
    cpus: z
      .number()
      .positive()
      .max(64)
      .refine(cpusRoundTrips, {
        error:
          "a CPU count the Docker provider keeps exactly (e.g. 0.25, 0.5, 1, 1.5); it rounds this one",
      })
      .default(d.cpus),
    memoryMb: z.int().min(MEMORY_FLOOR_MB).max(1048576).default(d.memoryMb),
    memoryReservationMb: z.int().min(MEMORY_FLOOR_MB).optional(),
    pidsLimit: z.int().min(16).max(65536).default(d.pidsLimit),
  });
  return {
    enabled: z.boolean().default(entry.optional !== true),
    image: imageSchema.prefault(typeof d.image === "string" ? { ref: d.image } : d.image),
    replicas: stateful
      ? z
          .int()
          .min(1)
          .max(1, { error: "exactly 1: the service keeps its state in one volume" })
          .default(1)
      : z.int().min(1).max(MAX_REPLICAS).default(1),
    resources: resources.prefault({}),
    user: (entry.rootReason === undefined ? NON_ROOT_USER : ROOT_OR_USER).default(d.user),
    env: envSchema.default({}),
    ports: z.array(publishSchema).default([]),
  };
}

export type ServiceShape = ReturnType<typeof serviceShape>;

function checkService(svc: z.output<z.ZodObject<ServiceShape>>, ctx: z.RefinementCtx): void {
  const r = svc.resources;
  if (r.memoryReservationMb !== undefined && r.memoryReservationMb >= r.memoryMb) {
    ctx.addIssue({
      code: "custom",
      path: ["resources", "memoryReservationMb"],
      message: `less than resources.memoryMb (${r.memoryMb})`,
    });
  }
  if (svc.replicas > 1 && svc.ports.length > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["ports"],
      message: `no published ports with replicas > 1 (${svc.replicas} containers cannot bind one host port)`,
    });
  }
}

function statefulService<E extends z.core.$ZodLooseShape>(entry: CatalogEntry, extras: E) {
  return strict({
    ...serviceShape(entry),
    dataProtection: dataProtectionSchema(entry.disposableData === true).prefault({}),
    ...extras,
  });
}

function appService<E extends z.core.$ZodLooseShape>(entry: CatalogEntry, extras: E) {
  return strict({ ...serviceShape(entry), ...extras });
}

const NETWORK_DEFAULTS: Record<Tier, { subnet: string; internal: boolean }> = {
  // The guide's single network; it stays the default for the main (app) tier.
  app: { subnet: "172.20.0.0/16", internal: false },
  edge: { subnet: "172.21.0.0/24", internal: false },
  // Internal: no route out of the host, and no published ports either (Docker ignores them there).
  data: { subnet: "172.21.1.0/24", internal: true },
  monitoring: { subnet: "172.21.2.0/24", internal: false },
};

function networkSchema(tier: Tier) {
  const d = NETWORK_DEFAULTS[tier];
  return strict({
    subnet: z
      .string()
      .refine(
        (s) => {
          const c = parseCidr(s);
          return c !== undefined && c.base === c.first && c.prefix >= 8 && c.prefix <= 28;
        },
        {
          error:
            "an IPv4 network in CIDR form, host bits zero, prefix /8 to /28 (e.g. 172.20.0.0/16)",
        },
      )
      .default(d.subnet),
    gateway: z
      .string()
      .refine((ip) => parseIpv4(ip) !== undefined, { error: "an IPv4 address inside the subnet" })
      .optional(),
    internal: z.boolean().default(d.internal),
  }).prefault({});
}

const networksSchema = strict(
  Object.fromEntries(TIERS.map((t) => [t, networkSchema(t)])) as Record<
    Tier,
    ReturnType<typeof networkSchema>
  >,
).prefault({});

const servicesSchema = strict({
  nginx: appService(CATALOG.nginx, nginxExtras)
    .superRefine(checkService)
    .superRefine(checkNginx)
    .prefault({}),
  postgres: statefulService(CATALOG.postgres, postgresExtras)
    .superRefine(checkService)
    .superRefine(checkPostgres)
    .prefault({}),
  redis: statefulService(CATALOG.redis, redisExtras)
    .superRefine(checkService)
    .superRefine(checkRedis)
    .prefault({}),
  backup: statefulService(CATALOG.backup, backupExtras).superRefine(checkService).prefault({}),
  api: appService(CATALOG.api, apiExtras)
    .superRefine(checkService)
    .superRefine(checkDevMode)
    .superRefine(reservedEnv("api"))
    .prefault({}),
  web: appService(CATALOG.web, webExtras)
    .superRefine(checkService)
    .superRefine(checkDevMode)
    .superRefine(reservedEnv("web"))
    .prefault({}),
  pythonAi: appService(CATALOG.pythonAi, pythonAiExtras)
    .superRefine(checkService)
    .superRefine(reservedEnv("pythonAi"))
    .prefault({}),
  ollama: statefulService(CATALOG.ollama, ollamaExtras)
    .superRefine(checkService)
    .superRefine(reservedEnv("ollama"))
    .prefault({}),
  n8n: statefulService(CATALOG.n8n, n8nExtras)
    .superRefine(checkService)
    .superRefine(reservedEnv("n8n"))
    .prefault({}),
  dbManager: appService(CATALOG.dbManager, dbManagerExtras)
    .superRefine(checkService)
    .superRefine(reservedEnv("dbManager"))
    .prefault({}),
  provisioner: appService(CATALOG.provisioner, provisionerExtras)
    .superRefine(checkService)
    .superRefine(reservedEnv("provisioner"))
    .prefault({}),
  prometheus: statefulService(CATALOG.prometheus, prometheusExtras)
    .superRefine(checkService)
    .superRefine(checkPrometheus)
    .prefault({}),
  alertmanager: statefulService(CATALOG.alertmanager, alertmanagerExtras)
    .superRefine(checkService)
    .prefault({}),
  grafana: statefulService(CATALOG.grafana, grafanaExtras)
    .superRefine(checkService)
    .superRefine(reservedEnv("grafana"))
    .prefault({}),
  loki: statefulService(CATALOG.loki, lokiExtras)
    .superRefine(checkService)
    .superRefine(checkLoki)
    .prefault({}),
  alloy: statefulService(CATALOG.alloy, {}).superRefine(checkService).prefault({}),
  promtail: statefulService(CATALOG.promtail, {}).superRefine(checkService).prefault({}),
  nginxExporter: appService(CATALOG.nginxExporter, {}).superRefine(checkService).prefault({}),
  postgresExporter: appService(CATALOG.postgresExporter, {})
    .superRefine(checkService)
    .superRefine(reservedEnv("postgresExporter"))
    .prefault({}),
  redisExporter: appService(CATALOG.redisExporter, {})
    .superRefine(checkService)
    .superRefine(reservedEnv("redisExporter"))
    .prefault({}),
  cadvisor: appService(CATALOG.cadvisor, {}).superRefine(checkService).prefault({}),
  nodeExporter: appService(CATALOG.nodeExporter, {}).superRefine(checkService).prefault({}),
} satisfies Record<ServiceName, z.ZodType>).prefault({});

const secretValue = z.string().min(16).max(512);
/** Overrides for the generated credentials; set them with `pulumi config set --secret --path`. */
export const SECRET_NAMES = [
  "postgresPassword",
  "postgresAppPassword",
  "postgresReadonlyPassword",
  "redisPassword",
  "grafanaAdminPassword",
  "n8nEncryptionKey",
  "n8nEditorPassword",
  "apiJwtSecret",
  "apiServiceKey",
  "edgeAdminPassword",
  "postgresMonitorPassword",
  "redisMonitorPassword",
] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

const givenSecretValue = z.string().min(1).max(4096);
/** What `secrets` holds: overrides of generated credentials and the ones only the stack can give. */
export type ConfigSecretName = SecretName | GivenSecretName;

const secretsSchema = strict({
  ...(Object.fromEntries(SECRET_NAMES.map((n) => [n, secretValue.optional()])) as Record<
    SecretName,
    z.ZodOptional<typeof secretValue>
  >),
  alertmanagerSmtpPassword: givenSecretValue.optional(),
  alertmanagerWebhookUrl: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, { error: "an http(s) URL" })
    .max(4096)
    .optional(),
} satisfies Record<ConfigSecretName, z.ZodType>).prefault({});

const stackObjectSchema = strict({
  namePrefix: z
    .string()
    .regex(NAME_PREFIX, {
      error:
        "lower-case letters and digits, words joined by one '.', '_' or '-', at most 40 characters",
    })
    .optional(),
  domain: z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? "a lower-case DNS name such as vpn.example.com (required)"
          : undefined,
    })
    .regex(DNS_NAME, { error: "a lower-case DNS name such as vpn.example.com" }),
  /**
   * How the edge serves the domain: `off` (HTTP only, the dev stack), `selfSigned` (default) or
   * `files` (certificate and privateKey). The public URLs the apps are given follow it.
   */
  tls: tlsSchema,
  networks: networksSchema,
  /** The monitoring tier as a whole: on or off, and the Docker socket its collectors read. */
  monitoring: monitoringSchema,
  /** The default of every stateful service's dataProtection (withDataProtectionDefaults). */
  dataProtection: stackDataProtectionSchema,
  services: servicesSchema,
  secrets: secretsSchema,
});

/**
 * An empty `services.nginx.ports` (the default) stands for 0.0.0.0:80, and 0.0.0.0:443 with TLS
 * on. The stack checks and every consumer see that list, never the empty one.
 */
function withEdgePorts(
  cfg: z.output<typeof stackObjectSchema>,
): z.output<typeof stackObjectSchema> {
  const nginx = cfg.services.nginx;
  if (nginx.ports.length > 0) return cfg;
  const ports = derivedEdgePorts(cfg.tls.mode);
  return { ...cfg, services: { ...cfg.services, nginx: { ...nginx, ports } } };
}

/** The stack as its consumers see it: edge ports derived, monitoring switches applied. */
function resolved(cfg: z.output<typeof stackObjectSchema>): z.output<typeof stackObjectSchema> {
  return withMonitoring(withEdgePorts(cfg));
}

export const stackConfigSchema = stackObjectSchema
  .superRefine((parsed, ctx) => {
    const cfg = resolved(parsed);
    checkSubnets(cfg.networks, ctx);
    checkPorts(cfg, ctx);
    checkBackup(cfg, ctx);
    checkRequires(cfg, ctx);
    checkEdge(cfg, ctx);
    checkTlsFiles(cfg, ctx);
    checkMonitoring(cfg, ctx);
  })
  .transform(resolved);

export type RawStackConfig = z.output<typeof stackConfigSchema>;
export type NetworksConfig = RawStackConfig["networks"];
export type NetworkConfig = NetworksConfig[Tier];
export type ServiceConfig = z.output<z.ZodObject<ServiceShape>>;
export type ImageConfig = ServiceConfig["image"];
export type ResourcesConfig = ServiceConfig["resources"];
export type PublishedPort = ServiceConfig["ports"][number];
export type DataProtection = z.output<ReturnType<typeof dataProtectionSchema>>;
export type PostgresConfig = RawStackConfig["services"]["postgres"];
export type RedisConfig = RawStackConfig["services"]["redis"];
export type BackupConfig = RawStackConfig["services"]["backup"];
type Services = RawStackConfig["services"];
export type ApiConfig = Services["api"];
export type WebConfig = Services["web"];
export type PythonAiConfig = Services["pythonAi"];
export type OllamaConfig = Services["ollama"];
export type N8nConfig = Services["n8n"];
export type DbManagerConfig = Services["dbManager"];
export type ProvisionerConfig = Services["provisioner"];
export type PrometheusConfig = Services["prometheus"];
export type AlertmanagerConfig = Services["alertmanager"];
export type GrafanaConfig = Services["grafana"];
export type LokiConfig = Services["loki"];
export type MonitoringConfig = RawStackConfig["monitoring"];
/** services.nginx with its ports resolved: an empty list in the stack file becomes the derived one. */
export type NginxConfig = Services["nginx"];
/** The stack's `tls` block as the schema outputs it; the program gets load.ts's TlsConfig. */
export type RawTlsConfig = RawStackConfig["tls"];

/** The base URL users reach the platform at, as the apps must announce it. */
export function publicUrl(cfg: {
  readonly domain: string;
  readonly tls: { readonly mode: TlsMode };
}): string {
  return `${cfg.tls.mode === "off" ? "http" : "https"}://${cfg.domain}`;
}

/** A service that cannot work without another (the catalog's `requires`) needs it enabled. */
function checkRequires(cfg: RawStackConfig, ctx: z.RefinementCtx): void {
  for (const name of SERVICE_NAMES) {
    const entry: CatalogEntry = CATALOG[name];
    if (!cfg.services[name].enabled) continue;
    for (const need of entry.requires ?? []) {
      if (!cfg.services[need as ServiceName].enabled) {
        ctx.addIssue({
          code: "custom",
          path: ["services", name, "enabled"],
          message: `false while services.${need} is disabled (${name} needs ${need}); enable ${need} or disable ${name}`,
        });
      }
    }
  }
}

function checkSubnets(networks: NetworksConfig, ctx: z.RefinementCtx): void {
  const parsed = TIERS.map((tier) => ({ tier, cidr: parseCidr(networks[tier].subnet) }));
  parsed.forEach(({ tier, cidr }, i) => {
    if (!cidr) return;
    for (const other of parsed.slice(0, i)) {
      if (other.cidr && overlaps(cidr, other.cidr)) {
        ctx.addIssue({
          code: "custom",
          path: ["networks", tier, "subnet"],
          message: `a subnet that overlaps no other tier (${networks[tier].subnet} overlaps networks.${other.tier}.subnet ${networks[other.tier].subnet})`,
        });
      }
    }
    const gw = networks[tier].gateway;
    const ip = gw === undefined ? undefined : parseIpv4(gw);
    if (ip !== undefined && !(contains(cidr, ip) && ip !== cidr.first && ip !== cidr.last)) {
      ctx.addIssue({
        code: "custom",
        path: ["networks", tier, "gateway"],
        message: `a host address inside ${formatIpv4(cidr.first)}/${cidr.prefix}`,
      });
    }
  });
}

function checkPorts(cfg: RawStackConfig, ctx: z.RefinementCtx): void {
  const published: { where: string; port: PublishedPort }[] = [];
  for (const name of SERVICE_NAMES) {
    const svc = cfg.services[name];
    if (!svc.enabled) continue;
    const entry: CatalogEntry = CATALOG[name];
    const tiers = entry.networks;
    svc.ports.forEach((p, i) => {
      if (entry.port === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["services", name, "ports", i],
          message: `no published port: ${name} listens on no port`,
        });
      }
      if (tiers.every((t) => cfg.networks[t].internal)) {
        ctx.addIssue({
          code: "custom",
          path: ["services", name, "ports", i],
          message: `no published port: ${name} is only on internal networks (${tiers.join(", ")}), where Docker publishes nothing; set networks.${tiers[0]}.internal: false (dev only) or remove the port`,
        });
      }
      const clash = published.find(
        ({ port: q }) =>
          q.host === p.host &&
          q.protocol === p.protocol &&
          (q.hostIp === p.hostIp || q.hostIp === "0.0.0.0" || p.hostIp === "0.0.0.0"),
      );
      if (clash) {
        ctx.addIssue({
          code: "custom",
          path: ["services", name, "ports", i, "host"],
          message: `a host port no other service publishes (${clash.where} already publishes ${clash.port.hostIp}:${clash.port.host}/${clash.port.protocol})`,
        });
      }
      published.push({ where: `services.${name}.ports[${i}]`, port: p });
    });
  }
}
