import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/load";
import { DataProtection, SecretName } from "../../config/schema";
import { serviceVolume } from "../volume";
import { ServiceContext } from "../workload";
import { edgeCertificate } from "./certificate";
import { Nginx } from "./nginx";
import { edgeLogins, edgeSite } from "./site";

/** The site volume: the install jobs write every generation again. */
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
  const volume = (role: string, protection: DataProtection) =>
    serviceVolume(
      `${name}-edge-${role}`,
      { dockerName: `${cfg.namePrefix}-edge-${role}`, labels, protection },
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
      siteVolume: volume("site", DISPOSABLE),
      // Where an ACME client works (its webroot, and for some clients their account and issued
      // certificates): protected and kept as the stack's data is.
      acmeVolume: certificate
        ? volume("acme", { ...cfg.volumeProtection, keepWhenDisabled: true })
        : undefined,
    },
    { parent },
  );
}
