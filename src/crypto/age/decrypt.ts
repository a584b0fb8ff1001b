/**
 * A small, synchronous decryptor for age files (https://age-encryption.org/v1, c2sp.org/age) for X25519
 * recipients only, built on node:crypto natives. It exists for the `tessera run` hot path: loading the
 * `age-encryption` package and its first decryption cost ≈45–90 ms; this reader loads in ≈1 ms and decrypts a
 * small file in ≈2–3 ms in a fresh process (mostly OpenSSL's one-time set-up; ≈0.3 ms once warm). Writes keep
 * using `age-encryption`; this reader only reads. It deliberately does not import `age-encryption`: when a
 * file has no X25519 stanza for the given identities but has stanzas of other types, `decryptAge` returns
 * "unsupported" and the caller falls back to it.
 *
 * Acceptance rules. They are the intersection of what the age CLI (Go; 1.1.1 tested, HEAD read) and
 * age-encryption 0.3.1 accept, so a file this reader decrypts is one both decrypt to the same bytes — with
 * two deliberate exceptions, both from the spec: whitespace before the armor (./armor.ts) is accepted, and an
 * scrypt stanza beside other stanzas (./header.ts) is rejected. The rules of each part are in its file:
 * armor (./armor.ts), header, stanzas and MAC (./header.ts), X25519 keys and stanzas (./keys.ts), payload
 * (./payload.ts).
 *
 * Input — a string is encoded as UTF-8 (as age-encryption does): meant for armored text; pass binary as
 * bytes.
 *
 * If no X25519 stanza unwraps and at least one stanza of another type exists, the result is "unsupported",
 * else AgeError("no-match").
 *
 * Not supported (by design): any recipient type but X25519 (→ "unsupported"), streaming/seeking, armor with
 * more than 1024 bytes of surrounding whitespace, and Unicode (non-ASCII) whitespace around the armor.
 *
 * Errors: AgeError carries a kind and a fixed message (a line number at most); never key material, file
 * contents or plaintext.
 */
import { dearmor, isArmored } from "./armor.js";
import { AgeError } from "./errors.js";
import { parseHeader, recipientStanzas, verifyMac } from "./header.js";
import { unwrapX25519, type X25519Identity } from "./keys.js";
import { decryptPayload } from "./payload.js";

/**
 * Decrypt an age file (binary, or ASCII-armored). Returns the plaintext, or "unsupported" when none of the
 * X25519 stanzas unwraps with the given identities but the header has stanzas of other types.
 * Throws AgeError: "no-match" (every stanza is X25519 and none matches), "format" (malformed header, armor or
 * stanza), "tampered" (header MAC or payload authentication failure, truncation, trailing data).
 */
export function decryptAge(
  file: Uint8Array | string,
  identities: readonly X25519Identity[],
): Buffer | "unsupported" {
  let bytes =
    typeof file === "string"
      ? Buffer.from(file, "utf8")
      : Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (isArmored(bytes)) bytes = dearmor(bytes);
  const header = parseHeader(bytes);
  const { x25519, others } = recipientStanzas(header);

  const fileKey = unwrapX25519(x25519, identities);
  if (fileKey === null) {
    if (others > 0) return "unsupported";
    throw new AgeError("no-match", "none of the identities matches any of the file's X25519 recipients");
  }
  try {
    verifyMac(bytes, header, fileKey);
    return decryptPayload(fileKey, bytes.subarray(header.payloadStart));
  } finally {
    fileKey.fill(0);
  }
}
