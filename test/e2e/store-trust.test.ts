/**
 * Who may write the workspace store, and who it is for, end to end through the CLI:
 * - a store forged with only the public keys of `.tessera/recipients` (as `age -e -r …` would), unsigned or
 *   signed by a key nobody listed, is refused (E_STORE_UNTRUSTED, exit 4) by every reader, `run` included;
 *   so is a store a reader changed after it was signed;
 * - a store written before stores were signed is refused until `tessera var rekey` signs it;
 * - a reader or writer added to (or removed from) `.tessera/recipients` by a pulled commit changes nothing
 *   until `tessera var rekey`: writes are refused (E_RECIPIENTS_CHANGED, exit 4, naming the keys), reads
 *   warn (W_RECIPIENTS_PENDING);
 * - the recipients file Tessera writes has its comments on lines of their own (what `age -R` accepts; the
 *   age CLI itself is run in test/interop/store-recipients.test.ts).
 * No message ever shows a value. Forged files are made with age-encryption, as the age CLI would make them.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { armor, Decrypter, Encrypter } from "age-encryption";
import { writerKeyOf } from "../../src/crypto/sign.ts";
import { serializeSigned } from "../../src/workspace/store.ts";
import { project, type Result, tessera } from "../helpers.ts";

const STORE = join(".tessera", "store.age");
const RECIPIENTS = join(".tessera", "recipients");

interface Identity {
  env: Record<string, string>;
  /** The AGE-SECRET-KEY-1… line. */
  secret: string;
  /** age1… */
  recipient: string;
  /** ed25519:… */
  writer: string;
}

/** A fresh identity, created by `tessera var recipient` in a config directory of its own. */
function identity(): Identity {
  const config = project();
  const env = { XDG_CONFIG_HOME: config };
  const result = tessera(["var", "recipient", "-q"], { cwd: config, env });
  ok(result, "var recipient");
  const secret = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(
    readFileSync(join(config, "tessera", "age.key"), "utf8"),
  )![0];
  return { env, secret, recipient: result.stdout.trim(), writer: writerKeyOf([secret])!.id };
}

function ok(result: Result, what: string): Result {
  assert.equal(result.status, 0, `${what} failed (${result.signal ?? result.status}):\n${result.stderr}`);
  return result;
}

/** `result` failed with `code` (exit 4), and shows none of `secrets`. */
function refused(result: Result, code: string, what: string, secrets: readonly string[] = []): void {
  assert.equal(result.status, 4, `${what}: exit ${result.status}, expected 4:\n${result.stderr}`);
  assert.match(
    result.stderr,
    new RegExp(`error\\[${code}\\]`),
    `${what}: expected ${code}:\n${result.stderr}`,
  );
  for (const secret of secrets) {
    assert.ok(!(result.stdout + result.stderr).includes(secret), `${what}: shows ${JSON.stringify(secret)}`);
  }
}

/** Encrypt `text` to `recipients` as `age -a -r … -r …` would: what anyone with the public keys can do. */
async function encryptTo(recipients: readonly string[], text: string): Promise<string> {
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  return armor.encode(await encrypter.encrypt(text));
}

async function decryptWith(secret: string, armored: string): Promise<Record<string, unknown>> {
  const decrypter = new Decrypter();
  decrypter.addIdentity(secret);
  return JSON.parse(Buffer.from(await decrypter.decrypt(armor.decode(armored))).toString("utf8"));
}

/** The age1… lines of the recipients file. */
const listed = (dir: string) =>
  readFileSync(join(dir, RECIPIENTS), "utf8")
    .split("\n")
    .filter((line) => line.startsWith("age1"));

const MANIFEST = "config:\n  API_BASE_URL: https://api.example.com\n";
const PRINT = ["run", "--", process.execPath, "-e", "process.stdout.write(process.env.API_BASE_URL)"];

/** A workspace whose store (API_BASE_URL and a secret) `owner` wrote with `tessera var set`. */
function workspaceOf(owner: Identity): string {
  const dir = project({ "tessera.yaml": MANIFEST });
  ok(
    tessera(["var", "set", "API_BASE_URL=https://api.example.com/v2", "TOKEN=fake-token-8d1f0c", "-q"], {
      cwd: dir,
      env: owner.env,
    }),
    "var set",
  );
  return dir;
}

describe("a store nobody listed wrote is refused (E_STORE_UNTRUSTED)", () => {
  const EVIL = "https://attacker.example.net";

  test("forged with only the public keys: unsigned, or signed by an unlisted key; no reader uses it", async () => {
    const owner = identity();
    const dir = workspaceOf(owner);
    assert.equal(
      ok(tessera(PRINT, { cwd: dir, env: owner.env }), "run").stdout,
      "https://api.example.com/v2",
    );
    const forger = writerKeyOf([identity().secret])!;
    const forged = {
      "unsigned (version 1, as a store was before)": JSON.stringify({
        tessera: "workspace-store",
        version: 1,
        values: { API_BASE_URL: EVIL },
      }),
      "signed by a key .tessera/recipients does not list": serializeSigned(
        { values: new Map([["API_BASE_URL", EVIL]]) },
        { recipients: listed(dir), writers: [forger.id] },
        forger,
      ),
    };
    for (const [what, document] of Object.entries(forged)) {
      writeFileSync(join(dir, STORE), await encryptTo(listed(dir), document));
      for (const args of [
        PRINT,
        ["var", "get", "API_BASE_URL"],
        ["echo", "$API_BASE_URL"],
        ["var", "export"],
      ]) {
        refused(tessera(args, { cwd: dir, env: owner.env }), "E_STORE_UNTRUSTED", `${what}: ${args[0]}`, [
          EVIL,
        ]);
      }
      const result = tessera(["var", "get", "API_BASE_URL"], { cwd: dir, env: owner.env });
      if (what.startsWith("unsigned")) assert.match(result.stderr, /is not signed.*\n.*`tessera var rekey`/);
      else
        assert.match(
          result.stderr,
          new RegExp(`is signed by ${forger.id}, which \\.tessera/recipients does not list as a writer`),
        );
      // A write does not build on it either.
      const before = readFileSync(join(dir, STORE), "utf8");
      refused(
        tessera(["var", "set", "X", "1"], { cwd: dir, env: owner.env }),
        "E_STORE_UNTRUSTED",
        `${what}: var set`,
        [EVIL],
      );
      assert.equal(readFileSync(join(dir, STORE), "utf8"), before);
    }
    // Listing the forger as a writer is what it would take: a line in the plain-text recipients file.
    writeFileSync(
      join(dir, RECIPIENTS),
      `${readFileSync(join(dir, RECIPIENTS), "utf8")}# tessera-writer: ${forger.id}\n`,
    );
    assert.equal(ok(tessera(PRINT, { cwd: dir, env: owner.env }), "run, forger listed").stdout, EVIL);
  });

  test("changed by a reader after it was signed (the signature kept): refused", async () => {
    const owner = identity();
    const reader = identity();
    const dir = workspaceOf(owner);
    writeFileSync(
      join(dir, RECIPIENTS),
      `${readFileSync(join(dir, RECIPIENTS), "utf8")}${reader.recipient}\n`,
    );
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "rekey for the reader");
    const doc = await decryptWith(reader.secret, readFileSync(join(dir, STORE), "utf8"));
    (doc.values as Record<string, string>).API_BASE_URL = EVIL;
    writeFileSync(join(dir, STORE), await encryptTo(listed(dir), JSON.stringify(doc)));
    for (const who of [owner, reader]) {
      const result = tessera(PRINT, { cwd: dir, env: who.env });
      refused(result, "E_STORE_UNTRUSTED", "run", [EVIL]);
      assert.match(result.stderr, /does not match its contents/);
    }
  });
});

describe("your own writer line removed from .tessera/recipients", () => {
  test("the store you signed is refused, with a hint that puts your lines back", () => {
    const owner = identity();
    const dir = workspaceOf(owner);
    const path = join(dir, RECIPIENTS);
    writeFileSync(path, readFileSync(path, "utf8").replace(/^# tessera-writer: .*\n/m, ""));
    const result = tessera(["var", "get", "TOKEN"], { cwd: dir, env: owner.env });
    refused(result, "E_STORE_UNTRUSTED", "var get", ["fake-token-8d1f0c"]);
    assert.match(result.stderr, /signed by your own writer key/);
    assert.match(result.stderr, /`tessera var recipient --lines >> \.tessera\/recipients`/);
    writeFileSync(
      path,
      `${readFileSync(path, "utf8")}${ok(tessera(["var", "recipient", "--lines"], { cwd: dir, env: owner.env }), "--lines").stdout}`,
    );
    assert.equal(
      ok(tessera(["var", "get", "TOKEN"], { cwd: dir, env: owner.env }), "get").stdout,
      "fake-token-8d1f0c\n",
    );
  });
});

describe("a store written before stores were signed", () => {
  test("is refused with a hint naming `tessera var rekey`, which signs it (and fixes the recipients file)", async () => {
    const owner = identity();
    const dir = project({ "tessera.yaml": MANIFEST, ".tessera/": null });
    // As an older Tessera left it: a version 1 document, a comment after the key.
    writeFileSync(
      join(dir, RECIPIENTS),
      `# Who can open .tessera/store.age\n${owner.recipient}  # root@vm\n`,
    );
    writeFileSync(
      join(dir, STORE),
      await encryptTo(
        [owner.recipient],
        JSON.stringify({
          tessera: "workspace-store",
          version: 1,
          values: { API_BASE_URL: "https://old.example" },
        }),
      ),
    );
    const read = tessera(PRINT, { cwd: dir, env: owner.env });
    refused(read, "E_STORE_UNTRUSTED", "run on an unsigned store", ["https://old.example"]);
    assert.match(read.stderr, /hint: .*`tessera var rekey` to sign it/);
    refused(tessera(["var", "set", "A", "1"], { cwd: dir, env: owner.env }), "E_STORE_UNTRUSTED", "var set");

    const rekey = ok(tessera(["var", "rekey"], { cwd: dir, env: owner.env }), "var rekey");
    assert.match(rekey.stderr, /signed \.tessera\/store\.age \(it was not signed\)/);
    assert.match(
      rekey.stderr,
      /put \.tessera\/recipients in the form `age -R` reads \(comments on lines of their own/,
    );
    assert.equal(
      ok(tessera(PRINT, { cwd: dir, env: owner.env }), "run after rekey").stdout,
      "https://old.example",
    );
    const lines = readFileSync(join(dir, RECIPIENTS), "utf8").split("\n");
    assert.deepEqual(lines.slice(0, 3), ["# Who can open .tessera/store.age", "# root@vm", owner.recipient]);
    assert.ok(lines[3]!.startsWith(`# tessera-writer: ${owner.writer}`), lines[3]);
    assert.deepEqual(lines.slice(4), [""]);
  });
});

describe("a pulled change of .tessera/recipients takes effect only with `tessera var rekey`", () => {
  test("an appended key: writes refused (E_RECIPIENTS_CHANGED) naming it, reads warn, rekey confirms", async () => {
    const owner = identity();
    const stranger = identity();
    const dir = workspaceOf(owner);
    const store = () => readFileSync(join(dir, STORE), "utf8");
    const before = store();
    // The pulled commit: one line, with a label of its choosing.
    writeFileSync(
      join(dir, RECIPIENTS),
      `${readFileSync(join(dir, RECIPIENTS), "utf8")}# ops-backup-key (trust me)\n${stranger.recipient}\n`,
    );
    for (const args of [
      ["var", "set", "NEW", "fake-new-value-4b2a"],
      ["var", "unset", "TOKEN"],
      ["var", "declare", "OTHER"],
      ["var", "import", "-"],
    ]) {
      const result = tessera(args, { cwd: dir, env: owner.env, input: "IMPORTED=fake-imported-value\n" });
      refused(result, "E_RECIPIENTS_CHANGED", args.join(" "), [
        "fake-new-value-4b2a",
        "fake-token-8d1f0c",
        "fake-imported-value",
      ]);
      assert.match(result.stderr, new RegExp(`\n  reader added: ${stranger.recipient}\n`));
      assert.match(result.stderr, /hint: .*`tessera var rekey`/);
      assert.ok(!result.stderr.includes("trust me"), "a label from the file is shown");
      assert.equal(store(), before, `${args.join(" ")} wrote the store`);
    }
    const doc = await decryptWith(owner.secret, store());
    assert.deepEqual(doc.recipients, [owner.recipient]);
    await assert.rejects(decryptWith(stranger.secret, store()), "the stranger can read the store");

    // Reads go on (the store is still the one the owner signed), with a warning.
    const read = ok(tessera(PRINT, { cwd: dir, env: owner.env }), "run");
    assert.equal(read.stdout, "https://api.example.com/v2");
    assert.match(
      read.stderr,
      new RegExp(`warning\\[W_RECIPIENTS_PENDING\\]: .*reader added: ${stranger.recipient}`),
    );

    const rekey = ok(tessera(["var", "rekey"], { cwd: dir, env: owner.env }), "rekey");
    assert.match(rekey.stderr, /for the 2 recipients in \.tessera\/recipients/);
    assert.match(rekey.stderr, new RegExp(`\n  reader added: ${stranger.recipient}\n`));
    assert.equal(
      ok(tessera(["var", "get", "TOKEN"], { cwd: dir, env: stranger.env }), "get").stdout,
      "fake-token-8d1f0c\n",
    );
    assert.equal(ok(tessera(PRINT, { cwd: dir, env: owner.env }), "run").stderr, "");
    ok(tessera(["var", "set", "NEW", "1", "-q"], { cwd: dir, env: owner.env }), "a write after the rekey");
  });

  test("a removed key and an added writer are listed too; the file is unchanged by a refused write", () => {
    const owner = identity();
    const teammate = identity();
    const newcomer = identity();
    const dir = workspaceOf(owner);
    const path = join(dir, RECIPIENTS);
    writeFileSync(path, `${readFileSync(path, "utf8")}${teammate.recipient}\n`);
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "rekey");
    const text = readFileSync(path, "utf8")
      .replace(`${teammate.recipient}\n`, "")
      .concat(`# tessera-writer: ${newcomer.writer}\n`);
    writeFileSync(path, text);
    const result = tessera(["var", "set", "A", "1"], { cwd: dir, env: owner.env });
    refused(result, "E_RECIPIENTS_CHANGED", "var set");
    assert.match(
      result.stderr,
      new RegExp(`\n  reader removed: ${teammate.recipient}\n  writer added: ${newcomer.writer}\n`),
    );
    assert.equal(readFileSync(path, "utf8"), text);
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "rekey");
    refused(
      tessera(["var", "get", "A"], { cwd: dir, env: teammate.env }),
      "E_STORE_LOCKED",
      "the removed reader",
    );
  });

  test("a first write into a workspace whose recipients file lists others: refused until rekey creates the store", () => {
    const owner = identity();
    const other = identity();
    const dir = project({ ".tessera/recipients": `${other.recipient}\n# tessera-writer: ${other.writer}\n` });
    const result = tessera(["var", "set", "A", "fake-a-value"], { cwd: dir, env: owner.env });
    refused(result, "E_RECIPIENTS_CHANGED", "first var set", ["fake-a-value"]);
    assert.match(result.stderr, /lists keys besides yours/);
    assert.match(
      result.stderr,
      new RegExp(`reader added: ${other.recipient}\n  writer added: ${other.writer}`),
    );
    const rekey = ok(tessera(["var", "rekey"], { cwd: dir, env: owner.env }), "rekey");
    assert.match(rekey.stderr, /created \.tessera\/store\.age \(empty\) for the 2 recipients/);
    ok(tessera(["var", "set", "A", "fake-a-value", "-q"], { cwd: dir, env: owner.env }), "var set");
    assert.equal(
      ok(tessera(["var", "get", "A"], { cwd: dir, env: other.env }), "get").stdout,
      "fake-a-value\n",
    );
  });

  test("a reader who is not a writer: their first write is refused (writer added, yours) until they rekey", () => {
    const owner = identity();
    const reader = identity();
    const dir = workspaceOf(owner);
    const path = join(dir, RECIPIENTS);
    writeFileSync(path, `${readFileSync(path, "utf8")}${reader.recipient}\n`);
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "owner rekeys");
    const result = tessera(["var", "set", "B", "2"], { cwd: dir, env: reader.env });
    refused(result, "E_RECIPIENTS_CHANGED", "reader writes");
    assert.match(result.stderr, new RegExp(`writer added: ${reader.writer} \\(yours\\)`));
    const rekey = ok(tessera(["var", "rekey"], { cwd: dir, env: reader.env }), "reader rekeys");
    assert.match(rekey.stderr, /added your writer key to \.tessera\/recipients/);
    assert.ok(readFileSync(path, "utf8").includes(`\n# tessera-writer: ${reader.writer}`));
    ok(tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: reader.env }), "reader writes");
    assert.equal(ok(tessera(["var", "get", "B"], { cwd: dir, env: owner.env }), "owner reads").stdout, "2\n");
  });

  test("removing the writer who signed last: rekey while still listed, then remove and rekey", () => {
    const owner = identity();
    const leaver = identity();
    const dir = workspaceOf(owner);
    const path = join(dir, RECIPIENTS);
    writeFileSync(
      path,
      `${readFileSync(path, "utf8")}${ok(tessera(["var", "recipient", "--lines"], { cwd: dir, env: leaver.env }), "--lines").stdout}`,
    );
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "owner adds the leaver");
    ok(tessera(["var", "set", "L", "1", "-q"], { cwd: dir, env: leaver.env }), "the leaver writes");
    const full = readFileSync(path, "utf8");
    const without = full
      .split("\n")
      .filter((line) => !line.includes(leaver.recipient) && !line.includes(leaver.writer))
      .join("\n");
    writeFileSync(path, without);
    const refusedRekey = tessera(["var", "rekey"], { cwd: dir, env: owner.env });
    refused(refusedRekey, "E_STORE_UNTRUSTED", "rekey of a store signed by a removed writer");
    assert.match(
      refusedRekey.stderr,
      /put the line back, run `tessera var rekey`, then remove it and rekey again/,
    );
    writeFileSync(path, full);
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "rekey while listed");
    writeFileSync(path, without);
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "rekey without the leaver");
    refused(
      tessera(["var", "get", "L"], { cwd: dir, env: leaver.env }),
      "E_STORE_LOCKED",
      "the leaver reads",
    );
    assert.equal(ok(tessera(["var", "get", "L"], { cwd: dir, env: owner.env }), "owner reads").stdout, "1\n");
  });
});

describe("the recipients file Tessera writes", () => {
  test("comments on lines of their own; `var recipient --lines` prints a teammate's lines in the same form", () => {
    const owner = identity();
    const teammate = identity();
    const dir = workspaceOf(owner);
    const path = join(dir, RECIPIENTS);
    const lines = ok(
      tessera(["var", "recipient", "--lines"], { cwd: dir, env: teammate.env }),
      "--lines",
    ).stdout;
    assert.match(
      lines,
      new RegExp(`^(# \\S+\\n)?${teammate.recipient}\\n# tessera-writer: ${teammate.writer}( \\S+)?\\n$`),
    );
    writeFileSync(path, `${readFileSync(path, "utf8")}${lines}`);
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "rekey");
    ok(tessera(["var", "set", "T", "t", "-q"], { cwd: dir, env: teammate.env }), "the teammate writes");
    const text = readFileSync(path, "utf8");
    // What `age -R` accepts (cmd/age/parse.go): empty lines, lines starting with #, bare recipients.
    for (const line of text.split("\n")) {
      assert.ok(
        line === "" || line.startsWith("#") || /^age1[0-9a-z]+$/.test(line),
        `age -R rejects ${JSON.stringify(line)}`,
      );
    }
    assert.deepEqual(listed(dir), [owner.recipient, teammate.recipient]);
    assert.match(text, new RegExp(`\n# tessera-writer: ${owner.writer}( \\S+)?\n`));
  });
});
