import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SECRET_NAMES, SecretName } from "../config/schema";

/** Length of each generated credential; alphanumeric, so it is safe in URLs, files and shells. */
const LENGTHS: Record<SecretName, number> = {
  postgresPassword: 32,
  postgresAppPassword: 32,
  postgresReadonlyPassword: 32,
  redisPassword: 32,
  grafanaAdminPassword: 24,
  n8nEncryptionKey: 48,
  n8nEditorPassword: 24,
  apiJwtSecret: 64,
  apiServiceKey: 48,
  edgeAdminPassword: 24,
  postgresMonitorPassword: 32,
  redisMonitorPassword: 32,
};

export interface PlatformSecretsArgs {
  /** Values given in config (already Pulumi secrets); every other one is generated. */
  readonly overrides: Readonly<Partial<Record<SecretName, pulumi.Output<string>>>>;
}

/** The platform's credentials: each generated once and kept in state, unless config gives it. */
export class PlatformSecrets extends pulumi.ComponentResource {
  /** Every credential, each a Pulumi secret. */
  public readonly values: Readonly<Record<SecretName, pulumi.Output<string>>>;

  constructor(name: string, args: PlatformSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:platform:Secrets", name, {}, opts);
    const values = {} as Record<SecretName, pulumi.Output<string>>;
    for (const key of SECRET_NAMES) {
      const given = args.overrides[key];
      values[key] = pulumi.secret(
        given ??
          new random.RandomPassword(
            `${name}-${key}`,
            { length: LENGTHS[key], special: false },
            { parent: this },
          ).result,
      );
    }
    this.values = values;
    this.registerOutputs({ values });
  }
}
