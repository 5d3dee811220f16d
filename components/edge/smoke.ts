import { createHash } from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/load";
import { SecretName } from "../../config/schema";
import { curlLogin, renderSmokeScript } from "../../render/smoke";
import { readableContainerLog } from "../../config/dockerValues";
import { Workload, ServiceContext, workloadFromConfig } from "../workload";
import { HTTPS_PORT } from "./site";
import { Nginx } from "./nginx";
import { smokePlan } from "./smokePlan";

/** Where the job finds its script, the CA it trusts and the logins it sends. */
export const SMOKE_DIR = "/run/smoke";

/** What the last smoke check found: its PASS and NOTE lines. */
export interface SmokeResult {
  readonly container: string;
  readonly passed: string[];
  readonly notes: string[];
}

export interface SmokeCheckArgs {
  readonly config: StackConfig;
  readonly context: ServiceContext;
  readonly edge: Nginx;
  /** The running containers of each routed service: the check runs again when any is replaced. */
  readonly upstreams: readonly docker.Container[];
  readonly secrets: Readonly<Record<SecretName, pulumi.Output<string>>>;
}

/**
 * The post-deploy smoke check the guide's checklist asks for ("verify health checks, test critical
 * paths"): a oneShot job on the edge network, in the edge's own image (curl), that asks nginx for
 * the domain as a user would: nginx's /health, HTTP sent to HTTPS, each enabled route's probe, the
 * admin guards refusing anonymous requests, the certificate verified for the domain. It runs again
 * whenever nginx, its config or certificate, or a routed container is replaced, or the checks
 * change; a failure fails the `up`
 * with each failing route and the status it got (the deploy itself stays applied).
 */
export class SmokeCheck extends pulumi.ComponentResource {
  /** The PASS and NOTE lines of the run; fails the deploy when a check failed. */
  public readonly result: pulumi.Output<SmokeResult>;

  constructor(name: string, args: SmokeCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:edge:SmokeCheck", name, {}, opts);
    const cfg = args.config;
    const nginx = cfg.services.nginx;
    const settings = nginx.smokeCheck;
    const plan = smokePlan(cfg);
    const ca =
      cfg.tls.mode === "selfSigned"
        ? args.edge.certificate?.certificatePem
        : cfg.tls.mode === "files"
          ? settings.caCertificate
          : undefined;
    // Container ids change exactly when a container is replaced: the trigger of another run. The
    // edge's install jobs are replaced when its config, certificate or logins change.
    const watched = [...args.edge.containers, ...args.edge.installJobs, ...args.upstreams];
    const ids = pulumi
      .all(watched.map((c) => c.id))
      .apply((all) => createHash("sha256").update(all.join("\n")).digest("hex"));
    const script = ids.apply((trigger) =>
      renderSmokeScript({
        domain: cfg.domain,
        checks: plan.checks,
        notes: plan.notes,
        attempts: settings.attempts,
        intervalSeconds: settings.intervalSeconds,
        requestTimeoutSeconds: settings.requestTimeoutSeconds,
        caFile: ca !== undefined,
        target: { host: "nginx", httpPort: 80, httpsPort: HTTPS_PORT },
        dir: SMOKE_DIR,
        trigger: `containers ${trigger}`,
        // A newly installed config is served after the next reload check: wait for it first.
        settleSeconds: nginx.reloadCheckSeconds + 1,
      }),
    );
    const base = workloadFromConfig("nginx", nginx, args.context);
    const job = new Workload(
      `${name}-job`,
      {
        ...base,
        image: { resolved: args.edge.image },
        service: "nginx-smoke",
        replicas: 1,
        // curl and a shell: small limits of its own.
        resources: { cpus: 0.25, memoryMb: 64, pidsLimit: 32 },
        networks: [args.context.networks.edge],
        ports: [],
        port: undefined,
        oneShot: true,
        healthcheck: undefined,
        entrypoint: ["/bin/sh", `${SMOKE_DIR}/check.sh`],
        command: undefined,
        env: {},
        files: [
          { path: `${SMOKE_DIR}/check.sh`, content: script },
          ...(ca !== undefined ? [{ path: `${SMOKE_DIR}/ca.pem`, content: ca }] : []),
        ],
        secretFiles: plan.logins.map((l) => ({
          path: `${SMOKE_DIR}/${l.name}.curlrc`,
          content: args.secrets[l.secret].apply((password) => curlLogin(l.user, password)),
        })),
        // Uploads on a read-only root are refused (see the edge's install jobs); this job lives
        // for seconds, as the nginx user, with no capability.
        readOnlyRoot: false,
        volumes: [],
        dependsOn: watched,
      },
      { parent: this },
    );
    const container = job.containers[0];
    if (!job.job) throw new Error("smoke check: the job is not oneShot");
    // The job holds the logins, so its output is a secret in the state; what is read out of it
    // here (the PASS and NOTE lines the script writes) never holds one.
    this.result = pulumi.unsecret(
      pulumi
        .all([job.job.exitCode, job.job.output, container.name, container.urn])
        .apply(([exitCode, output, containerName, urn]) => {
          const lines = readableContainerLog(output ?? "").split("\n");
          if (exitCode !== 0) throw new SmokeCheckError(containerName, urn, exitCode, lines);
          return {
            container: containerName,
            passed: lines.filter((l) => l.startsWith("PASS ")).map((l) => l.slice(5)),
            notes: lines.filter((l) => l.startsWith("NOTE ")).map((l) => l.slice(5)),
          };
        }),
    );
    // Not the result: a failed check must fail the deploy once, through the stack's output, rather
    // than again as an unhandled rejection of this component's outputs.
    this.registerOutputs({ container: container.name });
  }
}

/** A failed smoke check: each failing check with what it got, and what to do next. */
export class SmokeCheckError extends pulumi.RunError {
  constructor(container: string, urn: string, exitCode: number | undefined, lines: string[]) {
    const failures = lines.filter((l) => l.startsWith("FAIL "));
    const shown = failures.length > 0 ? failures : lines.filter((l) => l.trim() !== "").slice(-15);
    super(
      `The post-deploy smoke check failed (container ${container}, exit code ${exitCode ?? "unknown"}). ` +
        "The deploy itself is applied: the services run as configured.\n" +
        shown.map((l) => `  ${l}`).join("\n") +
        "\nLook at the failing service's logs (`docker logs <container>`, names in the services output); " +
        'to go back, deploy the previous commit or config (README, "Rolling back"). ' +
        `To run the check again with nothing changed: pulumi up --replace '${urn}'`,
    );
    this.name = "SmokeCheckError";
  }
}
