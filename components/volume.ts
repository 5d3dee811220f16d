import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { STATEFUL_SERVICES, StatefulServiceName } from "../config/catalog";
import { StackConfig } from "../config/load";
import { DataProtection } from "../config/schema";
import { dockerLabels } from "./labels";

/** The Docker name of a stateful service's data volume, for those that name it in a message. */
export function dataVolumeName(namePrefix: string, service: string): string {
  return `${namePrefix}-${service}-data`;
}

/**
 * A stateful service's named volume. Protected and retained on delete unless the stack's config
 * opts out, so neither `pulumi destroy` nor a refactor can delete the data by accident.
 */
export function serviceVolume(
  name: string,
  args: {
    readonly dockerName: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly protection: DataProtection;
  },
  parent: pulumi.Resource,
): docker.Volume {
  return new docker.Volume(
    name,
    { name: args.dockerName, labels: dockerLabels(args.labels) },
    {
      parent,
      protect: args.protection.protect,
      retainOnDelete: args.protection.retainOnDelete,
      // Docker cannot relabel a volume, so a label change would replace it: an empty volume in
      // place of the data. Labels are informational; they never justify that.
      ignoreChanges: ["labels"],
    },
  );
}

/** The volume of an enabled stateful service (the Platform creates one for each). */
export function volumeOf<K extends string>(
  volumes: Readonly<Partial<Record<K, docker.Volume>>>,
  service: K,
): docker.Volume {
  const v = volumes[service];
  if (!v) throw new Error(`${service} is enabled but the platform made no volume for it`);
  return v;
}

/** The stack's volumes: one per stateful service that keeps one, and the API's logs volume. */
export interface StackVolumes {
  readonly data: Partial<Record<StatefulServiceName, docker.Volume>>;
  /** The guide's api-logs, when services.api.logs is "volume". */
  readonly apiLogs: docker.Volume | undefined;
}

/**
 * The stack's volumes, children of the Platform (`parent`): they belong to the stack, not to the
 * service, so disabling a service keeps its data, unless its dataProtection says
 * keepWhenDisabled: false.
 */
export function stackVolumes(
  name: string,
  cfg: StackConfig,
  labels: Readonly<Record<string, string>>,
  parent: pulumi.Resource,
): StackVolumes {
  const data: Partial<Record<StatefulServiceName, docker.Volume>> = {};
  for (const service of STATEFUL_SERVICES) {
    const svc = cfg.services[service];
    if (!svc.enabled && !svc.dataProtection.keepWhenDisabled) continue;
    data[service] = serviceVolume(
      `${name}-${service}-data`,
      {
        dockerName: dataVolumeName(cfg.namePrefix, service),
        labels: { ...labels, "vpn-enterprise.service": service },
        protection: svc.dataProtection,
      },
      parent,
    );
  }
  // The guide's api-logs: replicas append to their own files. Logs are not data, so never
  // protected; kept after the stack unless the stack's dataProtection lets its volumes go.
  const apiLogs =
    cfg.services.api.logs === "volume"
      ? serviceVolume(
          `${name}-api-logs`,
          {
            dockerName: `${cfg.namePrefix}-api-logs`,
            labels: { ...labels, "vpn-enterprise.service": "api" },
            protection: {
              protect: false,
              retainOnDelete: cfg.volumeProtection.retainOnDelete,
              keepWhenDisabled: true,
            },
          },
          parent,
        )
      : undefined;
  return { data, apiLogs };
}
