/**
 * The service catalog: what each service of the platform is, declared once. The config schema takes
 * its defaults from here; networks, volumes, routes, scrape jobs and outputs are derived from it.
 * Adding a service starts with an entry here (see the README, "Adding a service").
 */

export const TIERS = ["edge", "app", "data", "monitoring"] as const;
export type Tier = (typeof TIERS)[number];

/** A public path nginx routes to a service (render/nginx.ts). */
export interface CatalogRoute {
  /** Path prefix with leading and trailing slash; `/` for the catch-all. */
  readonly path: string;
  /** Remove the prefix before the request reaches the service (it serves at its root). */
  readonly stripPrefix?: boolean;
  /** Pass WebSocket upgrades through. */
  readonly websocket?: boolean;
  /** Limited per client address (services.nginx.rateLimit); excess gets 429. */
  readonly rateLimited?: boolean;
  /** Anonymous GET/HEAD responses may be cached (services.nginx.cache). */
  readonly cached?: boolean;
  /** Read timeout in seconds unless services.nginx.routes.<service> sets one; default timeouts. */
  readonly readTimeoutSeconds?: number;
  /**
   * What the post-deploy smoke check GETs through nginx: a path below `path` (the service's health
   * endpoint as the route exposes it), answered 2xx; `redirectPasses` lets a 3xx pass too.
   */
  readonly probe: { readonly path: string; readonly redirectPasses?: boolean };
}

export interface CatalogEntry {
  /** The tier the service belongs to (labels, grouping). */
  readonly tier: Tier;
  /** The tier networks the service joins; the first is its primary network. */
  readonly networks: readonly Tier[];
  /** The port the service listens on inside its containers; none for a service nobody calls. */
  readonly port?: number;
  /** Where the service keeps state; it gets a named volume there and runs exactly one replica. */
  readonly dataPath?: string;
  /** Where Prometheus scrapes it, if it exposes metrics itself. */
  readonly metrics?: { readonly port: number; readonly path: string };
  /** Public path prefixes that nginx routes to it. */
  readonly routes?: readonly CatalogRoute[];
  /** The path its health endpoint answers on (HTTP services built from docker/). */
  readonly health?: string;
  /** What the service needs enabled to work at all; the schema refuses it without them. */
  readonly requires?: readonly string[];
  /**
   * The service it watches (an exporter): it runs only while that one is enabled, so disabling
   * PostgreSQL takes its exporter along instead of failing the config.
   */
  readonly follows?: string;
  /**
   * Its volume holds nothing worth keeping (a log shipper's read positions): unprotected, and
   * removed with the service, unless the stack's dataProtection says otherwise.
   */
  readonly disposableData?: boolean;
  /** It reads the Docker engine's socket (mounted read-only from monitoring.dockerSocket). */
  readonly dockerSocket?: boolean;
  /**
   * Why the service's default user is root (uid 0, every capability still dropped). Only such a
   * service may run as root; the others are refused a root `user`.
   */
  readonly rootReason?: string;
  /** It reads root-only host paths besides the socket: root even with the socket's group. */
  readonly hostRoot?: boolean;
  /** An optional service: disabled unless the stack enables it. */
  readonly optional?: boolean;
  /** Defaults for its config block (`services.<name>`). */
  readonly defaults: {
    /** A pinned image reference (a tag other than `latest`, or a digest), or a local build. */
    readonly image:
      string | { readonly build: { readonly context: string; readonly dockerfile: string } };
    /** `uid:gid` the image's own non-root user has. */
    readonly user: string;
    readonly cpus: number;
    readonly memoryMb: number;
    readonly pidsLimit: number;
  };
}

export const CATALOG = {
  nginx: {
    tier: "edge",
    // monitoring: it proxies /grafana/ and its exporter reads its stub_status there.
    networks: ["edge", "app", "monitoring"],
    port: 80,
    health: "/health",
    // 101:101 is the official image's worker user (`nginx`). Here the whole container runs as it;
    // ports below 1024 are opened through the container's net.ipv4.ip_unprivileged_port_start sysctl.
    defaults: {
      image: "nginx:1.28.0-alpine",
      user: "101:101",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 256,
    },
  },
  postgres: {
    tier: "data",
    networks: ["data"],
    port: 5432,
    dataPath: "/var/lib/postgresql/data",
    // postgres:15-alpine creates the `postgres` user as 70:70 and owns PGDATA with it, so a new
    // named volume is initialised with that owner and the server can start without root.
    defaults: {
      image: "postgres:15-alpine",
      user: "70:70",
      cpus: 1,
      memoryMb: 1024,
      pidsLimit: 200,
    },
  },
  redis: {
    tier: "data",
    networks: ["data"],
    port: 6379,
    dataPath: "/data",
    // redis:7-alpine creates the `redis` user as 999:1000 and owns /data with it.
    defaults: {
      image: "redis:7-alpine",
      user: "999:1000",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 64,
    },
  },
  backup: {
    tier: "data",
    networks: ["data"],
    // The backups volume. The image owns this directory as uid 70 (a new volume copies that
    // owner); any other path would be a root-owned mount the non-root job cannot write to.
    dataPath: "/var/lib/postgresql/data",
    // pg_dump from the same image as the server: a dump needs a client at least as new.
    defaults: {
      image: "postgres:15-alpine",
      user: "70:70",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 64,
    },
  },
  // The app tier. The images of the first five are built from docker/ with the reference services of
  // examples/ as context, so the dev stack runs out of the box; a stack points `image` at the real
  // application's source (a path or a git URL) or at a prebuilt image.
  api: {
    tier: "app",
    networks: ["app", "data"],
    port: 3000,
    health: "/health",
    metrics: { port: 3000, path: "/metrics" },
    routes: [
      {
        path: "/api/",
        stripPrefix: true,
        rateLimited: true,
        cached: true,
        probe: { path: "health" },
      },
    ],
    requires: ["postgres", "redis"],
    defaults: {
      image: {
        build: { context: "examples/node-service", dockerfile: "docker/node-service/Dockerfile" },
      },
      user: "1001:1001",
      cpus: 1,
      memoryMb: 512,
      pidsLimit: 256,
    },
  },
  web: {
    tier: "app",
    networks: ["app"],
    port: 3001,
    health: "/health",
    // WebSocket for Next.js live reload in development mode. Its /health is nginx's own, so the
    // smoke check asks for the page; a dashboard may answer it with a redirect to its login.
    routes: [{ path: "/", websocket: true, probe: { path: "", redirectPasses: true } }],
    defaults: {
      image: { build: { context: "examples/web", dockerfile: "docker/web/Dockerfile" } },
      user: "1001:1001",
      cpus: 0.5,
      memoryMb: 512,
      pidsLimit: 256,
    },
  },
  pythonAi: {
    tier: "app",
    networks: ["app"],
    port: 5001,
    health: "/health",
    // Model calls are slow: the guide's 120 s read timeout. Rate-limited like the rest of /api/.
    routes: [
      {
        path: "/api/ai/",
        stripPrefix: true,
        rateLimited: true,
        readTimeoutSeconds: 120,
        probe: { path: "health" },
      },
    ],
    defaults: {
      image: {
        build: { context: "examples/python-ai", dockerfile: "docker/python-ai/Dockerfile" },
      },
      user: "1001:1001",
      cpus: 1,
      memoryMb: 1024,
      pidsLimit: 256,
    },
  },
  ollama: {
    tier: "app",
    networks: ["app"],
    port: 11434,
    // Not in the image: the Ollama component hands the new volume to its user before the server
    // starts (the image runs as root upstream; here it does not).
    dataPath: "/var/lib/ollama",
    defaults: {
      image: "ollama/ollama:0.9.0",
      user: "1001:1001",
      cpus: 2,
      memoryMb: 4096,
      pidsLimit: 512,
    },
  },
  n8n: {
    tier: "app",
    networks: ["app"],
    port: 5678,
    // n8nio/n8n creates /home/node/.n8n owned by its `node` user (1000:1000).
    dataPath: "/home/node/.n8n",
    // At the root whatever N8N_PATH is (components/apps/n8n.ts).
    health: "/healthz",
    // n8n serves at its root; N8N_PATH only tells it the public prefix for the URLs it makes.
    // Its editor keeps a push connection open, and webhook calls may wait for a whole workflow.
    routes: [
      {
        path: "/admin/n8n/",
        stripPrefix: true,
        websocket: true,
        readTimeoutSeconds: 3600,
        probe: { path: "healthz" },
      },
    ],
    defaults: {
      image: "n8nio/n8n:1.72.1",
      user: "1000:1000",
      cpus: 1,
      memoryMb: 1024,
      pidsLimit: 256,
    },
  },
  dbManager: {
    tier: "app",
    networks: ["data"],
    port: 3002,
    health: "/health",
    requires: ["postgres"],
    optional: true,
    defaults: {
      image: {
        build: { context: "examples/node-service", dockerfile: "docker/node-service/Dockerfile" },
      },
      user: "1001:1001",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 128,
    },
  },
  provisioner: {
    tier: "app",
    networks: ["app", "data"],
    port: 3003,
    health: "/health",
    requires: ["postgres", "api"],
    optional: true,
    defaults: {
      image: {
        build: { context: "examples/node-service", dockerfile: "docker/node-service/Dockerfile" },
      },
      user: "1001:1001",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 128,
    },
  },
  // The monitoring tier. Prometheus joins the app network to scrape the API replicas; each exporter
  // joins the network of what it watches. Nothing here publishes a port: Grafana is reached through
  // the edge at /grafana/, the rest only from inside.
  prometheus: {
    tier: "monitoring",
    networks: ["monitoring", "app"],
    port: 9090,
    health: "/-/ready",
    // The image owns /prometheus as nobody (65534) and runs as it.
    dataPath: "/prometheus",
    metrics: { port: 9090, path: "/metrics" },
    defaults: {
      image: "prom/prometheus:v3.5.0",
      user: "65534:65534",
      cpus: 1,
      memoryMb: 1024,
      pidsLimit: 256,
    },
  },
  alertmanager: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 9093,
    health: "/-/ready",
    // Silences and the notification log; the image owns /alertmanager as nobody.
    dataPath: "/alertmanager",
    metrics: { port: 9093, path: "/metrics" },
    requires: ["prometheus"],
    defaults: {
      image: "prom/alertmanager:v0.28.1",
      user: "65534:65534",
      cpus: 0.25,
      memoryMb: 128,
      pidsLimit: 128,
    },
  },
  grafana: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 3000,
    health: "/api/health",
    // The image runs as grafana (472) in group root (0) and owns /var/lib/grafana that way.
    dataPath: "/var/lib/grafana",
    metrics: { port: 3000, path: "/metrics" },
    // Served from the sub-path (no prefix stripping); Grafana Live uses a WebSocket.
    routes: [{ path: "/grafana/", websocket: true, probe: { path: "api/health" } }],
    requires: ["prometheus"],
    defaults: {
      image: "grafana/grafana:12.0.2",
      user: "472:0",
      cpus: 0.5,
      memoryMb: 512,
      pidsLimit: 256,
    },
  },
  loki: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 3100,
    health: "/ready",
    // The image creates /loki owned by loki (10001) and runs as it.
    dataPath: "/loki",
    metrics: { port: 3100, path: "/metrics" },
    defaults: {
      image: "grafana/loki:3.5.1",
      user: "10001:10001",
      cpus: 1,
      memoryMb: 1024,
      pidsLimit: 256,
    },
  },
  // The log shipper: Alloy by default; Promtail (end of life 2026-03-02) for teams that still run it.
  alloy: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 12345,
    health: "/-/ready",
    // Where it keeps its read positions, so a restart neither loses nor repeats logs. Not the
    // image's /var/lib/alloy/data: the image makes /var/lib/alloy 473:473 mode 0770, which root
    // without capabilities cannot even traverse (and a new volume there copies that owner and
    // mode). A path the image lacks is created for the volume as root's, 0755: root writes it, and
    // the volume-owner job hands it to a non-root user.
    dataPath: "/var/lib/alloy-storage",
    metrics: { port: 12345, path: "/metrics" },
    requires: ["loki"],
    // Lost positions re-ship at most what Docker still keeps of each log (3 x 10 MB).
    disposableData: true,
    dockerSocket: true,
    // The socket is root:docker 0660, and the docker group's id differs per host: root (with no
    // capability) reads it anywhere. A stack that sets monitoring.dockerSocket.groupId may run it
    // as the image's own user in that group instead.
    rootReason: "reads the Docker socket (root:docker, 0660; the group id differs per host)",
    defaults: {
      image: "grafana/alloy:v1.9.1",
      user: "0:0",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 256,
    },
  },
  promtail: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 9080,
    health: "/ready",
    dataPath: "/var/lib/promtail",
    metrics: { port: 9080, path: "/metrics" },
    requires: ["loki"],
    disposableData: true,
    dockerSocket: true,
    // The socket is root:docker 0660, and the docker group's id differs per host: root (with no
    // capability) reads it anywhere. A stack that sets monitoring.dockerSocket.groupId may run it
    // as the image's own user in that group instead.
    rootReason: "reads the Docker socket (root:docker, 0660; the group id differs per host)",
    optional: true,
    defaults: {
      image: "grafana/promtail:3.5.1",
      user: "0:0",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 256,
    },
  },
  nginxExporter: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 9113,
    metrics: { port: 9113, path: "/metrics" },
    follows: "nginx",
    defaults: {
      image: "nginx/nginx-prometheus-exporter:1.4.2",
      user: "65534:65534",
      cpus: 0.25,
      memoryMb: 64,
      pidsLimit: 64,
    },
  },
  postgresExporter: {
    tier: "monitoring",
    networks: ["monitoring", "data"],
    port: 9187,
    metrics: { port: 9187, path: "/metrics" },
    follows: "postgres",
    defaults: {
      image: "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
      user: "65534:65534",
      cpus: 0.25,
      memoryMb: 64,
      pidsLimit: 64,
    },
  },
  redisExporter: {
    tier: "monitoring",
    networks: ["monitoring", "data"],
    port: 9121,
    metrics: { port: 9121, path: "/metrics" },
    follows: "redis",
    defaults: {
      image: "oliver006/redis_exporter:v1.67.0-alpine",
      user: "59000:59000",
      cpus: 0.25,
      memoryMb: 64,
      pidsLimit: 64,
    },
  },
  cadvisor: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 8080,
    health: "/healthz",
    metrics: { port: 8080, path: "/metrics" },
    dockerSocket: true,
    // Besides the socket it reads /var/lib/docker (root's, 0710) for each container's layers.
    rootReason: "reads the Docker socket and /var/lib/docker (root's, 0710)",
    hostRoot: true,
    defaults: {
      image: "gcr.io/cadvisor/cadvisor:v0.52.1",
      user: "0:0",
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 256,
    },
  },
  nodeExporter: {
    tier: "monitoring",
    networks: ["monitoring"],
    port: 9100,
    metrics: { port: 9100, path: "/metrics" },
    defaults: {
      image: "prom/node-exporter:v1.9.1",
      user: "65534:65534",
      cpus: 0.25,
      memoryMb: 64,
      pidsLimit: 64,
    },
  },
} as const satisfies Record<string, CatalogEntry>;

export type ServiceName = keyof typeof CATALOG;

/** A catalog key as container names, labels and network aliases spell it: `pythonAi` -> `python-ai`. */
export function hostName(service: string): string {
  return service.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * True when `user` (`uid[:gid]` or a name) is root: uid 0 however it is written (`0`, `00:0`), or
 * the name `root`.
 */
export function isRootUser(user: string): boolean {
  const uid = user.split(":")[0];
  return uid === "root" || (/^\d+$/.test(uid) && Number(uid) === 0);
}

/** The login postgres-exporter and redis_exporter use: statistics only, none of the data. */
export const MONITOR_USER = "vpn_monitor";
export const SERVICE_NAMES = Object.keys(CATALOG) as ServiceName[];

/** Services that keep state in a named volume. */
export type StatefulServiceName = {
  [K in ServiceName]: (typeof CATALOG)[K] extends { dataPath: string } ? K : never;
}[ServiceName];
export const STATEFUL_SERVICES = SERVICE_NAMES.filter(
  (n): n is StatefulServiceName => (CATALOG[n] as CatalogEntry).dataPath !== undefined,
);
