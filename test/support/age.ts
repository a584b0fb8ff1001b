/**
 * Shared by the age tests: test/unit/age-decrypt.test.ts (in process, against the age-encryption package) and
 * test/interop/age-cli.test.ts (against the `age` CLI). Parties made with age-encryption, files it encrypts,
 * what it makes of a file, and the armor variants both references are checked on.
 */
import assert from "node:assert/strict";
import { createCipheriv, createHash } from "node:crypto";
import { armor, Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { parseIdentities, type X25519Identity } from "../../src/crypto/age-decrypt.ts";

/** Deterministic pseudo-random bytes (AES-CTR keystream) — fast for 200 KB payloads. */
export function bytesFromSeed(seed: number, length: number): Buffer {
  const key = createHash("sha256").update(`seed:${seed}`).digest().subarray(0, 16);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

export interface Party {
  /** AGE-SECRET-KEY-1… as age-encryption writes it. */
  text: string;
  recipient: string;
  identity: X25519Identity;
}

export async function newParty(): Promise<Party> {
  const text = await generateX25519Identity();
  const [identity] = parseIdentities(text);
  return { text, recipient: await identityToRecipient(text), identity: identity! };
}

export async function encryptTo(recipients: readonly string[], plaintext: Uint8Array): Promise<Uint8Array> {
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  return encrypter.encrypt(plaintext);
}

/** What age-encryption makes of a file (binary, or armored text): the plaintext or null if it rejects it. */
export async function typageDecrypt(file: Uint8Array | string, identityText: string): Promise<Buffer | null> {
  try {
    const decrypter = new Decrypter();
    decrypter.addIdentity(identityText);
    const binary = typeof file === "string" ? armor.decode(file) : file;
    return Buffer.from(await decrypter.decrypt(binary));
  } catch {
    return null;
  }
}

export function assertPlaintext(result: Buffer | "unsupported", expected: Uint8Array): void {
  assert.ok(Buffer.isBuffer(result), `expected plaintext, got ${String(result)}`);
  assert.ok(result.equals(Buffer.from(expected)), "plaintext differs");
}

/** [name, input, age-encryption accepts, the age CLI accepts ("version": age 1.1.1 and ≥ 1.2 differ)]. */
export type ArmorVariant = [string, string, boolean, boolean | "version"];

/**
 * Armored files for `me`, as written and changed in the ways readers differ on, with what age-encryption
 * and the age CLI make of each (we must accept exactly what both accept), and each one's plaintext.
 */
export async function armorVariants(me: Party): Promise<{ variant: ArmorVariant; plaintext: Buffer }[]> {
  /** The first plaintext (from size 100 up) whose armored file's last base64 line matches. */
  const find = async (lastLine: RegExp) => {
    for (let size = 100; ; size++) {
      const plaintext = bytesFromSeed(size, size);
      const armored = armor.encode(await encryptTo([me.recipient], plaintext));
      const lines = armored.split("\n"); // header, data…, footer, ""
      if (lines.length >= 5 && lastLine.test(lines.at(-3)!))
        return { plaintext, armored, data: lines.slice(1, -2) };
    }
  };
  const { plaintext, armored, data } = await find(/[^=]==$/);
  const fullWidth = await find(/^[^=]{64}$/);
  const last = data.at(-1)!;
  const header = "-----BEGIN AGE ENCRYPTED FILE-----";
  const footer = "-----END AGE ENCRYPTED FILE-----";
  const build = (body: string[], lead = "", tail = "\n", eol = "\n") =>
    lead + [header, ...body, footer].join(eol) + tail;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const pad = last.indexOf("=");
  const nonCanonical =
    last.slice(0, pad - 1) + alphabet[alphabet.indexOf(last[pad - 1]!) | 1] + last.slice(pad);

  const variants: ArmorVariant[] = [
    ["as written", armored, true, true],
    ["a full-width last line", fullWidth.armored, true, true],
    ["CRLF line endings", build(data, "", "\r\n", "\r\n"), true, true],
    ["mixed line endings", `${header}\r\n${data.join("\n")}\r\n${footer}\n`, true, true],
    ["no final newline", build(data, "", ""), true, true],
    ["CR but no LF after the footer", build(data, "", "\r"), true, true],
    ["trailing whitespace", build(data, "", "\n\n \t\n  \n"), true, true],
    // age ≥ 1.2 accepts leading whitespace; age 1.1.1 detects armor only at byte 0.
    ["leading whitespace lines", build(data, "\n \n\t\r\n"), true, "version"],
    ["space before the header", build(data, "  "), true, false],
    ["spaces after the footer", build(data, "", "  \n"), true, false],
    ["too much leading whitespace", build(data, "\n".repeat(1100)), true, false],
    ["too much trailing whitespace", build(data, "", `\n${" ".repeat(1100)}`), true, false],
    ["data after the footer", build(data, "", "\nx\n"), false, false],
    ["empty line inside", build([data[0]!, "", ...data.slice(1)]), false, false],
    [
      "short line in the middle",
      build([data[0]!.slice(0, 32), data[0]!.slice(32), ...data.slice(1)]),
      false,
      false,
    ],
    ["last line without padding", build([...data.slice(0, -1), last.replace(/=+$/, "")]), false, false],
    ["non-canonical padding bits", build([...data.slice(0, -1), nonCanonical]), false, false],
    ["lower-case label", build(data).replace("AGE ENCRYPTED FILE", "age encrypted file"), false, false],
    ["no footer", `${header}\n${data.join("\n")}\n`, false, false],
    ["bad character", build([...data.slice(0, -1), `${last.slice(0, 2)}-${last.slice(3)}`]), false, false],
  ];
  return variants.map((variant) => ({
    variant,
    plaintext: variant[0] === "a full-width last line" ? fullWidth.plaintext : plaintext,
  }));
}
