/** redis.conf for the platform's Redis. Pure: typed values in, file text out. */

export interface RedisConfInput {
  /** Port inside the container. */
  readonly port: number;
  /** Password every client must give (AUTH). */
  readonly password: string;
  /** Directory of the append-only file and snapshots (the data volume). */
  readonly dataDir: string;
}

/** A value as redis.conf reads it: in double quotes, with `\` and `"` escaped. */
export function redisQuote(value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new Error("redis.conf: a value cannot contain a line break or NUL");
  }
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function renderRedisConf(input: RedisConfInput): string {
  return [
    "# Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.",
    `port ${input.port}`,
    // Listen on the container's interfaces; only the platform's networks reach it.
    "bind * -::*",
    "protected-mode yes",
    `requirepass ${redisQuote(input.password)}`,
    `dir ${redisQuote(input.dataDir)}`,
    "appendonly yes",
    "appendfsync everysec",
    "",
  ].join("\n");
}

/**
 * The healthcheck shell command: an authenticated PING. The shell reads the password from its file
 * when the check runs, so it is in no container setting; REDISCLI_AUTH keeps it out of argv.
 */
export function redisHealthcheckCommand(passwordFile: string, port: number): string {
  return `REDISCLI_AUTH="$(cat ${passwordFile})" redis-cli -p ${port} ping | grep -q PONG`;
}
