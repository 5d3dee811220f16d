/** Basic-auth password files for nginx. Pure: values in, file text out. */
import { createHash } from "crypto";

const USER = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * One `user:{SSHA}...` line: salted SHA-1, a scheme nginx verifies itself on every platform (the
 * crypt(3) schemes depend on the image's C library). The salt comes from the caller so the file is
 * the same on every `up`; with generated 24-character passwords the hash is not the weak point.
 */
export function htpasswdLine(user: string, password: string, salt: string): string {
  if (!USER.test(user)) throw new Error(`htpasswd user ${JSON.stringify(user)}: ${USER.source}`);
  if (password.length === 0) throw new Error("htpasswd password: must not be empty");
  if (salt.length < 8) throw new Error("htpasswd salt: at least 8 characters");
  const s = Buffer.from(salt, "utf8");
  const digest = createHash("sha1").update(password, "utf8").update(s).digest();
  return `${user}:{SSHA}${Buffer.concat([digest, s]).toString("base64")}\n`;
}
