/**
 * The synchronous age decryptor (src/crypto/age-decrypt.ts) against the two references it must agree
 * with: the age-encryption package (which Tessera writes with) here, in process, and the `age` CLI in
 * test/interop/age-cli.test.ts. Plus crafted files (made
 * by a small independent encoder below, itself checked against age-encryption) for every rejection rule,
 * tampering properties, and a check that no error message carries key material or plaintext.
 */
import assert from "node:assert/strict";
import {
  createCipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  webcrypto,
} from "node:crypto";
import { describe, test } from "node:test";
import { armor, Encrypter, generateHybridIdentity, identityToRecipient } from "age-encryption";
import fc from "fast-check";
import {
  AgeError,
  decryptAge,
  generateIdentity,
  parseIdentities,
  parseRecipient,
  recipientOf,
} from "../../src/crypto/age-decrypt.ts";
import {
  armorVariants,
  assertPlaintext,
  bytesFromSeed,
  encryptTo,
  newParty,
  typageDecrypt,
} from "../support/age.ts";

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** Things no error message may contain. */
interface Secrets {
  texts?: readonly string[];
  buffers?: readonly Uint8Array[];
}

function assertClean(error: AgeError, secrets: Secrets): void {
  const haystack = `${error.message}\n${error.stack ?? ""}`;
  for (const text of secrets.texts ?? []) {
    if (text.length < 6) continue;
    assert.ok(!haystack.includes(text), "error message contains secret text");
    assert.ok(!haystack.toLowerCase().includes(text.toLowerCase()), "error message contains secret text");
    // Also any 12-character piece of it (a partial key or a line of plaintext), past the public key prefix.
    const secretPart = text.replace(/^AGE-SECRET-KEY-1/i, "");
    for (let i = 0; i + 12 <= secretPart.length; i += 4) {
      const piece = secretPart.slice(i, i + 12);
      assert.ok(
        !haystack.toLowerCase().includes(piece.toLowerCase()),
        "error message contains part of a secret",
      );
    }
  }
  for (const buffer of secrets.buffers ?? []) {
    const b = Buffer.from(buffer);
    if (b.length < 6) continue;
    for (const encoded of [
      b.toString("hex"),
      b.toString("base64").replace(/=+$/, ""),
      b.toString("latin1"),
    ]) {
      assert.ok(!haystack.includes(encoded.slice(0, 16)), "error message contains secret bytes");
    }
  }
}

/** Runs fn, requires an AgeError of one of the kinds (or the returned "unsupported" when allowed). */
function outcome(fn: () => Buffer | "unsupported", secrets: Secrets = {}): string {
  let result: Buffer | "unsupported";
  try {
    result = fn();
  } catch (error) {
    assert.ok(error instanceof AgeError, `expected an AgeError, got ${String(error)}`);
    assert.equal(error.name, "AgeError");
    assertClean(error, secrets);
    return error.kind;
  }
  return result === "unsupported" ? "unsupported" : "plaintext";
}

function expectError(kind: AgeError["kind"], fn: () => unknown, secrets: Secrets = {}): AgeError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AgeError, `expected an AgeError, got ${String(error)}`);
    assert.equal(error.kind, kind, `expected kind ${kind}, got ${error.kind}: ${error.message}`);
    assertClean(error, secrets);
    return error;
  }
  assert.fail(`expected AgeError(${kind}), nothing was thrown`);
}

// ---------------------------------------------------------------------------------------------------------
// An independent age encoder (node:crypto) for crafted files

const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const b64raw = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");
const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: string) =>
  Buffer.from(hkdfSync("sha256", ikm, salt, info, 32));

function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  const out = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([out, cipher.getAuthTag()]);
}

interface RawStanza {
  args: string[];
  body: Uint8Array;
}

/** An X25519 stanza wrapping fileKey for a recipient public key (or with a forced ephemeral share). */
function x25519Stanza(fileKey: Uint8Array, recipientKey: Buffer): RawStanza {
  const ephemeral = generateKeyPairSync("x25519");
  const share = ephemeral.publicKey.export({ format: "der", type: "spki" }).subarray(12);
  const shared = diffieHellman({
    privateKey: ephemeral.privateKey,
    publicKey: createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, recipientKey]),
      format: "der",
      type: "spki",
    }),
  });
  const wrapKey = hkdf(shared, Buffer.concat([share, recipientKey]), "age-encryption.org/v1/X25519");
  return { args: ["X25519", b64raw(share)], body: seal(wrapKey, Buffer.alloc(12), fileKey) };
}

function stanzaText(stanza: RawStanza): string {
  const body = b64raw(stanza.body);
  let out = `-> ${stanza.args.join(" ")}\n`;
  for (let i = 0; i < body.length; i += 64) out += `${body.slice(i, i + 64)}\n`;
  if (body.length % 64 === 0) out += "\n";
  return out;
}

/** The header text up to and including "---". */
function headerText(stanzas: readonly RawStanza[]): string {
  return `age-encryption.org/v1\n${stanzas.map(stanzaText).join("")}---`;
}

interface StreamOptions {
  /** Flag byte of chunk i of n (default: 1 on the last). */
  flag?: (i: number, n: number) => number;
  /** Append an empty final chunk after the data (the spec forbids it unless it is the only chunk). */
  emptyFinalChunk?: boolean;
}

/** header (text up to "---") + " MAC\n" + nonce + STREAM(plaintext). */
function finish(
  header: string,
  fileKey: Uint8Array,
  plaintext: Uint8Array,
  options: StreamOptions = {},
): Buffer {
  const mac = createHmac("sha256", hkdf(fileKey, Buffer.alloc(0), "header"))
    .update(header, "latin1")
    .digest();
  const nonce = randomBytes(16);
  const key = hkdf(fileKey, nonce, "payload");
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < plaintext.length; i += 65536) pieces.push(plaintext.subarray(i, i + 65536));
  if (pieces.length === 0 || options.emptyFinalChunk) pieces.push(new Uint8Array(0));
  const flag = options.flag ?? ((i, n) => (i === n - 1 ? 1 : 0));
  const chunks = pieces.map((piece, i) => {
    const chunkNonce = Buffer.alloc(12);
    chunkNonce.writeUIntBE(i, 5, 6);
    chunkNonce[11] = flag(i, pieces.length);
    return seal(key, chunkNonce, piece);
  });
  return Buffer.concat([Buffer.from(`${header} ${b64raw(mac)}\n`, "latin1"), nonce, ...chunks]);
}

function craft(
  stanzas: readonly RawStanza[],
  fileKey: Uint8Array,
  plaintext: Uint8Array,
  options?: StreamOptions,
) {
  return finish(headerText(stanzas), fileKey, plaintext, options);
}

// ---------------------------------------------------------------------------------------------------------

const SIZES = [0, 1, 65535, 65536, 65537, 131072, 131073];

describe("interop with age-encryption", () => {
  test("the sizes around chunk boundaries, binary and armored (bytes and string)", async () => {
    const me = await newParty();
    const other = await newParty();
    for (const size of SIZES) {
      const plaintext = bytesFromSeed(size, size);
      const file = await encryptTo([other.recipient, me.recipient], plaintext);
      assertPlaintext(decryptAge(file, [me.identity]), plaintext);
      const armored = armor.encode(file);
      assertPlaintext(decryptAge(armored, [me.identity]), plaintext);
      assertPlaintext(decryptAge(Buffer.from(armored), [me.identity]), plaintext);
    }
  });

  test("random payloads, 1–3 recipients (ours anywhere), several identities (ours anywhere)", async () => {
    const pool = await Promise.all(Array.from({ length: 8 }, newParty));
    const sizes = fc.oneof(fc.constantFrom(...SIZES), fc.integer({ min: 0, max: 200_000 }));
    await fc.assert(
      fc.asyncProperty(
        sizes,
        fc.integer(),
        fc.shuffledSubarray(pool, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.shuffledSubarray(pool, { minLength: 0, maxLength: 2 }),
        fc.nat(),
        fc.boolean(),
        async (size, seed, recipients, mine, extra, at, armored) => {
          const me = recipients[mine % recipients.length]!;
          const plaintext = bytesFromSeed(seed, size);
          const file = await encryptTo(
            recipients.map((party) => party.recipient),
            plaintext,
          );
          const identities = extra.filter((party) => party !== me).map((party) => party.identity);
          identities.splice(at % (identities.length + 1), 0, me.identity);
          const input = armored ? armor.encode(file) : file;
          assertPlaintext(decryptAge(input, identities), plaintext);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("recipientOf agrees with identityToRecipient; parseRecipient round-trips", async () => {
    for (let i = 0; i < 20; i++) {
      const party = await newParty();
      assert.equal(party.identity.recipient, party.recipient);
      assert.equal(recipientOf(party.identity.secret), party.recipient);
    }
    // Arbitrary scalars (incl. all-zero and all-ones) through age-encryption's WebCrypto path.
    const pkcs8 = Buffer.from("302e020100300506032b656e04220420", "hex");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.constantFrom(new Uint8Array(32), new Uint8Array(32).fill(255)),
        ),
        async (scalar) => {
          const key = await webcrypto.subtle.importKey(
            "pkcs8",
            Buffer.concat([pkcs8, scalar]),
            { name: "X25519" },
            false,
            ["deriveBits"],
          );
          const expected = await identityToRecipient(key);
          const recipient = recipientOf(Buffer.from(scalar));
          assert.equal(recipient, expected);
          const point = parseRecipient(recipient);
          assert.equal(point.length, 32);
          const spki = createPublicKey(
            createPrivateKey({ key: Buffer.concat([pkcs8, scalar]), format: "der", type: "pkcs8" }),
          ).export({ format: "der", type: "spki" });
          assert.ok(point.equals(spki.subarray(12)));
        },
      ),
      { numRuns: 100 },
    );
  });

  test("parseRecipient rejects what age rejects", async () => {
    const party = await newParty();
    const r = party.recipient;
    parseRecipient(r);
    const flipped = r.slice(0, 10) + (r[10] === "q" ? "p" : "q") + r.slice(11);
    for (const bad of [r.toUpperCase(), flipped, r.slice(0, -1), party.text, `${r} `, "", "age1"]) {
      expectError("key", () => parseRecipient(bad), { texts: [party.text] });
    }
  });
});

describe("identities", () => {
  test("parseIdentities: comments, empty lines, CRLF, upper and lower case; errors name the line only", async () => {
    const a = await newParty();
    const b = await newParty();
    const text = `# created: x\r\n# public key: ${a.recipient}\r\n${a.text}\r\n\n# another\n${b.text.toLowerCase()}`;
    const ids = parseIdentities(text);
    assert.deepEqual(
      ids.map((id) => id.recipient),
      [a.recipient, b.recipient],
    );
    assert.ok(ids[0]!.secret.equals(a.identity.secret));

    const secrets = { texts: [a.text, b.text], buffers: [a.identity.secret, b.identity.secret] };
    const mixed = a.text.slice(0, 20) + a.text.slice(20).toLowerCase();
    const badChecksum = a.text.slice(0, -1) + (a.text.endsWith("Q") ? "P" : "Q");
    const cases: Array<[string, number]> = [
      [`# ok\n${a.text}\n${mixed}\n`, 3],
      [`${badChecksum}\n`, 1],
      [`\n\n  ${a.text}\n`, 3],
      [`${a.text} \n`, 1],
      [`${await generateHybridIdentity()}\n`, 1],
      ["AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n", 1],
      [`${a.recipient}\n`, 1],
    ];
    for (const [input, line] of cases) {
      const error = expectError("key", () => parseIdentities(input), secrets);
      assert.match(error.message, new RegExp(`line ${line}\\b`));
    }
    expectError("key", () => parseIdentities("# only a comment\n\n"));
    expectError("key", () => parseIdentities(""));
  });

  test("generateIdentity writes exactly what age-keygen writes and round-trips", async () => {
    const { identity, fileText } = generateIdentity();
    assert.match(
      fileText,
      /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\n# public key: age1[02-9ac-hj-np-z]{58}\nAGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}\n$/,
    );
    assert.ok(fileText.includes(`# public key: ${identity.recipient}\n`));
    const [parsed] = parseIdentities(fileText);
    assert.ok(parsed!.secret.equals(identity.secret));
    assert.equal(recipientOf(identity.secret), identity.recipient);
    const keyLine = fileText.split("\n")[2]!;
    assert.equal(await identityToRecipient(keyLine), identity.recipient);
    const plaintext = Buffer.from("hello from age-encryption");
    assertPlaintext(decryptAge(await encryptTo([identity.recipient], plaintext), [identity]), plaintext);
  });

  test("generateIdentity's created line is local RFC 3339 like Go's time.RFC3339", () => {
    const saved = process.env.TZ;
    const at = new Date(Date.UTC(2021, 0, 2, 14, 30, 45, 999));
    const created = () => generateIdentity(at).fileText.split("\n")[0];
    try {
      process.env.TZ = "UTC";
      assert.equal(created(), "# created: 2021-01-02T14:30:45Z");
      process.env.TZ = "Europe/Rome";
      assert.equal(created(), "# created: 2021-01-02T15:30:45+01:00");
      process.env.TZ = "America/St_Johns";
      assert.equal(created(), "# created: 2021-01-02T11:00:45-03:30");
      process.env.TZ = "Asia/Kathmandu";
      assert.equal(created(), "# created: 2021-01-02T20:15:45+05:45");
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe("armor acceptance agrees with age-encryption (and the age CLI: test/interop/age-cli.test.ts)", () => {
  test("variants", async () => {
    const me = await newParty();
    for (const { variant, plaintext } of await armorVariants(me)) {
      const [name, input, typageAccepts, cliAccepts] = variant;
      const typage = await typageDecrypt(input, me.text);
      assert.equal(typage !== null, typageAccepts, `${name}: age-encryption`);
      if (typage !== null) assert.ok(typage.equals(plaintext));
      const ours = outcome(() => decryptAge(input, [me.identity]), { texts: [me.text] });
      const accept = typageAccepts && cliAccepts !== false;
      assert.equal(ours, accept ? "plaintext" : "format", `${name}: ours`);
      if (accept) assertPlaintext(decryptAge(input, [me.identity]), plaintext);
    }
  });
});

describe("crafted files", () => {
  test("the test encoder agrees with age-encryption, including full-width stanza bodies", async () => {
    const me = await newParty();
    const fileKey = randomBytes(16);
    const unknown48 = { args: ["example.com/enigma", "arg"], body: randomBytes(48) };
    const unknownEmpty = { args: ["example.com/empty"], body: new Uint8Array(0) };
    const unknown96 = { args: ["example.com/long"], body: randomBytes(96) };
    for (const size of [0, 10, 65536, 65537]) {
      const plaintext = bytesFromSeed(size, size);
      const file = craft(
        [unknown48, x25519Stanza(fileKey, parseRecipient(me.recipient)), unknownEmpty, unknown96],
        fileKey,
        plaintext,
      );
      assert.ok(
        (await typageDecrypt(file, me.text))?.equals(plaintext),
        "age-encryption rejects the test file",
      );
      assertPlaintext(decryptAge(file, [me.identity]), plaintext);
    }
  });

  test("header rules", async () => {
    const me = await newParty();
    const other = await newParty();
    const secrets = { texts: [me.text], buffers: [me.identity.secret] };
    const mine = parseRecipient(me.recipient);
    const fileKey = randomBytes(16);
    const plaintext = Buffer.from("crafted plaintext that must not leak");
    const ok = x25519Stanza(fileKey, mine);
    const share = ok.args[1]!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const nonCanonicalShare = share.slice(0, -1) + alphabet[alphabet.indexOf(share.at(-1)!) | 1];
    const lowOrder = [new Uint8Array(32), Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0))];
    const headerOnly = headerText([ok]);
    const noLeaks = { ...secrets, texts: [me.text, plaintext.toString()] };
    // [name, file, whether age-encryption decrypts it]: we reject every case but the baseline.
    const cases: Array<[string, Buffer, boolean]> = [
      ["baseline", craft([ok], fileKey, plaintext), true],
      ["version v2", finish(headerOnly.replace("/v1", "/v2"), fileKey, plaintext), false],
      ["CRLF header", finish(headerOnly.replaceAll("\n", "\r\n"), fileKey, plaintext), false],
      ["no stanzas", finish("age-encryption.org/v1\n---", fileKey, plaintext), false],
      ["double space", finish(headerOnly.replace("-> X25519", "->  X25519"), fileKey, plaintext), false],
      ["trailing space", finish(headerOnly.replace(share, `${share} `), fileKey, plaintext), false],
      ["no space", finish(headerOnly.replace("-> X25519", "->X25519"), fileKey, plaintext), false],
      ["X25519 with two arguments", craft([{ ...ok, args: [...ok.args, "x"] }], fileKey, plaintext), false],
      ["X25519 with no argument", craft([{ ...ok, args: ["X25519"] }, ok], fileKey, plaintext), false],
      [
        "X25519 body of 33 bytes",
        craft([{ ...ok, body: Buffer.concat([ok.body, Buffer.alloc(1)]) }], fileKey, plaintext),
        false,
      ],
      [
        "X25519 share non-canonical",
        craft([{ ...ok, args: ["X25519", nonCanonicalShare] }], fileKey, plaintext),
        false,
      ],
      [
        "X25519 share of 31 bytes",
        craft([{ ...ok, args: ["X25519", b64raw(randomBytes(31))] }], fileKey, plaintext),
        false,
      ],
      ...lowOrder.map((point, i): [string, Buffer, boolean] => [
        `low-order share ${i}`,
        craft([{ args: ["X25519", b64raw(point)], body: randomBytes(32) }, ok], fileKey, plaintext),
        false,
      ]),
      [
        "scrypt beside X25519",
        craft(
          [ok, { args: ["scrypt", b64raw(randomBytes(16)), "10"], body: randomBytes(32) }],
          fileKey,
          plaintext,
        ),
        true, // age-encryption's X25519 identity does not enforce the scrypt rule; the spec requires it.
      ],
      [
        "full-width body without the empty line",
        finish(
          headerText([{ args: ["a"], body: randomBytes(48) }, ok]).replace("\n\n", "\n"),
          fileKey,
          plaintext,
        ),
        false,
      ],
      [
        "body line too long",
        finish(headerOnly.replace("\n-> X25519", `\n-> a\n${"A".repeat(68)}\n-> X25519`), fileKey, plaintext),
        false,
      ],
      [
        "MAC line with padding",
        Buffer.from(
          craft([ok], fileKey, plaintext)
            .toString("latin1")
            .replace(/(--- [^\n]{43})\n/, "$1=\n"),
          "latin1",
        ),
        false,
      ],
      [
        "MAC non-canonical",
        Buffer.from(
          craft([ok], fileKey, plaintext)
            .toString("latin1")
            .replace(/(--- [^\n]{42})(.)\n/, (_, a, c) => `${a}${alphabet[alphabet.indexOf(c) | 1]}\n`),
          "latin1",
        ),
        false,
      ],
    ];
    for (const [name, file, typageAccepts] of cases) {
      if (name === "baseline") {
        assertPlaintext(decryptAge(file, [me.identity]), plaintext);
        assert.ok((await typageDecrypt(file, me.text))?.equals(plaintext));
        continue;
      }
      expectError("format", () => decryptAge(file, [me.identity]), noLeaks);
      assert.equal((await typageDecrypt(file, me.text)) !== null, typageAccepts, `${name}: age-encryption`);
    }
    // A malformed X25519 stanza fails even for identities that have no stanza at all.
    const noArgument = cases.find(([name]) => name === "X25519 with no argument")![1];
    expectError("format", () => decryptAge(noArgument, [other.identity]));
  });

  test("payload rules: final-chunk flag, empty final chunk, MAC", async () => {
    const me = await newParty();
    const fileKey = randomBytes(16);
    const stanza = x25519Stanza(fileKey, parseRecipient(me.recipient));
    const secrets = { texts: [me.text], buffers: [me.identity.secret] };
    const full = bytesFromSeed(1, 65536);
    const tampered = (file: Buffer) =>
      expectError("tampered", () => decryptAge(file, [me.identity]), secrets);

    assertPlaintext(decryptAge(craft([stanza], fileKey, full), [me.identity]), full);
    // The empty final chunk is fine only as the first and only chunk.
    assertPlaintext(
      decryptAge(craft([stanza], fileKey, new Uint8Array(0)), [me.identity]),
      new Uint8Array(0),
    );
    const emptyLast = craft([stanza], fileKey, full, { emptyFinalChunk: true });
    tampered(emptyLast);
    assert.equal(await typageDecrypt(emptyLast, me.text), null);
    tampered(craft([stanza], fileKey, Buffer.from("x"), { flag: () => 0 }));
    tampered(craft([stanza], fileKey, new Uint8Array(0), { flag: () => 0 }));
    tampered(craft([stanza], fileKey, bytesFromSeed(2, 70000), { flag: () => 1 }));
    tampered(craft([stanza], fileKey, bytesFromSeed(2, 70000), { flag: () => 0 }));
    tampered(craft([stanza], fileKey, bytesFromSeed(2, 140000), { flag: (i) => (i === 1 ? 1 : 0) }));
    // A wrong MAC (canonical base64, different bytes).
    const good = craft([stanza], fileKey, Buffer.from("abc")).toString("latin1");
    const macAt = good.indexOf("--- ") + 4;
    const swapped = good.slice(0, macAt) + (good[macAt] === "A" ? "B" : "A") + good.slice(macAt + 1);
    tampered(Buffer.from(swapped, "latin1"));
    // Header only, or a nonce cut short.
    const headerEnd = good.indexOf("\n", macAt) + 1;
    tampered(Buffer.from(good.slice(0, headerEnd), "latin1"));
    tampered(Buffer.from(good.slice(0, headerEnd + 10), "latin1"));
  });
});

describe("tampering, truncation and trailing data", async () => {
  const me = await newParty();
  const marker = "PLAINTEXT-MARKER-0123456789";
  const plaintexts = [0, 200, 70000].map((size) =>
    Buffer.concat([Buffer.from(marker), bytesFromSeed(size, size)]),
  );
  const files = await Promise.all(plaintexts.map((p) => encryptTo([me.recipient], p)));
  const secrets = { texts: [me.text, marker], buffers: [me.identity.secret] };

  /** Byte regions of a single-X25519-stanza file. */
  function regions(file: Uint8Array) {
    const text = Buffer.from(file).toString("latin1");
    const typeStart = text.indexOf("-> X25519 ") + 3;
    const shareStart = typeStart + "X25519 ".length;
    const bodyEnd = text.indexOf("\n---") + 1;
    const payloadStart = text.indexOf("\n", bodyEnd) + 1;
    return {
      payloadStart,
      of(position: number): "type" | "stanza" | "header" | "payload" {
        if (position >= payloadStart) return "payload";
        // The type and the space after it: a flipped space merges type and share into one unknown type.
        if (position >= typeStart && position <= typeStart + 6) return "type";
        if (position >= shareStart && position < bodyEnd - 1 && text[position] !== "\n") return "stanza";
        return "header";
      },
    };
  }

  const allowed = {
    // Another stanza type: not ours to judge (the caller falls back), or a malformed line.
    type: ["unsupported", "format"],
    // A different share or body: the stanza no longer unwraps, or it is malformed.
    stanza: ["no-match", "format"],
    header: ["format", "tampered"],
    payload: ["tampered"],
  };

  test("flipping any single byte never yields plaintext", () => {
    fc.assert(
      fc.property(fc.nat(files.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, mask) => {
        const file = Buffer.from(files[which]!);
        const position = at % file.length;
        file[position]! ^= mask;
        const result = outcome(() => decryptAge(file, [me.identity]), secrets);
        const region = regions(files[which]!).of(position);
        assert.ok(
          allowed[region].includes(result),
          `flip at ${position} (${region}) of file ${which} gave ${result}`,
        );
      }),
      { numRuns: 400 },
    );
  });

  test("every byte of the header, flipped", () => {
    const file = files[1]!;
    const { payloadStart, of } = regions(file);
    for (let position = 0; position < payloadStart + 20; position++) {
      for (const mask of [0x01, 0x20, 0x80]) {
        const copy = Buffer.from(file);
        copy[position]! ^= mask;
        const result = outcome(() => decryptAge(copy, [me.identity]), secrets);
        assert.ok(allowed[of(position)].includes(result), `flip at ${position} gave ${result}`);
      }
    }
  });

  test("truncation at any point throws", () => {
    fc.assert(
      fc.property(fc.nat(files.length - 1), fc.nat(), (which, at) => {
        const file = files[which]!;
        const length = at % file.length;
        const kind = outcome(() => decryptAge(file.subarray(0, length), [me.identity]), secrets);
        assert.equal(kind, length < regions(file).payloadStart ? "format" : "tampered", `cut at ${length}`);
      }),
      { numRuns: 300 },
    );
  });

  test("appended bytes throw", () => {
    fc.assert(
      fc.property(
        fc.nat(files.length - 1),
        fc.uint8Array({ minLength: 1, maxLength: 70000 }),
        (which, extra) => {
          const file = Buffer.concat([files[which]!, extra]);
          assert.equal(
            outcome(() => decryptAge(file, [me.identity]), secrets),
            "tampered",
          );
        },
      ),
      { numRuns: 60 },
    );
    const armored = armor.encode(files[1]!);
    assert.equal(
      outcome(() => decryptAge(`${armored}x`, [me.identity]), secrets),
      "format",
    );
    assert.equal(
      outcome(
        () => decryptAge(armor.encode(Buffer.concat([files[1]!, Buffer.from([0])])), [me.identity]),
        secrets,
      ),
      "tampered",
    );
  });
});

describe("identities that do not match, and other recipient types", () => {
  test("wrong identity → no-match; no identities → no-match", async () => {
    const me = await newParty();
    const stranger = await newParty();
    const plaintext = Buffer.from("for me only, not for strangers");
    const file = await encryptTo([me.recipient, (await newParty()).recipient], plaintext);
    const secrets = {
      texts: [me.text, stranger.text, plaintext.toString()],
      buffers: [stranger.identity.secret],
    };
    expectError("no-match", () => decryptAge(file, [stranger.identity]), secrets);
    expectError("no-match", () => decryptAge(armor.encode(file), [stranger.identity]), secrets);
    expectError("no-match", () => decryptAge(file, []), secrets);
  });

  test("a passphrase (scrypt) file → unsupported", async () => {
    const me = await newParty();
    const encrypter = new Encrypter();
    encrypter.setPassphrase("correct horse battery staple");
    encrypter.setScryptWorkFactor(4);
    const file = await encrypter.encrypt("secret by passphrase");
    assert.match(Buffer.from(file).toString("latin1"), /\n-> scrypt /);
    assert.equal(decryptAge(file, [me.identity]), "unsupported");
    assert.equal(decryptAge(armor.encode(file), [me.identity]), "unsupported");
  });

  test("X25519 for someone else plus a hybrid (mlkem768x25519) stanza → unsupported; ours plus hybrid → plaintext", async () => {
    const me = await newParty();
    const other = await newParty();
    const hybrid = await identityToRecipient(await generateHybridIdentity());
    assert.match(hybrid, /^age1pq1/);
    const plaintext = Buffer.from("hybrid and classic");
    const notMine = await encryptTo([other.recipient, hybrid], plaintext);
    assert.match(Buffer.from(notMine).toString("latin1"), /\n-> mlkem768x25519 /);
    assert.equal(decryptAge(notMine, [me.identity]), "unsupported");
    assert.equal(decryptAge(armor.encode(notMine), [me.identity]), "unsupported");
    assertPlaintext(decryptAge(await encryptTo([hybrid, me.recipient], plaintext), [me.identity]), plaintext);
  });

  test("unknown stanza types alone → unsupported, and the identity's secret length is checked", async () => {
    const me = await newParty();
    const fileKey = randomBytes(16);
    const file = craft(
      [{ args: ["ssh-ed25519", "AAAA", b64raw(randomBytes(32))], body: randomBytes(32) }],
      fileKey,
      Buffer.from("x"),
    );
    assert.equal(decryptAge(file, [me.identity]), "unsupported");
    const withX = craft(
      [x25519Stanza(fileKey, parseRecipient((await newParty()).recipient))],
      fileKey,
      Buffer.from("x"),
    );
    expectError("key", () => decryptAge(withX, [{ secret: Buffer.alloc(31), recipient: me.recipient }]));
  });
});
