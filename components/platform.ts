import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, CatalogEntry, ServiceName } from "../config/catalog";
import { StackConfig } from "../config/load";
import { processBudgets } from "../config/processes";
import { publicUrl } from "../config/schema";
import { AppTier, createAppTier } from "./apps/tier";
import { BackupInfo } from "./data/backup";
import { Nginx } from "./edge/nginx";
import { SmokeCheck, SmokeResult } from "./edge/smoke";
import { createEdge } from "./edge/tier";
import { ConnectionStrings, DataEndpoints, createDataTier } from "./data/tier";
import { TierNetworks } from "./network";
import { GRAFANA_PATH } from "./observability/grafana";
import { MonitoringTier, createMonitoring } from "./observability/tier";
import { PlatformSecrets } from "./secrets";
import { stackVolumes } from "./volume";
import { ResolvedImage } from "./image";
import { internalUrl } from "./workload";

export interface PlatformArgs {
  /** The validated, frozen stack config. */
  readonly config: StackConfig;
}

/** What other services and teams need to reach one service. */
export interface ServiceEndpoint {
  readonly host: string;
  readonly port: number;
  /** In-platform URL: `http://<host>:<port>`, or `postgresql://` and `redis://` for the data. */
  readonly url: string;
  /** In-platform URL of its health endpoint (the catalog's `health`); null for one without. */
  readonly healthUrl: string | null;
  /** What it publishes on the host: `ip:host->container[/udp]` (only nginx beyond loopback). */
  readonly publishedPorts: string[];
  readonly containerNames: string[];
}

/** The public URLs users and other teams reach the platform at; null without the edge. */
export interface PublicEndpoints {
  /** The site (the web dashboard at `/`). */
  readonly site: string;
  /** The API through the edge (`<site>/api/`); null when the API is disabled. */
  readonly api: string | null;
  /** Grafana (`<site>/grafana/`); null when Grafana is disabled. */
  readonly grafana: string | null;
}

const URL_SCHEMES: Readonly<Record<string, string>> = { postgres: "postgresql", redis: "redis" };

/** The image a service's containers run, as the engine resolved it at the last `up`. */
export interface ImageInfo {
  /** The pinned reference the stack configured, or the name a local build is tagged with. */
  readonly reference: string;
  /** A build's context (a path in the project or a git URL); null for a pulled image. */
  readonly source: string | null;
  /** The image id the containers run (`sha256:<hash>`). */
  readonly id: string;
  /** `repository[:tag]@sha256:<hash>` of a pulled image; null for a local build. */
  readonly repoDigest: string | null;
}

/** Where the monitoring is; null when monitoring.enabled is false. */
export interface MonitoringInfo {
  /** Grafana's public URL (`<site>/grafana/`); null when Grafana or the edge is off. */
  readonly grafanaUrl: string | null;
  /** In-platform URLs (on the monitoring network); null for a disabled service. */
  readonly prometheusUrl: string | null;
  readonly alertmanagerUrl: string | null;
  readonly lokiUrl: string | null;
}

/** Credentials an operator needs; everything else stays inside the platform. */
export interface OperatorCredentials {
  readonly postgresPassword: string;
  readonly redisPassword: string;
  readonly grafanaAdminPassword: string;
  /** The n8n editor's edge login (user and password); null when n8n is off or unguarded. */
  readonly n8nEditor: { readonly user: string; readonly password: string } | null;
  /** The edge's login for /admin/ and /grafana/; null without basic auth there. */
  readonly edgeAdmin: { readonly user: string; readonly password: string } | null;
}

/** How users reach the platform. */
export interface EdgeInfo {
  /** The public base URL (https unless tls.mode is off). */
  readonly url: string;
  /** Host ports nginx publishes: `ip:host->container`. */
  readonly publishedPorts: string[];
  /** When the served certificate expires (RFC 3339); null without TLS. */
  readonly certificateExpiry: string | null;
}

/** The whole platform: networks, credentials, data volumes and the services of each tier. */
export class Platform extends pulumi.ComponentResource {
  public readonly networks: TierNetworks;
  public readonly secrets: PlatformSecrets;
  /** Docker volume names of the stateful services (they exist even while a service is disabled). */
  public readonly volumeNames: pulumi.Output<Record<string, string>>;
  /** Host, port and container names of each enabled service. */
  public readonly services: pulumi.Output<Record<string, ServiceEndpoint>>;
  /** The image each enabled service runs: reference, id and, for a pulled one, its digest. */
  public readonly images: pulumi.Output<Record<string, ImageInfo>>;
  /** Credentials operators need (a Pulumi secret). */
  public readonly credentials: pulumi.Output<OperatorCredentials>;
  /** Database and Redis endpoints, role names included. */
  public readonly data: pulumi.Output<DataEndpoints>;
  /** Connection strings of the app and read-only roles and of Redis (a Pulumi secret). */
  public readonly connectionStrings: pulumi.Output<ConnectionStrings>;
  /** Where backups go and how to restore one; null when backups are disabled. */
  public readonly backups: pulumi.Output<BackupInfo | null>;
  /** What an app must depend on: data services healthy and the migrations applied. */
  public readonly dataReady: pulumi.Output<pulumi.Resource[]>;
  /** The app services (each undefined when disabled). */
  public readonly apps: AppTier;
  /** The edge; undefined when services.nginx is disabled. */
  public readonly edge?: Nginx;
  /** The public URL, published ports and certificate expiry; null without an edge. */
  public readonly edgeInfo: pulumi.Output<EdgeInfo | null>;
  /** The monitoring services (each undefined when disabled). */
  public readonly monitoring: MonitoringTier;
  /** The public site, API and Grafana URLs; null without the edge. */
  public readonly endpoints: pulumi.Output<PublicEndpoints | null>;
  /** Grafana's public URL and the monitoring services' internal ones; null when it is off. */
  public readonly monitoringInfo: pulumi.Output<MonitoringInfo | null>;
  /** The post-deploy smoke check's last result; null without it. Fails the deploy on a failure. */
  public readonly smokeCheck: pulumi.Output<SmokeResult | null>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:platform:Platform", name, {}, opts);
    const cfg = args.config;
    const labels = { "vpn-enterprise.project": cfg.project, "vpn-enterprise.stack": cfg.stack };

    this.networks = new TierNetworks(
      `${name}-networks`,
      { namePrefix: cfg.namePrefix, networks: cfg.networks, labels },
      { parent: this },
    );
    this.secrets = new PlatformSecrets(
      `${name}-secrets`,
      { overrides: cfg.secrets },
      { parent: this },
    );

    const { data: volumes, apiLogs } = stackVolumes(name, cfg, labels, this);
    const allVolumes: Record<string, docker.Volume> = { ...volumes };
    if (apiLogs) allVolumes.apiLogs = apiLogs;
    this.volumeNames = pulumi.output(
      Object.fromEntries(Object.entries(allVolumes).map(([s, v]) => [s, v.name])),
    );

    const context = {
      namePrefix: cfg.namePrefix,
      labels,
      networks: this.networks.networks,
      processBudgets: processBudgets(cfg.services),
    };
    const data = createDataTier(name, this, cfg, context, volumes, this.secrets.values);
    const apps = createAppTier(
      name,
      this,
      cfg,
      context,
      volumes,
      apiLogs,
      this.secrets.values,
      data.ready,
    );
    this.apps = apps;
    const edge = createEdge(name, this, cfg, context, this.secrets.values);
    this.edge = edge;
    const nginx = cfg.services.nginx;
    const site = publicUrl(cfg);
    this.edgeInfo = edge
      ? pulumi
          .all([containerPorts(edge.containers), edge.certificateExpiry])
          .apply(([publishedPorts, certificateExpiry]) => ({
            url: site,
            publishedPorts,
            certificateExpiry,
          }))
      : pulumi.output(null);
    const monitoring = createMonitoring(name, this, cfg, context, {
      volumes,
      secrets: this.secrets.values,
      given: cfg.secrets,
      certificateExpiry: edge ? edge.certificateExpiry : pulumi.output(null),
      dataReady: data.ready,
    });
    this.monitoring = monitoring;
    const grafanaUrl = monitoring.grafana && edge ? `${site}${GRAFANA_PATH}` : null;
    this.monitoringInfo = pulumi.output(
      cfg.monitoring.enabled
        ? {
            grafanaUrl,
            prometheusUrl: monitoring.prometheus ? internalUrl("prometheus") : null,
            alertmanagerUrl: monitoring.alertmanager ? internalUrl("alertmanager") : null,
            lokiUrl: monitoring.loki ? internalUrl("loki") : null,
          }
        : null,
    );
    const endpoints: Record<string, pulumi.Output<ServiceEndpoint>> = {};
    const running = {
      nginx: edge,
      postgres: data.postgres,
      redis: data.redis,
      ...apps,
      ...monitoring,
    };
    for (const [service, svc] of Object.entries(running)) {
      if (svc && "containerNames" in svc) endpoints[service] = endpoint(service, svc);
    }
    // Ollama counts as up once its models are pulled: a failed pull fails the deploy here.
    const ollama = apps.ollama;
    if (ollama) {
      endpoints.ollama = pulumi
        .all([endpoint("ollama", ollama), ollama.modelsReady])
        .apply(([e]) => e);
    }
    this.services = pulumi.output(endpoints);
    const images: Record<string, pulumi.Output<ImageInfo>> = {};
    for (const [service, svc] of Object.entries({ ...running, backup: data.backup })) {
      if (svc && "image" in svc) images[service] = imageInfo(svc.image);
    }
    this.images = pulumi.output(images);
    // Last: every routed service is up, so the check sees the platform as users will.
    const routed = Object.entries(running).flatMap(([service, svc]) =>
      svc && "containers" in svc && (CATALOG[service as ServiceName] as CatalogEntry).routes
        ? svc.containers
        : [],
    );
    this.smokeCheck =
      edge && nginx.smokeCheck.enabled
        ? new SmokeCheck(
            `${name}-smoke`,
            { config: cfg, context, edge, upstreams: routed, secrets: this.secrets.values },
            { parent: this },
          ).result
        : pulumi.output(null);
    this.endpoints = pulumi.output(
      edge
        ? {
            site,
            api: apps.api ? `${site}${CATALOG.api.routes[0].path}` : null,
            grafana: grafanaUrl,
          }
        : null,
    );
    this.data = data.endpoints;
    this.connectionStrings = data.connectionStrings;
    this.backups = data.backups;
    this.dataReady = data.ready;

    const s = this.secrets.values;
    this.credentials = pulumi.secret({
      postgresPassword: s.postgresPassword,
      redisPassword: s.redisPassword,
      grafanaAdminPassword: s.grafanaAdminPassword,
      n8nEditor: pulumi
        .all([apps.n8nEditorAuth, s.n8nEditorPassword])
        .apply(([auth, password]) => (auth ? { user: auth.user, password } : null)),
      edgeAdmin:
        edge && nginx.admin.basicAuth
          ? pulumi.output({ user: nginx.admin.user, password: s.edgeAdminPassword })
          : null,
    });
    this.registerOutputs({
      volumeNames: this.volumeNames,
      services: this.services,
      images: this.images,
      credentials: this.credentials,
      data: this.data,
      connectionStrings: this.connectionStrings,
      backups: this.backups,
      edgeInfo: this.edgeInfo,
      monitoringInfo: this.monitoringInfo,
      endpoints: this.endpoints,
    });
  }
}

function imageInfo(image: ResolvedImage): pulumi.Output<ImageInfo> {
  return pulumi.all([image.id, image.repoDigest]).apply(([id, repoDigest]) => ({
    reference: image.reference,
    source: image.source,
    id,
    repoDigest,
  }));
}

/**
 * What the containers publish (config ports, and a dev debugger's) as `ip:host->container`, `/udp`
 * appended for UDP, each mapping once.
 */
function containerPorts(containers: readonly docker.Container[]): pulumi.Output<string[]> {
  return pulumi
    .all(containers.map((c) => c.ports))
    .apply((all) => [
      ...new Set(
        all.flatMap((ports) =>
          (ports ?? []).map(
            (p) =>
              `${p.ip ?? "0.0.0.0"}:${p.external}->${p.internal}` +
              (p.protocol === "udp" ? "/udp" : ""),
          ),
        ),
      ),
    ]);
}

function endpoint(
  service: string,
  svc: {
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    containerNames: pulumi.Output<string[]>;
    containers: readonly docker.Container[];
  },
): pulumi.Output<ServiceEndpoint> {
  const entry: CatalogEntry = CATALOG[service as ServiceName];
  const scheme = URL_SCHEMES[service] ?? "http";
  return pulumi
    .all([svc.host, svc.port, svc.containerNames, containerPorts(svc.containers)])
    .apply(([host, port, containerNames, published]) => ({
      host,
      port,
      url: `${scheme}://${host}:${port}`,
      healthUrl:
        scheme === "http" && entry.health !== undefined
          ? `http://${host}:${port}${entry.health}`
          : null,
      publishedPorts: published,
      containerNames,
    }));
}
