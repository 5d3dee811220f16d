/**
 * What nginx serves, derived from the catalog and the stack config: one route per catalog route,
 * pointed at the service's replicas while it is enabled. Pure (no Pulumi), so it is tested as is.
 */
import {
  CATALOG,
  CatalogEntry,
  CatalogRoute,
  SERVICE_NAMES,
  ServiceName,
} from "../../config/catalog";
import { RawStackConfig } from "../../config/schema";
import { DOCKER_DNS, NginxRoute, NginxSiteInput } from "../../render/nginx";
import { containerName, hostName } from "../workloadArgs";

/** Basic-auth files the edge needs: the file name under the secrets directory and its user. */
export interface EdgeLogin {
  readonly file: string;
  readonly user: string;
  /** Which generated secret holds the password. */
  readonly secret: "edgeAdminPassword" | "n8nEditorPassword";
}

export const ADMIN_USER_FILE = "admin.htpasswd";
export const N8N_USER_FILE = "n8n.htpasswd";
/** The port nginx serves HTTPS on inside its container (HTTP is the catalog's port). */
export const HTTPS_PORT = 443;
/**
 * Where nginx answers stub_status, to the monitoring network only: a port of its own that nothing
 * publishes, read by nginx-prometheus-exporter.
 */
export const NGINX_STATUS = { port: 8080, path: "/stub_status" } as const;
/** How long nginx trusts a DNS answer about a backend before it asks again. */
const RESOLVER_VALID_SECONDS = 10;

type SiteConfig = Pick<RawStackConfig, "domain" | "services" | "networks"> & {
  readonly namePrefix: string;
  readonly tls: Pick<RawStackConfig["tls"], "mode">;
};

/** The logins the site's basic-auth files must hold. */
export function edgeLogins(cfg: SiteConfig): EdgeLogin[] {
  const nginx = cfg.services.nginx;
  const logins: EdgeLogin[] = [];
  if (nginx.admin.basicAuth) {
    logins.push({ file: ADMIN_USER_FILE, user: nginx.admin.user, secret: "edgeAdminPassword" });
  }
  const n8n = cfg.services.n8n;
  if (n8n.enabled && n8n.editorProtection === "basicAuth") {
    logins.push({ file: N8N_USER_FILE, user: n8n.editorUser, secret: "n8nEditorPassword" });
  }
  return logins;
}

function upstreamName(service: ServiceName): string {
  return `${hostName(service).replace(/-/g, "_")}_backend`;
}

function routeFor(cfg: SiteConfig, service: ServiceName, route: CatalogRoute): NginxRoute {
  const nginx = cfg.services.nginx;
  const svc = cfg.services[service];
  const entry: CatalogEntry = CATALOG[service];
  const port = entry.port;
  if (port === undefined) throw new Error(`catalog: ${service} has routes but no port`);
  const overrides: { readTimeoutSeconds?: number; clientMaxBodyMb?: number } =
    (nginx.routes as Record<string, object | undefined>)[service] ?? {};
  // Each API replica is its own server so least_conn can choose; others have one alias.
  const weights = service === "api" ? nginx.upstream.apiWeights : undefined;
  const perReplica = svc.replicas > 1 || service === "api";
  const servers = !svc.enabled
    ? []
    : perReplica
      ? Array.from({ length: svc.replicas }, (_, i) => ({
          host: containerName(cfg.namePrefix, hostName(service), i + 1),
          port,
          weight: weights?.[i] ?? 1,
        }))
      : [{ host: hostName(service), port, weight: 1 }];
  return {
    path: route.path,
    upstream: upstreamName(service),
    servers,
    leastConn: perReplica,
    stripPrefix: route.stripPrefix ?? false,
    websocket: route.websocket ?? false,
    rateLimited: route.rateLimited ?? false,
    cached: route.cached ?? false,
    readTimeoutSeconds:
      overrides.readTimeoutSeconds ?? route.readTimeoutSeconds ?? nginx.timeouts.readSeconds,
    clientMaxBodyMb: overrides.clientMaxBodyMb ?? nginx.clientMaxBodyMb,
    userFile:
      service === "n8n" && edgeLogins(cfg).some((l) => l.file === N8N_USER_FILE)
        ? N8N_USER_FILE
        : undefined,
  };
}

/** The render input for the stack's edge. */
export function edgeSite(cfg: SiteConfig): NginxSiteInput {
  const nginx = cfg.services.nginx;
  const tlsOn = cfg.tls.mode !== "off";
  const routes = SERVICE_NAMES.flatMap((service) =>
    ((CATALOG[service] as CatalogEntry).routes ?? []).map((r) => routeFor(cfg, service, r)),
  );
  const https = nginx.ports.find((p) => p.container === HTTPS_PORT);
  return {
    domain: cfg.domain,
    listen: { http: CATALOG.nginx.port, https: tlsOn ? HTTPS_PORT : undefined },
    publicHttpsPort: https?.host ?? HTTPS_PORT,
    resolver: DOCKER_DNS,
    resolverValidSeconds: RESOLVER_VALID_SECONDS,
    routes,
    workerConnections: nginx.workerConnections,
    workerRlimitNofile: nginx.workerRlimitNofile,
    keepaliveTimeoutSeconds: nginx.keepaliveTimeoutSeconds,
    clientMaxBodyMb: nginx.clientMaxBodyMb,
    gzip: nginx.gzip,
    timeouts: nginx.timeouts,
    upstream: nginx.upstream,
    rateLimit: nginx.rateLimit,
    cache: nginx.cache,
    tls: tlsOn
      ? {
          sessionCacheMb: nginx.tlsSession.cacheMb,
          sessionTimeoutMinutes: nginx.tlsSession.timeoutMinutes,
          hsts: nginx.hsts.enabled ? nginx.hsts : undefined,
        }
      : undefined,
    headers: nginx.headers,
    admin: {
      allow: nginx.admin.allow,
      userFile: nginx.admin.basicAuth ? ADMIN_USER_FILE : undefined,
    },
    status: cfg.services.nginxExporter.enabled
      ? { ...NGINX_STATUS, allow: [cfg.networks.monitoring.subnet] }
      : undefined,
  };
}
