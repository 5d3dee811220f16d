/**
 * What the post-deploy smoke check asks the edge, derived from the catalog's routes and the stack
 * config as the edge's site is: nginx's own health, plain HTTP sent to HTTPS, each enabled route's
 * probe, and each guarded route refusing an anonymous request. Pure (no Pulumi), tested as is.
 */
import { CATALOG, CatalogEntry, SERVICE_NAMES } from "../../config/catalog";
import { contains, parseCidr } from "../../config/net";
import { routeGuard } from "../../render/nginx";
import { SmokeRequest } from "../../render/smoke";
import { EdgeLogin, edgeLogins, edgeSite } from "./site";

type SiteConfig = Parameters<typeof edgeSite>[0];

export interface SmokePlan {
  readonly checks: SmokeRequest[];
  /** What is not checked, and why. */
  readonly notes: string[];
  /** The logins the checks send, by curl config name (the basic-auth file's base name). */
  readonly logins: (EdgeLogin & { readonly name: string })[];
}

/** The curl config name of a basic-auth file: `admin.htpasswd` -> `admin`. */
function loginName(file: string): string {
  return file.replace(/\.htpasswd$/, "");
}

/** True when every address of `subnet` is allowed by one entry of `allow` (addresses or CIDRs). */
function allowsSubnet(allow: readonly string[], subnet: string): boolean {
  if (allow.length === 0) return true;
  const net = parseCidr(subnet);
  if (net === undefined) return false;
  return allow.some((entry) => {
    const cidr = parseCidr(entry) ?? parseCidr(`${entry}/32`);
    return cidr !== undefined && contains(cidr, net.first) && contains(cidr, net.last);
  });
}

export function smokePlan(
  cfg: SiteConfig & { readonly networks: { edge: { subnet: string } } },
): SmokePlan {
  const site = edgeSite(cfg);
  const tls = cfg.tls.mode !== "off";
  const base = `${tls ? "https" : "http"}://${cfg.domain}`;
  const checks: SmokeRequest[] = [{ name: "edge health", url: `${base}/health`, expect: "2xx" }];
  if (tls) {
    checks.push({ name: "plain HTTP", url: `http://${cfg.domain}/`, expect: "https-redirect" });
  }
  const notes: string[] = [];
  const used = new Set<string>();
  const edgeSubnet = cfg.networks.edge.subnet;
  for (const service of SERVICE_NAMES) {
    if (!cfg.services[service].enabled) continue;
    for (const route of (CATALOG[service] as CatalogEntry).routes ?? []) {
      const served = site.routes.find((r) => r.path === route.path);
      if (!served) throw new Error(`smoke plan: the site has no route ${route.path}`);
      const name = `route ${route.path} (${service})`;
      const url = `${base}${route.path}${route.probe.path}`;
      const expect = route.probe.redirectPasses ? "2xx-3xx" : "2xx";
      const guard = routeGuard(site, served);
      if (guard === undefined || (guard.allow.length === 0 && guard.userFile === undefined)) {
        checks.push({ name, url, expect });
        continue;
      }
      if (!allowsSubnet(guard.allow, edgeSubnet)) {
        checks.push({ name: `${name}, anonymous`, url, expect: "403" });
        notes.push(
          `${name}: not probed behind its guard: services.nginx.admin.allow does not cover the edge network ${edgeSubnet}, where the check runs`,
        );
        continue;
      }
      if (guard.userFile === undefined) {
        checks.push({ name, url, expect });
        continue;
      }
      const login = loginName(guard.userFile);
      used.add(guard.userFile);
      checks.push({ name: `${name}, anonymous`, url, expect: "401" });
      checks.push({ name: `${name}, logged in`, url, expect, login });
    }
  }
  const logins = edgeLogins(cfg)
    .filter((l) => used.has(l.file))
    .map((l) => ({ ...l, name: loginName(l.file) }));
  return { checks, notes, logins };
}
