/**
 * The only code that reads Pulumi config. It gathers this project's keys, validates them against
 * the schema and returns one frozen StackConfig, or throws one ConfigError naming every problem.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { Migration, loadMigrations } from "./migrations";
import { checkLocalPaths } from "./paths";
import {
  ALLOWED_KEYS,
  RawStackConfig,
  ConfigSecretName,
  RawTlsConfig,
  stackConfigSchema,
  withDataProtectionDefaults,
} from "./schema";

/** How the edge serves the domain; the private key (tls.mode files) is a Pulumi secret. */
export interface TlsConfig extends Omit<RawTlsConfig, "privateKey"> {
  /** The PEM private key of `certificate`, wrapped as a Pulumi secret; undefined unless mode files. */
  readonly privateKey: pulumi.Output<string> | undefined;
}

export interface StackConfig extends Omit<
  RawStackConfig,
  "namePrefix" | "secrets" | "tls" | "dataProtection"
> {
  readonly project: string;
  readonly stack: string;
  /** Prefix of every Docker object's name; defaults to `<project>-<stack>`. */
  readonly namePrefix: string;
  readonly tls: TlsConfig;
  /** Credentials given in config, already wrapped as Pulumi secrets. */
  readonly secrets: Readonly<Partial<Record<ConfigSecretName, pulumi.Output<string>>>>;
  /** The SQL migrations from `services.postgres.migrationsDir`, in the order they apply. */
  readonly migrations: readonly Migration[];
  /** The project directory: relative paths in the config (build contexts, dev sources) start here. */
  readonly projectDir: string;
  /**
   * The stack-wide `dataProtection` (each key true unless the stack says otherwise), for volumes
   * of the platform that no service's own setting covers: the edge's ACME volume, the API's logs.
   */
  readonly volumeProtection: { readonly protect: boolean; readonly retainOnDelete: boolean };
}

/**
 * A stack config that failed validation; `problems` holds one line per bad key. A RunError, so
 * Pulumi prints the message alone, without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid stack config, ${problems.length} problem(s); nothing was created:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

type Path = readonly PropertyKey[];

function pathText(ns: string, path: Path): string {
  return (
    ns +
    ":" +
    path
      .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
      .join("")
  );
}

function valueAt(input: unknown, path: Path): unknown {
  let here: unknown = input;
  for (const key of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here;
}

/** Under `tls`, every value but these may hold the certificate or its private key. */
const TLS_SHOWN: readonly PropertyKey[] = ["mode", "selfSigned"];

/** Keys of services.alertmanager.email whose values are shown in errors; any other may be a password. */
const EMAIL_SHOWN: readonly PropertyKey[] = [
  "to",
  "from",
  "smarthost",
  "authUsername",
  "requireTls",
];

/** A webhook's URL (often with a token) or a mail password, put in the wrong place. */
function mayBeCredential(path: Path, value: unknown): boolean {
  if (path[0] !== "services" || path[1] !== "alertmanager" || path.length < 4) return false;
  if (path[2] === "webhook") return typeof value !== "boolean";
  return path[2] === "email" && !EMAIL_SHOWN.includes(path[3]);
}

function given(input: unknown, path: Path, required = false): string {
  const value = valueAt(input, path);
  if (path[0] === "secrets") return value === undefined ? "nothing" : "a secret value (not shown)";
  if (value !== undefined && mayBeCredential(path, value)) {
    return "a value (not shown: URLs and passwords belong under secrets)";
  }
  if (value === undefined) return required ? "nothing" : "nothing (so the default)";
  const text = JSON.stringify(value);
  // A key pasted under a misspelt name or in the wrong place must not show either.
  if ((path[0] === "tls" && !TLS_SHOWN.includes(path[1])) || text.includes("PRIVATE KEY")) {
    return "a TLS value (not shown)";
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Wording of zod's built-in checks as "what is allowed". */
function allowed(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case "invalid_type":
      return `${iss.expected === "int" ? "an integer" : `a ${iss.expected}`}${iss.input === undefined ? " (required)" : ""}`;
    case "too_small":
      return iss.origin === "string"
        ? `at least ${iss.minimum} characters`
        : iss.origin === "array"
          ? `at least ${iss.minimum} item(s)`
          : `a number ${iss.inclusive ? ">=" : ">"} ${iss.minimum}`;
    case "too_big":
      return iss.origin === "string"
        ? `at most ${iss.maximum} characters`
        : iss.origin === "array"
          ? `at most ${iss.maximum} item(s)`
          : `a number ${iss.inclusive ? "<=" : "<"} ${iss.maximum}`;
    case "invalid_value":
      return `one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      return `a valid ${iss.format}`;
    default:
      return undefined;
  }
}

function describeIssue(ns: string, input: unknown, iss: z.core.$ZodIssue): string[] {
  if (iss.code === "unrecognized_keys") {
    const keys = iss.message.startsWith(ALLOWED_KEYS)
      ? iss.message.slice(ALLOWED_KEYS.length).split(", ")
      : [];
    return iss.keys.map((key) => {
      const near = keys.find((k) => editDistance(k, key) <= 2);
      const hint = near ? ` (did you mean "${near}"?)` : "";
      return `${pathText(ns, [...iss.path, key])}: given ${given(input, [...iss.path, key])}, an unknown key${hint}; ${iss.message}`;
    });
  }
  const required = iss.code === "invalid_type";
  return [
    `${pathText(ns, iss.path)}: given ${given(input, iss.path, required)}; allowed: ${iss.message}`,
  ];
}

/**
 * Validates raw config values (keys without the project namespace) for a project and stack, and
 * reads the migrations directory relative to `root` (the project directory). Apart from that
 * read and wrapping secrets it is pure: usable in tests without mocks.
 */
export function parseStackConfig(
  raw: Readonly<Record<string, unknown>>,
  project: string,
  stack: string,
  root: string = process.cwd(),
): StackConfig {
  const input = withDataProtectionDefaults(raw);
  const result = stackConfigSchema.safeParse(input, { error: allowed });
  if (!result.success) {
    throw new ConfigError(result.error.issues.flatMap((iss) => describeIssue(project, input, iss)));
  }
  // The stack-wide dataProtection is in each service's own by now (withDataProtectionDefaults);
  // it is kept only for the volumes no service owns (volumeProtection).
  const { namePrefix, secrets, tls, dataProtection, ...rest } = result.data;
  const pg = rest.services.postgres;
  const { migrations, problems } = pg.enabled
    ? loadMigrations(pg.migrationsDir, root)
    : { migrations: [], problems: [] };
  const all = [
    ...problems.map((p) => `services.postgres.migrationsDir: ${p}`),
    ...checkLocalPaths(rest.services, root),
  ];
  if (all.length > 0) throw new ConfigError(all.map((p) => `${project}:${p}`));
  const wrapped: Partial<Record<ConfigSecretName, pulumi.Output<string>>> = {};
  for (const [name, value] of Object.entries(secrets) as [ConfigSecretName, string | undefined][]) {
    if (value !== undefined) wrapped[name] = pulumi.secret(value);
  }
  const { privateKey, ...publicTls } = tls;
  return deepFreeze({
    ...rest,
    tls: {
      ...publicTls,
      privateKey: privateKey === undefined ? undefined : pulumi.secret(privateKey),
    },
    project,
    stack,
    namePrefix: namePrefix ?? defaultNamePrefix(project, stack),
    secrets: wrapped,
    migrations,
    projectDir: path.resolve(root),
    volumeProtection: {
      protect: dataProtection?.protect ?? true,
      retainOnDelete: dataProtection?.retainOnDelete ?? true,
    },
  });
}

/** `<project>-<stack>` made safe for Docker object and image names (the schema's namePrefix rule). */
export function defaultNamePrefix(project: string, stack: string): string {
  const words = `${project}-${stack}`
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.join("-").slice(0, 40).replace(/-+$/, "");
}

/** Reads this project's config keys from the Pulumi engine and validates them. */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [fullKey, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(`${project}:`)) continue;
    const key = fullKey.slice(project.length + 1);
    if (/^\s*[[{]/.test(text)) {
      try {
        raw[key] = JSON.parse(text) as unknown;
      } catch {
        problems.push(
          `${fullKey}: given text that is not valid JSON; allowed: a YAML object or list`,
        );
      }
    } else {
      raw[key] = text;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parseStackConfig(raw, project, stack);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !pulumi.Output.isInstance(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
