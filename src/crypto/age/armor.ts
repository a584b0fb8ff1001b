/**
 * age's ASCII armor.
 *
 * Detection: the input is armored iff, after skipping ASCII whitespace (SP HT LF VT FF CR), it starts with
 * "-----BEGIN AGE ENCRYPTED FILE-----" (as age ≥ 1.2 detects it); otherwise it is parsed as binary.
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
 * Whitespace before the armor (accepted by age ≥ 1.2 and age-encryption, not by age 1.1.1, which looks for
 * the armor header at byte 0 only) is accepted; more than 1024 bytes of it, or Unicode (non-ASCII)
 * whitespace, is not.
 */
import { AgeError } from "./errors.js";

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

/** The binary age file inside the armor; AgeError("format") when the armor breaks a rule above. */
export function dearmor(bytes: Buffer): Buffer {
  const fail: (why: string) => never = (why) => {
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
    const { line, terminated } = next;
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
