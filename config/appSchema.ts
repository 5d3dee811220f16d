/**
 * The app tier's own config keys (on top of the keys every service has) and their cross-checks.
 * Pure: no Pulumi. The paths these keys name are checked against the disk in config/paths.ts.
 */
import { z } from "zod";
import { strict } from "./strict";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** The port a Node process's inspector listens on inside the container (`--inspect=0.0.0.0:9229`). */
export const NODE_INSPECT_PORT = 9229;
export const MAX_OLLAMA_MODELS = 20;
/** An Ollama model name as `ollama pull` takes it: `name`, `name:tag` or `namespace/name:tag`. */
const OLLAMA_MODEL =
  /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?(:[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

const port = z.int().min(1).max(65535);
const logLevel = z.enum(LOG_LEVELS).default("info");

/**
 * Development mode, as the guide's dev stack runs it: the image's `dev` target, the source tree
 * bind-mounted over /app with the service's hot-reload command, NODE_ENV=development.
 */
const devSource = {
  /** The service's source tree on the Docker host, relative to the project directory. */
  source: z.string().min(1),
  /**
   * The hot-reload command, e.g. `[npx, next, dev]` for a Next.js app. Default `node --watch` on
   * the entry point (with the inspector when debugPort is set); a custom command is run as given.
   */
  command: z.array(z.string().min(1)).min(1).optional(),
};
const webDevMode = strict(devSource).optional();
const apiDevMode = strict({
  ...devSource,
  /** Host port (on 127.0.0.1 only) for the Node inspector; none by default. */
  debugPort: port.optional(),
}).optional();

const httpApp = { logLevel };

export const apiExtras = {
  ...httpApp,
  /** The Supabase project URL the API talks to, if any. */
  supabaseUrl: z
    .url({ protocol: /^https?$/, error: "an http(s) URL such as https://xyz.supabase.co" })
    .optional(),
  /** `volume`: the guide's api-logs volume at /app/logs; `stdout`: rely on log shipping. */
  logs: z.enum(["volume", "stdout"]).default("volume"),
  devMode: apiDevMode,
};

export const webExtras = { ...httpApp, devMode: webDevMode };
export const pythonAiExtras = { ...httpApp };
export const dbManagerExtras = { ...httpApp };
export const provisionerExtras = { ...httpApp };

export const ollamaExtras = {
  /** Models to pull once the server is healthy (`ollama pull`); a change pulls again. */
  models: z
    .array(
      z.string().regex(OLLAMA_MODEL, {
        error: "a model name as ollama pull takes it, such as llama3.2:3b or namespace/name:tag",
      }),
    )
    .max(MAX_OLLAMA_MODELS)
    .default([]),
  /** NVIDIA GPUs to hand the server: `all` or a count. None by default. */
  gpu: z.union([z.literal("all"), z.int().min(1).max(16)]).optional(),
};

export const n8nExtras = {
  /**
   * How the editor is guarded at the edge: `basicAuth` (a user from here, a generated password,
   * nginx asks for both) or `none` (local development only).
   */
  editorProtection: z.enum(["basicAuth", "none"]).default("basicAuth"),
  editorUser: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "1 to 64 letters, digits, '.', '_' or '-'" })
    .default("admin"),
};

interface DevModeChecked {
  readonly replicas: number;
  readonly image: { readonly ref?: string; readonly build?: { readonly context: string } };
  readonly devMode?: { readonly source: string; readonly debugPort?: number };
}

/** devMode builds the image's `dev` stage from a local source: a prebuilt image has none. */
export function checkDevMode(svc: DevModeChecked, ctx: z.RefinementCtx): void {
  const dev = svc.devMode;
  if (dev === undefined) return;
  if (svc.image.build === undefined || isGitContext(svc.image.build.context)) {
    ctx.addIssue({
      code: "custom",
      path: ["devMode"],
      message:
        "no devMode with a prebuilt image or a git context: devMode builds the `dev` stage of image.build from a local path",
    });
  }
  if (dev.debugPort !== undefined && svc.replicas > 1) {
    ctx.addIssue({
      code: "custom",
      path: ["devMode", "debugPort"],
      message: `no debug port with replicas > 1 (${svc.replicas} containers cannot bind one host port); set replicas: 1`,
    });
  }
}

/** A git build context: `https://`, `ssh://` or `git@` URL of a `.git` repository, `#ref[:dir]`. */
export const GIT_CONTEXT = /^(https:\/\/|ssh:\/\/|git@)[^\s#]+\.git#[^\s#:]+(:[^\s#]+)?$/;

export function isGitContext(context: string): boolean {
  return /^(https?:\/\/|ssh:\/\/|git@|git:\/\/)/.test(context);
}

const NODE_APP_ENV = ["NODE_ENV", "PORT", "SERVICE_NAME", "LOG_LEVEL"] as const;
const DATABASE_ENV = [
  "DATABASE_HOST",
  "DATABASE_PORT",
  "DATABASE_NAME",
  "DATABASE_USER",
  "DATABASE_PASSWORD_FILE",
] as const;

/**
 * The variables the platform sets on each app service. A stack's `env` may not set them: the
 * wiring (hosts, ports, secret files) is the platform's, and a silent override would break it.
 */
export const PLATFORM_ENV = {
  api: [
    ...NODE_APP_ENV,
    ...DATABASE_ENV,
    "PUBLIC_URL",
    "SUPABASE_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_PASSWORD_FILE",
    "JWT_SECRET_FILE",
    "SERVICE_KEY_FILE",
    "LOG_DIR",
  ],
  web: [
    "NODE_ENV",
    "PORT",
    "HOSTNAME",
    "NEXT_PUBLIC_API_URL",
    "NEXT_TELEMETRY_DISABLED",
    "LOG_LEVEL",
  ],
  pythonAi: ["PORT", "LOG_LEVEL", "OLLAMA_URL", "API_URL", "N8N_URL", "API_SERVICE_KEY_FILE"],
  ollama: ["OLLAMA_HOST", "HOME", "OLLAMA_MODELS"],
  n8n: [
    "N8N_PORT",
    "N8N_HOST",
    "N8N_PROTOCOL",
    "N8N_PATH",
    "N8N_EDITOR_BASE_URL",
    "WEBHOOK_URL",
    "N8N_PROXY_HOPS",
    "N8N_SECURE_COOKIE",
    "N8N_DIAGNOSTICS_ENABLED",
    "N8N_VERSION_NOTIFICATIONS_ENABLED",
    "N8N_HIRING_BANNER_ENABLED",
    "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS",
    "N8N_BLOCK_ENV_ACCESS_IN_NODE",
    "NODE_ENV",
    "GENERIC_TIMEZONE",
    // Not set as env: the key is the stack's secrets.n8nEncryptionKey, which the n8n-settings job
    // writes into n8n's settings file. A stack's own value would contradict it (n8n refuses a
    // key other than its settings file's), so both names stay the platform's.
    "N8N_ENCRYPTION_KEY",
    "N8N_ENCRYPTION_KEY_FILE",
  ],
  dbManager: [...NODE_APP_ENV, ...DATABASE_ENV],
  provisioner: [...NODE_APP_ENV, ...DATABASE_ENV, "API_URL", "SERVICE_KEY_FILE"],
  // The monitoring services that take their wiring from env (the others from files and flags).
  grafana: [
    "GF_SERVER_ROOT_URL",
    "GF_SERVER_SERVE_FROM_SUB_PATH",
    "GF_SECURITY_ADMIN_USER",
    "GF_SECURITY_ADMIN_PASSWORD__FILE",
    "GF_SECURITY_COOKIE_SECURE",
    "GF_SECURITY_DISABLE_GRAVATAR",
    "GF_SECURITY_ALLOW_EMBEDDING",
    "GF_AUTH_ANONYMOUS_ENABLED",
    "GF_AUTH_ANONYMOUS_ORG_ROLE",
    "GF_USERS_ALLOW_SIGN_UP",
    "GF_USERS_ALLOW_ORG_CREATE",
    "GF_ANALYTICS_REPORTING_ENABLED",
    "GF_ANALYTICS_CHECK_FOR_UPDATES",
    "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES",
    "GF_LOG_MODE",
    "GF_PATHS_PROVISIONING",
  ],
  postgresExporter: ["DATA_SOURCE_URI", "DATA_SOURCE_USER", "DATA_SOURCE_PASS_FILE"],
  redisExporter: [
    "REDIS_ADDR",
    "REDIS_USER",
    "REDIS_PASSWORD_FILE",
    "REDIS_EXPORTER_CONFIG_COMMAND",
    "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
  ],
} as const satisfies Record<string, readonly string[]>;

/** Refuses a stack `env` key the platform sets itself (see PLATFORM_ENV). */
export function reservedEnv(service: keyof typeof PLATFORM_ENV) {
  const reserved: readonly string[] = PLATFORM_ENV[service];
  return (svc: { readonly env: Readonly<Record<string, string>> }, ctx: z.RefinementCtx) => {
    for (const key of Object.keys(svc.env)) {
      if (reserved.includes(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["env", key],
          message: `a name the platform does not set itself (it sets ${key} from the rest of the config)`,
        });
      }
    }
  };
}
