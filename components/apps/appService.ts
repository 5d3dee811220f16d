import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ServiceName } from "../../config/catalog";
import { ResolvedImage } from "../image";
import { Workload, internalUrl, portOf } from "../workload";

/**
 * What every app component exposes once its server Workload exists: the alias, the port, the
 * containers (in rollout order) and the in-platform URL. Subclasses build the Workload in `server`.
 */
export abstract class AppService extends pulumi.ComponentResource {
  /** The network alias every replica answers to. */
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  /** Container names, in rollout order. */
  public readonly containerNames: pulumi.Output<string[]>;
  /** The server's containers: what a caller that needs it up depends on. */
  public readonly containers: readonly docker.Container[];
  /** `http://<alias>:<port>`, for other services of the platform. */
  public readonly internalUrl: pulumi.Output<string>;
  /** The image the server runs. */
  public readonly image: ResolvedImage;

  protected constructor(
    type: string,
    name: string,
    service: ServiceName,
    server: (parent: pulumi.Resource) => Workload,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    const workload = server(this);
    this.host = workload.host;
    this.port = pulumi.output(portOf(service));
    this.containerNames = workload.containerNames;
    this.containers = workload.containers;
    this.internalUrl = pulumi.output(internalUrl(service));
    this.image = workload.image;
    this.registerOutputs({
      host: this.host,
      port: this.port,
      containerNames: this.containerNames,
      internalUrl: this.internalUrl,
      imageId: this.image.id,
    });
  }
}
