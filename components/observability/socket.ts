import { CATALOG, CatalogEntry, ServiceName, isRootUser } from "../../config/catalog";
import { MonitoringConfig } from "../../config/schema";
import { WorkloadArgs } from "../workloadArgs";

/** Where the Docker socket appears inside a container. */
export const DOCKER_SOCKET = "/var/run/docker.sock";

/**
 * What a service that reads the Docker socket needs: the socket mounted read-only, and either root
 * (with every capability dropped, the catalog's reason) or the socket's group. Read-only stops
 * nothing the API allows (a client can still ask the engine anything); it keeps the file itself
 * from being replaced. Only the catalog's `dockerSocket` services get it.
 */
export function dockerSocketAccess(
  service: ServiceName,
  user: string,
  monitoring: MonitoringConfig,
): Pick<WorkloadArgs, "binds" | "rootReason" | "groupAdds"> {
  const entry: CatalogEntry = CATALOG[service];
  if (entry.dockerSocket !== true) throw new Error(`${service} does not read the Docker socket`);
  const groupId = monitoring.dockerSocket.groupId;
  return {
    binds: [{ hostPath: monitoring.dockerSocket.path, path: DOCKER_SOCKET, readOnly: true }],
    rootReason: isRootUser(user) ? entry.rootReason : undefined,
    groupAdds: groupId === undefined ? undefined : [groupId],
  };
}
