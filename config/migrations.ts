/**
 * Reads and checks the SQL migrations shipped with the program. Part of loading the stack config:
 * a bad file is a config problem (named with its file and line), found before anything is created.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

export interface Migration {
  /** File name, e.g. `001_tenants.sql`; also its version in `schema_migrations`. */
  readonly name: string;
  readonly sql: string;
  /** sha256 of the file, hex: what the migration runner records. */
  readonly sha256: string;
}

/** `<number>_<words>.sql`: the number orders the files and must be unique. */
export const MIGRATION_NAME = /^(\d{3,})_[a-z0-9][a-z0-9_]*\.sql$/;

/**
 * Statements that either end the migration's transaction early or cannot run inside one. Each
 * migration runs in exactly one transaction, so that a failure leaves nothing behind.
 */
const NOT_IN_A_TRANSACTION: readonly [RegExp, string][] = [
  [/^\s*(BEGIN|COMMIT|ROLLBACK|END|START\s+TRANSACTION|SAVEPOINT|ABORT)\b/i, "transaction control"],
  [/\bCONCURRENTLY\b/i, "CONCURRENTLY (cannot run inside a transaction)"],
  [
    /^\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM)\b/i,
    "a statement that cannot run inside a transaction",
  ],
];

/** Files other than migrations that may sit in the directory. */
const IGNORED = new Set(["README.md", ".gitkeep"]);

/**
 * The SQL text with function bodies (dollar quotes), strings and comments blanked out, line
 * numbers kept: a `BEGIN` inside a PL/pgSQL body is not transaction control.
 */
function statementText(sql: string): string {
  const blank = (text: string) => text.replace(/[^\n]/g, " ");
  return sql
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g, blank)
    .replace(/\/\*[\s\S]*?\*\//g, blank)
    .replace(/'(?:[^']|'')*'/g, blank)
    .replace(/--[^\n]*/g, "");
}

/**
 * Loads `dir` (absolute, or relative to `root`). Returns the migrations in the order they are
 * applied, or the list of problems, each naming the file.
 */
export function loadMigrations(
  dir: string,
  root: string,
): { migrations: Migration[]; problems: string[] } {
  const full = path.resolve(root, dir);
  if (!fs.existsSync(full) || !fs.statSync(full).isDirectory()) {
    return { migrations: [], problems: [`${dir}: not a directory (resolved to ${full})`] };
  }
  const problems: string[] = [];
  const migrations: Migration[] = [];
  const versions = new Map<string, string>();
  for (const name of fs.readdirSync(full).sort()) {
    if (IGNORED.has(name)) continue;
    const file = path.join(dir, name);
    const match = MIGRATION_NAME.exec(name);
    if (!match) {
      problems.push(
        `${file}: not a migration file name; allowed: <number of 3+ digits>_<lower-case words>.sql, e.g. 002_add_index.sql`,
      );
      continue;
    }
    const number = String(Number(match[1]));
    const clash = versions.get(number);
    if (clash !== undefined) {
      problems.push(`${file}: its number is also ${clash}'s; each migration needs its own number`);
    }
    versions.set(number, name);
    const sql = fs.readFileSync(path.join(full, name), "utf8");
    const lines = statementText(sql).split("\n");
    if (lines.every((l) => l.trim() === "")) problems.push(`${file}: empty`);
    lines.forEach((line, i) => {
      for (const [pattern, what] of NOT_IN_A_TRANSACTION) {
        if (pattern.test(line)) {
          problems.push(
            `${file} line ${i + 1}: ${what}; each migration runs in one transaction the runner owns`,
          );
        }
      }
    });
    migrations.push({ name, sql, sha256: createHash("sha256").update(sql).digest("hex") });
  }
  return { migrations, problems };
}
