import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CATALOG, StatefulServiceName } from "../../config/catalog";
import { StackConfig } from "../../config/load";
import { SecretName, publicUrl } from "../../config/schema";
import { volumeOf } from "../volume";
import { ServiceContext, internalUrl } from "../workload";
import { Api } from "./api";
import { N8N_PATH, N8n } from "./n8n";
import { DbManager, Provisioner } from "./nodeService";
import { Ollama } from "./ollama";
import { PythonAi } from "./pythonAi";
import { Web } from "./web";

export interface AppTier {
  readonly api?: Api;
  readonly web?: Web;
  readonly pythonAi?: PythonAi;
  readonly ollama?: Ollama;
  readonly n8n?: N8n;
  readonly dbManager?: DbManager;
  readonly provisioner?: Provisioner;
  /** What the edge needs to guard the n8n editor (null when n8n is off or unguarded). */
  readonly n8nEditorAuth: pulumi.Output<{ user: string; path: string } | null>;
}

/**
 * Creates the enabled app services as children of `parent` (the Platform). Each one that talks to
 * the data tier waits for `dataReady`: PostgreSQL healthy and migrated, Redis healthy.
 */
export function createAppTier(
  name: string,
  parent: pulumi.Resource,
  cfg: StackConfig,
  context: ServiceContext,
  volumes: Readonly<Partial<Record<StatefulServiceName, docker.Volume>>>,
  apiLogs: docker.Volume | undefined,
  secrets: Readonly<Record<SecretName, pulumi.Output<string>>>,
  dataReady: pulumi.Output<pulumi.Resource[]>,
): AppTier {
  const s = cfg.services;
  const opts = { parent };
  const url = publicUrl(cfg);
  const pg = s.postgres;
  const database = (user: string, password: pulumi.Input<string>) => ({
    host: "postgres",
    port: CATALOG.postgres.port,
    database: pg.database,
    user,
    password,
  });

  // The schema refuses an enabled api without postgres and redis.
  const api = s.api.enabled
    ? new Api(
        `${name}-api`,
        {
          context,
          config: s.api,
          publicUrl: url,
          projectDir: cfg.projectDir,
          database: database(pg.appUser, secrets.postgresAppPassword),
          redis: { host: "redis", port: CATALOG.redis.port, password: secrets.redisPassword },
          jwtSecret: secrets.apiJwtSecret,
          serviceKey: secrets.apiServiceKey,
          logsVolume: apiLogs,
          dependsOn: dataReady,
        },
        opts,
      )
    : undefined;
  const web = s.web.enabled
    ? new Web(
        `${name}-web`,
        { context, config: s.web, publicUrl: url, projectDir: cfg.projectDir },
        opts,
      )
    : undefined;
  const ollama = s.ollama.enabled
    ? new Ollama(
        `${name}-ollama`,
        { context, config: s.ollama, volume: volumeOf(volumes, "ollama") },
        opts,
      )
    : undefined;
  const n8n = s.n8n.enabled
    ? new N8n(
        `${name}-n8n`,
        {
          context,
          config: s.n8n,
          publicUrl: url,
          domain: cfg.domain,
          volume: volumeOf(volumes, "n8n"),
          encryptionKey: secrets.n8nEncryptionKey,
        },
        opts,
      )
    : undefined;
  const pythonAi = s.pythonAi.enabled
    ? new PythonAi(
        `${name}-python-ai`,
        {
          context,
          config: s.pythonAi,
          urls: {
            ollama: ollama && internalUrl("ollama"),
            api: api && internalUrl("api"),
            n8n: n8n && internalUrl("n8n"),
          },
          apiServiceKey: secrets.apiServiceKey,
        },
        opts,
      )
    : undefined;
  const dbManager = s.dbManager.enabled
    ? new DbManager(
        `${name}-db-manager`,
        {
          context,
          config: s.dbManager,
          database: database(pg.adminUser, secrets.postgresPassword),
          dependsOn: dataReady,
        },
        opts,
      )
    : undefined;
  const provisioner =
    s.provisioner.enabled && api
      ? new Provisioner(
          `${name}-provisioner`,
          {
            context,
            config: s.provisioner,
            database: database(pg.appUser, secrets.postgresAppPassword),
            api: { url: internalUrl("api"), serviceKey: secrets.apiServiceKey },
            dependsOn: dataReady.apply((ready) => [...ready, ...api.containers]),
          },
          opts,
        )
      : undefined;
  const guarded = n8n && s.n8n.editorProtection === "basicAuth";
  return {
    api,
    web,
    pythonAi,
    ollama,
    n8n,
    dbManager,
    provisioner,
    n8nEditorAuth: pulumi.output(guarded ? { user: s.n8n.editorUser, path: N8N_PATH } : null),
  };
}
