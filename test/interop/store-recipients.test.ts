/**
 * `.tessera/recipients` as the `age` CLI reads it: `age -R .tessera/recipients` accepts the file Tessera
 * writes (its own lines, a teammate's `tessera var recipient --lines`, an older Tessera's file once a write
 * has moved its comments), and what it encrypts opens with each listed identity. age rejects a comment
 * after a key ("malformed recipient at line N"), which an older Tessera wrote. The store is written through
 * the library (src/workspace/write.ts), as the CLI does. Without `age` on PATH these tests skip, except when
 * CI=true, where they fail.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ensureIdentities } from "../../src/crypto/identity.ts";
import { writerKeyOf } from "../../src/crypto/sign.ts";
import { readStore } from "../../src/workspace/store.ts";
import { workspaceAt } from "../../src/workspace/workspace.ts";
import { ownLines, updateStore } from "../../src/workspace/write.ts";

const tmp = mkdtempSync(join(tmpdir(), "tessera-recipients-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let count = 0;
const fresh = (name: string) => mkdtempSync(join(tmp, `${name}${count++}-`));

const MISSING = spawnSync("age", ["--version"]).error !== undefined;
const options =
  MISSING && process.env.CI !== "true" ? { skip: "age not on PATH (required when CI=true)" } : {};

/** A user: an identity in a config directory of their own. */
function user() {
  const env = { XDG_CONFIG_HOME: fresh("config") };
  const identities = ensureIdentities(env, () => {});
  return {
    env,
    keyFile: identities.file!,
    recipient: identities.x25519[0]!.recipient,
    lines: ownLines([identities.x25519[0]!.recipient], writerKeyOf(identities.lines)!.id),
  };
}

async function write(
  dir: string,
  who: ReturnType<typeof user>,
  values: Record<string, string>,
  rekey = false,
) {
  await updateStore(
    workspaceAt(dir),
    { env: who.env, cwd: dir, notice: () => {} },
    (contents) => {
      for (const [name, value] of Object.entries(values)) contents.values.set(name, value);
      return true;
    },
    { rekey },
  );
}

/** `age -a -R FILE` of a text, and whether each identity then opens it. */
function ageTo(recipientsFile: string, keyFiles: readonly string[]) {
  const encrypted = spawnSync("age", ["-a", "-R", recipientsFile], { input: "hello\n", encoding: "utf8" });
  const opens = keyFiles.map(
    (keyFile) =>
      spawnSync("age", ["-d", "-i", keyFile], { input: encrypted.stdout, encoding: "utf8" }).stdout,
  );
  return { status: encrypted.status, stderr: encrypted.stderr, opens };
}

describe("age -R .tessera/recipients", options, () => {
  test("accepts the file Tessera writes, with a teammate's `var recipient --lines` added", async () => {
    assert.equal(MISSING, false, "the age CLI is required on CI");
    const owner = user();
    const teammate = user();
    const dir = fresh("ws");
    await write(dir, owner, { A: "1" });
    const file = join(dir, ".tessera", "recipients");
    assert.equal(ageTo(file, [owner.keyFile]).status, 0, "the owner's file alone");
    writeFileSync(file, `${readFileSync(file, "utf8")}${teammate.lines}`);
    await write(dir, owner, {}, true);
    const result = ageTo(file, [owner.keyFile, teammate.keyFile]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.opens, ["hello\n", "hello\n"]);
    // And the store itself, encrypted by Tessera to the same file, opens for the teammate with age.
    const opened = spawnSync("age", ["-d", "-i", teammate.keyFile, join(dir, ".tessera", "store.age")], {
      encoding: "utf8",
    });
    assert.equal(opened.status, 0, opened.stderr);
    assert.equal(JSON.parse(opened.stdout).values.A, "1");
  });

  test("an older Tessera's file (a comment after the key) is rejected by age; a rekey makes it accepted", async () => {
    assert.equal(MISSING, false, "the age CLI is required on CI");
    const owner = user();
    const dir = fresh("ws");
    await write(dir, owner, { A: "1" });
    const file = join(dir, ".tessera", "recipients");
    const teammate = user();
    writeFileSync(
      file,
      `${readFileSync(file, "utf8")}${teammate.recipient}  # root@vm\n  # an indented comment\n \n`,
    );
    const before = ageTo(file, []);
    assert.notEqual(before.status, 0);
    assert.match(before.stderr, /malformed recipient at line/);
    await write(dir, owner, {}, true);
    const after = ageTo(file, [owner.keyFile, teammate.keyFile]);
    assert.equal(after.status, 0, after.stderr);
    assert.deepEqual(after.opens, ["hello\n", "hello\n"]);
    assert.deepEqual(
      [...(await readStore(workspaceAt(dir), teammate.env, dir)).values],
      [["A", "1"]],
      "Tessera reads the store the rekey wrote",
    );
  });
});
