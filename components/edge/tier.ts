import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/load";
import { SecretName } from "../../config/schema";
import { serviceVolume } from "../volume";
import { ServiceContext } from "../workload";
import { edgeCertificate } from "./certificate";
import { Nginx } from "./nginx";
import { edgeLogins, edgeSite } from "./site";

/** Volumes the edge can lose: the jobs write them again, ACME clients write challenges again. */
const DISPOSABLE = { protect: false, retainOnDelete: false, keepWhenDisabled: false };

/** Creates the edge (nginx, its certificate and its volumes) as children of `parent`. */
export function createEdge(
  name: string,
  parent: pulumi.Resource,
  cfg: StackConfig,
  context: ServiceContext,
  secrets: Readonly<Record<SecretName, pulumi.Output<string>>>,
): Nginx | undefined {
  if (!cfg.services.nginx.enabled) return undefined;
  const labels = { ...context.labels, "vpn-enterprise.service": "nginx" };
  const volume = (role: string) =>
    serviceVolume(
      `${name}-edge-${role}`,
      { dockerName: `${cfg.namePrefix}-edge-${role}`, labels, protection: DISPOSABLE },
      parent,
    );
  const certificate = edgeCertificate(`${name}-edge-tls`, cfg, parent);
  return new Nginx(
    `${name}-edge`,
    {
      context,
      config: cfg.services.nginx,
      site: edgeSite(cfg),
      certificate,
      logins: edgeLogins(cfg).map((l) => ({ ...l, password: secrets[l.secret] })),
      siteVolume: volume("site"),
      acmeVolume: certificate ? volume("acme") : undefined,
    },
    { parent },
  );
}
