import { ConfigError, parseStackConfig } from "../../config/load";
import { PROJECT, ROOT } from "../stackFiles";

/** The problems parseStackConfig reports for `raw`; fails the test when the config is accepted. */
export function problemsOf(raw: Record<string, unknown>, root = ROOT): readonly string[] {
  try {
    parseStackConfig(raw, PROJECT, "test", root);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

/** Asserts that a problem names `key` (without the namespace) and says `fragment`. */
export function expectProblem(raw: Record<string, unknown>, key: string, fragment: string): void {
  const problems = problemsOf(raw);
  const line = problems.find((p) => p.startsWith(`${PROJECT}:${key}:`));
  if (line === undefined) throw new Error(`no problem names ${key}; got:\n${problems.join("\n")}`);
  expect(line).toContain(fragment);
}
