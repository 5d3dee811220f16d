/**
 * The operators' quick reference, made from a stack's outputs (`pulumi stack output --json`) rather
 * than written down: where users reach the platform, each service's containers, in-platform and
 * health URLs and published ports, and the commands an operator types most. Pure: outputs in, text
 * out; scripts/quickref.ts reads them.
 */

import type { BackupInfo } from "../../components/data/backup";
import type { SmokeResult } from "../../components/edge/smoke";
import type { EdgeInfo, PublicEndpoints, ServiceEndpoint } from "../../components/platform";

/** The outputs contract version this reads (README, "Stack outputs"). */
export const OUTPUTS_VERSION = 1;

/** The outputs the quick reference reads (the program's own types); the rest is left alone. */
export interface QuickrefOutputs {
  readonly outputsVersion: number;
  readonly namePrefix: string;
  readonly domain: string;
  readonly networks: Record<string, string>;
  readonly volumes: Record<string, string>;
  readonly services: Record<string, ServiceEndpoint>;
  readonly endpoints: PublicEndpoints | null;
  readonly edge: EdgeInfo | null;
  readonly backups: Pick<BackupInfo, "listCommand" | "restoreCommand"> | null;
  readonly smokeCheck: SmokeResult | null;
}

/** A clear error for outputs that are not this contract's (another version, a key missing). */
export function checkOutputs(value: unknown): QuickrefOutputs {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("stack outputs: expected the JSON object `pulumi stack output --json` prints");
  }
  const o = value as Record<string, unknown>;
  if (o.outputsVersion !== OUTPUTS_VERSION) {
    throw new Error(
      `stack outputs: outputsVersion is ${JSON.stringify(o.outputsVersion)}; this quick reference reads ${OUTPUTS_VERSION} (has the stack been deployed with this commit?)`,
    );
  }
  const required = ["namePrefix", "domain", "networks", "volumes", "services"];
  const missing = required.filter((k) => o[k] === undefined);
  if (missing.length > 0) {
    throw new Error(`stack outputs: missing ${missing.join(", ")}`);
  }
  return {
    endpoints: null,
    edge: null,
    backups: null,
    smokeCheck: null,
    ...(o as Partial<QuickrefOutputs>),
  } as QuickrefOutputs;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ];
}

const code = (s: string) => `\`${s}\``;

export function quickReference(stack: string, o: QuickrefOutputs): string {
  const lines: string[] = [`# ${stack}: quick reference (from the stack's outputs)`, ""];
  if (o.endpoints) {
    lines.push(
      `- Site: ${o.endpoints.site}`,
      `- API: ${o.endpoints.api ?? "disabled"}`,
      `- Grafana: ${o.endpoints.grafana ?? "disabled"}`,
    );
  } else {
    lines.push("- No edge (services.nginx is disabled): nothing is published for users.");
  }
  if (o.edge) {
    lines.push(
      `- Published by the edge: ${o.edge.publishedPorts.join(", ")}`,
      `- Certificate expires: ${o.edge.certificateExpiry ?? "no TLS"}`,
    );
  }
  if (o.smokeCheck) {
    const notes = o.smokeCheck.notes.length > 0 ? `; ${o.smokeCheck.notes.length} note(s)` : "";
    lines.push(
      `- Last smoke check: ${o.smokeCheck.passed.length} check(s) passed${notes} (${code(`docker logs ${o.smokeCheck.container}`)})`,
    );
  }
  lines.push("", "## Services", "");
  const services = Object.entries(o.services).sort(([a], [b]) => a.localeCompare(b));
  lines.push(
    ...table(
      ["Service", "Containers", "In-platform URL", "Health", "Published on the host"],
      services.map(([name, s]) => [
        name,
        s.containerNames.map(code).join(" "),
        code(s.url),
        s.healthUrl ? code(s.healthUrl) : "no HTTP endpoint",
        s.publishedPorts.length > 0 ? s.publishedPorts.map(code).join(" ") : "none",
      ]),
    ),
  );
  lines.push("", "## Networks and volumes", "");
  lines.push(
    ...table(
      ["Network", "Docker name"],
      Object.entries(o.networks).map(([tier, name]) => [tier, code(name)]),
    ),
    "",
    ...table(
      ["Volume of", "Docker name"],
      Object.entries(o.volumes).map(([service, name]) => [service, code(name)]),
    ),
  );
  const prefix = o.namePrefix;
  lines.push(
    "",
    "## Commands",
    "",
    `- Health of every container: ${code(`docker ps -a --filter name=^${prefix}- --format '{{.Names}}\\t{{.Status}}'`)}`,
    `- A container's failing healthcheck: ${code(`docker inspect --format '{{json .State.Health}}' <container>`)}`,
    `- Logs: ${code("docker logs --tail 100 <container>")}`,
  );
  if (o.backups) {
    lines.push(
      `- Backups: ${code(o.backups.listCommand)}; restore: ${code(o.backups.restoreCommand)}`,
    );
  }
  lines.push("");
  return lines.join("\n");
}
