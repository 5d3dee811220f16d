import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { AlertmanagerConfig } from "../../config/schema";
import { renderAlertmanagerConfig } from "../../render/alertmanager";
import { AppService } from "../apps/appService";
import { ServiceContext, Workload, WorkloadFile, workloadFromConfig } from "../workload";
import { wgetProbe } from "../probe";

const CONFIG_FILE = "/etc/alertmanager/alertmanager.yml";
const SMTP_PASSWORD_FILE = "/run/secrets/smtp_password";
const WEBHOOK_URL_FILE = "/run/secrets/webhook_url";

export interface AlertmanagerArgs {
  readonly context: ServiceContext;
  readonly config: AlertmanagerConfig;
  /** Silences and the notification log; outlives this component. */
  readonly volume: docker.Volume;
  /** The SMTP password (a Pulumi secret), when email.authUsername is set. */
  readonly smtpPassword?: pulumi.Input<string>;
  /** The webhook's URL (a Pulumi secret), when webhook is set. */
  readonly webhookUrl?: pulumi.Input<string>;
}

/** Alertmanager with the route and receivers from config; credentials only as files. */
export class Alertmanager extends AppService {
  constructor(name: string, args: AlertmanagerArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.alertmanager;
    const cfg = args.config;
    const email = cfg.email;
    const config = renderAlertmanagerConfig({
      route: cfg.route,
      email: email && {
        ...email,
        authPasswordFile: email.authUsername === undefined ? undefined : SMTP_PASSWORD_FILE,
      },
      webhook: cfg.webhook && { ...cfg.webhook, urlFile: WEBHOOK_URL_FILE },
    });
    const secretFiles: WorkloadFile[] = [];
    if (email?.authUsername !== undefined && args.smtpPassword !== undefined) {
      secretFiles.push({ path: SMTP_PASSWORD_FILE, content: args.smtpPassword });
    }
    if (cfg.webhook && args.webhookUrl !== undefined) {
      secretFiles.push({ path: WEBHOOK_URL_FILE, content: args.webhookUrl });
    }
    super(
      "vpn:monitoring:Alertmanager",
      name,
      "alertmanager",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("alertmanager", cfg, args.context),
            command: [
              `--config.file=${CONFIG_FILE}`,
              `--storage.path=${entry.dataPath}`,
              `--web.listen-address=:${entry.port}`,
              // One instance: no cluster port listening for peers.
              "--cluster.listen-address=",
            ],
            healthcheck: { test: wgetProbe(entry.port, "/-/ready") },
            volumes: [{ volume: args.volume, path: entry.dataPath }],
            files: [{ path: CONFIG_FILE, content: config }],
            secretFiles,
          },
          { parent },
        ),
      opts,
    );
  }
}
