import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StatefulServiceName } from "../../config/catalog";
import { StackConfig } from "../../config/load";
import { SecretName, publicUrl } from "../../config/schema";
import { AppService } from "../apps/appService";
import { volumeOf } from "../volume";
import { ServiceContext, internalUrl } from "../workload";
import { Alertmanager } from "./alertmanager";
import { NginxExporter, PostgresExporter, RedisExporter } from "./exporters";
import { GRAFANA_PATH, Grafana } from "./grafana";
import { Cadvisor, NodeExporter } from "./hostCollectors";
import { Alloy, Promtail } from "./logShipper";
import { Loki } from "./loki";
import { Prometheus } from "./prometheus";
import { scrapeJobs } from "./scrape";

/** The monitoring services, each undefined when disabled. */
export interface MonitoringTier {
  readonly prometheus?: Prometheus;
  readonly alertmanager?: Alertmanager;
  readonly grafana?: Grafana;
  readonly loki?: Loki;
  readonly alloy?: Alloy;
  readonly promtail?: Promtail;
  readonly nginxExporter?: NginxExporter;
  readonly postgresExporter?: PostgresExporter;
  readonly redisExporter?: RedisExporter;
  readonly cadvisor?: Cadvisor;
  readonly nodeExporter?: NodeExporter;
}

export interface MonitoringInputs {
  readonly volumes: Readonly<Partial<Record<StatefulServiceName, docker.Volume>>>;
  readonly secrets: Readonly<Record<SecretName, pulumi.Output<string>>>;
  /** The SMTP password and webhook URL from config, when given. */
  readonly given: StackConfig["secrets"];
  /** The served certificate's expiry (RFC 3339); null without TLS or without the edge. */
  readonly certificateExpiry: pulumi.Output<string | null>;
  /** The data tier's ready: the exporters' logins exist once it resolves. */
  readonly dataReady: pulumi.Output<pulumi.Resource[]>;
}

/**
 * Creates the enabled monitoring services as children of `parent` (the Platform). The schema has
 * already switched off what monitoring.enabled or a watched service's absence rules out.
 */
export function createMonitoring(
  name: string,
  parent: pulumi.Resource,
  cfg: StackConfig,
  context: ServiceContext,
  inputs: MonitoringInputs,
): MonitoringTier {
  const s = cfg.services;
  const opts = { parent };
  const { volumes, secrets } = inputs;
  const monitoring = cfg.monitoring;
  const when = <T extends AppService>(on: boolean, make: () => T) => (on ? make() : undefined);

  const nginxExporter = when(
    s.nginxExporter.enabled,
    () => new NginxExporter(`${name}-nginx-exporter`, { context, config: s.nginxExporter }, opts),
  );
  const postgresExporter = when(
    s.postgresExporter.enabled,
    () =>
      new PostgresExporter(
        `${name}-postgres-exporter`,
        {
          context,
          config: s.postgresExporter,
          database: s.postgres.database,
          password: secrets.postgresMonitorPassword,
          dependsOn: inputs.dataReady,
        },
        opts,
      ),
  );
  const redisExporter = when(
    s.redisExporter.enabled,
    () =>
      new RedisExporter(
        `${name}-redis-exporter`,
        {
          context,
          config: s.redisExporter,
          password: secrets.redisMonitorPassword,
          dependsOn: inputs.dataReady,
        },
        opts,
      ),
  );
  const cadvisor = when(
    s.cadvisor.enabled,
    () => new Cadvisor(`${name}-cadvisor`, { context, config: s.cadvisor, monitoring }, opts),
  );
  const nodeExporter = when(
    s.nodeExporter.enabled,
    () =>
      new NodeExporter(
        `${name}-node-exporter`,
        {
          context,
          config: s.nodeExporter,
          backups: s.backup.enabled ? volumeOf(volumes, "backup") : undefined,
        },
        opts,
      ),
  );
  const loki = when(
    s.loki.enabled,
    () =>
      new Loki(
        `${name}-loki`,
        { context, config: s.loki, volume: volumeOf(volumes, "loki") },
        opts,
      ),
  );
  const shipper = {
    context,
    monitoring,
    project: cfg.project,
    stack: cfg.stack,
    lokiUrl: internalUrl("loki"),
  };
  // The schema requires Loki for either shipper and allows at most one of them.
  const alloy = when(
    s.alloy.enabled,
    () =>
      new Alloy(
        `${name}-alloy`,
        { ...shipper, config: s.alloy, volume: volumeOf(volumes, "alloy") },
        opts,
      ),
  );
  const promtail = when(
    s.promtail.enabled,
    () =>
      new Promtail(
        `${name}-promtail`,
        { ...shipper, config: s.promtail, volume: volumeOf(volumes, "promtail") },
        opts,
      ),
  );
  const alertmanager = when(
    s.alertmanager.enabled,
    () =>
      new Alertmanager(
        `${name}-alertmanager`,
        {
          context,
          config: s.alertmanager,
          volume: volumeOf(volumes, "alertmanager"),
          smtpPassword: inputs.given.alertmanagerSmtpPassword,
          webhookUrl: inputs.given.alertmanagerWebhookUrl,
        },
        opts,
      ),
  );
  const prometheus = when(
    s.prometheus.enabled,
    () =>
      new Prometheus(
        `${name}-prometheus`,
        {
          context,
          config: s.prometheus,
          volume: volumeOf(volumes, "prometheus"),
          jobs: scrapeJobs(cfg),
          externalLabels: { project: cfg.project, stack: cfg.stack },
          alertmanager: alertmanager ? new URL(internalUrl("alertmanager")).host : undefined,
          sources: {
            cadvisor: s.cadvisor.enabled,
            nodeExporter: s.nodeExporter.enabled,
            api: s.api.enabled,
            // Backup metrics arrive through node-exporter's textfile collector only.
            backups: s.backup.enabled && s.nodeExporter.enabled,
          },
          certificate: inputs.certificateExpiry.apply((expiry) =>
            expiry === null ? null : { domain: cfg.domain, expiry },
          ),
        },
        opts,
      ),
  );
  const grafana = when(
    s.grafana.enabled,
    () =>
      new Grafana(
        `${name}-grafana`,
        {
          context,
          config: s.grafana,
          volume: volumeOf(volumes, "grafana"),
          adminPassword: secrets.grafanaAdminPassword,
          rootUrl: `${publicUrl(cfg)}${GRAFANA_PATH}`,
          https: cfg.tls.mode !== "off",
          prometheusUrl: internalUrl("prometheus"),
          lokiUrl: loki ? internalUrl("loki") : undefined,
          scrapeIntervalSeconds: s.prometheus.scrapeIntervalSeconds,
          projectDir: cfg.projectDir,
        },
        opts,
      ),
  );
  return {
    prometheus,
    alertmanager,
    grafana,
    loki,
    alloy,
    promtail,
    nginxExporter,
    postgresExporter,
    redisExporter,
    cadvisor,
    nodeExporter,
  };
}
