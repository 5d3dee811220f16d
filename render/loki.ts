/**
 * Loki's configuration: one process (every component in it), chunks and index on the local
 * filesystem under one data directory, retention applied by the compactor. Pure: typed values in,
 * file text out.
 */
import { posix } from "node:path";
import { Document } from "yaml";

export interface LokiConfigInput {
  /** HTTP port (push, query, /ready), 3100. */
  readonly port: number;
  /** The data volume; chunks, index, WAL, rules and the compactor's work all live under it. */
  readonly dataDir: string;
  /** Logs older than this many days are deleted by the compactor. */
  readonly retentionDays: number;
  /** Ingestion rate limit for the (single) tenant, in MB per second. */
  readonly ingestionRateMb: number;
  /** Largest burst above that rate, in MB; at least ingestionRateMb. */
  readonly ingestionBurstMb: number;
  /** Longest time range one query may cover, in days; Loki's default (721h) when absent. */
  readonly maxQueryDays?: number;
}

/** gRPC between Loki's own components; bound to loopback because nothing else speaks it. */
export const LOKI_GRPC_PORT = 9095;

/** The first day of the (only) schema period. Fixed: changing it would orphan stored data. */
const SCHEMA_FROM = "2024-01-01";

/** Ten years; beyond that the setting is a mistake, not a retention policy. */
const MAX_DAYS = 3650;

/** Loki refuses older lines; a week, or the retention if that is shorter. */
const REJECT_OLDER_THAN_DAYS = 7;

const hours = (days: number) => `${days * 24}h`;

function integerProblem(field: string, value: number, min: number, max: number) {
  return Number.isSafeInteger(value) && value >= min && value <= max
    ? undefined
    : `${field}: given ${String(value)}; allowed: an integer from ${min} to ${max}`;
}

function problemsOf(input: LokiConfigInput): string[] {
  const problems = [
    Number.isSafeInteger(input.port) &&
    input.port >= 1 &&
    input.port <= 65535 &&
    input.port !== LOKI_GRPC_PORT
      ? undefined
      : `port: given ${String(input.port)}; allowed: an integer from 1 to 65535 other than ${LOKI_GRPC_PORT} (Loki's gRPC port)`,
    /^\/[^\0\r\n]*$/.test(input.dataDir) &&
    input.dataDir !== "/" &&
    posix.normalize(input.dataDir) === input.dataDir &&
    !input.dataDir.endsWith("/")
      ? undefined
      : `dataDir: given ${JSON.stringify(input.dataDir)}; allowed: an absolute, normalized directory path other than / (no trailing /, no . or .. segments)`,
    integerProblem("retentionDays", input.retentionDays, 1, MAX_DAYS),
    input.maxQueryDays === undefined
      ? undefined
      : integerProblem("maxQueryDays", input.maxQueryDays, 1, MAX_DAYS),
  ];
  const rate = input.ingestionRateMb;
  const burst = input.ingestionBurstMb;
  const rateOk = Number.isFinite(rate) && rate > 0 && rate <= 1024;
  problems.push(
    rateOk
      ? undefined
      : `ingestionRateMb: given ${String(rate)}; allowed: a number of MB per second above 0, at most 1024`,
    Number.isFinite(burst) && burst > 0 && burst <= 1024 && (!rateOk || burst >= rate)
      ? undefined
      : `ingestionBurstMb: given ${String(burst)}; allowed: a number of MB from ingestionRateMb (${String(rate)}) to 1024`,
  );
  return problems.filter((p): p is string => p !== undefined);
}

export function renderLokiConfig(input: LokiConfigInput): string {
  const problems = problemsOf(input);
  if (problems.length > 0) throw new Error(`loki config: ${problems.join("; ")}`);

  const dir = (name: string) => posix.join(input.dataDir, name);
  const retention = hours(input.retentionDays);
  const doc = new Document({
    auth_enabled: false,
    server: {
      http_listen_port: input.port,
      grpc_listen_address: "127.0.0.1",
      grpc_listen_port: LOKI_GRPC_PORT,
      log_level: "info",
    },
    common: {
      // The ring must advertise the address gRPC listens on, or the querier cannot reach the
      // ingester inside the same process.
      instance_addr: "127.0.0.1",
      path_prefix: input.dataDir,
      storage: {
        filesystem: { chunks_directory: dir("chunks"), rules_directory: dir("rules") },
      },
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
    },
    ingester: { wal: { dir: dir("wal") } },
    ruler: { rule_path: dir("rules-temp") },
    schema_config: {
      configs: [
        {
          from: SCHEMA_FROM,
          store: "tsdb",
          object_store: "filesystem",
          schema: "v13",
          index: { prefix: "index_", period: "24h" },
        },
      ],
    },
    storage_config: {
      tsdb_shipper: {
        active_index_directory: dir("tsdb-index"),
        cache_location: dir("tsdb-cache"),
      },
    },
    compactor: {
      working_directory: dir("compactor"),
      compaction_interval: "10m",
      retention_enabled: true,
      retention_delete_delay: "2h",
      // Loki 3 refuses to start with retention on and nowhere to keep delete requests.
      delete_request_store: "filesystem",
    },
    limits_config: {
      retention_period: retention,
      // Expired chunks are deleted some hours after they expire; without this, queries would
      // show them until then.
      max_query_lookback: retention,
      ...(input.maxQueryDays === undefined ? {} : { max_query_length: hours(input.maxQueryDays) }),
      reject_old_samples: true,
      reject_old_samples_max_age: hours(Math.min(REJECT_OLDER_THAN_DAYS, input.retentionDays)),
      ingestion_rate_mb: input.ingestionRateMb,
      ingestion_burst_size_mb: input.ingestionBurstMb,
    },
    analytics: { reporting_enabled: false },
  });
  doc.commentBefore =
    " Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.";
  return doc.toString({ lineWidth: 0 });
}
