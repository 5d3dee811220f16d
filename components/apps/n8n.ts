import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
import { CATALOG } from "../../config/catalog";
import { N8nConfig } from "../../config/schema";
import { N8N_SETTINGS_ENV, N8N_SETTINGS_SCRIPT } from "../../render/n8nSettings";
import { JobError, jobGate } from "../job";
import { dataVolumeName } from "../volume";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";

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
  /**
   * The data volume (workflows, credentials, SQLite, the settings file with the key); it outlives
   * this component. Its Docker name is `dataVolumeName(<prefix>, "n8n")`.
   */
  readonly volume: docker.Volume;
  /** Encrypts the credentials n8n stores (a Pulumi secret). Losing it loses them. */
  readonly encryptionKey: pulumi.Input<string>;
}

/** Where the settings job reads the stack's key (the server never holds it as a file or env). */
const KEY_FILE = "/run/secrets/n8n_encryption_key";

/**
 * n8n under /admin/n8n/. Its editor is guarded at the edge (see `editorAuth`); n8n itself keeps
 * its own user management. Telemetry and version checks are off: the platform decides upgrades.
 *
 * n8n reads its encryption key from its settings file only (render/n8nSettings.ts): a job writes
 * the stack's key there before the server starts, or refuses a file that holds another key, and
 * the server starts only after it. On a read-only root n8n's one other write is its editor's
 * files, rewritten for N8N_PATH on every start into `$HOME/.cache`: a tmpfs.
 */
export class N8n extends AppService {
  constructor(name: string, args: N8nArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.n8n;
    const cfg = args.config;
    const https = args.publicUrl.startsWith("https:");
    const publicBase = `${args.publicUrl}${N8N_PATH}`;
    const base = workloadFromConfig("n8n", cfg, args.context);
    const settingsFile = `${entry.dataPath}/config`;
    const volumeName = dataVolumeName(args.context.namePrefix, "n8n");
    const server = (parent: pulumi.Resource) => {
      const settings = new Workload(
        `${name}-settings`,
        {
          ...base,
          service: "n8n-settings",
          replicas: 1,
          // One node process that reads and writes a small file.
          resources: { cpus: 0.25, memoryMb: 128, pidsLimit: 64 },
          ports: [],
          oneShot: true,
          env: {
            [N8N_SETTINGS_ENV.file]: settingsFile,
            [N8N_SETTINGS_ENV.keyFile]: KEY_FILE,
            [N8N_SETTINGS_ENV.volume]: volumeName,
            [N8N_SETTINGS_ENV.image]: cfg.image.ref ?? "<the n8n image>",
          },
          entrypoint: ["node", "-e", N8N_SETTINGS_SCRIPT],
          command: [],
          volumes: [{ volume: args.volume, path: entry.dataPath }],
          secretFiles: [{ path: KEY_FILE, content: args.encryptionKey }],
        },
        { parent },
      );
      const settingsReady = jobGate(
        settings,
        [],
        (container, exitCode, output) =>
          new JobError(
            "Writing n8n's encryption key into its settings file",
            "n8n was not started or changed.",
            container,
            exitCode,
            output,
          ),
      );
      return new Workload(
        `${name}-server`,
        {
          ...base,
          image: { resolved: settings.image },
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
          },
          // /healthz stays at the root whatever N8N_PATH is; the image (Alpine) has busybox wget.
          healthcheck: {
            test: ["CMD-SHELL", `wget -q -O /dev/null http://127.0.0.1:${entry.port}/healthz`],
            startPeriodSeconds: 60,
          },
          volumes: [{ volume: args.volume, path: entry.dataPath }],
          // The editor's files (about 25 MB), written on every start; /tmp as every service has.
          tmpfs: ["/tmp", { path: "/home/node/.cache", sizeMb: 96 }],
          dependsOn: settingsReady,
        },
        { parent },
      );
    };
    super("vpn:app:N8n", name, "n8n", server, opts);
  }
}
