/**
 * The workspace store's parts in process: `.tessera/recipients` as `age -R` reads it. The CLI end to end
 * is in test/e2e/store-durability.test.ts; the age CLI itself in test/interop/store-recipients.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { generateIdentity } from "../../src/crypto/age-decrypt.ts";
import { normalizeForAge, readRecipients } from "../../src/workspace/store.ts";
import { workspaceAt } from "../../src/workspace/workspace.ts";

const tmp = mkdtempSync(join(tmpdir(), "tessera-store-unit-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let count = 0;
const freshDir = () => mkdtempSync(join(tmp, `d${count++}-`));

describe(".tessera/recipients as age -R reads it", () => {
  // age (cmd/age/parse.go): a line is skipped if it is empty or starts with "#"; every other line must be a
  // recipient, exactly (no surrounding blanks, no comment after it). bufio drops one trailing CR.
  const acceptedByAge = (text: string) =>
    text
      .split("\n")
      .map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line))
      .every((line) => line === "" || line.startsWith("#") || /^age1[0-9a-z]+$/.test(line));

  const recipient = () => generateIdentity().identity.recipient;

  test("an older Tessera's `age1… # user@host` becomes a comment line above the key", () => {
    const [a, b] = [recipient(), recipient()];
    const text = `# team\n${a}  # root@vm\n  # indented\n \t\n${b}\t\r\n`;
    const normalized = normalizeForAge(text);
    assert.equal(normalized, `# team\n# root@vm\n${a}\n# indented\n\n${b}\r\n`);
    assert.ok(acceptedByAge(normalized));
    assert.ok(!acceptedByAge(text));
    assert.equal(normalizeForAge(normalized), normalized);
  });

  test("property: normalized text is accepted by age's rule, and lists the same recipients", () => {
    const keys = Array.from({ length: 4 }, recipient);
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
          return readRecipients({ ...workspaceAt(dir), dir }, dir);
        };
        assert.deepEqual(read(normalized), read(text));
      }),
      { numRuns: 150 },
    );
  });
});
