/**
 * X25519 keys as age writes them: identities ("AGE-SECRET-KEY-1…") and recipients ("age1…") in Bech32,
 * a fresh identity as `age-keygen` writes it, and unwrapping a file key from X25519 stanzas.
 *
 * Identity files (parseIdentities) follow age: lines split on LF with one trailing CR removed; empty lines
 * and lines starting with "#" are skipped; every other line must be an X25519 secret key in Bech32 (BIP 173
 * checksum, no length limit, HRP "AGE-SECRET-KEY-", 32 bytes). Unlike age and age-encryption (which require
 * upper case), an all-lower-case key is also accepted, as Bech32 allows; mixed case is rejected. Post-quantum
 * (AGE-SECRET-KEY-PQ-1…), plugin (AGE-PLUGIN-…) and SSH or PEM lines are refused by name. A file with no
 * identity is an error, as in age. Recipients (parseRecipient) must be lower case "age1…", as in both.
 *
 * X25519 stanzas: wrap key = HKDF-SHA-256(ikm = shared secret, salt = share || our public key, info =
 * "age-encryption.org/v1/X25519"); body = ChaCha20-Poly1305(wrap key, nonce 0¹², file key of 16 bytes).
 * Identities are tried in the given order, each against every X25519 stanza in header order. A shared
 * secret of all zeros (low-order share) aborts with a format error.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { bech32Decode, bech32Encode } from "./bech32.js";
import { hkdf, open } from "./cipher.js";
import { AgeError } from "./errors.js";

/** An X25519 identity: the 32-byte secret scalar and its recipient string "age1…". */
export interface X25519Identity {
  secret: Buffer;
  recipient: string;
}

/** An X25519 stanza of a header (./header.ts): the ephemeral share and the wrapped file key. */
export interface X25519Stanza {
  share: Buffer;
  body: Buffer;
}

const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const IDENTITY_HRP = "age-secret-key-";
const RECIPIENT_HRP = "age";
/** u = 9, the Curve25519 base point: X25519(secret, BASE_POINT) is the public key. */
const BASE_POINT_X = Buffer.from([9, ...new Array<number>(31).fill(0)]).toString("base64url");
let basePoint: KeyObject | undefined;

// Keys are imported as JWK rather than DER: OpenSSL 3's DER decoders cost ≈0.35 ms per key (and ≈2 ms on
// first use), JWK goes straight to EVP_PKEY_new_raw_*_key.
function privateKeyObject(secret: Uint8Array): KeyObject {
  if (secret.length !== 32) throw new AgeError("key", "an X25519 secret key must be 32 bytes");
  const d = Buffer.from(secret).toString("base64url");
  try {
    // Node requires "x" in a private JWK but derives the public key from "d"; any value will do. (Should a
    // Node version ever check it, the import throws and the DER path below is used.)
    return createPrivateKey({ key: { kty: "OKP", crv: "X25519", d, x: BASE_POINT_X }, format: "jwk" });
  } catch {
    const der = Buffer.concat([PKCS8_X25519_PREFIX, secret]);
    try {
      return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    } finally {
      der.fill(0);
    }
  }
}

function publicKeyObject(point: Uint8Array): KeyObject {
  const x = Buffer.from(point).toString("base64url");
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x }, format: "jwk" });
}

/** The public key of a private key, computed as X25519(secret, base point), whatever way it was imported. */
function publicKeyBytes(key: KeyObject): Buffer {
  basePoint ??= publicKeyObject(Buffer.from(BASE_POINT_X, "base64url"));
  return diffieHellman({ privateKey: key, publicKey: basePoint });
}

/** The recipient ("age1…", lower-case Bech32) of a 32-byte X25519 secret. */
export function recipientOf(secret: Buffer): string {
  return bech32Encode(RECIPIENT_HRP, publicKeyBytes(privateKeyObject(secret)));
}

/** Parse a recipient string "age1…" into its 32-byte public key; AgeError("key") if invalid. */
export function parseRecipient(text: string): Buffer {
  // age and age-encryption accept only the lower-case form.
  const decoded = text.startsWith("age1") ? bech32Decode(text) : null;
  if (decoded === null || decoded.hrp !== RECIPIENT_HRP || decoded.bytes.length !== 32) {
    throw new AgeError("key", "not a valid age X25519 recipient (age1…)");
  }
  return decoded.bytes;
}

function identityFromSecret(secret: Buffer): X25519Identity {
  return { secret, recipient: recipientOf(secret) };
}

/** Parse identity file text: `#` comment lines and empty lines skipped; each other line must be an
 *  `AGE-SECRET-KEY-1…` Bech32 identity. Throws AgeError("key") naming the line number, never the line. */
export function parseIdentities(text: string): X25519Identity[] {
  const identities: X25519Identity[] = [];
  const lines = text.split("\n");
  // A final LF does not start another line.
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || line.startsWith("#")) return;
    const where = `identity file line ${index + 1}`;
    const upper = line.toUpperCase();
    if (upper.startsWith("AGE-SECRET-KEY-PQ-1")) {
      throw new AgeError(
        "key",
        `${where}: post-quantum (AGE-SECRET-KEY-PQ-) identities are not supported here`,
      );
    }
    if (upper.startsWith("AGE-PLUGIN-")) {
      throw new AgeError("key", `${where}: plugin identities are not supported here`);
    }
    if (line.startsWith("-----BEGIN")) {
      throw new AgeError("key", `${where}: SSH or PEM keys are not supported here`);
    }
    const decoded = bech32Decode(line);
    if (decoded === null || decoded.hrp !== IDENTITY_HRP || decoded.bytes.length !== 32) {
      decoded?.bytes.fill(0);
      throw new AgeError("key", `${where}: not a valid age X25519 secret key (AGE-SECRET-KEY-1…)`);
    }
    identities.push(identityFromSecret(decoded.bytes));
  });
  if (identities.length === 0) throw new AgeError("key", "the identity file has no identities");
  return identities;
}

function rfc3339Local(now: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const offset = -now.getTimezoneOffset();
  const zone =
    offset === 0
      ? "Z"
      : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${pad(now.getFullYear(), 4)}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}` +
    `T${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}${zone}`
  );
}

/** A fresh identity and the identity file text exactly as `age-keygen` writes it (local time, like it):
 *  "# created: <RFC 3339>\n# public key: age1…\nAGE-SECRET-KEY-1…\n". */
export function generateIdentity(now: Date = new Date()): { identity: X25519Identity; fileText: string } {
  const { privateKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  const secret = Buffer.from(jwk.d ?? "", "base64url");
  if (secret.length !== 32) throw new AgeError("key", "unexpected X25519 private key from node:crypto");
  const recipient = recipientOf(secret);
  const fileText =
    `# created: ${rfc3339Local(now)}\n` +
    `# public key: ${recipient}\n` +
    `${bech32Encode(IDENTITY_HRP, secret).toUpperCase()}\n`;
  return { identity: { secret, recipient }, fileText };
}

const ZERO_NONCE = Buffer.alloc(12);
const X25519_LABEL = "age-encryption.org/v1/X25519";

/** The file key, unwrapped from the first stanza one of the identities opens; null when none does. */
export function unwrapX25519(
  stanzas: readonly X25519Stanza[],
  identities: readonly X25519Identity[],
): Buffer | null {
  if (stanzas.length === 0) return null;
  for (const identity of identities) {
    const privateKey = privateKeyObject(identity.secret);
    const ours = publicKeyBytes(privateKey);
    for (const { share, body } of stanzas) {
      let shared: Buffer;
      try {
        shared = diffieHellman({ privateKey, publicKey: publicKeyObject(share) });
      } catch {
        // OpenSSL refuses an all-zero result (a low-order or zero share).
        throw new AgeError("format", "X25519 stanza with a low-order ephemeral share");
      }
      if (shared.every((byte) => byte === 0)) {
        throw new AgeError("format", "X25519 stanza with a low-order ephemeral share");
      }
      const wrapKey = hkdf(shared, Buffer.concat([share, ours]), X25519_LABEL);
      shared.fill(0);
      const fileKey = open(wrapKey, ZERO_NONCE, body);
      wrapKey.fill(0);
      if (fileKey !== null) return fileKey;
    }
  }
  return null;
}
