import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
import { CATALOG } from "../../config/catalog";
import { WebConfig } from "../../config/schema";
import { ServiceContext, Workload, workloadFromConfig } from "../workload";
import { httpHealthcheck, nodeDevMode } from "./common";

export interface WebArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.web` from the stack config. */
  readonly config: WebConfig;
  /** The platform's public base URL; the browser calls the API at `<publicUrl>/api`. */
  readonly publicUrl: string;
  /** The project directory (devMode's source is relative to it). */
  readonly projectDir: string;
}

/** The Next.js dashboard: on the app network only; it holds no secret and reaches nothing else. */
export class Web extends AppService {
  constructor(name: string, args: WebArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.web;
    const cfg = args.config;
    const dev = nodeDevMode(cfg.image, cfg.devMode, args.projectDir, ["--watch", "server.js"]);
    const server = (parent: pulumi.Resource) =>
      new Workload(
        `${name}-server`,
        {
          ...workloadFromConfig("web", cfg, args.context),
          image: dev.image,
          env: {
            ...cfg.env,
            NODE_ENV: dev.nodeEnv,
            PORT: String(entry.port),
            // Next's standalone server binds to $HOSTNAME, which Docker sets to the container name.
            HOSTNAME: "0.0.0.0",
            NEXT_PUBLIC_API_URL: `${args.publicUrl}/api`,
            NEXT_TELEMETRY_DISABLED: "1",
            LOG_LEVEL: cfg.logLevel,
          },
          command: dev.command,
          healthcheck: httpHealthcheck("node", entry.port, entry.health),
          binds: dev.binds,
          anonymousVolumes: dev.anonymousVolumes,
        },
        { parent },
      );
    super("vpn:app:Web", name, "web", server, opts);
  }
}
