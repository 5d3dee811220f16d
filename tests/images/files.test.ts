/**
 * How files reach a read-only root, on a real Docker engine: the Docker provider copies each upload
 * in as an archive extracted at `/`, which Docker refuses for a read-only root, so the Workload
 * gives such a service a carrier (a writable root, a named volume on each upload directory) and
 * mounts those volumes read-only in the service. The uploads carry no owner (root's), and a carrier
 * with secret files runs once to chown them to the service's user (components/carrier.ts). Here the
 * carrier and the server of every prod service with files are created from the inputs the program
 * records, the uploads copied in as the provider does without an owner (no copyUIDGID), the
 * carrier's own command run, and a read-only container with the server's user and mounts must then
 * read each file with its content, mode and owner. The image is the local test image (the
 * services' own cannot be pulled here): only Docker's part is under test. The real-engine suite
 * (tests/e2e) does the same through the real provider.
 *
 * Opt-in like images.test.ts: VPN_IMAGE_TESTS=1 and root; otherwise reported as skipped.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cliConfig } from "../stackFiles";
import { docker, imageTestsSkipReason } from "./docker";
import { ProgramRun, RecordedResource, isCarrier, reveal, runProgram } from "../program/harness";

const IMAGE = "vpn-test/nginx:forky";
const PREFIX = `vpn-files-test-${process.pid.toString()}`;
const reason = imageTestsSkipReason("file carrier tests");

interface Upload {
  file: string;
  content: unknown;
  permissions: string;
}
type Volume = { volumeName?: string; containerPath: string; readOnly?: boolean };

const created = { containers: [] as string[], volumes: [] as string[] };
const testName = (name: string) => name.replace(/^vpn-enterprise-prod-/, `${PREFIX}-`);

/** The provider's upload: one archive holding only the file, extracted at `/`. */
function uploadAtRoot(container: string, u: Upload): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vpn-upload-"));
  try {
    const rel = u.file.replace(/^\/+/, "");
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), String(reveal(u.content)));
    fs.chmodSync(path.join(dir, rel), parseInt(u.permissions, 8));
    fs.chownSync(path.join(dir, rel), 0, 0);
    const tar = spawnSync("tar", ["--numeric-owner", "-C", dir, "-c", rel]);
    return docker(["cp", "-", `${container}:/`], undefined, tar.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const suite = reason === undefined ? describe : describe.skip;

suite("files of a read-only root, through a carrier, on a real Docker engine", () => {
  let run: ProgramRun;
  let carriers: RecordedResource[];

  beforeAll(async () => {
    const prepare = spawnSync("bash", [path.join(__dirname, "prepare.sh")], { encoding: "utf8" });
    if (prepare.status !== 0) throw new Error(`prepare.sh failed:\n${prepare.stderr}`);
    run = await runProgram(cliConfig("prod"), "prod");
    if (run.error) throw run.error;
    carriers = run.resources.filter((x) => x.type.endsWith(":Container") && isCarrier(x));
  }, 300000);

  afterAll(() => {
    for (const c of created.containers) docker(["rm", "-f", c]);
    for (const v of created.volumes) docker(["volume", "rm", "-f", v]);
  });

  test("every prod service with files has a carrier, Docker takes its uploads at /, and its chown runs", () => {
    expect(carriers.length).toBeGreaterThanOrEqual(8);
    for (const carrier of carriers) {
      const i = carrier.inputs;
      const name = testName(String(i.name));
      const mounts = (i.volumes as Volume[]).flatMap((v) => {
        const volume = testName(String(v.volumeName));
        created.volumes.push(volume);
        return ["-v", `${volume}:${v.containerPath}`];
      });
      // The carrier as recorded: a chown of the secret files as root with CAP_CHOWN only, or a
      // container that never starts.
      const runs = i.attach === true;
      const command = runs
        ? [
            ...["--user", String(i.user), "--cap-drop", "ALL", "--cap-add", "CHOWN"],
            ...["--security-opt", "no-new-privileges:true", "--entrypoint"],
            ...(i.entrypoints as string[]),
            IMAGE,
            ...(i.command as string[]),
          ]
        : ["--entrypoint", "/bin/sh", IMAGE, "-c", "exit 0"];
      const create = docker(["create", "--name", name, "--network", "none", ...mounts, ...command]);
      expect([name, create.status, create.out]).toEqual([name, 0, expect.any(String)]);
      created.containers.push(name);
      for (const u of i.uploads as Upload[]) {
        const copy = uploadAtRoot(name, u);
        expect([name, u.file, copy.status, copy.out]).toEqual([name, u.file, 0, ""]);
      }
      if (runs) {
        const start = docker(["start", "--attach", name]);
        expect([name, start.status, start.out]).toEqual([name, 0, ""]);
      }
    }
  });

  test("a container with the server's user, root and mounts reads every file as uploaded", () => {
    for (const carrier of carriers) {
      const server = run.resources.find(
        (x) => x.name === carrier.name.replace(/-(live-)?files$/, "-1"),
      );
      expect([carrier.name, server !== undefined]).toEqual([carrier.name, true]);
      const s = server?.inputs ?? {};
      const mounts = (s.volumes as Volume[])
        .filter((v) => v.volumeName !== undefined && /-files-/.test(v.volumeName))
        .flatMap((v) => ["-v", `${testName(String(v.volumeName))}:${v.containerPath}:ro`]);
      for (const u of carrier.inputs.uploads as Upload[]) {
        const read = docker([
          ...["run", "--rm", ...(s.readOnly === true ? ["--read-only"] : [])],
          ...["--network", "none", "--user", String(s.user)],
          ...["--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", ...mounts],
          ...["--entrypoint", "/bin/sh", IMAGE, "-c", 'stat -c "%a %u:%g" "$1"; cat "$1"', "sh"],
          u.file,
        ]);
        // Secret files are the server's user's; the others root's, readable by all.
        const secret = u.permissions === "0400";
        const root = /^0(:|$)/.test(String(s.user));
        const owner = secret && !root ? String(s.user) : "0:0";
        const mode = parseInt(u.permissions, 8).toString(8);
        expect([u.file, read.status, read.out]).toEqual([
          u.file,
          0,
          `${mode} ${owner}\n${String(reveal(u.content))}`,
        ]);
      }
    }
  });
});
