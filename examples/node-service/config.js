"use strict";
// Everything the service reads from its environment, checked once at start. A problem is reported as
// a ConfigError naming the variable (and the file, for secrets) but never a secret's content.
const fs = require("fs");

const SERVICE_NAMES = ["api", "db-manager", "provisioner"];
const LOG_LEVELS = ["debug", "info", "warn", "error"];
const CREDENTIAL_NAME = /PASSWORD|SECRET|TOKEN|KEY/;

class ConfigError extends Error {}

/** Secrets come from files named by `<NAME>_FILE`; the map is keyed by NAME. */
function readSecrets(env) {
  const secrets = new Map();
  for (const variable of Object.keys(env).sort()) {
    if (!variable.endsWith("_FILE")) continue;
    const file = env[variable];
    let content;
    try {
      content = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(
        `${variable}: cannot read secret file ${file} (${err.code || "error"})`,
      );
    }
    // A trailing newline is an artefact of how the file was written, not part of the secret.
    const value = content.replace(/\r?\n$/, "");
    if (value.trim() === "") throw new ConfigError(`${variable}: secret file ${file} is empty`);
    secrets.set(variable.slice(0, -"_FILE".length), value);
  }
  return secrets;
}

/** Credentials in plain env leak through `docker inspect`, crash dumps and child processes. */
function refuseCredentialEnv(env) {
  for (const variable of Object.keys(env).sort()) {
    if (!variable.endsWith("_FILE") && CREDENTIAL_NAME.test(variable)) {
      throw new ConfigError(
        `${variable}: credentials are read from files only; set ${variable}_FILE to a file path instead`,
      );
    }
  }
}

function integer(env, variable, fallback, min, max) {
  const raw = env[variable];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${variable}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function oneOf(env, variable, allowed, fallback) {
  const value = env[variable] || fallback;
  if (!allowed.includes(value)) {
    throw new ConfigError(`${variable}: expected one of ${allowed.join(", ")}, got "${value}"`);
  }
  return value;
}

/** A URL as it may be shown: any password in it is masked. */
function displayUrl(raw) {
  if (!raw) return null;
  try {
    const url = new URL(raw);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(invalid URL)";
  }
}

function loadConfig(env) {
  refuseCredentialEnv(env);
  const secrets = readSecrets(env);
  return Object.freeze({
    service: oneOf(env, "SERVICE_NAME", SERVICE_NAMES, "api"),
    nodeEnv: env.NODE_ENV || "development",
    port: integer(env, "PORT", 3000, 1, 65535),
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    logDir: env.LOG_DIR || null,
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000),
    secrets,
    // What /health shows: addresses and names, never a credential.
    public: Object.freeze({
      nodeEnv: env.NODE_ENV || "development",
      supabaseUrl: displayUrl(env.SUPABASE_URL),
      database: {
        host: env.DATABASE_HOST || null,
        port: env.DATABASE_PORT ? integer(env, "DATABASE_PORT", 5432, 1, 65535) : null,
        name: env.DATABASE_NAME || null,
        user: env.DATABASE_USER || null,
        passwordConfigured: secrets.has("DATABASE_PASSWORD"),
      },
      redis: {
        host: env.REDIS_HOST || null,
        port: env.REDIS_PORT ? integer(env, "REDIS_PORT", 6379, 1, 65535) : null,
        passwordConfigured: secrets.has("REDIS_PASSWORD"),
      },
      jwtConfigured: secrets.has("JWT_SECRET"),
      serviceKeyConfigured: secrets.has("SERVICE_KEY"),
      apiUrl: displayUrl(env.API_URL),
    }),
  });
}

module.exports = { ConfigError, LOG_LEVELS, loadConfig };
