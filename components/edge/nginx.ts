import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CATALOG } from "../../config/catalog";
import { NginxConfig } from "../../config/schema";
import { htpasswdLine } from "../../render/htpasswd";
import {
  ACME_DIR,
  CACHE_DIR,
  NginxSiteInput,
  SITE_DIR,
  TLS_CERT_FILE,
  TLS_KEY_FILE,
  renderNginxConf,
  renderSiteConf,
} from "../../render/nginx";
import { SiteKind, installScript, startScript } from "../../render/nginxScripts";
import { ResolvedImage, serviceImage } from "../image";
import { JobError, jobGate } from "../job";
import { volumeOwner } from "../volumeOwner";
import {
  ServiceContext,
  Workload,
  WorkloadArgs,
  WorkloadFile,
  workloadFromConfig,
} from "../workload";
import { EdgeCertificate } from "./certificate";
import { wgetProbe } from "../probe";

/** Ports below 1024 without root or a capability (namespaced to the container). */
const UNPRIVILEGED_PORTS = { "net.ipv4.ip_unprivileged_port_start": "0" };

/** Where a job finds the files Pulumi uploaded into it. */
const STAGING = "/staging";

export interface NginxArgs {
  /** Prefix, labels and tier networks of the stack. */
  readonly context: ServiceContext;
  /** `services.nginx` from the stack config. */
  readonly config: NginxConfig;
  /** What to serve (components/edge/site.ts). */
  readonly site: NginxSiteInput;
  /** The certificate to serve; none when TLS is off. */
  readonly certificate?: EdgeCertificate;
  /** Basic-auth files (name under the secrets directory), each with its user and password. */
  readonly logins: readonly {
    readonly file: string;
    readonly user: string;
    readonly password: pulumi.Output<string>;
  }[];
  /** Holds the config and secrets generations: written by the jobs, read by nginx. */
  readonly siteVolume: docker.Volume;
  /** Where an ACME client leaves HTTP-01 challenge files (TLS only). */
  readonly acmeVolume?: docker.Volume;
}

/**
 * The edge: nginx as the only service that publishes host ports. Its files do not live in the
 * container: a job installs each new config (checked by `nginx -t`) or certificate/password set as
 * a generation in the site volume, and the running nginx reloads onto it. A route change or a
 * renewed certificate therefore reloads nginx (open connections finish) instead of recreating it.
 */
export class Nginx extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly containerNames: pulumi.Output<string[]>;
  public readonly containers: readonly docker.Container[];
  /** The image nginx and its install jobs run. */
  public readonly image: ResolvedImage;
  /** When the served certificate expires (RFC 3339); null without TLS. */
  public readonly certificateExpiry: pulumi.Output<string | null>;
  /** The certificate served; undefined when TLS is off. */
  public readonly certificate?: EdgeCertificate;
  /**
   * The jobs that install a new config or certificate/login set: replaced exactly when what nginx
   * serves changes without nginx itself being replaced (it reloads within reloadCheckSeconds).
   */
  public readonly installJobs: readonly docker.Container[];

  constructor(name: string, args: NginxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vpn:edge:Nginx", name, {}, opts);
    const cfg = args.config;
    const base = workloadFromConfig("nginx", cfg, args.context);
    // One image for the jobs and the server, whichever jobs the stack needs.
    const image = {
      resolved: serviceImage(`${name}-image`, {
        image: cfg.image,
        localName: `${base.namePrefix}-nginx:local`,
        parent: this,
      }),
    };
    // The jobs copy a few files and run `nginx -t`: small limits of their own.
    const jobResources = { cpus: 0.25, memoryMb: 128, pidsLimit: 64 };
    const job = (
      kind: SiteKind,
      extra: Pick<WorkloadArgs, "files" | "secretFiles" | "dependsOn">,
      nofile?: number,
    ) =>
      new Workload(
        `${name}-${kind}`,
        {
          ...base,
          image,
          service: `nginx-${kind}`,
          replicas: 1,
          resources: jobResources,
          networks: [],
          ports: [],
          oneShot: true,
          healthcheck: undefined,
          entrypoint: [
            ...["/bin/sh", "-c", installScript(), "install", kind, STAGING],
            ...(nofile === undefined ? [] : [String(nofile)]),
          ],
          command: undefined,
          files: extra.files,
          secretFiles: extra.secretFiles,
          dependsOn: extra.dependsOn,
          volumes: [{ volume: args.siteVolume, path: SITE_DIR }],
          // The provider copies each upload in as an archive extracted at `/`, which Docker refuses
          // on a read-only root even where the file's directory is a volume (tests/images/edge).
          // These jobs live for seconds, as the nginx user, with no capability and no network.
          readOnlyRoot: false,
          // `nginx -t` binds the listen ports (in the job's own network namespace).
          sysctls: UNPRIVILEGED_PORTS,
          // It also opens the temp and cache paths as the server would.
          tmpfs: ["/tmp", { path: CACHE_DIR, sizeMb: 16, owned: true }],
        },
        { parent: this },
      );

    const secretFiles: WorkloadFile[] = [];
    if (args.certificate) {
      secretFiles.push(
        { path: `${STAGING}/${TLS_CERT_FILE}`, content: args.certificate.certificatePem },
        { path: `${STAGING}/${TLS_KEY_FILE}`, content: args.certificate.privateKeyPem },
      );
    }
    for (const login of args.logins) {
      // A salt kept in state, so the file (and the job) only changes with the password.
      const salt = new random.RandomString(
        `${name}-${login.file}-salt`,
        { length: 16, special: false },
        { parent: this },
      ).result;
      secretFiles.push({
        path: `${STAGING}/${login.file}`,
        content: pulumi
          .all([login.password, salt])
          .apply(([password, s]) => htpasswdLine(login.user, password, s)),
      });
    }
    // The jobs run as the nginx user; the new volume first becomes that user's.
    const owned = volumeOwner(
      `${name}-volume-owner`,
      { base: { ...base, image }, volume: args.siteVolume, path: SITE_DIR, what: "edge site" },
      this,
    ).ready;
    const secretsJob =
      secretFiles.length > 0 ? job("secrets", { secretFiles, dependsOn: owned }) : undefined;
    const secretsReady = secretsJob
      ? jobGate(secretsJob, [], (c, code, out) =>
          failed("Installing the edge's certificate and logins", c, code, out),
        )
      : owned;

    const configJob = job(
      "config",
      {
        files: [
          { path: `${STAGING}/nginx.conf`, content: renderNginxConf(args.site) },
          { path: `${STAGING}/site.conf`, content: renderSiteConf(args.site) },
        ],
        dependsOn: secretsReady,
      },
      cfg.workerRlimitNofile,
    );
    const configReady = jobGate(configJob, [], (c, code, out) =>
      failed("Installing the edge's nginx config (nginx -t)", c, code, out),
    );

    const cacheMb = cfg.cache.enabled ? cfg.cache.maxSizeMb : 0;
    const server = new Workload(
      `${name}-server`,
      {
        ...base,
        image,
        entrypoint: ["/bin/sh", "-c", startScript(cfg.reloadCheckSeconds)],
        // $0 of the script: a name in `ps` instead of the image's default command.
        command: ["nginx-edge"],
        healthcheck: {
          // busybox wget, in every nginx Alpine image (-alpine-slim has no curl). /health is
          // answered by nginx itself.
          test: wgetProbe(CATALOG.nginx.port, "/health"),
          startPeriodSeconds: 5,
        },
        sysctls: UNPRIVILEGED_PORTS,
        nofile: cfg.workerRlimitNofile,
        // Temp files and the proxy cache: in memory, counted in the limit (the schema checks room).
        tmpfs: ["/tmp", { path: CACHE_DIR, sizeMb: cacheMb + 32, owned: true }],
        volumes: [
          { volume: args.siteVolume, path: SITE_DIR, readOnly: true },
          ...(args.acmeVolume ? [{ volume: args.acmeVolume, path: ACME_DIR, readOnly: true }] : []),
        ],
        dependsOn: configReady,
      },
      { parent: this },
    );

    this.containers = server.containers;
    this.host = server.host;
    this.port = pulumi.output(CATALOG.nginx.port);
    this.containerNames = server.containerNames;
    this.image = server.image;
    this.certificate = args.certificate;
    this.installJobs = [...(secretsJob?.containers ?? []), ...configJob.containers];
    this.certificateExpiry = args.certificate
      ? args.certificate.notAfter.apply((t): string | null => t)
      : pulumi.output(null);
    this.registerOutputs({
      host: this.host,
      port: this.port,
      containerNames: this.containerNames,
      certificateExpiry: this.certificateExpiry,
    });
  }
}

function failed(
  what: string,
  container: string,
  exitCode: number | undefined,
  output: string | undefined,
): JobError {
  return new JobError(
    what,
    "The running edge keeps serving its current generation; fix the config and run `up` again.",
    container,
    exitCode,
    output,
  );
}
