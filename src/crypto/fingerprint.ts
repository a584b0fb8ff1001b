/**
 * Keyed fingerprints: a short HMAC of a value, for telling whether two values are equal without
 * showing either. The key is TESSERA_FINGERPRINT_KEY, or a random per-user key created on first use in
 * the user's config directory (mode 0600), so fingerprints cannot be brute-forced by someone who only
 * sees them. Share TESSERA_FINGERPRINT_KEY between machines to compare fingerprints across them.
 */
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../files.js";
import { configDir, type Env } from "../paths.js";

export function fingerprintKey(env: Env): Buffer {
  if (env.TESSERA_FINGERPRINT_KEY) return Buffer.from(env.TESSERA_FINGERPRINT_KEY);
  const path = join(configDir(env), "fingerprint.key");
  try {
    return readFileSync(path);
  } catch {
    const key = randomBytes(32);
    try {
      mkdirSync(configDir(env), { recursive: true, mode: 0o700 });
      writeFileAtomic(path, key);
    } catch {
      // a read-only home: fingerprints are then comparable only within this run
    }
    return key;
  }
}

export function fingerprint(key: Buffer, name: string, value: string): string {
  return createHmac("sha256", key).update(name).update("\0").update(value).digest("hex").slice(0, 10);
}
