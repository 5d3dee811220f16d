/**
 * The platform's architecture as Mermaid text, from the resources the program registers (see
 * model.ts for what is read from them). Pure: no Pulumi, no I/O.
 */
import { TIERS } from "../../config/catalog";
import {
  DiagramResource,
  NetworkNode,
  ServiceNode,
  VolumeNode,
  describeArchitecture,
} from "./model";

export type { DiagramResource } from "./model";

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Mermaid node ids: letters, digits and underscores, one per node. Two names that differ only in
 * other characters get a numbered id, in the order the diagram asks for them (which is sorted).
 */
function nodeIds(): (kind: string, name: string) => string {
  const given = new Map<string, string>();
  const taken = new Set<string>();
  return (kind, name) => {
    const key = `${kind}\n${name}`;
    let found = given.get(key);
    if (found === undefined) {
      const base = `${kind}_${name.replace(/[^A-Za-z0-9]/g, "_")}`;
      found = base;
      for (let n = 2; taken.has(found); n++) found = `${base}_${String(n)}`;
      given.set(key, found);
      taken.add(found);
    }
    return found;
  };
}

/** A quoted Mermaid label; `"` cannot appear in one, `#quot;` can. */
function label(lines: readonly string[]): string {
  return `"${lines.map((l) => l.replace(/"/g, "#quot;")).join("<br/>")}"`;
}

/** The longest `-`-ended prefix every name shares (`vpn-enterprise-prod-`), or "". */
function commonPrefix(names: readonly string[]): string {
  if (names.length < 2) return "";
  let prefix = names[0];
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf("-") + 1);
}

export interface RenderOptions {
  /** The stack the resources come from, for the diagram's title. */
  readonly stack?: string;
}

/**
 * The architecture as a Mermaid flowchart, left to right: the internet (or the host's loopback)
 * to the services that publish ports, labelled with them; one box per tier, titled with the
 * tier's network, holding its services (replica count when more than one, and the networks each
 * joins) and the named volumes they mount; nginx's routes labelled with their paths; each volume
 * linked to the services that mount it (read-only said so).
 */
export function renderMermaid(
  resources: readonly DiagramResource[],
  options: RenderOptions = {},
): string {
  const arch = describeArchitecture(resources);
  const id = nodeIds();
  const prefix = commonPrefix([
    ...arch.networks.map((n) => n.name),
    ...arch.volumes.map((v) => v.name),
  ]);
  const short = (name: string): string =>
    name.startsWith(prefix) ? name.slice(prefix.length) : name;
  const tiers = [
    ...TIERS,
    ...[...new Set([...arch.services.map((s) => s.tier), ...arch.networks.map((n) => n.tier)])]
      .filter((t): t is string => t !== undefined && !(TIERS as readonly string[]).includes(t))
      .sort(byName),
  ];
  const tierRank = (tier: string | undefined): number =>
    tier === undefined ? tiers.length : tiers.indexOf(tier);
  const networkTier = new Map(arch.networks.map((n) => [n.name, n.tier]));
  const tierOfService = new Map(arch.services.map((s) => [s.service, s.tier]));
  const volumeTier = (v: VolumeNode): string | undefined =>
    tierOfService.get(v.service ?? "") ?? tierOfService.get(v.mountedBy[0]?.service ?? "");

  const network = (n: NetworkNode): string => {
    const facts = [n.subnet, n.internal ? "internal" : undefined].filter(Boolean);
    return `network ${short(n.name)}${facts.length > 0 ? ` (${facts.join(", ")})` : ""}`;
  };
  const svcNode = (s: ServiceNode): string => {
    const nets = [...s.networks].sort(
      (a, b) => tierRank(networkTier.get(a)) - tierRank(networkTier.get(b)) || byName(a, b),
    );
    return `${id("svc", s.service)}[${label([
      s.replicas > 1 ? `${s.service} ×${String(s.replicas)}` : s.service,
      nets.length > 0 ? `net: ${nets.map(short).join(", ")}` : "no network",
    ])}]`;
  };
  const volId = (name: string): string => id("vol", short(name));
  const volNode = (v: VolumeNode): string =>
    `${volId(v.name)}[(${label([short(v.name), ...(v.mountedBy.length === 0 ? ["kept, unused"] : [])])})]`;

  const out: string[] = [];
  const title = [
    options.stack && `${options.stack} stack`,
    prefix && `Docker names start with ${prefix}`,
  ]
    .filter(Boolean)
    .join(" · ");
  if (title) out.push("---", `title: ${JSON.stringify(title)}`, "---");
  out.push("flowchart LR");

  const loopback = (p: string): boolean => p.startsWith("127.");
  const published = arch.services.flatMap((s) => s.published);
  if (published.some((p) => !loopback(p))) out.push("  internet((internet))");
  if (published.some(loopback)) out.push("  host((host loopback))");

  // Mermaid's layout stacks these boxes bottom-up in the order they come: the last tier is written
  // first, so the edge is drawn on top and the tiers read down in their usual order.
  const boxed = tiers.filter(
    (t) => arch.services.some((s) => s.tier === t) || arch.volumes.some((v) => volumeTier(v) === t),
  );
  for (const tier of [...boxed].reverse()) {
    const title = [`${tier} tier`, ...arch.networks.filter((n) => n.tier === tier).map(network)];
    out.push(`  subgraph ${id("tier", tier)}[${label([title.join(" · ")])}]`);
    for (const s of arch.services.filter((x) => x.tier === tier)) out.push(`    ${svcNode(s)}`);
    for (const v of arch.volumes.filter((x) => volumeTier(x) === tier))
      out.push(`    ${volNode(v)}`);
    out.push("  end");
  }
  // What no tier box holds: a network of a tier with nothing running, a volume nothing mounts whose
  // service is gone, the host of an upstream no running container answers to.
  for (const n of arch.networks.filter((x) => !boxed.includes(x.tier ?? ""))) {
    out.push(`  ${id("net", short(n.name))}{{${label([network(n)])}}}`);
  }
  for (const v of arch.volumes.filter((x) => volumeTier(x) === undefined)) {
    out.push(`  ${volNode(v)}`);
  }
  const target = (to: string): string => (tierOfService.has(to) ? id("svc", to) : id("ext", to));
  for (const host of [...new Set(arch.routes.map((r) => r.to))].filter(
    (t) => !tierOfService.has(t),
  )) {
    out.push(`  ${target(host)}[${label([host])}]`);
  }

  for (const s of arch.services) {
    for (const side of ["internet", "host"] as const) {
      const ports = s.published.filter((p) => loopback(p) === (side === "host"));
      if (ports.length > 0) out.push(`  ${side} -->|${label(ports)}| ${id("svc", s.service)}`);
    }
  }
  const edges = new Map<string, { from: string; to: string; paths: string[] }>();
  for (const r of arch.routes) {
    const key = `${id("svc", r.from)} ${target(r.to)}`;
    const edge = edges.get(key) ?? { from: id("svc", r.from), to: target(r.to), paths: [] };
    edges.set(key, { ...edge, paths: [...edge.paths, r.path] });
  }
  for (const e of edges.values()) out.push(`  ${e.from} -->|${label(e.paths)}| ${e.to}`);
  for (const v of arch.volumes) {
    for (const m of v.mountedBy) {
      const link = m.readOnly ? `---|${label(["read-only"])}|` : "---";
      out.push(`  ${id("svc", m.service)} ${link} ${volId(v.name)}`);
    }
  }
  return out.join("\n") + "\n";
}
