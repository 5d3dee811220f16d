import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { isGitContext } from "../config/appSchema";
import { dockerfileOf } from "../config/paths";
import { ImageConfig } from "../config/schema";

/**
 * The provider wants a local context even when it builds from a git URL; this directory (tiny and
 * stable) is that context, so nothing of the project is sent with the build.
 */
export const REMOTE_BUILD_PLACEHOLDER = "docker/remote-context";

/**
 * Resolves a service's image to the id its containers run:
 * - `ref`: a pinned remote image, pulled once (kept when the stack goes, another stack may use it);
 * - `build` from a path: a local build, rebuilt when the context's files change; run by repoDigest;
 * - `build` from a git URL (`repo.git#ref[:dir]`): built by the Docker engine from that commit,
 *   again only when the URL changes, so the URL should name a tag or a commit.
 */
export function serviceImage(
  name: string,
  args: {
    readonly image: ImageConfig;
    readonly localName: string;
    readonly parent: pulumi.Resource;
  },
): pulumi.Output<string> {
  const { ref, build } = args.image;
  const opts = { parent: args.parent };
  if (ref !== undefined) {
    return new docker.RemoteImage(name, { name: ref, keepLocally: true }, opts).imageId;
  }
  if (build === undefined) throw new Error(`${name}: image has neither ref nor build`);
  if (isGitContext(build.context)) {
    return new docker.RemoteImage(
      name,
      {
        name: args.localName,
        build: {
          context: REMOTE_BUILD_PLACEHOLDER,
          remoteContext: build.context,
          dockerfile: build.dockerfile ?? "Dockerfile",
          buildArgs: build.args,
          target: build.target,
        },
        keepLocally: true,
      },
      opts,
    ).imageId;
  }
  return new docker.Image(
    name,
    {
      imageName: args.localName,
      build: {
        // Relative to the project directory, where Pulumi runs the program: the same on every
        // machine, so a checkout elsewhere does not rebuild.
        context: build.context,
        dockerfile: dockerfileOf(build),
        args: build.args,
        target: build.target,
      },
      skipPush: true,
      buildOnPreview: false,
    },
    opts,
  ).repoDigest;
}
