import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { NODE_INSPECT_PORT } from "../../config/appSchema";
import { ImageConfig, PublishedPort } from "../../config/schema";
import { WorkloadFile, WorkloadHealthcheck } from "../workload";

/** Where every app reads its secrets: one file each, 0400, owned by the app's user. */
export const SECRETS_DIR = "/run/secrets";
/** Where the app images keep the application (docker/*: WORKDIR /app). */
export const APP_DIR = "/app";

/** A secret as a file plus the `<NAME>_FILE` variable that points the app at it. */
function secretFile(
  envName: string,
  value: pulumi.Input<string>,
): { env: Record<string, string>; file: WorkloadFile } {
  const file = `${SECRETS_DIR}/${envName.toLowerCase()}`;
  return { env: { [`${envName}_FILE`]: file }, file: { path: file, content: value } };
}

/** Several secrets as files, with the env that names them. */
export function secretFiles(secrets: Readonly<Record<string, pulumi.Input<string>>>): {
  env: Record<string, string>;
  files: WorkloadFile[];
} {
  const parts = Object.entries(secrets).map(([name, value]) => secretFile(name, value));
  return {
    env: Object.assign({}, ...parts.map((p) => p.env)) as Record<string, string>,
    files: parts.map((p) => p.file),
  };
}

/**
 * An HTTP health probe that needs nothing but the app's own runtime: the images carry no curl or
 * wget (docker/*), and a prebuilt image of the real app has its runtime too.
 */
export function httpHealthcheck(
  runtime: "node" | "python",
  port: number,
  healthPath: string,
): WorkloadHealthcheck {
  const url = `http://127.0.0.1:${port}${healthPath}`;
  return {
    test:
      runtime === "node"
        ? [
            "CMD",
            "node",
            "-e",
            `fetch(${JSON.stringify(url)}).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ]
        : [
            "CMD",
            "python3",
            "-c",
            `import urllib.request; urllib.request.urlopen(${JSON.stringify(url)}, timeout=4)`,
          ],
  };
}

/** What development mode changes in a Node app's Workload (nothing when it is off). */
export function nodeDevMode(
  image: ImageConfig,
  devMode:
    | {
        readonly source: string;
        readonly command?: readonly string[];
        readonly debugPort?: number;
      }
    | undefined,
  projectRoot: string,
  watchCommand: readonly string[],
): {
  image: ImageConfig;
  nodeEnv: string;
  command?: string[];
  binds?: { hostPath: string; path: string }[];
  anonymousVolumes?: string[];
  debugPorts: PublishedPort[];
} {
  if (devMode === undefined || image.build === undefined) {
    return { image, nodeEnv: "production", debugPorts: [] };
  }
  const debug = devMode.debugPort;
  return {
    // The Dockerfiles' `dev` stage: every dependency, dev ones included, for the watcher.
    image: { build: { ...image.build, target: "dev" } },
    nodeEnv: "development",
    command: devMode.command
      ? [...devMode.command]
      : [
          "node",
          ...(debug === undefined ? [] : [`--inspect=0.0.0.0:${NODE_INSPECT_PORT}`]),
          ...watchCommand,
        ],
    // The source over /app; node_modules stays the image's (a fresh anonymous volume filled from
    // it), so host-installed modules of another platform never shadow it.
    binds: [{ hostPath: path.posix.resolve(projectRoot, devMode.source), path: APP_DIR }],
    anonymousVolumes: [`${APP_DIR}/node_modules`],
    // The inspector is a remote shell in all but name: loopback only, whatever the config says.
    debugPorts:
      debug === undefined
        ? []
        : [{ hostIp: "127.0.0.1", host: debug, container: NODE_INSPECT_PORT, protocol: "tcp" }],
  };
}
