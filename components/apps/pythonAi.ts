import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
import { CATALOG } from "../../config/catalog";
import { PythonAiConfig } from "../../config/schema";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { httpHealthcheck, secretFiles } from "./common";

export interface PythonAiArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.pythonAi` from the stack config. */
  readonly config: PythonAiConfig;
  /** In-platform URLs of the services it calls; a disabled service has none (and no variable). */
  readonly urls: { readonly ollama?: string; readonly api?: string; readonly n8n?: string };
  /** What it presents to the API (a Pulumi secret). */
  readonly apiServiceKey: pulumi.Input<string>;
}

/** The FastAPI AI service, reached at /api/ai/ through the edge. */
export class PythonAi extends AppService {
  constructor(name: string, args: PythonAiArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.pythonAi;
    const cfg = args.config;
    const secrets = secretFiles({ API_SERVICE_KEY: args.apiServiceKey });
    const { ollama, api, n8n } = args.urls;
    const server = (parent: pulumi.Resource) =>
      new Workload(
        `${name}-server`,
        {
          ...workloadFromConfig("pythonAi", cfg, args.context),
          env: {
            ...cfg.env,
            PORT: String(entry.port),
            LOG_LEVEL: cfg.logLevel,
            ...(ollama !== undefined && { OLLAMA_URL: ollama }),
            ...(api !== undefined && { API_URL: api }),
            ...(n8n !== undefined && { N8N_URL: n8n }),
            ...secrets.env,
          },
          healthcheck: httpHealthcheck("python", entry.port, entry.health),
          secretFiles: secrets.files,
        },
        { parent },
      );
    super("vpn:app:PythonAi", name, "pythonAi", server, opts);
  }
}
