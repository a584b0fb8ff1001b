/**
 * The workspace store's parts in process: writer keys and signatures (src/crypto/sign.ts), the signed
 * document, `.tessera/recipients` as `age -R` reads it, and audience changes. The lock is in
 * store-lock.test.ts; the CLI end to end in test/e2e/store-trust.test.ts and store-durability.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { generateIdentity } from "../../src/crypto/age-decrypt.ts";
import { isWriterId, verifySignature, writerKeyOf } from "../../src/crypto/sign.ts";
import {
  audienceChanges,
  normalizeForAge,
  readRecipientsFile,
  signedMessage,
} from "../../src/workspace/store.ts";
import { workspaceAt } from "../../src/workspace/workspace.ts";

const tmp = mkdtempSync(join(tmpdir(), "tessera-store-unit-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let count = 0;
const freshDir = () => mkdtempSync(join(tmp, `d${count++}-`));

const secretLine = () => /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(generateIdentity().fileText)![0];

describe("writer keys", () => {
  test("derived from the identity's first secret key line: the same key in any case, another for another identity", () => {
    const line = secretLine();
    const key = writerKeyOf(["# a comment is not an identity line", line])!;
    assert.ok(isWriterId(key.id), key.id);
    assert.equal(writerKeyOf([line.toLowerCase()])!.id, key.id);
    assert.equal(writerKeyOf([line, secretLine()])!.id, key.id, "only the first secret line counts");
    assert.notEqual(writerKeyOf([secretLine()])!.id, key.id);
    // The public half says nothing visible about the age key: it is not the recipient's bytes.
    assert.ok(!key.id.includes(line.slice(16, 30)));
  });

  test("a plugin identity alone has no writer key", () => {
    assert.equal(
      writerKeyOf(["AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"]),
      undefined,
    );
  });

  test("a signature holds for its message and key only", () => {
    const key = writerKeyOf([secretLine()])!;
    const other = writerKeyOf([secretLine()])!;
    const message = Buffer.from("the store's bytes");
    const signature = key.sign(message);
    assert.equal(verifySignature(key.id, message, signature), true);
    assert.equal(verifySignature(key.id, Buffer.from("the store's bytez"), signature), false);
    assert.equal(verifySignature(other.id, message, signature), false);
    const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    assert.equal(verifySignature(key.id, message, flipped), false);
    for (const bad of ["", "x", `${signature}A`, signature.slice(1)]) {
      assert.equal(verifySignature(key.id, message, bad), false, JSON.stringify(bad));
    }
    assert.equal(verifySignature("ed25519:short", message, signature), false);
  });

  test("writer ids: ed25519: and 32 bytes of canonical unpadded base64url", () => {
    const { id } = writerKeyOf([secretLine()])!;
    assert.equal(isWriterId(id), true);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // The last character carries 2 unused bits, zero in the canonical form.
    const nonCanonical = id.slice(0, -1) + alphabet[alphabet.indexOf(id.at(-1)!) | 1];
    for (const bad of [
      id.slice(0, -1),
      `${id}A`,
      id.replace("ed25519:", "ed25519 "),
      id.replace("ed25519:", "ssh-ed25519:"),
      `${id}=`,
      nonCanonical,
    ]) {
      assert.equal(isWriterId(bad), false, bad);
    }
  });
});

describe("the signed message", () => {
  const audience = { recipients: ["age1a", "age1b"], writers: ["ed25519:w"] };
  test("covers every value, the recipients, the writers and the signer", () => {
    const values = new Map([
      ["B", "2"],
      ["A", "1"],
    ]);
    const base = signedMessage(values, audience, "ed25519:w").toString();
    // Name order, whatever the map's order.
    assert.equal(signedMessage(new Map([...values].reverse()), audience, "ed25519:w").toString(), base);
    const variants = [
      signedMessage(new Map([["A", "1"]]), audience, "ed25519:w"),
      signedMessage(new Map([...values, ["A", "1 "]]), audience, "ed25519:w"),
      signedMessage(values, { ...audience, recipients: ["age1a"] }, "ed25519:w"),
      signedMessage(values, { ...audience, writers: ["ed25519:w", "ed25519:x"] }, "ed25519:w"),
      signedMessage(values, audience, "ed25519:x"),
      // No ambiguity between a name and a value.
      signedMessage(
        new Map([
          ["A", '1"],["B'],
          ["C", "2"],
        ]),
        audience,
        "ed25519:w",
      ),
    ];
    for (const variant of variants) assert.notEqual(variant.toString(), base);
  });
});

describe(".tessera/recipients as age -R reads it", () => {
  // age (cmd/age/parse.go): a line is skipped if it is empty or starts with "#"; every other line must be a
  // recipient, exactly (no surrounding blanks, no comment after it). bufio drops one trailing CR.
  const acceptedByAge = (text: string) =>
    text
      .split("\n")
      .map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line))
      .every((line) => line === "" || line.startsWith("#") || /^age1[0-9a-z]+$/.test(line));

  const recipient = () => generateIdentity().identity.recipient;
  const writer = () => writerKeyOf([secretLine()])!.id;

  test("an older Tessera's `age1… # user@host` becomes a comment line above the key", () => {
    const [a, b] = [recipient(), recipient()];
    const text = `# team\n${a}  # root@vm\n  # indented\n \t\n${b}\t\r\n`;
    const normalized = normalizeForAge(text);
    assert.equal(normalized, `# team\n# root@vm\n${a}\n# indented\n\n${b}\r\n`);
    assert.ok(acceptedByAge(normalized));
    assert.ok(!acceptedByAge(text));
    assert.equal(normalizeForAge(normalized), normalized);
  });

  test("property: normalized text is accepted by age's rule, and lists the same readers and writers", () => {
    const keys = Array.from({ length: 4 }, recipient);
    const writers = Array.from({ length: 3 }, writer);
    const blank = fc.constantFrom("", " ", "\t", "  \t ");
    const line = fc.oneof(
      fc
        .tuple(
          blank,
          fc.constantFrom(...keys),
          blank,
          fc.option(fc.constantFrom("# me@host", "#x", "# a # b")),
        )
        .map(([lead, key, tail, comment]) => `${lead}${key}${tail}${comment ?? ""}`),
      fc
        .tuple(blank, fc.constantFrom(...writers), fc.constantFrom("", " me@host"))
        .map(([lead, id, label]) => `${lead}# tessera-writer: ${id}${label}`),
      fc
        .tuple(blank, fc.string({ unit: fc.constantFrom("a", " ", "#", "é") }))
        .map(([lead, words]) => `${lead}#${words}`),
      blank,
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(line, fc.boolean()), { maxLength: 12 }), (lines) => {
        const text = lines.map(([entry, cr]) => `${entry}${cr ? "\r" : ""}`).join("\n");
        const normalized = normalizeForAge(text);
        assert.ok(acceptedByAge(normalized), JSON.stringify(normalized));
        const read = (content: string) => {
          const dir = freshDir();
          writeFileSync(join(dir, "recipients"), content);
          const file = readRecipientsFile({ ...workspaceAt(dir), dir }, dir);
          return [file.recipients, file.writers];
        };
        assert.deepEqual(read(normalized), read(text));
      }),
      { numRuns: 150 },
    );
  });

  test("a malformed writer line is refused, naming the line", () => {
    const dir = freshDir();
    writeFileSync(join(dir, "recipients"), `${recipient()}\n# tessera-writer: ed25519:not-a-key\n`);
    assert.throws(
      () => readRecipientsFile({ ...workspaceAt(dir), dir }, dir),
      (error: { code?: string; message?: string }) =>
        error.code === "E_STORE_INVALID" && /recipients:2: not a writer key/.test(error.message ?? ""),
    );
  });
});

describe("audience changes", () => {
  test("readers, then writers; added, then removed", () => {
    assert.deepEqual(
      audienceChanges(
        { recipients: ["age1a", "age1b"], writers: ["ed25519:w"] },
        { recipients: ["age1b", "age1c"], writers: ["ed25519:v", "ed25519:w"] },
      ),
      [
        { role: "reader", change: "added", key: "age1c" },
        { role: "reader", change: "removed", key: "age1a" },
        { role: "writer", change: "added", key: "ed25519:v" },
      ],
    );
    assert.deepEqual(
      audienceChanges({ recipients: ["age1a"], writers: [] }, { recipients: ["age1a"], writers: [] }),
      [],
    );
  });
});
