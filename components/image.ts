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

/** A service's image as resolved for its containers, and as the `images` output reports it. */
export interface ResolvedImage {
  /** The pinned reference the stack configured, or the name a local build is tagged with. */
  readonly reference: string;
  /** A build's context (a path in the project or a git URL); null for a pulled image. */
  readonly source: string | null;
  /** The image id the containers run (`sha256:<hash>`). */
  readonly id: pulumi.Output<string>;
  /**
   * `repository[:tag]@sha256:<hash>` of a pulled image, as the engine recorded the pull; null for
   * a local build, which is in no registry.
   */
  readonly repoDigest: pulumi.Output<string | null>;
}

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
): ResolvedImage {
  const { ref, build } = args.image;
  const opts = { parent: args.parent };
  if (ref !== undefined) {
    const image = new docker.RemoteImage(name, { name: ref, keepLocally: true }, opts);
    return {
      reference: ref,
      source: null,
      id: image.imageId,
      repoDigest: digestOrNull(image.repoDigest),
    };
  }
  if (build === undefined) throw new Error(`${name}: image has neither ref nor build`);
  if (isGitContext(build.context)) {
    const image = new docker.RemoteImage(
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
    );
    // Built by the engine, not pulled: no registry digest, whatever the provider reads back.
    return {
      reference: args.localName,
      source: build.context,
      id: image.imageId,
      repoDigest: pulumi.output(null),
    };
  }
  const image = new docker.Image(
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
  );
  // For an image that is not pushed, the provider's repoDigest is the local image id.
  return {
    reference: args.localName,
    source: build.context,
    id: image.repoDigest,
    repoDigest: pulumi.output(null),
  };
}

/** The provider leaves repoDigest empty when the engine has none to report. */
function digestOrNull(repoDigest: pulumi.Output<string>): pulumi.Output<string | null> {
  return repoDigest.apply((d) => (d ? d : null));
}
