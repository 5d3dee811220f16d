/** The rendered redis.conf line by line, and every input the renderer refuses. */
import {
  REDIS_EVICTION_POLICIES,
  REDIS_GUARDED_COMMANDS,
  REDIS_MONITOR_COMMANDS,
  RedisCommandRule,
  RedisConfInput,
  RedisGuardedCommand,
  redisHealthcheckCommand,
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
  password: "secret-password",
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

/** The message of the error the renderer throws; fails the test when it does not throw. */
function refusal(input: unknown): string {
  try {
    renderRedisConf(input as RedisConfInput);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected renderRedisConf to refuse the input");
}

describe("rendered lines", () => {
  test("authentication, persistence and listening are unchanged", () => {
    expect(lines(base)).toEqual(
      expect.arrayContaining([
        "port 6379",
        "bind * -::*",
        "protected-mode yes",
        'requirepass "secret-password"',
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
});

describe("the monitoring user", () => {
  const monitor = { user: "redis_exporter", password: "mon-password-1" };
  const userLines = (input: RedisConfInput) => lines(input).filter((l) => l.startsWith("user "));
  const EXPECTED =
    'user redis_exporter on ">mon-password-1" resetkeys resetchannels -@all +ping +info ' +
    "+client|list +client|setname +slowlog|get +slowlog|len +latency|latest +latency|histogram " +
    "+memory|stats +dbsize +select +cluster|info";

  test("without one, the file has no user line and is what it was", () => {
    expect(userLines(base)).toEqual([]);
    expect(renderRedisConf({ ...base, monitor: undefined })).toBe(renderRedisConf(base));
  });

  test("one ACL line: on, its password, no keys, no channels, only introspection", () => {
    expect(userLines({ ...base, monitor })).toEqual([EXPECTED]);
    // The default user still authenticates with requirepass, and is given no line of its own.
    expect(lines({ ...base, monitor })).toContain('requirepass "secret-password"');
    expect(EXPECTED).not.toMatch(/ [~%&]|allkeys|allchannels|\+@/);
  });

  test("no command that reads keys, writes, or reads the configuration", () => {
    for (const command of REDIS_MONITOR_COMMANDS) {
      expect(command).toMatch(
        /^(ping|info|client\|(list|setname)|slowlog\|(get|len)|latency\|(latest|histogram)|memory\|stats|dbsize|select|cluster\|info)$/,
      );
    }
    expect(REDIS_MONITOR_COMMANDS).not.toEqual(expect.arrayContaining(["config|get"]));
  });

  test("the same line whatever the command rules are (ACL rules use the original names)", () => {
    const all = Object.fromEntries(REDIS_GUARDED_COMMANDS.map((c) => [c, "disabled"])) as Record<
      RedisGuardedCommand,
      RedisCommandRule
    >;
    expect(userLines({ ...base, commands: all, monitor })).toEqual([EXPECTED]);
    expect(
      userLines({ ...withCommands({ CONFIG: { renameTo: "cfg_ops_91b2" } }), monitor }),
    ).toEqual([EXPECTED]);
  });

  test("the password is one quoted argument, quoted like requirepass", () => {
    const line = userLines({ ...base, monitor: { ...monitor, password: 'a b"c\\d#e' } })[0];
    expect(line).toContain(' on ">a b\\"c\\\\d#e" resetkeys ');
  });

  test.each(["default", "Exporter", "1exporter", "", "x".repeat(33), "a b", "mon:1", "é"])(
    "user %p is refused",
    (user) => {
      expect(refusal({ ...base, monitor: { ...monitor, user } })).toMatch(
        `monitor.user: 1 to 32 of a-z, 0-9, _ or -, starting with a letter, not "default", got ${JSON.stringify(user)}`,
      );
    },
  );

  test("the longest and shortest names pass", () => {
    expect(userLines({ ...base, monitor: { ...monitor, user: "m" } })).toHaveLength(1);
    const long = `m${"_-9".repeat(10)}x`;
    expect(long).toHaveLength(32);
    expect(userLines({ ...base, monitor: { ...monitor, user: long } })).toHaveLength(1);
  });

  test("an empty password, or one with a line break or NUL, is refused", () => {
    expect(refusal({ ...base, monitor: { ...monitor, password: "" } })).toMatch(
      "monitor.password: must not be empty",
    );
    for (const password of ["a\nuser default on nopass", "a\rb", "a\0b"]) {
      expect(refusal({ ...base, monitor: { ...monitor, password } })).toMatch(
        "monitor.password: must not contain a line break or NUL",
      );
    }
  });

  test("its problems are reported with the others", () => {
    const message = refusal({ ...base, port: 0, monitor: { user: "default", password: "" } });
    expect(message).toMatch(/port: /);
    expect(message).toMatch(/monitor\.user: /);
    expect(message).toMatch(/monitor\.password: /);
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

  test("an empty password, which would let every client in", () => {
    expect(refusal({ ...base, password: "" })).toMatch(/password: must not be empty/);
  });

  test("a password or data directory with a line break", () => {
    expect(refusal({ ...base, password: "a\nrename-command x" })).toMatch(/line break/);
    expect(refusal({ ...base, dataDir: "/data\n" })).toMatch(/line break/);
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
