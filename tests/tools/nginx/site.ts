/**
 * The edge's site as the nginx tests mount it: the stack's config, the container's directories as
 * host temp dirs owned by the nginx user, and the secrets (certificate, logins) the jobs install.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../../../config/load";
import { ADMIN_USER_FILE, N8N_USER_FILE } from "../../../components/edge/site";
import { htpasswdLine } from "../../../render/htpasswd";
import {
  ACME_DIR,
  CACHE_DIR,
  NginxSiteInput,
  SITE_DIR,
  TLS_CERT_FILE,
  TLS_KEY_FILE,
  renderNginxConf,
  renderSiteConf,
} from "../../../render/nginx";
import { makeCertificate } from "../../certs";
import { PROJECT, ROOT, StackName, projectValues } from "../../stackFiles";
import { NginxMounts } from "./harness";

export const DOMAIN = "vpn.example.com";
/** The nginx image's user, which the container runs as (catalog: services.nginx.user). */
export const NGINX_USER = "101:101";

/** Hands a tree to the nginx user, as the Workload and the volume-owner job do in the container. */
function ownTree(dir: string): void {
  fs.chownSync(dir, 101, 101);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) ownTree(p);
    else fs.chownSync(p, 101, 101);
  }
}
export const ADMIN_PASSWORD = "admin-password-for-tests-0001";
export const EDITOR_PASSWORD = "editor-password-for-tests-001";

export function stackConfig(stack: StackName, services: Record<string, object> = {}) {
  const raw = projectValues(stack);
  const given = raw.services as Record<string, object>;
  const merged = Object.fromEntries(
    [...new Set([...Object.keys(given), ...Object.keys(services)])].map((k) => [
      k,
      { ...given[k], ...services[k] },
    ]),
  );
  return parseStackConfig({ ...raw, services: merged }, PROJECT, stack, ROOT);
}

/** The container's directories as host temp dirs: the site volume with `current` generations. */
export function siteMounts(site: NginxSiteInput, secrets: Record<string, string>): NginxMounts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-edge-"));
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  write("site/config/current/nginx.conf", renderNginxConf(site));
  write("site/config/current/site.conf", renderSiteConf(site));
  fs.mkdirSync(path.join(dir, "site/secrets/current"), { recursive: true });
  for (const [name, text] of Object.entries(secrets)) {
    write(`site/secrets/current/${name}`, text);
    fs.chmodSync(path.join(dir, "site/secrets/current", name), 0o400);
  }
  write("acme/.well-known/acme-challenge/token-123", "challenge-answer");
  for (const d of ["cache", "tmp"]) fs.mkdirSync(path.join(dir, d));
  ownTree(dir);
  return {
    [SITE_DIR]: path.join(dir, "site"),
    [ACME_DIR]: path.join(dir, "acme"),
    [CACHE_DIR]: path.join(dir, "cache"),
    "/tmp": path.join(dir, "tmp"),
  };
}

export function secretsFor(site: NginxSiteInput): Record<string, string> {
  const cert = makeCertificate(DOMAIN);
  return {
    ...(site.tls ? { [TLS_CERT_FILE]: cert.certPem, [TLS_KEY_FILE]: cert.keyPem } : {}),
    [ADMIN_USER_FILE]: htpasswdLine("admin", ADMIN_PASSWORD, "salt-admin-01"),
    [N8N_USER_FILE]: htpasswdLine("admin", EDITOR_PASSWORD, "salt-n8n-0001"),
  };
}
