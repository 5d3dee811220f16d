/**
 * redis.conf and the ACL file (users.acl) for the platform's Redis. Pure: typed values in, file
 * text out. The users live in the ACL file, not in redis.conf: `ACL LOAD` applies a changed file to
 * a running server (adding the monitoring user needs no restart), and the server reads it again on
 * every start.
 */
import { createHash } from "crypto";

export const REDIS_EVICTION_POLICIES = [
  "noeviction",
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
] as const;
export type RedisEvictionPolicy = (typeof REDIS_EVICTION_POLICIES)[number];

export const REDIS_GUARDED_COMMANDS = [
  "FLUSHALL",
  "FLUSHDB",
  "CONFIG",
  "DEBUG",
  "KEYS",
  "MONITOR",
] as const;
export type RedisGuardedCommand = (typeof REDIS_GUARDED_COMMANDS)[number];

/**
 * enabled: left alone; disabled: renamed to "" (gone); renameTo: only reachable under that name.
 *
 * Redis writes FLUSHALL and FLUSHDB into the append-only file under the name the client used, and
 * refuses to start when that name no longer exists. Before changing their rule on a server that has
 * run them, rewrite the AOF (BGREWRITEAOF) under the old rule.
 */
export type RedisCommandRule = "enabled" | "disabled" | { readonly renameTo: string };

export interface RedisConfInput {
  /** Port inside the container. */
  readonly port: number;
  /** Where the server reads its users (renderRedisAcl): an absolute path. */
  readonly aclFile: string;
  /** Directory of the append-only file and snapshots (the data volume). */
  readonly dataDir: string;
  /** Memory limit for the data set, in MB (maxmemory). */
  readonly maxmemoryMb: number;
  readonly maxmemoryPolicy: RedisEvictionPolicy;
  /** One rule per guarded command (every command of REDIS_GUARDED_COMMANDS must be present). */
  readonly commands: Readonly<Record<RedisGuardedCommand, RedisCommandRule>>;
}

export interface RedisAclInput {
  /** Password every client must give (AUTH, the default user); an empty one is refused. */
  readonly password: string;
  /** An ACL user for redis_exporter: introspection only, no keys, no channels. Default: none. */
  readonly monitor?: RedisMonitorUser;
}

export interface RedisMonitorUser {
  /** ACL user name, e.g. redis_exporter: 1 to 32 of a-z, 0-9, _ and -, starting with a letter. */
  readonly user: string;
  /** Its password (AUTH <user> <password>); not empty. */
  readonly password: string;
}

/**
 * The monitoring user's commands: the introspection redis_exporter sends (CLUSTER INFO only answers
 * an error on a standalone server) and nothing that reads a key or a channel. ACL rules name
 * commands by their original names whatever rename-command did, so the list holds under every
 * command rule. CONFIG GET is left out on purpose: `CONFIG GET *` returns requirepass in clear
 * text, which would make the monitoring password as good as the default user's; redis_exporter
 * logs the refusal at debug level and reads maxmemory from INFO.
 */
export const REDIS_MONITOR_COMMANDS = [
  "ping",
  "info",
  "client|list",
  "client|setname",
  "slowlog|get",
  "slowlog|len",
  "latency|latest",
  "latency|histogram",
  "memory|stats",
  "dbsize",
  "select",
  "cluster|info",
] as const;

const MONITOR_USER = /^[a-z][a-z0-9_-]{0,31}$/;

const RENAME_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * Command names a rename target may not take. Redis refuses to start when a target already exists;
 * names shorter than 8 characters cannot match RENAME_PATTERN, so only the longer ones are listed:
 * Redis 7.0's (Debian's build), then the ones Redis 7.2 to 8 added, so a name that 7.0 accepts
 * does not stop a newer image from starting.
 */
const LONG_COMMAND_NAMES: ReadonlySet<string> = new Set([
  ...["BGREWRITEAOF", "BITCOUNT", "BITFIELD", "BITFIELD_RO", "BRPOPLPUSH", "BZPOPMAX", "BZPOPMIN"],
  ...["EVALSHA_RO", "EXPIREAT", "EXPIRETIME", "FAILOVER", "FCALL_RO", "FLUSHALL", "FUNCTION"],
  ...["GEORADIUS", "GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO", "GEORADIUS_RO", "GEOSEARCH"],
  ...["GEOSEARCHSTORE", "GETRANGE", "HINCRBYFLOAT", "HRANDFIELD", "INCRBYFLOAT", "LASTSAVE"],
  ...["PEXPIREAT", "PEXPIRETIME", "PFSELFTEST", "PSUBSCRIBE", "PUNSUBSCRIBE", "RANDOMKEY"],
  ...["READONLY", "READWRITE", "RENAMENX", "REPLCONF", "REPLICAOF", "RESTORE-ASKING", "RPOPLPUSH"],
  ...["SDIFFSTORE", "SETRANGE", "SHUTDOWN", "SINTERCARD", "SINTERSTORE", "SISMEMBER", "SMEMBERS"],
  ...["SMISMEMBER", "SPUBLISH", "SRANDMEMBER", "SSUBSCRIBE", "SUBSCRIBE", "SUNIONSTORE"],
  ...["SUNSUBSCRIBE", "UNSUBSCRIBE", "XAUTOCLAIM", "XPENDING", "XREADGROUP", "XREVRANGE"],
  ...["ZDIFFSTORE", "ZINTERCARD", "ZINTERSTORE", "ZLEXCOUNT", "ZRANDMEMBER", "ZRANGEBYLEX"],
  ...["ZRANGEBYSCORE", "ZRANGESTORE", "ZREMRANGEBYLEX", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE"],
  ...["ZREVRANGE", "ZREVRANGEBYLEX", "ZREVRANGEBYSCORE", "ZREVRANK", "ZUNIONSTORE"],
  ...["HPEXPIRE", "HEXPIREAT", "HPEXPIREAT", "HEXPIRETIME", "HPEXPIRETIME", "HPERSIST"],
  ...["VGETATTR", "VSETATTR", "VRANDMEMBER"],
]);

/** True when `name` (in any case) is a Redis command, so a rename may not take it. */
export function isRedisCommandName(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    (REDIS_GUARDED_COMMANDS as readonly string[]).includes(upper) || LONG_COMMAND_NAMES.has(upper)
  );
}

/** A value as redis.conf reads it: in double quotes, with `\` and `"` escaped. */
export function redisQuote(value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new Error("redis.conf: a value cannot contain a line break or NUL");
  }
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function commandProblems(commands: RedisConfInput["commands"] | null | undefined): string[] {
  if (typeof commands !== "object" || commands === null) {
    return [`commands: one rule for each of ${REDIS_GUARDED_COMMANDS.join(", ")}`];
  }
  const problems: string[] = [];
  const guarded: readonly string[] = REDIS_GUARDED_COMMANDS;
  for (const key of Object.keys(commands)) {
    if (!guarded.includes(key)) {
      problems.push(`commands.${key}: not one of ${REDIS_GUARDED_COMMANDS.join(", ")}`);
    }
  }
  // Redis looks command names up without regard to case, so clashes are found the same way.
  const takenBy = new Map<string, RedisGuardedCommand>();
  for (const command of REDIS_GUARDED_COMMANDS) {
    const rule = commands[command] as RedisCommandRule | undefined;
    if (rule === "enabled" || rule === "disabled") continue;
    if (typeof rule !== "object" || typeof rule.renameTo !== "string") {
      problems.push(`commands.${command}: "enabled", "disabled" or { renameTo }`);
      continue;
    }
    const field = `commands.${command}.renameTo`;
    const name = rule.renameTo;
    const upper = name.toUpperCase();
    const clash = takenBy.get(upper);
    if (!RENAME_PATTERN.test(name)) {
      problems.push(`${field}: 8 to 64 letters, digits, _ or -, got ${JSON.stringify(name)}`);
    } else if (isRedisCommandName(name)) {
      problems.push(`${field}: ${name} is already a Redis command`);
    } else if (clash) {
      problems.push(`${field}: ${name} is already the new name of ${clash}`);
    }
    takenBy.set(upper, command);
  }
  return problems;
}

function monitorProblems(monitor: RedisMonitorUser | undefined): string[] {
  if (monitor === undefined) return [];
  const problems: string[] = [];
  const { user, password } = monitor;
  // "default" is the requirepass user: a line for it would replace its rules.
  if (typeof user !== "string" || !MONITOR_USER.test(user) || user === "default") {
    problems.push(
      `monitor.user: 1 to 32 of a-z, 0-9, _ or -, starting with a letter, not "default", got ${JSON.stringify(user)}`,
    );
  }
  if (typeof password !== "string" || password === "") {
    problems.push("monitor.password: must not be empty");
  }
  return problems;
}

function problemsOf(input: RedisConfInput): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) {
    problems.push(`port: an integer from 1 to 65535, got ${String(input.port)}`);
  }
  if (typeof input.aclFile !== "string" || !input.aclFile.startsWith("/")) {
    problems.push(`aclFile: an absolute path, got ${JSON.stringify(input.aclFile)}`);
  }
  const mb = input.maxmemoryMb;
  // maxmemory 0 means "no limit"; the bytes must stay exact in a double.
  if (!Number.isInteger(mb) || mb < 1 || !Number.isSafeInteger(mb * 1024 * 1024)) {
    problems.push(`maxmemoryMb: a positive integer (MB), got ${String(mb)}`);
  }
  if (!(REDIS_EVICTION_POLICIES as readonly string[]).includes(input.maxmemoryPolicy)) {
    problems.push(
      `maxmemoryPolicy: one of ${REDIS_EVICTION_POLICIES.join(", ")}, got ${JSON.stringify(input.maxmemoryPolicy)}`,
    );
  }
  return [...problems, ...commandProblems(input.commands)];
}

/** A password as an ACL rule: its SHA-256 (`#<hex>`), so the file holds no password itself. */
function passwordRule(password: string): string {
  return `#${createHash("sha256").update(password, "utf8").digest("hex")}`;
}

/**
 * users.acl: the default user (every client's AUTH <password>: all keys, channels and commands,
 * under the command rules of redis.conf) and, with a monitor, its user: introspection commands
 * only; resetkeys and resetchannels say in the file what a new user already lacks. ACL rules name
 * commands by their original names, so the lines hold under every rename.
 */
export function renderRedisAcl(input: RedisAclInput): string {
  const problems = [
    ...(typeof input.password !== "string" || input.password === ""
      ? ["password: must not be empty (an empty password lets every client in)"]
      : []),
    ...monitorProblems(input.monitor),
  ];
  if (problems.length > 0) throw new Error(`users.acl: ${problems.join("; ")}`);
  const lines = [`user default on ${passwordRule(input.password)} ~* &* +@all`];
  if (input.monitor !== undefined) {
    const commands = REDIS_MONITOR_COMMANDS.map((command) => `+${command}`).join(" ");
    lines.push(
      `user ${input.monitor.user} on ${passwordRule(input.monitor.password)} resetkeys resetchannels -@all ${commands}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export function renderRedisConf(input: RedisConfInput): string {
  const problems = problemsOf(input);
  if (problems.length > 0) {
    throw new Error(`redis.conf: ${problems.join("; ")}`);
  }
  const debug = input.commands.DEBUG;
  return [
    "# Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.",
    `port ${input.port}`,
    // Listen on the container's interfaces; only the platform's networks reach it.
    "bind * -::*",
    "protected-mode yes",
    // The users and their passwords (renderRedisAcl).
    `aclfile ${redisQuote(input.aclFile)}`,
    `dir ${redisQuote(input.dataDir)}`,
    "appendonly yes",
    "appendfsync everysec",
    `maxmemory ${input.maxmemoryMb}mb`,
    `maxmemory-policy ${input.maxmemoryPolicy}`,
    // Written out although they are Redis 7's defaults: loading code into the server or moving
    // dir/dbfilename is what turns a stolen password into a shell, so neither rests on a default.
    "enable-protected-configs no",
    "enable-module-command no",
    // Redis 7 refuses DEBUG under any name unless this allows it, so the DEBUG rule decides both.
    `enable-debug-command ${debug === "disabled" ? "no" : "yes"}`,
    ...REDIS_GUARDED_COMMANDS.flatMap((command) => {
      const rule = input.commands[command];
      if (rule === "enabled") return [];
      return [`rename-command ${command} ${redisQuote(rule === "disabled" ? "" : rule.renameTo)}`];
    }),
    "",
  ].join("\n");
}

/**
 * The job that applies a changed users.acl to the running server: ACL LOAD, which replaces every
 * user at once, or keeps the old ones and answers an error when the file does not load. The password
 * comes from its file as in the healthcheck; the job fails unless the server answered OK.
 */
export function redisAclLoadCommand(passwordFile: string, host: string, port: number): string {
  return (
    `out=$(REDISCLI_AUTH="$(cat ${passwordFile})" redis-cli -h ${host} -p ${port} ACL LOAD 2>&1) || true; ` +
    `echo "ACL LOAD: $out"; [ "$out" = OK ]`
  );
}

/**
 * The healthcheck shell command: an authenticated PING. The shell reads the password from its file
 * when the check runs, so it is in no container setting; REDISCLI_AUTH keeps it out of argv.
 * AUTH and PING are never guarded, so it works whatever the command rules are.
 */
export function redisHealthcheckCommand(passwordFile: string, port: number): string {
  return `REDISCLI_AUTH="$(cat ${passwordFile})" redis-cli -p ${port} ping | grep -q PONG`;
}
