import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { TIERS, Tier } from "../config/catalog";
import { formatIpv4, parseCidr } from "../config/net";
import { NetworksConfig } from "../config/schema";
import { dockerLabels } from "./labels";

export interface TierNetworksArgs {
  /** Prefix of the Docker network names (`<prefix>-<tier>`). */
  readonly namePrefix: string;
  /** Subnet, gateway and `internal` per tier, validated by the config schema. */
  readonly networks: NetworksConfig;
  /** Labels put on every network (project, stack). */
  readonly labels: Readonly<Record<string, string>>;
}

/** One bridge network per tier: edge, app, data (internal by default) and monitoring. */
export class TierNetworks extends pulumi.ComponentResource {
  public readonly networks: Readonly<Record<Tier, docker.Network>>;
  /** Docker network names per tier, for other stacks and for `docker run --network`. */
  public readonly names: pulumi.Output<Record<Tier, string>>;

  constructor(name: string, args: TierNetworksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:platform:TierNetworks", name, {}, opts);
    const entries = TIERS.map((tier) => {
      const cfg = args.networks[tier];
      const network = new docker.Network(
        `${name}-${tier}`,
        {
          name: `${args.namePrefix}-${tier}`,
          driver: "bridge",
          internal: cfg.internal,
          // Subnet and gateway together: with the gateway left to Docker, it can appear in a later
          // read and force a replacement of the network.
          ipamConfigs: [{ subnet: cfg.subnet, gateway: cfg.gateway ?? defaultGateway(cfg.subnet) }],
          labels: dockerLabels({ ...args.labels, "vpn-enterprise.tier": tier }),
        },
        // Every network argument forces a replacement, and the fixed name would clash with a
        // create-before-delete; containers are attached by network id, so they follow.
        { parent: this, deleteBeforeReplace: true },
      );
      return [tier, network] as const;
    });
    this.networks = Object.fromEntries(entries) as Record<Tier, docker.Network>;
    this.names = pulumi.output(
      Object.fromEntries(entries.map(([tier, n]) => [tier, n.name])) as Record<
        Tier,
        pulumi.Output<string>
      >,
    );
    this.registerOutputs({ names: this.names });
  }
}

/** Docker's own choice: the first host address of the subnet. */
export function defaultGateway(subnet: string): string {
  const cidr = parseCidr(subnet);
  if (!cidr)
    throw new Error(`defaultGateway: ${subnet} is not a CIDR (the schema should have refused it)`);
  return formatIpv4(cidr.first + 1);
}
