/**
 * A small, synchronous decryptor for age files (https://age-encryption.org/v1, c2sp.org/age) for X25519
 * recipients only, built on node:crypto natives. It exists for the `tessera run` hot path: loading the
 * `age-encryption` package and its first decryption cost ≈45–90 ms; this module loads in ≈1 ms and decrypts a
 * small file in ≈2–3 ms in a fresh process (mostly OpenSSL's one-time set-up; ≈0.3 ms once warm). Writes keep
 * using `age-encryption`; this module only reads. It deliberately does not import `age-encryption`: when a
 * file has no X25519 stanza for the given identities but has stanzas of other types, `decryptAge` returns
 * "unsupported" and the caller falls back to it.
 *
 * Acceptance rules. They are the intersection of what the age CLI (Go; 1.1.1 tested, HEAD read) and
 * age-encryption 0.3.1 accept, so a file this module decrypts is one both decrypt to the same bytes — with
 * two deliberate exceptions, both from the spec: whitespace before the armor (accepted by age ≥ 1.2 and
 * age-encryption, not by age 1.1.1, which looks for the armor header at byte 0 only) is accepted, and an
 * scrypt stanza beside other stanzas (ignored by both references' X25519 identities) is rejected.
 *
 * Input — a string is encoded as UTF-8 (as age-encryption does): meant for armored text; pass binary as
 * bytes.
 *
 * Armor detection — the input is armored iff, after skipping ASCII whitespace (SP HT LF VT FF CR), it starts
 * with "-----BEGIN AGE ENCRYPTED FILE-----" (as age ≥ 1.2 detects it); otherwise it is parsed as binary.
 *
 * Armor (strict PEM, RFC 7468 §3 Figure 3, label "AGE ENCRYPTED FILE"):
 *  - at most 1024 bytes of leading whitespace, made of whole lines (the header line itself must start at
 *    column 0: "  -----BEGIN…" is rejected);
 *  - every line ends with LF or CRLF (mixing is allowed); only the footer may end at end of input;
 *  - the header line, then one or more base64 lines, then "-----END AGE ENCRYPTED FILE-----", each line
 *    exactly that text (no trailing spaces on the line);
 *  - every base64 line but the last is exactly 64 characters of [A-Za-z0-9+/]; the last is 4..64 characters,
 *    a multiple of 4, with `=` padding only at its end; the base64 must be canonical (padding present where
 *    needed, unused bits zero). No empty lines, no headers, no other characters;
 *  - after the footer line, fewer than 1024 bytes, all ASCII whitespace.
 *
 * Binary header (ABNF of the spec, strictly):
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
 *    age-encryption likewise). A shared secret of all zeros (low-order share) aborts with a format error.
 *    Wrap key = HKDF-SHA-256(ikm = shared secret, salt = share || our public key, info =
 *    "age-encryption.org/v1/X25519"); body = ChaCha20-Poly1305(wrap key, nonce 0¹², file key of 16 bytes).
 *    Identities are tried in the given order, each against every X25519 stanza in header order.
 *  - "scrypt": must be the only stanza (format error otherwise, as the spec requires of scrypt identities);
 *    alone, the file is "unsupported" (the caller may ask for a passphrase and use age-encryption).
 *  - every other type (mlkem768x25519, p256tag, ssh-ed25519, ssh-rsa, plugins, …) is ignored; if no X25519
 *    stanza unwraps and at least one such stanza exists, the result is "unsupported", else
 *    AgeError("no-match").
 *
 * MAC and payload:
 *  - HMAC-SHA-256 with key HKDF-SHA-256(file key, salt = empty, "header") over the header bytes up to and
 *    including "---"; mismatch → "tampered".
 *  - 16-byte nonce, payload key = HKDF-SHA-256(file key, salt = nonce, "payload"); STREAM chunks of 64 KiB of
 *    plaintext (+16-byte tag), chunk nonce = 11-byte big-endian counter || last flag (0x01 only on the final
 *    chunk). The final chunk is the one that ends the input; a payload shorter than 16 bytes, a final chunk
 *    of 1–16 bytes after a full one (truncation), an empty final chunk that is not the first, a wrong flag,
 *    appended data (it shifts the final chunk) or any failing tag → "tampered".
 *
 * Identity files (parseIdentities) follow age: lines split on LF with one trailing CR removed; empty lines
 * and lines starting with "#" are skipped; every other line must be an X25519 secret key in Bech32 (BIP 173
 * checksum, no length limit, HRP "AGE-SECRET-KEY-", 32 bytes). Unlike age and age-encryption (which require
 * upper case), an all-lower-case key is also accepted, as Bech32 allows; mixed case is rejected. A file with
 * no identity is an error, as in age. Recipients (parseRecipient) must be lower case "age1…", as in both.
 *
 * Not supported (by design): any recipient type but X25519 (→ "unsupported"), streaming/seeking, armor with
 * more than 1024 bytes of surrounding whitespace, and Unicode (non-ASCII) whitespace around the armor.
 *
 * Errors: AgeError carries a kind and a fixed message (a line number at most); never key material, file
 * contents or plaintext.
 */
import {
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from "node:crypto";

/** An X25519 identity: the 32-byte secret scalar and its recipient string "age1…". */
export interface X25519Identity {
  secret: Buffer;
  recipient: string;
}

export type AgeErrorKind = "format" | "key" | "no-match" | "tampered";

/** Problems with the file or key format, or authentication failures. The message never contains key material,
 *  file contents or plaintext. */
export class AgeError extends Error {
  readonly kind: AgeErrorKind;
  constructor(kind: AgeErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = "AgeError";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Bech32 (BIP 173, without the 90-character limit)

const BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Polymod(values: readonly number[]): number {
  let chk = 1;
  for (const value of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GENERATOR[i]!;
  }
  return chk >>> 0;
}

function bech32HrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Lower-case Bech32 encoding of bytes under a (lower-case) HRP. */
function bech32Encode(hrp: string, bytes: Uint8Array): string {
  const words: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) words.push((acc << (5 - bits)) & 31);
  const polymod = bech32Polymod([...bech32HrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  let out = hrp + "1";
  for (const word of words) out += BECH32_CHARSET[word];
  for (let i = 0; i < 6; i++) out += BECH32_CHARSET[(polymod >>> (5 * (5 - i))) & 31];
  return out;
}

/** Decodes a Bech32 string (all lower or all upper case); returns the lower-case HRP and bytes, or null. */
function bech32Decode(text: string): { hrp: string; bytes: Buffer } | null {
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) return null;
  const sep = lower.lastIndexOf("1");
  if (sep < 1 || sep + 7 > lower.length) return null;
  const hrp = lower.slice(0, sep);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) return null;
  }
  const words: number[] = [];
  for (let i = sep + 1; i < lower.length; i++) {
    const word = BECH32_CHARSET.indexOf(lower[i]!);
    if (word < 0) return null;
    words.push(word);
  }
  if (bech32Polymod([...bech32HrpExpand(hrp), ...words]) !== 1) return null;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const word of words.slice(0, -6)) {
    acc = (acc << 5) | word;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  // No padding allowed beyond what the 8-to-5 conversion produces, and it must be zero.
  if (bits >= 5 || acc !== 0) return null;
  return { hrp, bytes: Buffer.from(out) };
}

// ---------------------------------------------------------------------------------------------------------
// X25519 keys

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

// ---------------------------------------------------------------------------------------------------------
// Base64

const B64_RAW = /^[A-Za-z0-9+/]*$/;

/** Canonical unpadded base64 (RFC 4648 §4 alphabet, no `=`, unused bits zero), or null. */
function decodeRawBase64(text: string): Buffer | null {
  if (!B64_RAW.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, "base64");
  const again = bytes.toString("base64");
  const end = again.indexOf("=");
  return (end < 0 ? again : again.slice(0, end)) === text ? bytes : null;
}

// ---------------------------------------------------------------------------------------------------------
// Armor

const ARMOR_HEADER = "-----BEGIN AGE ENCRYPTED FILE-----";
const ARMOR_FOOTER = "-----END AGE ENCRYPTED FILE-----";
const ARMOR_HEADER_BYTES = Buffer.from(ARMOR_HEADER, "latin1");
const MAX_ARMOR_WHITESPACE = 1024;
const ARMOR_FULL_LINE = /^[A-Za-z0-9+/]{64}$/;
const ARMOR_LAST_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

function isAsciiSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/** Whether the data is ASCII-armored (after leading ASCII whitespace). */
export function isArmored(bytes: Buffer): boolean {
  let i = 0;
  while (i < bytes.length && isAsciiSpace(bytes[i]!)) i++;
  return bytes.subarray(i, i + ARMOR_HEADER_BYTES.length).equals(ARMOR_HEADER_BYTES);
}

function dearmor(bytes: Buffer): Buffer {
  const fail = (why: string): never => {
    throw new AgeError("format", `invalid armor: ${why}`);
  };
  const text = bytes.toString("latin1");
  let start = 0;
  while (start < text.length && isAsciiSpace(text.charCodeAt(start))) start++;
  if (start > MAX_ARMOR_WHITESPACE) fail("too much leading whitespace");
  if (start > 0 && text[start - 1] !== "\n") fail("the header line must start at the beginning of a line");

  let pos = start;
  /** The next line without its LF or CRLF, and whether it was terminated. */
  const nextLine = (): { line: string; terminated: boolean } | null => {
    if (pos >= text.length) return null;
    const nl = text.indexOf("\n", pos);
    const end = nl < 0 ? text.length : nl;
    let line = text.slice(pos, end);
    pos = nl < 0 ? text.length : nl + 1;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    return { line, terminated: nl >= 0 };
  };

  const header = nextLine();
  if (header === null || header.line !== ARMOR_HEADER || !header.terminated) fail("bad header line");
  const lines: string[] = [];
  for (;;) {
    const next = nextLine();
    if (next === null) fail("missing footer line");
    const { line, terminated } = next!;
    if (line === ARMOR_FOOTER) break;
    if (!terminated) fail("missing footer line");
    const previous = lines[lines.length - 1];
    if (previous !== undefined && !ARMOR_FULL_LINE.test(previous))
      fail("only the last base64 line may be short");
    if (line.length === 0 || line.length > 64 || line.length % 4 !== 0 || !ARMOR_LAST_LINE.test(line)) {
      fail("bad base64 line");
    }
    lines.push(line);
  }
  if (lines.length === 0) fail("no data");
  const trailing = text.length - pos;
  if (trailing >= MAX_ARMOR_WHITESPACE) fail("too much trailing whitespace");
  for (let i = pos; i < text.length; i++)
    if (!isAsciiSpace(text.charCodeAt(i))) fail("data after the footer");
  const joined = lines.join("");
  const decoded = Buffer.from(joined, "base64");
  if (decoded.toString("base64") !== joined) fail("non-canonical base64");
  return decoded;
}

// ---------------------------------------------------------------------------------------------------------
// Header

const INTRO = Buffer.from("age-encryption.org/v1\n", "latin1");
const LF = 0x0a;
const STANZA_LINE = /^-> [\x21-\x7e]+(?: [\x21-\x7e]+)*$/;
const MAC_LINE = /^--- ([A-Za-z0-9+/]{43})$/;
const BODY_COLUMNS = 64;

interface Stanza {
  args: string[];
  body: Buffer;
}

interface Header {
  stanzas: Stanza[];
  /** End (exclusive) of the MAC'd part: the header up to and including "---". */
  macEnd: number;
  mac: Buffer;
  payloadStart: number;
}

function parseHeader(b: Buffer): Header {
  const fail = (why: string): never => {
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
      return { stanzas, macEnd: lineStart + 3, mac: mac!, payloadStart: pos };
    }
    if (!STANZA_LINE.test(line)) fail("malformed stanza line");
    const chunks: Buffer[] = [];
    for (;;) {
      const bodyLine = readLine();
      const chunk = bodyLine.length <= BODY_COLUMNS ? decodeRawBase64(bodyLine) : null;
      if (chunk === null) fail("malformed stanza body");
      chunks.push(chunk!);
      if (bodyLine.length < BODY_COLUMNS) break;
    }
    stanzas.push({ args: line.slice(3).split(" "), body: Buffer.concat(chunks) });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Crypto helpers

const FILE_KEY_SIZE = 16;
const TAG_SIZE = 16;
const CHUNK_SIZE = 64 * 1024;
const ZERO_NONCE = Buffer.alloc(12);
const X25519_LABEL = "age-encryption.org/v1/X25519";

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, 32));
}

/** ChaCha20-Poly1305 open; null if authentication fails. `out` (if given) receives the plaintext. */
function open(key: Uint8Array, nonce: Uint8Array, sealed: Buffer, out?: Buffer, at = 0): Buffer | null {
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

interface X25519Stanza {
  share: Buffer;
  body: Buffer;
}

function unwrapX25519(
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

function decryptPayload(fileKey: Buffer, payload: Buffer): Buffer {
  const tampered = (why: string): never => {
    throw new AgeError("tampered", `age payload ${why}`);
  };
  if (payload.length < 16) tampered("is truncated");
  const key = hkdf(fileKey, payload.subarray(0, 16), "payload");
  const sealed = payload.subarray(16);
  const fullChunk = CHUNK_SIZE + TAG_SIZE;
  const nonce = Buffer.alloc(12);
  let chunks = Math.ceil(sealed.length / fullChunk);
  if (chunks === 0) chunks = 1;
  const lastLength = sealed.length - (chunks - 1) * fullChunk;
  if (lastLength < TAG_SIZE) {
    key.fill(0);
    tampered("is truncated");
  }
  if (lastLength === TAG_SIZE && chunks > 1) {
    key.fill(0);
    tampered("ends with an empty chunk");
  }
  const out = Buffer.alloc(sealed.length - chunks * TAG_SIZE);
  try {
    for (let i = 0; i < chunks; i++) {
      const last = i === chunks - 1;
      nonce.writeUIntBE(i, 5, 6);
      nonce[11] = last ? 1 : 0;
      const begin = i * fullChunk;
      const chunk = sealed.subarray(begin, last ? sealed.length : begin + fullChunk);
      if (open(key, nonce, chunk, out, i * CHUNK_SIZE) === null) {
        out.fill(0);
        tampered("failed authentication (corrupted, truncated or tampered with)");
      }
    }
  } finally {
    key.fill(0);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Decrypt

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

  const fileKey = unwrapX25519(x25519, identities);
  if (fileKey === null) {
    if (others > 0) return "unsupported";
    throw new AgeError("no-match", "none of the identities matches any of the file's X25519 recipients");
  }
  try {
    const macKey = hkdf(fileKey, Buffer.alloc(0), "header");
    const mac = createHmac("sha256", macKey).update(bytes.subarray(0, header.macEnd)).digest();
    macKey.fill(0);
    if (!timingSafeEqual(mac, header.mac)) throw new AgeError("tampered", "age header MAC mismatch");
    return decryptPayload(fileKey, bytes.subarray(header.payloadStart));
  } finally {
    fileKey.fill(0);
  }
}
