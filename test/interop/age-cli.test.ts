/**
 * The synchronous age decryptor (src/crypto/age-decrypt.ts) against the `age` CLI: files `age` encrypts
 * decrypt, `age` reads the identity files we write and we read `age-keygen`'s, and we accept exactly the
 * armor variants `age` and age-encryption both accept. The in-process checks are in
 * test/unit/age-decrypt.test.ts. Without `age` and `age-keygen` on PATH these tests skip, except when
 * CI=true, where they fail.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { armor } from "age-encryption";
import { decryptAge, generateIdentity, parseIdentities } from "../../src/crypto/age-decrypt.ts";
import { armorVariants, assertPlaintext, bytesFromSeed, encryptTo, newParty } from "../support/age.ts";

const tmp = mkdtempSync(join(tmpdir(), "tessera-age-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let tmpCount = 0;
function tmpFile(content?: string | Uint8Array): string {
  const path = join(tmp, `f${tmpCount++}`);
  if (content !== undefined) writeFileSync(path, content);
  return path;
}

// ---------------------------------------------------------------------------------------------------------
// The age CLI gate

const CLI_MISSING = ["age", "age-keygen"].filter(
  (tool) => spawnSync(tool, ["--version"], { encoding: "utf8" }).error !== undefined,
);
const cliOptions =
  CLI_MISSING.length > 0 && process.env.CI !== "true"
    ? { skip: `${CLI_MISSING.join(" and ")} not on PATH (required when CI=true)` }
    : {};
function requireCli(): void {
  assert.deepEqual(CLI_MISSING, [], `the age CLI is required on CI: missing ${CLI_MISSING.join(", ")}`);
}

function run(command: string, args: string[], input?: Uint8Array | string) {
  const result = spawnSync(command, args, { input: input ?? "" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString("utf8") };
}

function ageDecrypt(file: Uint8Array | string, identityFile: string): Buffer | null {
  const result = run("age", ["-d", "-i", identityFile], file);
  return result.status === 0 ? result.stdout : null;
}

// ---------------------------------------------------------------------------------------------------------

describe("interop with the age CLI", () => {
  test("age -r and age -a -r output decrypts", cliOptions, async () => {
    requireCli();
    const me = await newParty();
    const other = await newParty();
    for (const size of [0, 1, 1000, 65536, 70000]) {
      const plaintext = bytesFromSeed(size + 1, size);
      for (const flags of [[], ["-a"]]) {
        for (const recipients of [[me.recipient], [other.recipient, me.recipient]]) {
          const args = [...flags, ...recipients.flatMap((r) => ["-r", r])];
          const result = run("age", args, plaintext);
          assert.equal(result.status, 0, result.stderr);
          assertPlaintext(decryptAge(result.stdout, [me.identity]), plaintext);
          if (flags.length > 0) {
            const text = result.stdout.toString("utf8");
            assert.match(text, /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
            assertPlaintext(decryptAge(text, [me.identity]), plaintext);
          }
        }
      }
    }
  });

  test(
    "age -d accepts generateIdentity's file; age-keygen's file parses and decrypts",
    cliOptions,
    async () => {
      requireCli();
      const { identity, fileText } = generateIdentity();
      const keyFile = tmpFile(fileText);
      const plaintext = bytesFromSeed(7, 70000);
      const file = await encryptTo([identity.recipient], plaintext);
      const decrypted = ageDecrypt(file, keyFile);
      assert.ok(decrypted?.equals(plaintext), "age -d -i <generateIdentity file> failed");
      assert.equal(run("age-keygen", ["-y", keyFile]).stdout.toString("utf8"), `${identity.recipient}\n`);

      const keygenFile = tmpFile();
      const made = run("age-keygen", ["-o", keygenFile]);
      assert.equal(made.status, 0, made.stderr);
      const keygenText = readFileSync(keygenFile, "utf8");
      const ids = parseIdentities(keygenText);
      assert.equal(ids.length, 1);
      const recipient = run("age-keygen", ["-y", keygenFile]).stdout.toString("utf8").trim();
      assert.equal(ids[0]!.recipient, recipient);
      // Same shape as ours.
      assert.match(
        keygenText,
        /^# created: [^\n]+\n# public key: age1[a-z0-9]+\nAGE-SECRET-KEY-1[A-Z0-9]+\n$/,
      );
      const secretPlaintext = Buffer.from("encrypted by age-encryption to age-keygen's recipient");
      const encrypted = await encryptTo([recipient], secretPlaintext);
      assertPlaintext(decryptAge(encrypted, ids), secretPlaintext);
      assertPlaintext(decryptAge(armor.encode(encrypted), ids), secretPlaintext);
    },
  );
});

describe("armor acceptance agrees with the age CLI", () => {
  test(
    "variants: the CLI accepts what the table says (ours is checked against the table in test/unit)",
    cliOptions,
    async () => {
      requireCli();
      const me = await newParty();
      const keyFile = tmpFile(`${me.text}\n`);
      for (const { variant, plaintext } of await armorVariants(me)) {
        const [name, input, , cliAccepts] = variant;
        if (cliAccepts === "version") continue;
        const result = ageDecrypt(input, keyFile);
        assert.equal(result !== null, cliAccepts, `${name}: age CLI`);
        if (result !== null) assert.ok(result.equals(plaintext));
      }
    },
  );
});
