import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { MonitoringConfig, ServiceConfig } from "../../config/schema";
import { LogShipperInput, alloyRunArgs, renderAlloyConfig } from "../../render/alloy";
import { renderPromtailConfig } from "../../render/promtail";
import { AppService } from "../apps/appService";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { DOCKER_SOCKET, dockerSocketAccess } from "./socket";
import { bashProbe } from "../probe";

export interface LogShipperArgs {
  readonly context: ServiceContext;
  readonly config: ServiceConfig;
  readonly monitoring: MonitoringConfig;
  /** Where it keeps its read positions; outlives this component. */
  readonly volume: docker.Volume;
  readonly project: string;
  readonly stack: string;
  readonly lokiUrl: string;
}

function shipperInput(args: LogShipperArgs): LogShipperInput {
  return {
    lokiPushUrl: `${args.lokiUrl}/loki/api/v1/push`,
    dockerHost: `unix://${DOCKER_SOCKET}`,
    project: args.project,
    stack: args.stack,
    refreshSeconds: 15,
  };
}

/** Grafana Alloy shipping this stack's container logs to Loki (the default shipper). */
export class Alloy extends AppService {
  constructor(name: string, args: LogShipperArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.alloy;
    const configFile = "/etc/alloy/config.alloy";
    const config = renderAlloyConfig({ ...shipperInput(args), listenPort: entry.port });
    super(
      "vpn:monitoring:Alloy",
      name,
      "alloy",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("alloy", args.config, args.context),
            ...dockerSocketAccess("alloy", args.config.user, args.monitoring),
            command: alloyRunArgs(configFile, entry.port, entry.dataPath),
            healthcheck: { test: bashProbe(entry.port, "/-/ready") },
            volumes: [{ volume: args.volume, path: entry.dataPath }],
            files: [{ path: configFile, content: config }],
          },
          { parent },
        ),
      opts,
    );
  }
}

/** Promtail (end of life 2026-03-02), for teams that still run it: the same streams and labels. */
export class Promtail extends AppService {
  constructor(name: string, args: LogShipperArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.promtail;
    const configFile = "/etc/promtail/promtail.yaml";
    const config = renderPromtailConfig({
      ...shipperInput(args),
      listenPort: entry.port,
      positionsFile: `${entry.dataPath}/positions.yaml`,
    });
    super(
      "vpn:monitoring:Promtail",
      name,
      "promtail",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("promtail", args.config, args.context),
            ...dockerSocketAccess("promtail", args.config.user, args.monitoring),
            command: [`-config.file=${configFile}`],
            healthcheck: { test: bashProbe(entry.port, "/ready") },
            volumes: [{ volume: args.volume, path: entry.dataPath }],
            files: [{ path: configFile, content: config }],
          },
          { parent },
        ),
      opts,
    );
  }
}
