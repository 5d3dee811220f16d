import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { STATEFUL_SERVICES, StatefulServiceName } from "../config/catalog";
import { StackConfig } from "../config/load";
import { Postgres } from "./data/postgres";
import { Redis } from "./data/redis";
import { TierNetworks } from "./network";
import { PlatformSecrets } from "./secrets";
import { serviceVolume } from "./volume";

export interface PlatformArgs {
  /** The validated, frozen stack config. */
  readonly config: StackConfig;
}

/** What other services and teams need to reach one service. */
export interface ServiceEndpoint {
  readonly host: string;
  readonly port: number;
  readonly containerNames: string[];
}

/** Credentials an operator needs; everything else stays inside the platform. */
export interface OperatorCredentials {
  readonly postgresPassword: string;
  readonly redisPassword: string;
  readonly grafanaAdminPassword: string;
}

/** The whole platform: networks, credentials, data volumes and the services of each tier. */
export class Platform extends pulumi.ComponentResource {
  public readonly networks: TierNetworks;
  public readonly secrets: PlatformSecrets;
  /** Docker volume names of the stateful services (they exist even while a service is disabled). */
  public readonly volumeNames: pulumi.Output<Record<string, string>>;
  /** Host, port and container names of each enabled service. */
  public readonly services: pulumi.Output<Record<string, ServiceEndpoint>>;
  /** Credentials operators need (a Pulumi secret). */
  public readonly credentials: pulumi.Output<OperatorCredentials>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:platform:Platform", name, {}, opts);
    const cfg = args.config;
    const labels = { "vpn-enterprise.project": cfg.project, "vpn-enterprise.stack": cfg.stack };

    this.networks = new TierNetworks(
      `${name}-networks`,
      { namePrefix: cfg.namePrefix, networks: cfg.networks, labels },
      { parent: this },
    );
    this.secrets = new PlatformSecrets(
      `${name}-secrets`,
      { overrides: cfg.secrets },
      { parent: this },
    );

    // Volumes belong to the platform, not to the service: disabling a service keeps its data.
    const volumes = {} as Record<StatefulServiceName, docker.Volume>;
    for (const service of STATEFUL_SERVICES) {
      volumes[service] = serviceVolume(
        `${name}-${service}-data`,
        {
          dockerName: `${cfg.namePrefix}-${service}-data`,
          labels: { ...labels, "vpn-enterprise.service": service },
          protection: cfg.services[service].dataProtection,
        },
        this,
      );
    }
    this.volumeNames = pulumi.output(
      Object.fromEntries(Object.entries(volumes).map(([s, v]) => [s, v.name])),
    );

    const context = { namePrefix: cfg.namePrefix, labels, networks: this.networks.networks };
    const endpoints: Record<string, pulumi.Output<ServiceEndpoint>> = {};
    if (cfg.services.postgres.enabled) {
      const postgres = new Postgres(
        `${name}-postgres`,
        {
          context,
          config: cfg.services.postgres,
          volume: volumes.postgres,
          password: this.secrets.values.postgresPassword,
        },
        { parent: this },
      );
      endpoints.postgres = endpoint(postgres);
    }
    if (cfg.services.redis.enabled) {
      const redis = new Redis(
        `${name}-redis`,
        {
          context,
          config: cfg.services.redis,
          volume: volumes.redis,
          password: this.secrets.values.redisPassword,
        },
        { parent: this },
      );
      endpoints.redis = endpoint(redis);
    }
    this.services = pulumi.output(endpoints);

    const s = this.secrets.values;
    this.credentials = pulumi.secret({
      postgresPassword: s.postgresPassword,
      redisPassword: s.redisPassword,
      grafanaAdminPassword: s.grafanaAdminPassword,
    });
    this.registerOutputs({
      volumeNames: this.volumeNames,
      services: this.services,
      credentials: this.credentials,
    });
  }
}

function endpoint(svc: {
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  containerNames: pulumi.Output<string[]>;
}): pulumi.Output<ServiceEndpoint> {
  return pulumi
    .all([svc.host, svc.port, svc.containerNames])
    .apply(([host, port, containerNames]) => ({ host, port, containerNames }));
}
