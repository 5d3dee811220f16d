import { CATALOG, CatalogEntry, SERVICE_NAMES, ServiceName } from "../../config/catalog";
import { ScrapeJob } from "../../render/prometheus";
import { containerName, hostName } from "../workloadArgs";

interface ScrapedStack {
  readonly namePrefix: string;
  readonly services: Readonly<
    Record<ServiceName, { readonly enabled: boolean; readonly replicas: number }>
  >;
}

/**
 * One scrape job per enabled catalog service that serves metrics, one target per container (each
 * API replica on its own), labelled with the service's alias and the container's name. Pure: the
 * catalog and the stack's switches decide, so enabling a service adds its job and disabling it
 * removes it.
 */
export function scrapeJobs(cfg: ScrapedStack): ScrapeJob[] {
  return SERVICE_NAMES.flatMap((service) => {
    const entry: CatalogEntry = CATALOG[service];
    const svc = cfg.services[service];
    if (entry.metrics === undefined || !svc.enabled) return [];
    const alias = hostName(service);
    const metrics = entry.metrics;
    return [
      {
        name: alias,
        metricsPath: metrics.path,
        targets: Array.from({ length: svc.replicas }, (_, i) => {
          const container = containerName(cfg.namePrefix, alias, i + 1);
          return { address: `${container}:${metrics.port}`, labels: { service: alias, container } };
        }),
      },
    ];
  });
}
