/**
 * The n8n settings job's program (render/n8nSettings.ts), run by a real node as the job runs it
 * (`node -e`), on a directory standing in for n8n's volume.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { N8N_SETTINGS_SCRIPT } from "../../render/n8nSettings";

const STACK_KEY = "stackKey0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
const OTHER_KEY = "Wm9v8n8nGeneratedKey/+AbCdEfGhIj";

let dir: string;
let file: string;
let keyFile: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "n8n-settings-"));
  file = path.join(dir, "config");
  keyFile = path.join(dir, "key");
  fs.writeFileSync(keyFile, STACK_KEY, { mode: 0o400 });
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["-e", N8N_SETTINGS_SCRIPT], {
    env: {
      PATH: process.env.PATH ?? "",
      N8N_SETTINGS_FILE: file,
      N8N_KEY_FILE: keyFile,
      N8N_VOLUME: "vpn-enterprise-prod-n8n-data",
      N8N_IMAGE: "n8nio/n8n:1.72.1",
      ...env,
    },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const mode = () => fs.statSync(file).mode & 0o777;
const settings = () => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;

test("a new volume: the stack's key written as n8n writes its settings, 0600", () => {
  const r = run();
  expect(r).toEqual({
    status: 0,
    stdout: `n8n settings: wrote the stack's encryption key to ${file}\n`,
    stderr: "",
  });
  expect(fs.readFileSync(file, "utf8")).toBe(`{\n\t"encryptionKey": "${STACK_KEY}"\n}`);
  expect(mode()).toBe(0o600);
  expect(fs.readdirSync(dir).sort()).toEqual(["config", "key"]);
});

test("run again: nothing changes; wider permissions are narrowed to 0600", () => {
  expect(run().status).toBe(0);
  const before = fs.readFileSync(file, "utf8");
  fs.chmodSync(file, 0o644);
  const r = run();
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(`n8n settings: ${file} holds the stack's encryption key\n`);
  expect(fs.readFileSync(file, "utf8")).toBe(before);
  expect(mode()).toBe(0o600);
});

test("settings without a key (a tunnel subdomain only): the key added, the rest kept", () => {
  fs.writeFileSync(file, JSON.stringify({ tunnelSubdomain: "abc" }), { mode: 0o600 });
  expect(run().status).toBe(0);
  expect(settings()).toEqual({ tunnelSubdomain: "abc", encryptionKey: STACK_KEY });
});

test("a key n8n generated: refused, the file untouched, how to keep or drop the credentials said, no key printed", () => {
  const text = JSON.stringify({ encryptionKey: OTHER_KEY }, null, "\t");
  fs.writeFileSync(file, text, { mode: 0o600 });
  const r = run();
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `${file} on volume vpn-enterprise-prod-n8n-data holds an encryption key other than the stack's (secrets.n8nEncryptionKey)`,
  );
  expect(r.stderr).toContain("pulumi config set --secret --path secrets.n8nEncryptionKey");
  expect(r.stderr).toContain("docker run --rm -v vpn-enterprise-prod-n8n-data:/data:ro");
  expect(r.stderr).toContain("delete config from the volume");
  for (const key of [OTHER_KEY, STACK_KEY]) expect(r.stdout + r.stderr).not.toContain(key);
  expect(fs.readFileSync(file, "utf8")).toBe(text);
});

test("the command the refusal gives does read the volume's key", () => {
  fs.writeFileSync(file, JSON.stringify({ encryptionKey: OTHER_KEY }, null, "\t"));
  const said = run().stderr;
  // The quoted node program of its `docker run ... node -p '<program>'`, run on this file.
  const program = /-p '([^']+)'/.exec(said)?.[1] ?? "";
  expect(program).not.toBe("");
  const r = spawnSync(process.execPath, ["-p", program.replace("/data/config", file)], {
    encoding: "utf8",
  });
  expect(r.stdout.trim()).toBe(OTHER_KEY);
});

test("a file that is not JSON, or not an object: refused, naming it, untouched", () => {
  for (const text of ["{ not json", "[1, 2]", "null"]) {
    fs.writeFileSync(file, text);
    const r = run();
    expect([text, r.status]).toEqual([text, 1]);
    expect(r.stderr).toMatch(
      new RegExp(`${file} on volume vpn-enterprise-prod-n8n-data is not (JSON|a JSON object)`),
    );
    expect(fs.readFileSync(file, "utf8")).toBe(text);
  }
});

test("an empty or unreadable key, or a missing setting: refused, naming it", () => {
  fs.writeFileSync(keyFile, "");
  expect(run().stderr).toBe(`n8n settings: the stack's key ${keyFile} is empty\n`);
  expect(run({ N8N_KEY_FILE: path.join(dir, "nope") }).stderr).toBe(
    `n8n settings: cannot read the stack's key ${path.join(dir, "nope")} (ENOENT)\n`,
  );
  expect(run({ N8N_VOLUME: "" })).toMatchObject({
    status: 1,
    stderr: "n8n settings: N8N_VOLUME: not set\n",
  });
  expect(fs.existsSync(file)).toBe(false);
});
