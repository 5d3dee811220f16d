import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { LokiConfig } from "../../config/schema";
import { renderLokiConfig } from "../../render/loki";
import { AppService } from "../apps/appService";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { wgetProbe } from "../probe";

const CONFIG_FILE = "/etc/loki/loki.yaml";

export interface LokiArgs {
  readonly context: ServiceContext;
  readonly config: LokiConfig;
  /** Chunks, index and the compactor's work; outlives this component. */
  readonly volume: docker.Volume;
}

/** Loki, single binary on its volume, deleting logs older than the configured retention. */
export class Loki extends AppService {
  constructor(name: string, args: LokiArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.loki;
    const cfg = args.config;
    const config = renderLokiConfig({
      port: entry.port,
      dataDir: entry.dataPath,
      retentionDays: cfg.retentionDays,
      ingestionRateMb: cfg.ingestionRateMb,
      ingestionBurstMb: cfg.ingestionBurstMb,
    });
    super(
      "vpn:monitoring:Loki",
      name,
      "loki",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("loki", cfg, args.context),
            command: [`-config.file=${CONFIG_FILE}`],
            // The image is distroless with busybox under /busybox (Loki 3.5).
            healthcheck: {
              test: wgetProbe(entry.port, "/ready", "/busybox/wget"),
              // /ready answers 503 for the ingester's first 15 s.
              startPeriodSeconds: 60,
            },
            volumes: [{ volume: args.volume, path: entry.dataPath }],
            files: [{ path: CONFIG_FILE, content: config }],
          },
          { parent },
        ),
      opts,
    );
  }
}
