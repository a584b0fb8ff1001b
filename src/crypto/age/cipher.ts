/** The two primitives every part of an age file uses: HKDF-SHA-256 and ChaCha20-Poly1305 (node:crypto). */
import { createDecipheriv, hkdfSync } from "node:crypto";

/** The Poly1305 tag's size in bytes. */
export const TAG_SIZE = 16;

/** HKDF-SHA-256, 32 bytes. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, 32));
}

/** ChaCha20-Poly1305 open; null if authentication fails. `out` (if given) receives the plaintext. */
export function open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Buffer,
  out?: Buffer,
  at = 0,
): Buffer | null {
  const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    decipher.final();
  } catch {
    plain.fill(0);
    return null;
  }
  if (out === undefined) return plain;
  plain.copy(out, at);
  plain.fill(0);
  return out;
}
