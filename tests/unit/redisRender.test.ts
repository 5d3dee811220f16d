/** The rendered redis.conf and users.acl line by line, and every input the renderers refuse. */
import { createHash } from "crypto";
import {
  REDIS_EVICTION_POLICIES,
  REDIS_GUARDED_COMMANDS,
  REDIS_MONITOR_COMMANDS,
  RedisCommandRule,
  RedisAclInput,
  RedisConfInput,
  RedisGuardedCommand,
  redisAclLoadCommand,
  redisHealthcheckCommand,
  renderRedisAcl,
  renderRedisConf,
} from "../../render/redis";

const ALL_ENABLED: Record<RedisGuardedCommand, RedisCommandRule> = {
  FLUSHALL: "enabled",
  FLUSHDB: "enabled",
  CONFIG: "enabled",
  DEBUG: "enabled",
  KEYS: "enabled",
  MONITOR: "enabled",
};

const base: RedisConfInput = {
  port: 6379,
  aclFile: "/run/redis-users/users.acl",
  dataDir: "/data",
  maxmemoryMb: 256,
  maxmemoryPolicy: "allkeys-lru",
  commands: ALL_ENABLED,
};

const lines = (input: RedisConfInput) => renderRedisConf(input).split("\n");
const withCommands = (commands: Partial<Record<RedisGuardedCommand, RedisCommandRule>>) => ({
  ...base,
  commands: { ...ALL_ENABLED, ...commands },
});

/** The message of the error a renderer throws; fails the test when it does not throw. */
function refusal(input: unknown, render: (i: never) => string = renderRedisConf): string {
  try {
    render(input as never);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the renderer to refuse the input");
}
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

describe("rendered lines", () => {
  test("persistence and listening as before; the users come from the ACL file", () => {
    expect(lines(base)).toEqual(
      expect.arrayContaining([
        "port 6379",
        "bind * -::*",
        "protected-mode yes",
        'aclfile "/run/redis-users/users.acl"',
        'dir "/data"',
        "appendonly yes",
        "appendfsync everysec",
      ]),
    );
  });

  test("the memory limit is in MB and the eviction policy is written as given", () => {
    expect(lines({ ...base, maxmemoryMb: 1 })).toContain("maxmemory 1mb");
    for (const policy of REDIS_EVICTION_POLICIES) {
      expect(lines({ ...base, maxmemoryPolicy: policy })).toContain(`maxmemory-policy ${policy}`);
    }
  });

  test("modules and protected configs stay off whatever the rules are", () => {
    expect(lines(base)).toEqual(
      expect.arrayContaining(["enable-module-command no", "enable-protected-configs no"]),
    );
  });

  test("enabled commands get no rename-command line", () => {
    expect(lines(base).filter((l) => l.startsWith("rename-command"))).toEqual([]);
  });

  test("a disabled command is renamed to the empty name, a renamed one to its new name", () => {
    const rename = lines(
      withCommands({ FLUSHALL: "disabled", KEYS: { renameTo: "keys_9f3a-ops" } }),
    ).filter((l) => l.startsWith("rename-command"));
    expect(rename).toEqual(['rename-command FLUSHALL ""', 'rename-command KEYS "keys_9f3a-ops"']);
  });

  test("every guarded command can be disabled, each on its own line", () => {
    const all = Object.fromEntries(REDIS_GUARDED_COMMANDS.map((c) => [c, "disabled"])) as Record<
      RedisGuardedCommand,
      RedisCommandRule
    >;
    expect(lines({ ...base, commands: all }).filter((l) => l.startsWith("rename-command"))).toEqual(
      REDIS_GUARDED_COMMANDS.map((c) => `rename-command ${c} ""`),
    );
  });

  test("DEBUG is allowed by enable-debug-command exactly when its rule lets it be reached", () => {
    const debugLine = (rule: RedisCommandRule) =>
      lines(withCommands({ DEBUG: rule })).filter((l) => l.startsWith("enable-debug-command"));
    expect(debugLine("disabled")).toEqual(["enable-debug-command no"]);
    expect(debugLine("enabled")).toEqual(["enable-debug-command yes"]);
    expect(debugLine({ renameTo: "debug_only_for_ops" })).toEqual(["enable-debug-command yes"]);
  });

  test("the file ends with a newline and has no blank directive lines in between", () => {
    const text = renderRedisConf(base);
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1).split("\n")).not.toContain("");
  });

  test("the healthcheck uses only AUTH and PING, which no rule touches", () => {
    const cmd = redisHealthcheckCommand("/run/secrets/redis_password", 6379);
    expect(cmd).toBe(
      'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli -p 6379 ping | grep -q PONG',
    );
    expect(REDIS_GUARDED_COMMANDS).not.toEqual(expect.arrayContaining(["PING"]));
    expect(REDIS_GUARDED_COMMANDS).not.toEqual(expect.arrayContaining(["AUTH"]));
  });

  test("no password and no user in redis.conf: requirepass and user lines are the ACL file's", () => {
    expect(lines(base).filter((l) => /^(requirepass|user|masterauth) /.test(l))).toEqual([]);
  });

  test("the ACL LOAD job fails unless the server answers OK", () => {
    expect(redisAclLoadCommand("/run/secrets/redis_password", "redis", 6379)).toBe(
      'out=$(REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli -h redis -p 6379 ACL LOAD 2>&1) || true; ' +
        'echo "ACL LOAD: $out"; [ "$out" = OK ]',
    );
  });
});

describe("the ACL file", () => {
  const acl: RedisAclInput = { password: "secret-password" };
  const monitor = { user: "redis_exporter", password: "mon-password-1" };
  const aclLines = (input: RedisAclInput) => renderRedisAcl(input).split("\n");
  const userLines = (input: RedisAclInput) =>
    aclLines(input).filter((l) => l.startsWith("user redis_exporter "));
  const EXPECTED =
    `user redis_exporter on #${sha256("mon-password-1")} resetkeys resetchannels -@all +ping +info ` +
    "+client|list +client|setname +slowlog|get +slowlog|len +latency|latest +latency|histogram " +
    "+memory|stats +dbsize +select +cluster|info";

  test("the default user: every client's password (as its SHA-256), every key, channel and command", () => {
    expect(renderRedisAcl(acl)).toBe(`user default on #${sha256("secret-password")} ~* &* +@all\n`);
    // No password in clear text in the file.
    expect(renderRedisAcl({ ...acl, monitor })).not.toMatch(/secret-password|mon-password-1/);
  });

  test("the monitoring user: on, its password, no keys, no channels, only introspection", () => {
    expect(userLines({ ...acl, monitor })).toEqual([EXPECTED]);
    expect(aclLines({ ...acl, monitor })[0]).toMatch(
      /^user default on #[0-9a-f]{64} ~\* &\* \+@all$/,
    );
    expect(userLines({ ...acl, monitor })[0]).not.toMatch(/ [~%&]|allkeys|allchannels|\+@/);
  });

  test("without one, the file has the default user only", () => {
    expect(userLines(acl)).toEqual([]);
    expect(renderRedisAcl({ ...acl, monitor: undefined })).toBe(renderRedisAcl(acl));
  });

  test("no command that reads keys, writes, or reads the configuration", () => {
    for (const command of REDIS_MONITOR_COMMANDS) {
      expect(command).toMatch(
        /^(ping|info|client\|(list|setname)|slowlog\|(get|len)|latency\|(latest|histogram)|memory\|stats|dbsize|select|cluster\|info)$/,
      );
    }
    expect(REDIS_MONITOR_COMMANDS).not.toEqual(expect.arrayContaining(["config|get"]));
  });

  test("any password, quotes and line breaks included, is one hashed rule", () => {
    for (const password of ['a b"c\\d#e', "a\nuser default on nopass", "é"]) {
      const line = userLines({ ...acl, monitor: { ...monitor, password } })[0];
      expect(line).toContain(` on #${sha256(password)} resetkeys `);
      expect(
        renderRedisAcl({ ...acl, monitor: { ...monitor, password } }).split("\n"),
      ).toHaveLength(3);
    }
  });

  test.each(["default", "Exporter", "1exporter", "", "x".repeat(33), "a b", "mon:1", "é"])(
    "user %p is refused",
    (user) => {
      expect(refusal({ ...acl, monitor: { ...monitor, user } }, renderRedisAcl)).toMatch(
        `monitor.user: 1 to 32 of a-z, 0-9, _ or -, starting with a letter, not "default", got ${JSON.stringify(user)}`,
      );
    },
  );

  test("the longest and shortest names pass", () => {
    expect(userLines({ ...acl, monitor: { ...monitor, user: "m" } })).toHaveLength(0);
    expect(aclLines({ ...acl, monitor: { ...monitor, user: "m" } })[1]).toMatch(/^user m on #/);
    // 32 characters, the most a name may have: one more is refused.
    const long = `m${"_-9".repeat(10)}x`;
    expect(aclLines({ ...acl, monitor: { ...monitor, user: long } })[1]).toMatch(
      new RegExp(`^user ${long} on #`),
    );
    expect(refusal({ ...acl, monitor: { ...monitor, user: `${long}x` } }, renderRedisAcl)).toMatch(
      `monitor.user: 1 to 32 of a-z, 0-9, _ or -, starting with a letter, not "default", got "${long}x"`,
    );
  });

  test("an empty password, the default user's or the monitor's, is refused; all problems at once", () => {
    expect(refusal({ password: "" }, renderRedisAcl)).toMatch(
      "password: must not be empty (an empty password lets every client in)",
    );
    const message = refusal(
      { password: "", monitor: { user: "default", password: "" } },
      renderRedisAcl,
    );
    expect(message).toMatch(/^users\.acl: password: /);
    expect(message).toMatch(/monitor\.user: /);
    expect(message).toMatch(/monitor\.password: must not be empty/);
  });
});

describe("refusals name the field", () => {
  test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 40])(
    "maxmemoryMb %p",
    (maxmemoryMb) => {
      expect(refusal({ ...base, maxmemoryMb })).toMatch(/maxmemoryMb: a positive integer/);
    },
  );

  test("a policy Redis does not know", () => {
    expect(refusal({ ...base, maxmemoryPolicy: "lru" })).toMatch(/maxmemoryPolicy: one of/);
  });

  test.each([0, 65536, 80.5])("port %p", (port) => {
    expect(refusal({ ...base, port })).toMatch(/port: an integer from 1 to 65535/);
  });

  test("an ACL file that is not an absolute path", () => {
    expect(refusal({ ...base, aclFile: "users.acl" })).toMatch(/aclFile: an absolute path/);
  });

  test("a data directory or ACL file with a line break", () => {
    expect(refusal({ ...base, dataDir: "/data\n" })).toMatch(/line break/);
    expect(refusal({ ...base, aclFile: "/run/a\nrename-command x" })).toMatch(/line break/);
  });

  test.each(["short", "x".repeat(65), "has space", 'quote"name', "dollar$name", "ümlaut_name"])(
    "renameTo %p does not match the name pattern",
    (renameTo) => {
      expect(refusal(withCommands({ KEYS: { renameTo } }))).toMatch(
        /commands\.KEYS\.renameTo: 8 to 64 letters, digits, _ or -/,
      );
    },
  );

  test.each(["FLUSHALL", "flushall", "SUBSCRIBE", "bgrewriteaof", "HPEXPIRE", "VRANDMEMBER"])(
    "renameTo %p is an existing Redis command",
    (renameTo) => {
      expect(refusal(withCommands({ KEYS: { renameTo } }))).toMatch(
        `commands.KEYS.renameTo: ${renameTo} is already a Redis command`,
      );
    },
  );

  test("two commands renamed to the same name, in any case", () => {
    const message = refusal(
      withCommands({ CONFIG: { renameTo: "ops_admin_1" }, KEYS: { renameTo: "OPS_ADMIN_1" } }),
    );
    expect(message).toMatch(
      "commands.KEYS.renameTo: OPS_ADMIN_1 is already the new name of CONFIG",
    );
  });

  test("no rules at all", () => {
    expect(refusal({ ...base, commands: undefined })).toMatch(/commands: one rule for each of/);
  });

  test("a guarded command without a rule", () => {
    const rest = Object.entries(ALL_ENABLED).filter(([command]) => command !== "MONITOR");
    expect(refusal({ ...base, commands: Object.fromEntries(rest) })).toMatch(
      /commands\.MONITOR: "enabled", "disabled" or \{ renameTo \}/,
    );
  });

  test("a rule that is none of the three forms", () => {
    expect(refusal(withCommands({ DEBUG: "off" as RedisCommandRule }))).toMatch(/commands\.DEBUG:/);
    expect(
      refusal(withCommands({ DEBUG: { renameTo: 7 } as unknown as RedisCommandRule })),
    ).toMatch(/commands\.DEBUG:/);
  });

  test("a rule for a command that is not guarded", () => {
    expect(refusal({ ...base, commands: { ...ALL_ENABLED, SHUTDOWN: "disabled" } })).toMatch(
      /commands\.SHUTDOWN: not one of FLUSHALL/,
    );
  });

  test("every problem is reported at once", () => {
    const message = refusal({
      ...base,
      maxmemoryMb: 0,
      maxmemoryPolicy: "lru",
      commands: { ...ALL_ENABLED, KEYS: { renameTo: "x" } },
    });
    expect(message).toMatch(/maxmemoryMb/);
    expect(message).toMatch(/maxmemoryPolicy/);
    expect(message).toMatch(/commands\.KEYS\.renameTo/);
  });
});
