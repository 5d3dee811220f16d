import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
import { CATALOG } from "../../config/catalog";
import { OllamaConfig } from "../../config/schema";
import { JobError, jobGate } from "../job";
import { volumeOwner } from "../volumeOwner";
import { ServiceContext, Workload, internalUrl, workloadFromConfig } from "../workload";

export interface OllamaArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.ollama` from the stack config. */
  readonly config: OllamaConfig;
  /** The models volume; it outlives this component. */
  readonly volume: docker.Volume;
}

/**
 * Ollama, not as root (the upstream image runs as root): a one-off job hands the new models
 * volume to the configured user, the server runs as that user with its home and models on the
 * volume, and a second job pulls the configured models once the server is healthy.
 */
export class Ollama extends AppService {
  /** Resolves once the configured models are pulled (fails the deploy if a pull failed). */
  public readonly modelsReady: pulumi.Output<pulumi.Resource[]>;

  constructor(name: string, args: OllamaArgs, opts?: pulumi.ComponentResourceOptions) {
    const entry = CATALOG.ollama;
    const cfg = args.config;
    const base = workloadFromConfig("ollama", cfg, args.context);
    const home = entry.dataPath;
    // The jobs only wait on the server or run one syscall: small limits of their own.
    const jobResources = { cpus: 0.25, memoryMb: 128, pidsLimit: 64 };
    let modelsReady: pulumi.Output<pulumi.Resource[]> | undefined;
    const server = (parent: pulumi.Resource) => {
      const owner = volumeOwner(
        `${name}-volume-owner`,
        { base, volume: args.volume, path: home, what: "Ollama models" },
        parent,
      );
      const workload = new Workload(
        `${name}-server`,
        {
          ...base,
          image: { resolved: owner.job.image },
          env: {
            ...cfg.env,
            OLLAMA_HOST: `0.0.0.0:${entry.port}`,
            HOME: home,
            OLLAMA_MODELS: `${home}/models`,
          },
          // The CLI asks the server (OLLAMA_HOST): healthy once it answers. The image has no curl.
          healthcheck: { test: ["CMD", "ollama", "list"], startPeriodSeconds: 30 },
          volumes: [{ volume: args.volume, path: home }],
          gpus: cfg.gpu,
          dependsOn: owner.ready,
        },
        { parent },
      );
      modelsReady =
        cfg.models.length === 0
          ? pulumi.output([...workload.containers])
          : jobGate(
              new Workload(
                `${name}-pull-models`,
                {
                  ...base,
                  service: "ollama-pull-models",
                  image: { resolved: owner.job.image },
                  replicas: 1,
                  resources: jobResources,
                  ports: [],
                  oneShot: true,
                  env: { OLLAMA_HOST: internalUrl("ollama"), HOME: "/tmp" },
                  // One `ollama pull` per model, stopping at the first failure.
                  entrypoint: [
                    "/bin/sh",
                    "-c",
                    'for m in "$@"; do ollama pull "$m" || exit 1; done',
                    "pull",
                  ],
                  command: [...cfg.models],
                  dependsOn: [...workload.containers],
                },
                { parent },
              ),
              workload.containers,
              (c, code, out) =>
                new JobError(
                  "Pulling the Ollama models",
                  "Check the model names (services.ollama.models) and the server's network access.",
                  c,
                  code,
                  out,
                ),
            );
      return workload;
    };
    super("vpn:app:Ollama", name, "ollama", server, opts);
    if (modelsReady === undefined) throw new Error("the Ollama server was not built");
    this.modelsReady = modelsReady;
  }
}
