/** Reads the real stack files the way the Pulumi CLI hands them to the program. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const ROOT = path.resolve(__dirname, "..");
export const PROJECT = "vpn-enterprise";
export const STACKS = ["dev", "prod"] as const;
export type StackName = (typeof STACKS)[number];

/** `namespace:key` -> the string the CLI passes (objects and lists as JSON). */
export function cliConfig(stack: StackName): Record<string, string> {
  const file = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(file.config).map(([k, v]) => [
      k,
      typeof v === "object" && v !== null ? JSON.stringify(v) : String(v),
    ]),
  );
}

/** This project's keys of a stack file, without the namespace, as parsed values. */
export function projectValues(stack: StackName): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cliConfig(stack))) {
    if (k.startsWith(`${PROJECT}:`)) {
      out[k.slice(PROJECT.length + 1)] = /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
    }
  }
  return out;
}
