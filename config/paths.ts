/**
 * Checks the local paths a stack config names (build contexts, Dockerfiles, dev source trees)
 * against the disk, relative to the project directory, so a typo fails before anything is created.
 */
import * as fs from "fs";
import * as path from "path";
import { SERVICE_NAMES } from "./catalog";
import { isGitContext } from "./appSchema";
import type { RawStackConfig } from "./schema";

function kind(p: string): "dir" | "file" | undefined {
  try {
    const st = fs.statSync(p);
    return st.isDirectory() ? "dir" : st.isFile() ? "file" : undefined;
  } catch {
    return undefined;
  }
}

/** The Dockerfile a local build uses, relative to the project directory. */
export function dockerfileOf(build: { readonly context: string; readonly dockerfile?: string }) {
  return build.dockerfile ?? path.posix.join(build.context, "Dockerfile");
}

/** One line per missing path, each naming its key (without the project prefix). */
export function checkLocalPaths(services: RawStackConfig["services"], root: string): string[] {
  const problems: string[] = [];
  for (const name of SERVICE_NAMES) {
    const svc = services[name];
    if (!svc.enabled) continue;
    const key = `services.${name}`;
    const build = svc.image.build;
    if (build !== undefined && !isGitContext(build.context)) {
      if (kind(path.resolve(root, build.context)) !== "dir") {
        problems.push(
          `${key}.image.build.context: given ${JSON.stringify(build.context)}, which is not a directory under ${root}; allowed: the build context directory, relative to the project directory`,
        );
      }
      const dockerfile = dockerfileOf(build);
      if (kind(path.resolve(root, dockerfile)) !== "file") {
        problems.push(
          `${key}.image.build.dockerfile: given ${JSON.stringify(dockerfile)}, which is not a file under ${root}; allowed: a Dockerfile path relative to the project directory (default <context>/Dockerfile)`,
        );
      }
    }
    const dev = "devMode" in svc ? svc.devMode : undefined;
    if (dev !== undefined && kind(path.resolve(root, dev.source)) !== "dir") {
      problems.push(
        `${key}.devMode.source: given ${JSON.stringify(dev.source)}, which is not a directory under ${root}; allowed: the service's source directory, relative to the project directory`,
      );
    }
  }
  return problems;
}
