/**
 * The binary age header: its stanzas, sorted by type, and its MAC.
 *
 * Header (ABNF of the spec, strictly):
 *  - "age-encryption.org/v1" LF (any other version line is a format error);
 *  - one or more stanzas: "-> " then arguments of 1+ VCHAR (0x21–0x7E) separated by single spaces, LF; then
 *    body lines of canonical unpadded base64, every one but the last exactly 64 characters, the last shorter
 *    (possibly empty: a body whose length is a multiple of 48 bytes ends with an empty line), each ending in
 *    LF;
 *  - at least one stanza (the ABNF's 1*stanza; age itself parses an empty list and reports no match);
 *  - "--- " + 43 characters of canonical unpadded base64 (the 32-byte MAC) + LF. The payload follows at once.
 *  - CR anywhere in the header is an error (it is not a VCHAR and not base64).
 *
 * Stanzas:
 *  - "X25519": exactly one argument, the canonical base64 of 32 bytes, and a 32-byte body; otherwise a format
 *    error, even when another stanza would match (age checks stanzas lazily, only up to the one that matches;
 *    age-encryption likewise). Unwrapping them: ./keys.ts.
 *  - "scrypt": must be the only stanza (format error otherwise, as the spec requires of scrypt identities);
 *    alone, the file is "unsupported" (the caller may ask for a passphrase and use age-encryption). An
 *    scrypt stanza beside other stanzas (ignored by both references' X25519 identities) is rejected.
 *  - every other type (mlkem768x25519, p256tag, ssh-ed25519, ssh-rsa, plugins, …) is counted, not read.
 *
 * MAC: HMAC-SHA-256 with key HKDF-SHA-256(file key, salt = empty, "header") over the header bytes up to and
 * including "---"; mismatch → "tampered".
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { hkdf, TAG_SIZE } from "./cipher.js";
import { AgeError } from "./errors.js";
import type { X25519Stanza } from "./keys.js";

const INTRO = Buffer.from("age-encryption.org/v1\n", "latin1");
const LF = 0x0a;
const STANZA_LINE = /^-> [\x21-\x7e]+(?: [\x21-\x7e]+)*$/;
const MAC_LINE = /^--- ([A-Za-z0-9+/]{43})$/;
const BODY_COLUMNS = 64;

interface Stanza {
  args: string[];
  body: Buffer;
}

export interface Header {
  stanzas: Stanza[];
  /** End (exclusive) of the MAC'd part: the header up to and including "---". */
  macEnd: number;
  mac: Buffer;
  payloadStart: number;
}

const FILE_KEY_SIZE = 16;

/** The header of a binary age file; AgeError("format") when it breaks a rule above. */
export function parseHeader(b: Buffer): Header {
  const fail: (why: string) => never = (why) => {
    throw new AgeError("format", `invalid age header: ${why}`);
  };
  if (b.length < INTRO.length || !b.subarray(0, INTRO.length).equals(INTRO)) {
    fail("not an age-encryption.org/v1 file");
  }
  let pos = INTRO.length;
  const readLine = (): string => {
    const nl = b.indexOf(LF, pos);
    if (nl < 0) fail("truncated");
    const line = b.toString("latin1", pos, nl);
    pos = nl + 1;
    return line;
  };
  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = pos;
    const line = readLine();
    if (line.startsWith("---")) {
      const match = MAC_LINE.exec(line);
      const mac = match ? decodeRawBase64(match[1]!) : null;
      if (mac === null || mac.length !== 32) fail("malformed MAC line");
      if (stanzas.length === 0) fail("no recipient stanzas");
      return { stanzas, macEnd: lineStart + 3, mac, payloadStart: pos };
    }
    if (!STANZA_LINE.test(line)) fail("malformed stanza line");
    const chunks: Buffer[] = [];
    for (;;) {
      const bodyLine = readLine();
      const chunk = bodyLine.length <= BODY_COLUMNS ? decodeRawBase64(bodyLine) : null;
      if (chunk === null) fail("malformed stanza body");
      chunks.push(chunk);
      if (bodyLine.length < BODY_COLUMNS) break;
    }
    stanzas.push({ args: line.slice(3).split(" "), body: Buffer.concat(chunks) });
  }
}

/**
 * The header's X25519 stanzas, checked, and how many stanzas of other types it has. AgeError("format") for a
 * malformed X25519 stanza or an scrypt stanza that is not alone.
 */
export function recipientStanzas(header: Header): { x25519: X25519Stanza[]; others: number } {
  const x25519: X25519Stanza[] = [];
  let others = 0;
  for (const stanza of header.stanzas) {
    const type = stanza.args[0];
    if (type === "scrypt" && header.stanzas.length !== 1) {
      throw new AgeError("format", "invalid age header: an scrypt stanza must be the only stanza");
    }
    if (type !== "X25519") {
      others++;
      continue;
    }
    const share = stanza.args.length === 2 ? decodeRawBase64(stanza.args[1]!) : null;
    if (share === null || share.length !== 32 || stanza.body.length !== FILE_KEY_SIZE + TAG_SIZE) {
      throw new AgeError("format", "invalid age header: malformed X25519 stanza");
    }
    x25519.push({ share, body: stanza.body });
  }
  return { x25519, others };
}

/** Checks the header's MAC with the file key; AgeError("tampered") when it does not match. */
export function verifyMac(bytes: Buffer, header: Header, fileKey: Buffer): void {
  const macKey = hkdf(fileKey, Buffer.alloc(0), "header");
  const mac = createHmac("sha256", macKey).update(bytes.subarray(0, header.macEnd)).digest();
  macKey.fill(0);
  if (!timingSafeEqual(mac, header.mac)) throw new AgeError("tampered", "age header MAC mismatch");
}

const B64_RAW = /^[A-Za-z0-9+/]*$/;

/** Canonical unpadded base64 (RFC 4648 §4 alphabet, no `=`, unused bits zero), or null. */
function decodeRawBase64(text: string): Buffer | null {
  if (!B64_RAW.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, "base64");
  const again = bytes.toString("base64");
  const end = again.indexOf("=");
  return (end < 0 ? again : again.slice(0, end)) === text ? bytes : null;
}
