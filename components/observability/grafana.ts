import * as docker from "@pulumi/docker";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { GrafanaConfig } from "../../config/schema";
import {
  DashboardFile,
  GrafanaProvisioningInput,
  dashboardsFor,
  provisionedDatasourceUids,
  renderDashboardProvider,
  renderDatasources,
} from "../../render/grafana";
import { AppService } from "../apps/appService";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { wgetProbe } from "../probe";

const PROVISIONING = "/etc/grafana/provisioning";
const DASHBOARDS_DIR = "/etc/grafana/dashboards";
const ADMIN_PASSWORD_FILE = "/run/secrets/grafana_admin_password";
/** Where the edge serves Grafana: its catalog route (not stripped: Grafana serves from it). */
export const GRAFANA_PATH = CATALOG.grafana.routes[0].path;
/** The shipped dashboards, relative to the project directory. */
export const DASHBOARDS_SOURCE = "assets/grafana/dashboards";

export interface GrafanaArgs {
  readonly context: ServiceContext;
  readonly config: GrafanaConfig;
  readonly volume: docker.Volume;
  /** The admin's password (the generated secret grafanaAdminPassword). */
  readonly adminPassword: pulumi.Input<string>;
  /** The public URL Grafana is served at, with the trailing slash: `<site>/grafana/`. */
  readonly rootUrl: string;
  /** True when users reach it over HTTPS (secure cookies). */
  readonly https: boolean;
  readonly prometheusUrl: string;
  /** Loki's URL; none when Loki is disabled (its datasource and the logs dashboard go too). */
  readonly lokiUrl?: string;
  readonly scrapeIntervalSeconds: number;
  /** The project directory (the dashboards are read from it). */
  readonly projectDir: string;
}

/** The shipped dashboards, read from the project. */
export function shippedDashboards(projectDir: string): DashboardFile[] {
  const dir = path.join(projectDir, DASHBOARDS_SOURCE);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((name) => ({ name, json: fs.readFileSync(path.join(dir, name), "utf8") }));
}

/**
 * Grafana behind the edge at /grafana/: the admin password from a file, no sign-up, no anonymous
 * access unless config allows it, datasources and dashboards provisioned (read-only in the UI).
 */
export class Grafana extends AppService {
  constructor(name: string, args: GrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.grafana;
    const cfg = args.config;
    const provisioning: GrafanaProvisioningInput = {
      prometheusUrl: args.prometheusUrl,
      lokiUrl: args.lokiUrl,
      dashboardsDir: DASHBOARDS_DIR,
      scrapeIntervalSeconds: args.scrapeIntervalSeconds,
    };
    const dashboards = dashboardsFor(
      shippedDashboards(args.projectDir),
      provisionedDatasourceUids(provisioning),
    );
    const env: Record<string, string> = {
      ...cfg.env,
      GF_SERVER_ROOT_URL: args.rootUrl,
      // nginx passes /grafana/... through unchanged (the catalog route strips nothing).
      GF_SERVER_SERVE_FROM_SUB_PATH: "true",
      GF_SECURITY_ADMIN_USER: "admin",
      GF_SECURITY_ADMIN_PASSWORD__FILE: ADMIN_PASSWORD_FILE,
      GF_SECURITY_COOKIE_SECURE: String(args.https),
      GF_SECURITY_DISABLE_GRAVATAR: "true",
      // The edge sends X-Frame-Options SAMEORIGIN on every answer; Grafana's own DENY would
      // contradict it (two headers), so Grafana leaves the header to the edge.
      GF_SECURITY_ALLOW_EMBEDDING: "true",
      GF_AUTH_ANONYMOUS_ENABLED: String(cfg.anonymousViewer),
      GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer",
      GF_USERS_ALLOW_SIGN_UP: String(cfg.allowSignUp),
      GF_USERS_ALLOW_ORG_CREATE: "false",
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: "false",
      GF_LOG_MODE: "console",
      GF_PATHS_PROVISIONING: PROVISIONING,
    };
    super(
      "vpn:monitoring:Grafana",
      name,
      "grafana",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("grafana", cfg, args.context),
            env,
            healthcheck: {
              test: wgetProbe(entry.port, "/api/health"),
              // Database migrations on first start and after an upgrade.
              startPeriodSeconds: 60,
            },
            volumes: [{ volume: args.volume, path: entry.dataPath }],
            files: [
              {
                path: `${PROVISIONING}/datasources/platform.yaml`,
                content: renderDatasources(provisioning),
              },
              {
                path: `${PROVISIONING}/dashboards/platform.yaml`,
                content: renderDashboardProvider(provisioning),
              },
              ...dashboards.map((d) => ({ path: `${DASHBOARDS_DIR}/${d.name}`, content: d.json })),
            ],
            secretFiles: [{ path: ADMIN_PASSWORD_FILE, content: args.adminPassword }],
          },
          { parent },
        ),
      opts,
    );
  }
}
