import { z } from "zod";

/** Prefix of the message a strict object gives for an unknown key; load.ts reads the list back. */
export const ALLOWED_KEYS = "allowed keys: ";

export function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => (iss.code === "unrecognized_keys" ? ALLOWED_KEYS + allowed : undefined),
  });
}
