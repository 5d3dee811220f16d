import { loadConfig } from "./config/load";
import { Platform } from "./components/platform";

const config = loadConfig();
const platform = new Platform("vpn", { config });

/** Bumped on any breaking change to the outputs below; consumers should check it. */
export const outputsVersion = 1;
export const namePrefix = config.namePrefix;
export const domain = config.domain;
/** Docker network name per tier (edge, app, data, monitoring). */
export const networks = platform.networks.names;
/** Docker volume name per stateful service. */
export const volumes = platform.volumeNames;
/** Per enabled service: network alias (host), port, in-platform URL, container names. */
export const services = platform.services;
/** Per enabled service: the image its containers run (reference, id, registry digest). */
export const images = platform.images;
/** Secret: passwords operators need (postgres, redis, grafana admin, n8n editor, edge admin). */
export const credentials = platform.credentials;
/** PostgreSQL (host, port, database, admin, app and read-only role) and Redis (host, port). */
export const data = platform.data;
/** Secret: postgresApp, postgresReadonly and redis connection strings (in-network host names). */
export const connectionStrings = platform.connectionStrings;
/** Public URLs: the site, the API and Grafana through the edge; null when nginx is disabled. */
export const endpoints = platform.endpoints;
/** The edge: public URL, published ports, certificate expiry; null when nginx is disabled. */
export const edge = platform.edgeInfo;
/** Backups: volume, directory, schedule, retention, metrics file, list and restore commands. */
export const backups = platform.backups;
/**
 * The post-deploy smoke check through the edge: its container and the checks that passed; null
 * when nginx or the check is disabled. A failed check fails the `up` here.
 */
export const smokeCheck = platform.smokeCheck;
/** Monitoring: Grafana's public URL, Prometheus, Alertmanager and Loki inside; null when off. */
export const monitoring = platform.monitoringInfo;
