/**
 * n8n's settings file and the job that writes it.
 *
 * n8n (1.72) takes its encryption key from N8N_ENCRYPTION_KEY or from `encryptionKey` in
 * `<user folder>/.n8n/config`; it reads no `N8N_ENCRYPTION_KEY_FILE`. Started with neither, it
 * generates a key, saves it there and encrypts every stored credential with it. The platform's
 * rule keeps credentials out of env (they show in `docker inspect`), so a job writes the stack's
 * key into the settings file on n8n's volume before the server starts, and n8n reads it there.
 *
 * A settings file that already holds another key (n8n generated it, or secrets.n8nEncryptionKey
 * was changed) is refused, never overwritten: the stored credentials are encrypted with that key,
 * and n8n started with another would refuse them all. The error says how to keep them (make that
 * key the stack's) or to start over. Neither key is ever printed.
 */

/** The script's settings, from its environment. */
export const N8N_SETTINGS_ENV = {
  /** The settings file on n8n's volume. */
  file: "N8N_SETTINGS_FILE",
  /** The stack's key, a secret file. */
  keyFile: "N8N_KEY_FILE",
  /** The volume's Docker name and the image reference, for the commands in the error. */
  volume: "N8N_VOLUME",
  image: "N8N_IMAGE",
} as const;

/**
 * The job's program, run by the n8n image's own `node` as n8n's user. Exit 0: the settings file
 * holds the stack's key (written now if it was missing or had no key); exit 1 with a message on
 * stderr otherwise.
 */
export const N8N_SETTINGS_SCRIPT = `"use strict";
const fs = require("fs");
const env = (name) => {
  const value = process.env[name];
  if (!value) fail(name + ": not set");
  return value;
};
function fail(message) {
  process.stderr.write("n8n settings: " + message + "\\n");
  process.exit(1);
}
const file = env(${JSON.stringify(N8N_SETTINGS_ENV.file)});
const keyFile = env(${JSON.stringify(N8N_SETTINGS_ENV.keyFile)});
const volume = env(${JSON.stringify(N8N_SETTINGS_ENV.volume)});
const image = env(${JSON.stringify(N8N_SETTINGS_ENV.image)});
let key;
try {
  key = fs.readFileSync(keyFile, "utf8");
} catch (err) {
  fail("cannot read the stack's key " + keyFile + " (" + err.code + ")");
}
if (key.length === 0) fail("the stack's key " + keyFile + " is empty");
let text;
try {
  text = fs.readFileSync(file, "utf8");
} catch (err) {
  if (err.code !== "ENOENT") fail("cannot read " + file + " (" + err.code + ")");
}
const write = (settings, what) => {
  // As n8n writes it (tab-indented JSON), private to n8n's user as it enforces (0600).
  fs.writeFileSync(file + ".new", JSON.stringify(settings, null, "\\t"), { mode: 0o600 });
  fs.renameSync(file + ".new", file);
  process.stdout.write("n8n settings: " + what + " " + file + "\\n");
};
if (text === undefined) {
  write({ encryptionKey: key }, "wrote the stack's encryption key to");
  process.exit(0);
}
let settings;
try {
  settings = JSON.parse(text);
} catch {
  fail(file + " on volume " + volume + " is not JSON; n8n would not start with it. Fix or remove it by hand (it may hold the key of the stored credentials).");
}
if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
  fail(file + " on volume " + volume + " is not a JSON object; n8n would not start with it. Fix or remove it by hand.");
}
if (settings.encryptionKey === undefined || settings.encryptionKey === "") {
  write({ ...settings, encryptionKey: key }, "added the stack's encryption key to");
  process.exit(0);
}
if (settings.encryptionKey !== key) {
  const read = "docker run --rm -v " + volume + ":/data:ro --entrypoint node " + image +
    " -p 'JSON.parse(require(\\"fs\\").readFileSync(\\"/data/config\\", \\"utf8\\")).encryptionKey'";
  fail(
    file + " on volume " + volume + " holds an encryption key other than the stack's " +
    "(secrets.n8nEncryptionKey): n8n generated it when it started without one, or the secret was " +
    "changed. The credentials n8n stored are encrypted with that key, so nothing was changed. " +
    "To keep them, make that key the stack's and run up again: " +
    "pulumi config set --secret --path secrets.n8nEncryptionKey \\"$(" + read + ")\\". " +
    "To start over instead, losing every stored credential: delete config from the volume and run up again."
  );
}
if ((fs.statSync(file).mode & 0o777) !== 0o600) fs.chmodSync(file, 0o600);
process.stdout.write("n8n settings: " + file + " holds the stack's encryption key\\n");
`;
