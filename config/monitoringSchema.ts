/**
 * The monitoring tier's config keys: the stack's `monitoring` block and, per service, the keys on top
 * of the ones every service has; plus their cross-checks. Pure: no Pulumi.
 */
import { z } from "zod";
import { CERTIFICATE_CRITICAL_DAYS, DEFAULT_ALERT_THRESHOLDS as D } from "../render/alertRules";
import { CATALOG, CatalogEntry, SERVICE_NAMES, ServiceName, isRootUser } from "./catalog";
import { strict } from "./strict";

const ABSOLUTE_PATH = /^\/[^\0]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A mailbox as Alertmanager's `to`/`from` take it (no display name). */
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const isHostPort = (v: string) =>
  HOST_PORT.test(v) && Number(v.split(":")[1]) >= 1 && Number(v.split(":")[1]) <= 65535;

/** Secrets only the stack can give (nothing to generate): set them with `pulumi config set --secret`. */
export const GIVEN_SECRET_NAMES = ["alertmanagerSmtpPassword", "alertmanagerWebhookUrl"] as const;
export type GivenSecretName = (typeof GIVEN_SECRET_NAMES)[number];

/** The stack's `monitoring` block. */
export const monitoringSchema = strict({
  /** Run the monitoring tier at all; false disables every service of it. Default true. */
  enabled: z.boolean().default(true),
  /** The Docker engine's socket on the host, mounted read-only into the services that read it. */
  dockerSocket: strict({
    /** Default /var/run/docker.sock. */
    path: z
      .string()
      .regex(ABSOLUTE_PATH, { error: "an absolute path on the Docker host" })
      .default("/var/run/docker.sock"),
    /**
     * The socket's group id on the Docker host (`stat -c %g /var/run/docker.sock`). With it, the
     * services that read the socket may run as a non-root `user` in that group. Default none.
     */
    groupId: z.int().min(1).max(2147483647).optional(),
  }).prefault({}),
}).prefault({});

const percent = z.number().gt(0).max(100);
const minutes = z.int().min(1).max(1440);

/** services.prometheus.alerts: when the alert rules fire. */
const alertsSchema = strict({
  /** A target down (up == 0) this long fires ServiceDown. Default 1. */
  serviceDownMinutes: minutes.default(D.serviceDownMinutes),
  /** A container's CPU use, in percent of its limit, held for cpuMinutes. Default 80 for 5. */
  cpuPercent: percent.default(D.cpuPercent),
  cpuMinutes: minutes.default(D.cpuMinutes),
  /** A container's working set, in percent of its memory limit. Default 90 for 5 minutes. */
  memoryPercent: percent.default(D.memoryPercent),
  memoryMinutes: minutes.default(D.memoryMinutes),
  /** Free space on a host file system below this percent. Default 10 for 5 minutes. */
  diskFreePercent: percent.default(D.diskFreePercent),
  diskMinutes: minutes.default(D.diskMinutes),
  /** The API's share of 5xx answers. Default 5 percent over 5 minutes. */
  errorRatePercent: percent.default(D.errorRatePercent),
  errorRateMinutes: minutes.default(D.errorRateMinutes),
  /** The API's 95th-percentile response time, in seconds. Default 1 over 10 minutes. */
  p95Seconds: z.number().gt(0).max(600).default(D.p95Seconds),
  latencyMinutes: minutes.default(D.latencyMinutes),
  /** The last successful backup older than this fires BackupTooOld. Default 26 (daily + 2 h). */
  backupMaxAgeHours: z
    .int()
    .min(1)
    .max(24 * 90)
    .default(D.backupMaxAgeHours),
  /** The edge certificate expiring within this many days. Default 14. */
  certificateDays: z
    .int()
    .min(CERTIFICATE_CRITICAL_DAYS + 1, {
      error: `a number >= ${CERTIFICATE_CRITICAL_DAYS + 1} (the last ${CERTIFICATE_CRITICAL_DAYS} days are CertificateExpiringVerySoon's)`,
    })
    .max(365)
    .default(D.certificateDays),
}).prefault({});

export const prometheusExtras = {
  /** How often every target is scraped; seconds, default 15. */
  scrapeIntervalSeconds: z.int().min(5).max(300).default(15),
  /** How long one scrape may take; seconds, at most the interval, default 10. */
  scrapeTimeoutSeconds: z.int().min(1).max(300).default(10),
  /** How often the alert rules are evaluated; seconds, default 15. */
  evaluationIntervalSeconds: z.int().min(5).max(300).default(15),
  /** How long samples are kept (days, default 15) and, optionally, at most how much disk (GB). */
  retention: strict({
    days: z.int().min(1).max(3650).default(15),
    sizeGb: z.int().min(1).max(100000).optional(),
  }).prefault({}),
  alerts: alertsSchema,
};

export function checkPrometheus(
  p: { scrapeIntervalSeconds: number; scrapeTimeoutSeconds: number },
  ctx: z.RefinementCtx,
): void {
  if (p.scrapeTimeoutSeconds > p.scrapeIntervalSeconds) {
    ctx.addIssue({
      code: "custom",
      path: ["scrapeTimeoutSeconds"],
      message: `at most scrapeIntervalSeconds (${p.scrapeIntervalSeconds})`,
    });
  }
}

export const alertmanagerExtras = {
  /** The route every alert takes: the guide's grouping, waits and repeat interval. */
  route: strict({
    groupBy: z
      .array(z.string().regex(LABEL_NAME, { error: "a Prometheus label name" }))
      .min(1)
      .default(["alertname"]),
    groupWaitSeconds: z.int().min(0).max(3600).default(10),
    groupIntervalSeconds: z.int().min(1).max(86400).default(10),
    repeatIntervalMinutes: z.int().min(1).max(10080).default(60),
  }).prefault({}),
  /**
   * Mail every alert. The SMTP password, when the server wants a login, is the secret
   * `alertmanagerSmtpPassword`. Default none.
   */
  email: strict({
    to: z.array(z.string().regex(EMAIL, { error: "an email address" })).min(1),
    from: z.string().regex(EMAIL, { error: "an email address" }),
    /** `host:port` of the SMTP server, e.g. smtp.example.com:587. */
    smarthost: z
      .string()
      .refine(isHostPort, { error: "host:port (port 1 to 65535), such as smtp.example.com:587" }),
    /** The SMTP login; its password is secrets.alertmanagerSmtpPassword. Default none. */
    authUsername: z.string().min(1).max(256).optional(),
    /** STARTTLS required. Default true. */
    requireTls: z.boolean().default(true),
  }).optional(),
  /**
   * Post alerts to a webhook (Slack, Teams, PagerDuty bridges...). Its URL, which often holds a
   * token, is the secret `alertmanagerWebhookUrl`. Default none.
   */
  webhook: strict({
    sendResolved: z.boolean().default(true),
    /** Only alerts with severity=critical. Default false (all alerts). */
    criticalOnly: z.boolean().default(false),
  }).optional(),
};

export const grafanaExtras = {
  /** Let visitors without a login view dashboards (Viewer role). Default false. */
  anonymousViewer: z.boolean().default(false),
  /** Let visitors create their own account. Default false. */
  allowSignUp: z.boolean().default(false),
};

export const lokiExtras = {
  /** Days logs are kept before the compactor deletes them. Default 14. */
  retentionDays: z.int().min(1).max(3650).default(14),
  /** Ingestion rate limit per stream tenant, MB/s, and its burst. Default 4 and 8. */
  ingestionRateMb: z.int().min(1).max(1024).default(4),
  ingestionBurstMb: z.int().min(1).max(4096).default(8),
};

export function checkLoki(
  l: { ingestionRateMb: number; ingestionBurstMb: number },
  ctx: z.RefinementCtx,
): void {
  if (l.ingestionBurstMb < l.ingestionRateMb) {
    ctx.addIssue({
      code: "custom",
      path: ["ingestionBurstMb"],
      message: `at least ingestionRateMb (${l.ingestionRateMb})`,
    });
  }
}

/** The services of the monitoring tier, in catalog order. */
export const MONITORING_SERVICES = SERVICE_NAMES.filter((n) => CATALOG[n].tier === "monitoring");

interface MonitoringStack {
  readonly monitoring: z.output<typeof monitoringSchema>;
  readonly services: Readonly<Record<ServiceName, { readonly enabled: boolean; user: string }>>;
}

/**
 * With monitoring.enabled false every monitoring service is off; an exporter is off while what it
 * watches is (the catalog's `follows`). The checks and every consumer see the result.
 */
export function withMonitoring<T extends MonitoringStack>(cfg: T): T {
  const services = { ...cfg.services } as Record<ServiceName, T["services"][ServiceName]>;
  let changed = false;
  for (const name of MONITORING_SERVICES) {
    const entry: CatalogEntry = CATALOG[name];
    const svc = services[name];
    const watched =
      entry.follows === undefined || cfg.services[entry.follows as ServiceName].enabled;
    if (svc.enabled && !(cfg.monitoring.enabled && watched)) {
      services[name] = { ...svc, enabled: false };
      changed = true;
    }
  }
  return changed ? { ...cfg, services } : cfg;
}

interface MonitoringChecked extends MonitoringStack {
  readonly services: MonitoringStack["services"] & {
    readonly alertmanager: {
      readonly enabled: boolean;
      readonly email?: { readonly authUsername?: string };
      readonly webhook?: object;
    };
  };
  readonly secrets: Readonly<Partial<Record<GivenSecretName, string>>>;
}

/** Cross-checks of the monitoring tier over the whole (resolved) stack. */
export function checkMonitoring(cfg: MonitoringChecked, ctx: z.RefinementCtx): void {
  const s = cfg.services;
  if (s.alloy.enabled && s.promtail.enabled) {
    ctx.addIssue({
      code: "custom",
      path: ["services", "promtail", "enabled"],
      message:
        "false while services.alloy is enabled (one log shipper: disable alloy to ship with promtail)",
    });
  }
  for (const name of MONITORING_SERVICES) {
    const entry: CatalogEntry = CATALOG[name];
    const user = s[name].user;
    // A user the schema already refused gets no second message.
    if (!s[name].enabled || entry.dockerSocket !== true || !/^\d+(:\d+)?$/.test(user)) continue;
    if (isRootUser(user)) continue;
    if (entry.hostRoot === true) {
      ctx.addIssue({
        code: "custom",
        path: ["services", name, "user"],
        message: `root (the default): ${name} ${entry.rootReason ?? "needs root"}; the socket's group does not open that`,
      });
    } else if (cfg.monitoring.dockerSocket.groupId === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["services", name, "user"],
        message: `root (the default) unless monitoring.dockerSocket.groupId is set: ${name} reads the Docker socket, which only root and the socket's group may open`,
      });
    }
  }
  const am = s.alertmanager;
  const password = cfg.secrets.alertmanagerSmtpPassword !== undefined;
  const login = am.enabled && am.email?.authUsername !== undefined;
  if (login && !password) {
    ctx.addIssue({
      code: "custom",
      path: ["secrets", "alertmanagerSmtpPassword"],
      message:
        "the SMTP password (required with services.alertmanager.email.authUsername): pulumi config set --secret --path 'vpn-enterprise:secrets.alertmanagerSmtpPassword'",
    });
  }
  if (password && !login && am.enabled) {
    ctx.addIssue({
      code: "custom",
      path: ["secrets", "alertmanagerSmtpPassword"],
      message:
        "nothing unless services.alertmanager.email.authUsername is set (no login to use it)",
    });
  }
  const url = cfg.secrets.alertmanagerWebhookUrl !== undefined;
  const hook = am.enabled && am.webhook !== undefined;
  if (hook && !url) {
    ctx.addIssue({
      code: "custom",
      path: ["secrets", "alertmanagerWebhookUrl"],
      message:
        "the webhook's URL (required with services.alertmanager.webhook): pulumi config set --secret --path 'vpn-enterprise:secrets.alertmanagerWebhookUrl'",
    });
  }
  if (url && !hook && am.enabled) {
    ctx.addIssue({
      code: "custom",
      path: ["secrets", "alertmanagerWebhookUrl"],
      message: "nothing unless services.alertmanager.webhook is set",
    });
  }
}
