/** Real certificates for tests, made by the host's openssl. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** A self-signed P-256 certificate for `domain`, valid for `days`, written into `dir`. */
export function makeCertificate(
  domain: string,
  dir: string = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-cert-")),
  days = 30,
): TestCertificate {
  const certPath = path.join(dir, `${domain}.crt`);
  const keyPath = path.join(dir, `${domain}.key`);
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-days", String(days), "-subj", `/CN=${domain}`],
      ...["-addext", `subjectAltName=DNS:${domain}`, "-keyout", keyPath, "-out", certPath],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return {
    certPem: fs.readFileSync(certPath, "utf8"),
    keyPem: fs.readFileSync(keyPath, "utf8"),
    certPath,
    keyPath,
  };
}
