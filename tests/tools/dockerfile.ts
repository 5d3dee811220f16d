import * as fs from "fs";
import * as path from "path";

/** One Dockerfile instruction, continuation lines joined and comment lines dropped. */
export interface Instruction {
  /** Upper-case keyword: FROM, RUN, ... */
  readonly keyword: string;
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
  /** The comment lines directly above the instruction, without their `#`. */
  readonly comments: readonly string[];
}

export interface Stage {
  /** The `AS` name, lower-cased, or undefined for an unnamed stage. */
  readonly name: string | undefined;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

export interface ParsedDockerfile {
  /** Instructions before the first FROM (global ARGs). */
  readonly preamble: readonly Instruction[];
  readonly stages: readonly Stage[];
}

/**
 * Enough of the Dockerfile grammar for static checks: backslash continuations, comment lines
 * (inside a continuation too, as BuildKit allows), and the stages FROM opens.
 */
export function parseDockerfile(text: string): ParsedDockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].trim();
    if (trimmed === "") {
      comments = [];
      continue;
    }
    if (trimmed.startsWith("#")) {
      comments.push(trimmed.slice(1).trim());
      continue;
    }
    const start = i;
    let body = trimmed;
    while (body.endsWith("\\") && i + 1 < lines.length) {
      body = body.slice(0, -1);
      i++;
      const next = lines[i].trim();
      if (!next.startsWith("#")) body += ` ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(body.trim());
    if (match) {
      instructions.push({
        keyword: match[1].toUpperCase(),
        args: match[2].replace(/\s+/g, " ").trim(),
        line: start + 1,
        comments,
      });
    }
    comments = [];
  }
  const firstFrom = instructions.findIndex((ins) => ins.keyword === "FROM");
  const preamble = firstFrom < 0 ? instructions : instructions.slice(0, firstFrom);
  const stages: Stage[] = [];
  for (const ins of firstFrom < 0 ? [] : instructions.slice(firstFrom)) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(" ").filter((w) => !w.startsWith("--"));
      const as = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({
        name: as >= 0 ? words[as + 1]?.toLowerCase() : undefined,
        from: words[0] ?? "",
        instructions: [ins],
      });
    } else {
      (stages[stages.length - 1].instructions as Instruction[]).push(ins);
    }
  }
  return { preamble, stages };
}

/** Dockerfiles under `dir`: `Dockerfile`, `Dockerfile.<x>` and `<x>.Dockerfile`, ignore files excluded. */
export function findDockerfiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findDockerfiles(full));
    else if (
      entry.isFile() &&
      !entry.name.endsWith(".dockerignore") &&
      /^Dockerfile(\..+)?$|\.Dockerfile$/.test(entry.name)
    ) {
      found.push(full);
    }
  }
  return found.sort();
}

/** The lines of a .dockerignore that are patterns, `**\/` prefixes removed. */
export function ignorePatterns(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.replace(/^(\*\*\/)+/, ""));
}

/** The entries every build context must keep out of the image (the app contract). */
export const REQUIRED_IGNORES = [
  "node_modules",
  ".git",
  "logs",
  "tests",
  ".env*",
  "__pycache__",
  ".venv",
  "*.log",
  "Dockerfile*",
  ".dockerignore",
];
