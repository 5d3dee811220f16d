/**
 * What the architecture diagram shows, read from the resources the program registers (recorded
 * under mocks: scripts/diagram/record.ts, tests/program/harness.ts). Pure: no Pulumi, no I/O.
 *
 * What counts is what Docker would run: containers (without one-shot jobs and file carriers),
 * their networks, published ports and named volumes, and the routes in the nginx site config the
 * program uploads. Nothing is taken from the catalog.
 */
import { parseNginx, proxiedPaths } from "./nginx";

/** A resource as registered: its type token, Pulumi name, id (as the mocks gave it) and inputs. */
export interface DiagramResource {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

export const CONTAINER = "docker:index/container:Container";
export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";
export const SERVICE_LABEL = "vpn-enterprise.service";
export const TIER_LABEL = "vpn-enterprise.tier";
export const ROLE_LABEL = "vpn-enterprise.role";

/** A running service: all the containers that carry its service label. */
export interface ServiceNode {
  readonly service: string;
  readonly tier: string;
  readonly replicas: number;
  /** Docker names of the networks its containers join, sorted. */
  readonly networks: readonly string[];
  /** `ip:host->container[/proto]` per published port. */
  readonly published: readonly string[];
}

export interface NetworkNode {
  readonly name: string;
  readonly tier?: string;
  readonly subnet?: string;
  readonly internal: boolean;
}

export interface VolumeNode {
  readonly name: string;
  /** The service its label names. */
  readonly service?: string;
  /** The running services that mount it, sorted. */
  readonly mountedBy: readonly { readonly service: string; readonly readOnly: boolean }[];
}

/** A path nginx proxies, from the service that serves it to the service behind it. */
export interface RouteEdge {
  readonly from: string;
  readonly path: string;
  /** The service behind the upstream, or the upstream's host when no running container has it. */
  readonly to: string;
}

export interface Architecture {
  readonly services: readonly ServiceNode[];
  readonly networks: readonly NetworkNode[];
  readonly volumes: readonly VolumeNode[];
  readonly routes: readonly RouteEdge[];
}

// How Pulumi's RPC layer marks a secret value (its well-known constants). Names, labels and mounts
// are read through it; the contents of secret files are not read at all.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecret(v: unknown): v is { value?: unknown } {
  return (
    typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

function plain(v: unknown): unknown {
  return isSecret(v) ? plain(v.value) : v;
}

function list<T>(v: unknown): T[] {
  const p = plain(v);
  return Array.isArray(p) ? (p.map(plain) as T[]) : [];
}

function str(v: unknown): string | undefined {
  const p = plain(v);
  return typeof p === "string" ? p : undefined;
}

export function labelsOf(r: DiagramResource): Record<string, string> {
  return Object.fromEntries(
    list<{ label?: unknown; value?: unknown }>(r.inputs.labels).map((l) => [
      String(plain(l.label)),
      String(plain(l.value)),
    ]),
  );
}

/** A Workload's file carrier, or one of its volumes (components/carrier.ts). */
export function isCarrier(r: DiagramResource): boolean {
  return labelsOf(r)[ROLE_LABEL] === "files";
}

/** A one-shot job: `up` attaches until it exits (migrations, volume owners, config checks). */
export function isJob(r: DiagramResource): boolean {
  return plain(r.inputs.attach) === true;
}

/** The containers that keep running: no job, no carrier. */
export function runningContainers(resources: readonly DiagramResource[]): DiagramResource[] {
  return resources.filter((r) => r.type === CONTAINER && !isJob(r) && !isCarrier(r));
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** `ip:host->container` by host port, then as text. */
const byPort = (a: string, b: string): number =>
  Number(/:(\d+)->/.exec(a)?.[1]) - Number(/:(\d+)->/.exec(b)?.[1]) || byName(a, b);

function serviceOf(r: DiagramResource): string {
  const s = labelsOf(r)[SERVICE_LABEL];
  if (!s) throw new Error(`container ${r.name} has no ${SERVICE_LABEL} label`);
  return s;
}

/** What the diagram shows, derived from the recorded resources. */
export function describeArchitecture(resources: readonly DiagramResource[]): Architecture {
  const networksById = new Map<string, NetworkNode>();
  for (const r of resources.filter((x) => x.type === NETWORK)) {
    const ipam = list<{ subnet?: unknown }>(r.inputs.ipamConfigs);
    networksById.set(r.id, {
      name: str(r.inputs.name) ?? r.name,
      tier: labelsOf(r)[TIER_LABEL],
      subnet: ipam.map((c) => str(c.subnet)).find((s) => s !== undefined),
      internal: plain(r.inputs.internal) === true,
    });
  }

  const running = runningContainers(resources);
  const grouped = new Map<string, DiagramResource[]>();
  for (const c of running) grouped.set(serviceOf(c), [...(grouped.get(serviceOf(c)) ?? []), c]);
  const services: ServiceNode[] = [...grouped.entries()].map(([service, containers]) => {
    const tiers = new Set(containers.map((c) => labelsOf(c)[TIER_LABEL] ?? "other"));
    const networks = new Set<string>();
    const published = new Set<string>();
    for (const c of containers) {
      for (const n of list<{ name?: unknown }>(c.inputs.networksAdvanced)) {
        const ref = str(n.name) ?? "";
        networks.add(networksById.get(ref)?.name ?? ref);
      }
      for (const p of list<Record<string, unknown>>(c.inputs.ports)) {
        const proto = str(p.protocol) ?? "tcp";
        published.add(
          `${str(p.ip) ?? "0.0.0.0"}:${String(plain(p.external))}->${String(plain(p.internal))}` +
            (proto === "tcp" ? "" : `/${proto}`),
        );
      }
    }
    return {
      service,
      tier: [...tiers].sort(byName)[0],
      replicas: containers.length,
      networks: [...networks].sort(byName),
      published: [...published].sort(byPort),
    };
  });

  // Named volumes, less a carrier's (labelled like it): those only move a Workload's files.
  const volumes: VolumeNode[] = resources
    .filter((r) => r.type === VOLUME && !isCarrier(r))
    .map((r) => str(r.inputs.name) ?? r.name)
    .map((name) => {
      const mounts = new Map<string, boolean>();
      for (const c of running) {
        for (const v of list<{ volumeName?: unknown; readOnly?: unknown }>(c.inputs.volumes)) {
          if (str(v.volumeName) === name) mounts.set(serviceOf(c), plain(v.readOnly) === true);
        }
      }
      const owner = resources.find((r) => r.type === VOLUME && str(r.inputs.name) === name);
      return {
        name,
        service: owner ? labelsOf(owner)[SERVICE_LABEL] : undefined,
        mountedBy: [...mounts.entries()]
          .map(([service, readOnly]) => ({ service, readOnly }))
          .sort((a, b) => byName(a.service, b.service)),
      };
    });

  return {
    services: services.sort((a, b) => byName(a.service, b.service)),
    networks: [...networksById.values()].sort((a, b) => byName(a.name, b.name)),
    volumes: volumes.sort((a, b) => byName(a.name, b.name)),
    routes: routesOf(resources, running),
  };
}

/**
 * The routes in the nginx site config the program uploads: each `location` whose `proxy_pass`
 * names an upstream, to the service whose containers answer to that upstream's servers (by
 * container name or network alias). The routes start at the running service that reads the file:
 * the container it was uploaded to, the service a carrier carries it for, or the running services
 * that share a volume with the job that installs it.
 */
function routesOf(
  resources: readonly DiagramResource[],
  running: readonly DiagramResource[],
): RouteEdge[] {
  const hostToService = new Map<string, string>();
  for (const c of running) {
    const service = serviceOf(c);
    const name = str(c.inputs.name);
    if (name) hostToService.set(name, service);
    for (const n of list<{ aliases?: unknown }>(c.inputs.networksAdvanced)) {
      for (const alias of list<unknown>(n.aliases)) {
        if (typeof alias === "string") hostToService.set(alias, service);
      }
    }
  }
  const routes = new Map<string, RouteEdge>();
  for (const c of resources.filter((r) => r.type === CONTAINER)) {
    // Secret files (keys, password files) are left unread: routes are never secret.
    const texts = list<{ content?: unknown }>(c.inputs.uploads)
      .map((u) => (isSecret(u.content) ? undefined : str(u.content)))
      .filter((t): t is string => t !== undefined);
    const site = proxiedPaths(texts.flatMap(parseNginx));
    if (site.length === 0) continue;
    for (const from of readersOf(c, running)) {
      for (const { path, hosts } of site) {
        for (const host of hosts) {
          const to = hostToService.get(host) ?? host;
          routes.set(`${from} ${path} ${to}`, { from, path, to });
        }
      }
    }
  }
  return [...routes.values()].sort(
    (a, b) => byName(a.from, b.from) || byName(a.to, b.to) || byName(a.path, b.path),
  );
}

function readersOf(c: DiagramResource, running: readonly DiagramResource[]): string[] {
  if (running.includes(c) || isCarrier(c)) return [serviceOf(c)];
  const volumesOf = (r: DiagramResource): string[] =>
    list<{ volumeName?: unknown }>(r.inputs.volumes)
      .map((v) => str(v.volumeName))
      .filter((v): v is string => v !== undefined);
  const mine = new Set(volumesOf(c));
  const readers = running.filter((r) => volumesOf(r).some((v) => mine.has(v))).map(serviceOf);
  return [...new Set(readers)].sort(byName);
}
