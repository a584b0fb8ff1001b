/**
 * Writer keys: who may write the workspace store. age authenticates bytes, not writers (anyone with the
 * public keys can encrypt a file to them), so every write of the store is also signed with Ed25519.
 *
 * A writer's key is derived from the writer's age identity, so there is nothing new to keep, back up or
 * hand to CI: Ed25519 seed = HKDF-SHA-256(ikm = the first `AGE-SECRET-KEY-…` line of the identity, upper
 * case; salt = "tessera/workspace-store/writer"; info = "ed25519 v1"; 32 bytes). HKDF with a label of its
 * own keeps the two uses of the secret apart: the signing key says nothing about the age key, and the
 * public half cannot be computed from the age recipient (so it is listed beside it). A plugin identity
 * (AGE-PLUGIN-…) holds no secret to derive from: it can read a store, not write one.
 *
 * A writer is named by its public key as `ed25519:` + 43 characters of unpadded base64url (32 bytes).
 * node:crypto is only loaded with the store (this module is imported by src/workspace/ only).
 */
import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject, sign, verify } from "node:crypto";

export const WRITER_PREFIX = "ed25519:";
const WRITER_ID = /^ed25519:[A-Za-z0-9_-]{43}$/;
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface WriterKey {
  /** `ed25519:…`, the public half. */
  id: string;
  /** The signature of `message`, unpadded base64url. */
  sign(message: Uint8Array): string;
}

/** Whether `text` is a writer's public key as Tessera writes it (`ed25519:` + 32 bytes in base64url). */
export function isWriterId(text: string): boolean {
  if (!WRITER_ID.test(text)) return false;
  const bytes = Buffer.from(text.slice(WRITER_PREFIX.length), "base64url");
  // Canonical: the 43rd character carries 2 unused bits, which must be zero.
  return bytes.length === 32 && bytes.toString("base64url") === text.slice(WRITER_PREFIX.length);
}

/**
 * The writer key of an identity: derived from its first `AGE-SECRET-KEY-…` line (X25519 or post-quantum),
 * or undefined when it has none (plugin identities only).
 */
export function writerKeyOf(identityLines: readonly string[]): WriterKey | undefined {
  const line = identityLines.find((entry) => /^AGE-SECRET-KEY-/i.test(entry));
  if (!line) return undefined;
  const seed = Buffer.from(
    hkdfSync(
      "sha256",
      Buffer.from(line.trim().toUpperCase(), "utf8"),
      "tessera/workspace-store/writer",
      "ed25519 v1",
      32,
    ),
  );
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
    seed.fill(0);
  }
  const x = createPublicKey(privateKey).export({ format: "jwk" }).x!;
  return {
    id: `${WRITER_PREFIX}${x}`,
    sign: (message) => sign(null, message, privateKey).toString("base64url"),
  };
}

/** Whether `signature` (base64url) is `writer`'s signature of `message`; false for anything malformed. */
export function verifySignature(writer: string, message: Uint8Array, signature: string): boolean {
  if (!isWriterId(writer) || !/^[A-Za-z0-9_-]{86}$/.test(signature)) return false;
  try {
    const key = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: writer.slice(WRITER_PREFIX.length) },
      format: "jwk",
    });
    return verify(null, message, key, Buffer.from(signature, "base64url"));
  } catch {
    return false;
  }
}
