/**
 * The edge's two scripts (render/nginxScripts.ts) with a real nginx: the install job puts a new
 * generation in place only when `nginx -t` accepts it, and the running nginx reloads onto a new
 * certificate by itself, as the same process (no restart), while a refused config changes nothing.
 */
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { parseStackConfig } from "../../../config/load";
import { edgeSite } from "../../../components/edge/site";
import {
  CACHE_DIR,
  NginxSiteInput,
  SITE_DIR,
  TLS_CERT_FILE,
  TLS_KEY_FILE,
  renderNginxConf,
  renderSiteConf,
} from "../../../render/nginx";
import { installScript, startScript } from "../../../render/nginxScripts";
import { makeCertificate } from "../../certs";
import { PROJECT, ROOT, projectValues } from "../../stackFiles";
import { freePort } from "../freePort";
import { ChrootProcess, NginxMounts, request, requireNginx, startInChroot } from "./harness";

const DOMAIN = "vpn.example.com";
/** The nginx image's user: the jobs and the server run as it, as in the containers. */
const NGINX_USER = "101:101";
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
/** A tmpfs the Workload mounts with uid/gid of the user and mode 0700. */
const ownedTmp = (prefix: string) => {
  const dir = tmp(prefix);
  fs.chownSync(dir, 101, 101);
  return dir;
};

/** The SHA-256 fingerprint of the certificate the server on `port` presents. */
function served(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, servername: DOMAIN, rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

async function until(what: string, check: () => Promise<boolean>, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("installing generations and reloading onto them", () => {
  // A new named volume mounted where the image has no directory: root's, 0755.
  const volume = tmp("vpn-site-volume-");
  fs.chmodSync(volume, 0o755);
  const cache = ownedTmp("vpn-cache-");
  const pidDir = ownedTmp("vpn-tmp-");
  let site: NginxSiteInput;
  let http: number;
  let https: number;
  let edge: ChrootProcess | undefined;

  /**
   * Runs the install job on `files` as the component does: as the nginx user, with no network but
   * its own, the uploads as the Workload makes them (secrets 0400 and the user's, config 0444 and
   * root's). Returns its exit code and output.
   */
  async function install(kind: "config" | "secrets", files: Record<string, string>) {
    const staging = tmp("vpn-staging-");
    fs.chmodSync(staging, 0o755);
    for (const [name, text] of Object.entries(files)) {
      const file = path.join(staging, name);
      fs.writeFileSync(file, text, { mode: kind === "secrets" ? 0o400 : 0o444 });
      if (kind === "secrets") fs.chownSync(file, 101, 101);
    }
    const mounts: NginxMounts = {
      [SITE_DIR]: volume,
      "/staging": staging,
      [CACHE_DIR]: cache,
      "/tmp": pidDir,
    };
    const job = await startInChroot(
      mounts,
      ["/bin/sh", "-c", installScript(), "install", kind, "/staging"],
      { user: NGINX_USER, ownNetwork: true },
    );
    const exit = await job.exited;
    return { code: exit.code, output: job.output() };
  }
  const current = (kind: string) => fs.readlinkSync(path.join(volume, kind, "current"));
  const generations = (kind: string) =>
    fs.readdirSync(path.join(volume, kind)).filter((d) => d.startsWith("gen-"));

  beforeAll(async () => {
    requireNginx();
    [http, https] = [await freePort(), await freePort()];
    const cfg = parseStackConfig(projectValues("prod"), PROJECT, "prod", ROOT);
    site = {
      ...edgeSite(cfg),
      listen: { http, https },
      publicHttpsPort: https,
      resolver: "127.0.0.1:9",
    };
  });

  afterAll(async () => {
    await edge?.stop();
  });

  test("a first install, then nginx started by the container's script", async () => {
    const cert = makeCertificate(DOMAIN);
    const files = { [TLS_CERT_FILE]: cert.certPem, [TLS_KEY_FILE]: cert.keyPem };
    // The volume is root's until the volume-owner job has run: the jobs could not write it.
    const early = await install("secrets", files);
    expect(early.output).toContain("Permission denied");
    expect(early.code).not.toBe(0);
    const owner = await startInChroot({ [SITE_DIR]: volume }, ["chown", NGINX_USER, SITE_DIR]);
    expect((await owner.exited).code).toBe(0);
    expect(await install("secrets", files)).toMatchObject({ code: 0 });
    const config = await install("config", {
      "nginx.conf": renderNginxConf(site),
      "site.conf": renderSiteConf(site),
    });
    expect(config.output).toContain("test is successful");
    expect(config.code).toBe(0);
    // The same files again make the same generation: nothing new for nginx to reload.
    const again = await install("config", {
      "nginx.conf": renderNginxConf(site),
      "site.conf": renderSiteConf(site),
    });
    expect(again.code).toBe(0);
    expect(generations("config")).toEqual([current("config")]);

    edge = await startInChroot(
      { [SITE_DIR]: volume, [CACHE_DIR]: cache, "/tmp": pidDir },
      ["/bin/sh", "-c", startScript(1), "nginx-edge"],
      { stopSignal: "SIGQUIT", user: NGINX_USER },
    );
    await until(
      "nginx answers",
      async () => (await request({ port: http, path: "/health" })).status === 200,
    );
    expect(await served(https)).toBe(fingerprintOf(cert.certPem));
  });

  test("a new certificate is served after the job, by the same nginx master", async () => {
    const master = edge?.pid ?? 0;
    const before = current("secrets");
    const cert = makeCertificate(DOMAIN);
    const job = await install("secrets", {
      [TLS_CERT_FILE]: cert.certPem,
      [TLS_KEY_FILE]: cert.keyPem,
    });
    expect(job.code).toBe(0);
    expect(current("secrets")).not.toBe(before);
    await until(
      "the new certificate is served",
      async () => (await served(https)) === fingerprintOf(cert.certPem),
    );
    expect(edge?.output()).toContain("edge: reloaded for generation");
    // Reloaded, not restarted: the master is the process the script exec'd at the start.
    expect(fs.readFileSync(`/proc/${master}/cmdline`, "utf8")).toContain("nginx: master process");
    // The previous generation stays for workers still finishing on it; older ones go.
    expect(generations("secrets").sort()).toEqual([before, current("secrets")].sort());
  });

  test("a config nginx refuses fails the job and leaves the running edge as it was", async () => {
    const before = current("config");
    const servedBefore = await served(https);
    const job = await install("config", {
      "nginx.conf": renderNginxConf(site),
      "site.conf": `${renderSiteConf(site)}\nbogus_directive on;\n`,
    });
    expect(job.code).not.toBe(0);
    expect(job.output).toContain('unknown directive "bogus_directive"');
    expect(current("config")).toBe(before);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await served(https)).toBe(servedBefore);
    expect((await request({ port: http, path: "/health" })).status).toBe(200);
  });
});
