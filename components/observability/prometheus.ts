import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { PrometheusConfig } from "../../config/schema";
import { AlertRulesInput, renderAlertRules } from "../../render/alertRules";
import { ScrapeJob, renderPrometheusConfig } from "../../render/prometheus";
import { AppService } from "../apps/appService";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { wgetProbe } from "../probe";

const CONFIG_FILE = "/etc/prometheus/prometheus.yml";
const RULES_DIR = "/etc/prometheus/rules";

export interface PrometheusArgs {
  readonly context: ServiceContext;
  readonly config: PrometheusConfig;
  /** The named volume for the time series database; it outlives this component. */
  readonly volume: docker.Volume;
  /** Scrape jobs derived from the catalog (scrape.ts). */
  readonly jobs: readonly ScrapeJob[];
  /** Labels every series and alert leaves Prometheus with (project, stack). */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** `host:port` of Alertmanager; none when it is disabled. */
  readonly alertmanager?: string;
  /** Which metric sources exist; the certificate (an Output: it is renewed by an `up`). */
  readonly sources: AlertRulesInput["sources"];
  readonly certificate: pulumi.Input<AlertRulesInput["certificate"]>;
}

/** Prometheus with its scrape jobs and the platform's alert rules, rendered into files. */
export class Prometheus extends AppService {
  constructor(name: string, args: PrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.prometheus;
    const cfg = args.config;
    const config = renderPrometheusConfig({
      scrapeIntervalSeconds: cfg.scrapeIntervalSeconds,
      scrapeTimeoutSeconds: cfg.scrapeTimeoutSeconds,
      evaluationIntervalSeconds: cfg.evaluationIntervalSeconds,
      externalLabels: args.externalLabels,
      alertmanagers: args.alertmanager ? [args.alertmanager] : [],
      ruleFiles: [`${RULES_DIR}/*.yml`],
      jobs: args.jobs,
    });
    const rules = pulumi.output(args.certificate).apply((certificate) =>
      renderAlertRules({
        thresholds: cfg.alerts,
        sources: args.sources,
        certificate,
        stack: args.externalLabels.stack,
      }),
    );
    const retention = [
      `--storage.tsdb.retention.time=${cfg.retention.days}d`,
      ...(cfg.retention.sizeGb ? [`--storage.tsdb.retention.size=${cfg.retention.sizeGb}GB`] : []),
    ];
    super(
      "vpn:monitoring:Prometheus",
      name,
      "prometheus",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("prometheus", cfg, args.context),
            command: [
              `--config.file=${CONFIG_FILE}`,
              `--storage.tsdb.path=${entry.dataPath}`,
              ...retention,
              `--web.listen-address=:${entry.port}`,
            ],
            healthcheck: {
              test: wgetProbe(entry.port, "/-/ready"),
              // Replaying the write-ahead log after a restart can take a while on a big database.
              startPeriodSeconds: 120,
            },
            volumes: [{ volume: args.volume, path: entry.dataPath }],
            files: [
              { path: CONFIG_FILE, content: config },
              { path: `${RULES_DIR}/platform.yml`, content: rules },
            ],
            // It flushes the head block to disk on SIGTERM.
            stopGraceSeconds: 60,
          },
          { parent },
        ),
      opts,
    );
  }
}
