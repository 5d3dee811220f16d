/**
 * The real-engine suite's stacks: the shipped Pulumi.dev.yaml and Pulumi.prod.yaml, with only what a
 * shared test machine needs changed, each change said here:
 * - the local engine (prod's yaml names an SSH host), and a name prefix and subnets of their own,
 *   so both stacks run beside each other and beside a developer's own;
 * - every published port on loopback, on high ports (dev's 80, 5432, 6379, 9229 may be taken);
 * - prod's nginx publishes 443 and 80 there: TLS (selfSigned), basic auth, 3 API replicas and
 *   the monitoring tier stay as prod's yaml and the defaults say;
 * - nginx's open-file limit within what this engine can grant, where it cannot raise limits;
 * - dev: n8n and Ollama off (their volumes go with them); prod runs both, as its yaml says, but
 *   for Ollama's models: no model registry is reachable from a test machine, so none is pulled;
 * - the migrations from a copy the suite may add a file to;
 * - (dev) the API's and the dashboard's development-mode sources from a copy the suite edits, to
 *   see the watchers serve the change (the images still build from the shipped examples).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ROOT } from "../stackFiles";
import { engineCeilings } from "../images/docker";

export type Shape = "dev" | "prod";

export interface StackPlan {
  readonly shape: Shape;
  /** The Pulumi stack's name (its config file is Pulumi.<name>.yaml, ignored by git). */
  readonly stack: string;
  /** The name prefix of its Docker objects. */
  readonly prefix: string;
  /** The stack's config, as Pulumi.<stack>.yaml holds it. */
  readonly config: Record<string, unknown>;
  /** The policy pack's config for this shape. */
  readonly policyConfig: string;
  /** Where the stack reads its migrations (relative to the project, inside tests/.tmp). */
  readonly migrationsDir: string;
  /**
   * (dev) Where the development-mode sources are bind-mounted from, per service (relative to the
   * project, inside tests/.tmp), and the shipped source each is a copy of.
   */
  readonly devSources: Readonly<Record<string, { readonly dir: string; readonly from: string }>>;
  /** How to reach the edge from this machine. */
  readonly edge: { readonly http: number; readonly https?: number; readonly domain: string };
  /** What was changed for this machine, beyond the list above (printed with the timings). */
  readonly notes: readonly string[];
}

const PROJECT = "vpn-enterprise";

type Obj = Record<string, unknown>;

/** The open-file limit nginx may ask for here: prod's default unless the engine grants less. */
function nginxNofile(notes: string[]): number | undefined {
  const ceiling = engineCeilings().nofile;
  if (ceiling === undefined || ceiling >= 65535) return undefined;
  const nofile = Math.min(16384, ceiling);
  notes.push(
    `services.nginx.workerRlimitNofile ${String(nofile)}: this dockerd cannot raise nofile above ${String(ceiling)}`,
  );
  return nofile;
}

export function stackPlan(shape: Shape): StackPlan {
  const file = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${shape}.yaml`), "utf8")) as {
    config: Obj;
  };
  const notes: string[] = [];
  const stack = `e2e-${shape}`;
  const prefix = `vpn-e2e-${shape}`;
  // Relative to the project, as a user writes it; tests/.tmp is ignored by git.
  const migrationsDir = `tests/.tmp/${stack}-migrations`;
  const base = shape === "dev" ? 28 : 29;
  const services = { ...((file.config[`${PROJECT}:services`] ?? {}) as Obj) };
  const merge = (name: string, change: Obj) => {
    services[name] = { ...((services[name] ?? {}) as Obj), ...change };
  };
  const nofile = nginxNofile(notes);
  const edge =
    shape === "dev"
      ? { http: 18180, domain: "localhost" }
      : { http: 18181, https: 18443, domain: String(file.config[`${PROJECT}:domain`]) };
  merge("nginx", {
    ports:
      shape === "dev"
        ? [{ hostIp: "127.0.0.1", host: edge.http, container: 80 }]
        : [
            { hostIp: "127.0.0.1", host: edge.https, container: 443 },
            { hostIp: "127.0.0.1", host: edge.http, container: 80 },
          ],
    ...(nofile !== undefined && { workerRlimitNofile: nofile }),
  });
  merge("postgres", {
    migrationsDir,
    ...(shape === "dev" && { ports: [{ hostIp: "127.0.0.1", host: 15432 }] }),
  });
  const devSources: Record<string, { dir: string; from: string }> = {};
  if (shape === "dev") {
    merge("redis", { ports: [{ hostIp: "127.0.0.1", host: 16379 }] });
    for (const name of ["api", "web"]) {
      const devMode = (services[name] as Obj).devMode as Obj;
      const from = String(devMode.source);
      const dir = `tests/.tmp/${stack}-src/${name}`;
      devSources[name] = { dir, from };
      merge(name, {
        devMode: { ...devMode, source: dir, ...(name === "api" && { debugPort: 19229 }) },
      });
    }
    const gone = { enabled: false, dataProtection: { protect: false, keepWhenDisabled: false } };
    merge("ollama", gone);
    merge("n8n", gone);
  } else {
    const models = JSON.stringify((services.ollama as Obj | undefined)?.models);
    merge("ollama", { models: [] });
    notes.push(
      `services.ollama.models []: no model registry is reachable from this machine, so the model pull job is not run (Pulumi.prod.yaml pulls ${models})`,
    );
  }
  const config: Obj = {
    ...file.config,
    "docker:host": "unix:///var/run/docker.sock",
    [`${PROJECT}:namePrefix`]: prefix,
    [`${PROJECT}:networks`]: {
      app: { subnet: `172.${String(base)}.0.0/24` },
      edge: { subnet: `172.${String(base)}.1.0/24` },
      data: {
        subnet: `172.${String(base)}.2.0/24`,
        ...(shape === "dev" && { internal: false }),
      },
      monitoring: { subnet: `172.${String(base)}.3.0/24` },
    },
    [`${PROJECT}:services`]: services,
  };
  return {
    shape,
    stack,
    prefix,
    config,
    policyConfig: path.join(ROOT, "policy", `config.${shape}.json`),
    migrationsDir,
    devSources,
    edge,
    notes,
  };
}

/** Fresh copies of the development-mode sources (without node_modules, as in a clone). */
export function copyDevSources(plan: StackPlan): void {
  fs.rmSync(path.join(ROOT, `tests/.tmp/${plan.stack}-src`), { recursive: true, force: true });
  for (const { dir, from } of Object.values(plan.devSources)) {
    const root = path.join(ROOT, from);
    fs.cpSync(root, path.join(ROOT, dir), {
      recursive: true,
      filter: (src) => !/^(node_modules|logs)(\/|$)/.test(path.relative(root, src)),
    });
  }
}

/** A fresh copy of the shipped migrations where the stack reads them; its absolute path. */
export function copyMigrations(plan: StackPlan): string {
  const dir = path.join(ROOT, plan.migrationsDir);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, "migrations"))) {
    if (f.endsWith(".sql")) fs.copyFileSync(path.join(ROOT, "migrations", f), path.join(dir, f));
  }
  return dir;
}
