import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, isRootUser } from "../../config/catalog";
import { MonitoringConfig, ServiceConfig } from "../../config/schema";
import { LogShipperInput, alloyRunArgs, renderAlloyConfig } from "../../render/alloy";
import { renderPromtailConfig } from "../../render/promtail";
import { AppService } from "../apps/appService";
import { volumeOwner } from "../volumeOwner";
import { ServiceContext, Workload, WorkloadArgs, workloadFromConfig } from "../workload";
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

/**
 * The shipper's Workload: the socket (read-only), its positions volume, and, for a non-root user
 * (with monitoring.dockerSocket.groupId), a job that first hands that volume to the user.
 */
function shipperServer(
  name: string,
  service: "alloy" | "promtail",
  args: LogShipperArgs,
  own: Pick<WorkloadArgs, "command" | "files">,
  parent: pulumi.Resource,
): Workload {
  const entry = CATALOG[service];
  const base: WorkloadArgs = {
    ...workloadFromConfig(service, args.config, args.context),
    ...own,
    healthcheck: { test: bashProbe(entry.port, service === "alloy" ? "/-/ready" : "/ready") },
    volumes: [{ volume: args.volume, path: entry.dataPath }],
  };
  const owner = isRootUser(args.config.user)
    ? undefined
    : volumeOwner(
        `${name}-volume-owner`,
        { base, volume: args.volume, path: entry.dataPath, what: `${service} positions` },
        parent,
      );
  return new Workload(
    `${name}-server`,
    {
      ...base,
      ...dockerSocketAccess(service, args.config.user, args.monitoring),
      ...(owner && { image: { resolved: owner.job.image }, dependsOn: owner.ready }),
    },
    { parent },
  );
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
        shipperServer(
          name,
          "alloy",
          args,
          {
            command: alloyRunArgs(configFile, entry.port, entry.dataPath),
            files: [{ path: configFile, content: config }],
          },
          parent,
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
        shipperServer(
          name,
          "promtail",
          args,
          {
            command: [`-config.file=${configFile}`],
            files: [{ path: configFile, content: config }],
          },
          parent,
        ),
      opts,
    );
  }
}
