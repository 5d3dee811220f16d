import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG } from "../../config/catalog";
import { MonitoringConfig, ServiceConfig } from "../../config/schema";
import { AppService } from "../apps/appService";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { DOCKER_SOCKET, dockerSocketAccess } from "./socket";
import { wgetProbe } from "../probe";

/** The platform's own Docker labels, the only ones cAdvisor turns into metric labels. */
const KEPT_LABELS = ["service", "stack", "tier", "replica", "project"].map(
  (l) => `vpn-enterprise.${l}`,
);

export interface CadvisorArgs {
  readonly context: ServiceContext;
  readonly config: ServiceConfig;
  readonly monitoring: MonitoringConfig;
}

/** cAdvisor: CPU, memory, network and restarts of every container, labelled by service. */
export class Cadvisor extends AppService {
  constructor(name: string, args: CadvisorArgs, opts?: pulumi.ComponentResourceOptions) {
    const port = CATALOG.cadvisor.port;
    const socket = dockerSocketAccess("cadvisor", args.config.user, args.monitoring);
    super(
      "vpn:monitoring:Cadvisor",
      name,
      "cadvisor",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("cadvisor", args.config, args.context),
            ...socket,
            command: [
              `--port=${port}`,
              `--docker=unix://${DOCKER_SOCKET}`,
              "--docker_only=true",
              // The default 1 s costs a core on a busy host; 15 s still resolves a 5-minute alert.
              "--housekeeping_interval=15s",
              "--store_container_labels=false",
              `--whitelisted_container_labels=${KEPT_LABELS.join(",")}`,
              "--disable_metrics=advtcp,cpu_topology,cpuset,hugetlb,memory_numa,percpu,process,referenced_memory,resctrl,sched,tcp,udp",
            ],
            healthcheck: { test: wgetProbe(port, "/healthz") },
            // What the README's recipe mounts, read-only at their top (Docker does not make the
            // mounts below a bind read-only: see the README's limits); no --privileged, no /dev/kmsg (OOM
            // events are lost; container OOM kills still show as restarts).
            binds: [
              ...(socket.binds ?? []),
              { hostPath: "/", path: "/rootfs", readOnly: true },
              { hostPath: "/sys", path: "/sys", readOnly: true },
              { hostPath: "/var/lib/docker", path: "/var/lib/docker", readOnly: true },
              { hostPath: "/dev/disk", path: "/dev/disk", readOnly: true },
            ],
          },
          { parent },
        ),
      opts,
    );
  }
}

export interface NodeExporterArgs {
  readonly context: ServiceContext;
  readonly config: ServiceConfig;
  /** The backups volume; its vpn_backup.prom is read by the textfile collector. None: no backups. */
  readonly backups?: docker.Volume;
}

const HOST = "/host";
const TEXTFILE_DIR = "/textfile";

/** node-exporter: the host's CPU, memory, disks and network, plus the backup job's metrics file. */
export class NodeExporter extends AppService {
  constructor(name: string, args: NodeExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    const port = CATALOG.nodeExporter.port;
    super(
      "vpn:monitoring:NodeExporter",
      name,
      "nodeExporter",
      (parent) =>
        new Workload(
          `${name}-server`,
          {
            ...workloadFromConfig("nodeExporter", args.config, args.context),
            command: [
              `--web.listen-address=:${port}`,
              `--path.procfs=${HOST}/proc`,
              `--path.sysfs=${HOST}/sys`,
              `--path.rootfs=${HOST}/root`,
              // node-exporter's default, so container layers and pseudo file systems stay out.
              "--collector.filesystem.mount-points-exclude=^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
              ...(args.backups ? [`--collector.textfile.directory=${TEXTFILE_DIR}`] : []),
            ],
            healthcheck: { test: wgetProbe(port, "/") },
            binds: [
              { hostPath: "/proc", path: `${HOST}/proc`, readOnly: true },
              { hostPath: "/sys", path: `${HOST}/sys`, readOnly: true },
              { hostPath: "/", path: `${HOST}/root`, readOnly: true },
            ],
            // Read-only and shared with the backup job, which writes it (the job owns the volume).
            volumes: args.backups
              ? [{ volume: args.backups, path: TEXTFILE_DIR, readOnly: true, shared: true }]
              : [],
          },
          { parent },
        ),
      opts,
    );
  }
}
