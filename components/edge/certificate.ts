import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { X509Certificate } from "crypto";
import { StackConfig } from "../../config/load";

/** The certificate nginx serves for the domain. */
export interface EdgeCertificate {
  /** PEM, leaf first (a chain may follow). */
  readonly certificatePem: pulumi.Output<string>;
  /** PEM private key (a Pulumi secret). */
  readonly privateKeyPem: pulumi.Output<string>;
  /** When the leaf expires (RFC 3339). */
  readonly notAfter: pulumi.Output<string>;
}

/**
 * The edge's certificate: none with `tls.mode: off`; the files given in config with `files` (the
 * schema has checked they parse, match, cover the domain and are unexpired); otherwise a
 * self-signed one for the domain, made once and kept in state, renewed by an `up` in its last
 * third of validity (a new certificate reaches nginx by reload, see components/edge/nginx.ts).
 */
export function edgeCertificate(
  name: string,
  cfg: Pick<StackConfig, "tls" | "domain">,
  parent: pulumi.Resource,
): EdgeCertificate | undefined {
  const t = cfg.tls;
  if (t.mode === "off") return undefined;
  if (t.mode === "files") {
    if (t.certificate === undefined || t.privateKey === undefined) {
      throw new Error("tls.mode files without tls.certificate and tls.privateKey");
    }
    const leaf = new X509Certificate(t.certificate);
    return {
      certificatePem: pulumi.output(t.certificate),
      privateKeyPem: pulumi.secret(t.privateKey),
      notAfter: pulumi.output(new Date(leaf.validTo).toISOString()),
    };
  }
  const key = new tls.PrivateKey(
    `${name}-key`,
    { algorithm: "ECDSA", ecdsaCurve: "P256" },
    { parent },
  );
  const hours = t.selfSigned.validityDays * 24;
  const cert = new tls.SelfSignedCert(
    `${name}-cert`,
    {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: cfg.domain, organization: t.selfSigned.organization },
      dnsNames: [cfg.domain],
      validityPeriodHours: hours,
      earlyRenewalHours: Math.floor(hours / 3),
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    },
    { parent },
  );
  return {
    certificatePem: cert.certPem,
    privateKeyPem: pulumi.secret(key.privateKeyPem),
    notAfter: cert.validityEndTime,
  };
}
