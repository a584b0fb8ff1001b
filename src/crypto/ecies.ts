/**
 * Decryption of dotenvx's encrypted values (`encrypted:<base64>`), with node:crypto only: no eciesjs, no
 * dotenvx at run time. dotenvx encrypts with eciesjs in its default configuration (secp256k1, uncompressed
 * ephemeral key, uncompressed points into the KDF, AES-256-GCM with a 16-byte nonce), so the payload is:
 *
 *   ephemeral public key   65 bytes, uncompressed SEC1 (0x04 || X || Y)
 *   nonce                  16 bytes
 *   tag                    16 bytes (the GCM tag comes before the ciphertext)
 *   ciphertext             the rest (the plaintext's length: GCM is a stream mode; may be empty)
 *
 * The AES key is HKDF-SHA-256(ikm = ephemeral public key (65 bytes) || shared point (65 bytes, uncompressed
 * SEC1 of private key × ephemeral key), salt = none (HashLen zero bytes, which HMAC treats as an empty key),
 * info = empty, 32 bytes). No additional authenticated data.
 *
 * node:crypto's ECDH returns only the X coordinate of the shared point, and eciesjs hashes the whole point.
 * The two points with that X (Y even or odd, decompressed by ECDH.convertKey) are both tried: only the real
 * one yields a key under which the GCM tag verifies (another one would be a 2^-128 accident), so the
 * authentication decides, and the scalar multiplication stays OpenSSL's (constant time).
 *
 * The private key is 32 bytes as 64 hex digits (dotenvx's .env.keys); the public key dotenvx writes to the
 * file (DOTENV_PUBLIC_KEY…) is the compressed SEC1 point in hex (66 digits, 02/03 prefix).
 *
 * Errors never carry key material, ciphertext or plaintext.
 */
import { createDecipheriv, createECDH, ECDH, hkdfSync } from "node:crypto";

export const ENCRYPTED_PREFIX = "encrypted:";

const CURVE = "secp256k1";
const POINT_SIZE = 65;
const NONCE_SIZE = 16;
const TAG_SIZE = 16;
const KEY_SIZE = 32;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PRIVATE_HEX = /^(?:0x)?[0-9a-fA-F]{64}$/;

/** "malformed": not a payload eciesjs could have made. "failed": authentication failed (wrong key, or changed). */
export type EciesErrorKind = "malformed" | "failed";

export class EciesError extends Error {
  constructor(
    readonly kind: EciesErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "EciesError";
  }
}

/** A secp256k1 private key from its hex text (64 digits, optional 0x), or undefined when it is not one. */
export function parsePrivateKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!PRIVATE_HEX.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed.replace(/^0x/, ""), "hex");
  try {
    createECDH(CURVE).setPrivateKey(key); // rejects 0 and keys ≥ the group order
  } catch {
    key.fill(0);
    return undefined;
  }
  return key;
}

/** The compressed public key (66 hex digits, as dotenvx writes DOTENV_PUBLIC_KEY) of a private key. */
export function publicKeyHex(privateKey: Buffer): string {
  const ecdh = createECDH(CURVE);
  ecdh.setPrivateKey(privateKey);
  return ecdh.getPublicKey("hex", "compressed");
}

/** Whether a value is dotenvx ciphertext (`encrypted:` followed by the payload). */
export function isEncrypted(value: string): boolean {
  return value.startsWith(ENCRYPTED_PREFIX);
}

function aesKey(ephemeral: Buffer, shared: Buffer): Buffer {
  return Buffer.from(
    hkdfSync("sha256", Buffer.concat([ephemeral, shared]), Buffer.alloc(0), Buffer.alloc(0), KEY_SIZE),
  );
}

/** AES-256-GCM open; null when the tag does not verify. */
function open(key: Buffer, nonce: Buffer, tag: Buffer, sealed: Buffer): Buffer | null {
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(tag);
  const plain = decipher.update(sealed);
  try {
    decipher.final();
  } catch {
    plain.fill(0);
    return null;
  }
  return plain;
}

/**
 * Decrypt one value: `encrypted:<base64>` (or the base64 alone) with a 32-byte private key. Returns the
 * plaintext bytes. Throws EciesError: "malformed" (not base64, too short, not a point on the curve),
 * "failed" (the tag does not verify: another key, or the value was changed).
 */
export function decryptValue(privateKey: Buffer, value: string): Buffer {
  const encoded = (isEncrypted(value) ? value.slice(ENCRYPTED_PREFIX.length) : value).trim();
  if (!BASE64.test(encoded) || encoded.length % 4 === 1) throw new EciesError("malformed", "not base64");
  const data = Buffer.from(encoded, "base64");
  if (data.length < POINT_SIZE + NONCE_SIZE + TAG_SIZE) throw new EciesError("malformed", "too short");
  const ephemeral = data.subarray(0, POINT_SIZE);
  if (ephemeral[0] !== 0x04)
    throw new EciesError("malformed", "the ephemeral key is not an uncompressed point");
  const nonce = data.subarray(POINT_SIZE, POINT_SIZE + NONCE_SIZE);
  const tag = data.subarray(POINT_SIZE + NONCE_SIZE, POINT_SIZE + NONCE_SIZE + TAG_SIZE);
  const sealed = data.subarray(POINT_SIZE + NONCE_SIZE + TAG_SIZE);

  const ecdh = createECDH(CURVE);
  ecdh.setPrivateKey(privateKey);
  let x: Buffer;
  try {
    x = ecdh.computeSecret(ephemeral); // validates the point
  } catch {
    throw new EciesError("malformed", "the ephemeral key is not a point on secp256k1");
  }
  const compressed = Buffer.concat([Buffer.of(0x02), x]);
  x.fill(0);
  try {
    for (const parity of [0x02, 0x03]) {
      compressed[0] = parity;
      // Without an output encoding convertKey returns a Buffer (its type also allows the string it gives with one).
      const shared = ECDH.convertKey(compressed, CURVE, undefined, undefined, "uncompressed");
      if (typeof shared === "string") throw new TypeError("ECDH.convertKey returned text, not a Buffer");
      const key = aesKey(ephemeral, shared);
      shared.fill(0);
      const plain = open(key, nonce, tag, sealed);
      key.fill(0);
      if (plain !== null) return plain;
    }
  } finally {
    compressed.fill(0);
  }
  throw new EciesError("failed", "authentication failed");
}
