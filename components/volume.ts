import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
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
