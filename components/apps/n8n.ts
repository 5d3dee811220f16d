import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
import { CATALOG } from "../../config/catalog";
import { N8nConfig } from "../../config/schema";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { secretFiles } from "./common";

/** The public path n8n is served under: its catalog route (the edge keeps the prefix). */
export const N8N_PATH = CATALOG.n8n.routes[0].path;

export interface N8nArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.n8n` from the stack config. */
  readonly config: N8nConfig;
  /** The platform's public base URL. */
  readonly publicUrl: string;
  /** The domain n8n announces itself under. */
  readonly domain: string;
  /** The data volume (workflows, credentials, SQLite); it outlives this component. */
  readonly volume: docker.Volume;
  /** Encrypts the credentials n8n stores (a Pulumi secret). Losing it loses them. */
  readonly encryptionKey: pulumi.Input<string>;
}

/**
 * n8n under /admin/n8n/. Its editor is guarded at the edge (see `editorAuth`); n8n itself keeps
 * its own user management. Telemetry and version checks are off: the platform decides upgrades.
 */
export class N8n extends AppService {
  constructor(name: string, args: N8nArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.n8n;
    const cfg = args.config;
    const https = args.publicUrl.startsWith("https:");
    const secrets = secretFiles({ N8N_ENCRYPTION_KEY: args.encryptionKey });
    const publicBase = `${args.publicUrl}${N8N_PATH}`;
    const server = (parent: pulumi.Resource) =>
      new Workload(
        `${name}-server`,
        {
          ...workloadFromConfig("n8n", cfg, args.context),
          env: {
            ...cfg.env,
            N8N_PORT: String(entry.port),
            N8N_HOST: args.domain,
            N8N_PROTOCOL: https ? "https" : "http",
            N8N_PATH,
            N8N_EDITOR_BASE_URL: publicBase,
            WEBHOOK_URL: publicBase,
            // One proxy (nginx) in front: trust its X-Forwarded-* for client addresses.
            N8N_PROXY_HOPS: "1",
            N8N_SECURE_COOKIE: String(https),
            N8N_DIAGNOSTICS_ENABLED: "false",
            N8N_VERSION_NOTIFICATIONS_ENABLED: "false",
            N8N_HIRING_BANNER_ENABLED: "false",
            N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: "true",
            // Workflows must not read the container's environment (nothing secret is there, but
            // nothing of it is theirs either).
            N8N_BLOCK_ENV_ACCESS_IN_NODE: "true",
            NODE_ENV: "production",
            GENERIC_TIMEZONE: "UTC",
            // n8n reads `<VAR>_FILE` for its settings, so the key never sits in env.
            ...secrets.env,
          },
          // /healthz stays at the root whatever N8N_PATH is; the image (Alpine) has busybox wget.
          healthcheck: {
            test: ["CMD-SHELL", `wget -q -O /dev/null http://127.0.0.1:${entry.port}/healthz`],
            startPeriodSeconds: 60,
          },
          volumes: [{ volume: args.volume, path: entry.dataPath }],
          secretFiles: secrets.files,
        },
        { parent },
      );
    super("vpn:app:N8n", name, "n8n", server, opts);
  }
}
