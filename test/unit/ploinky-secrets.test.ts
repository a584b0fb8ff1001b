/**
 * crypto/ploinky-secrets.ts: Ploinky's encrypted .ploinky/.secrets and its derived secrets, checked against
 * an envelope and derivations written here from Ploinky's algorithm (encryptedSecretsFile.js, masterKey.js).
 * Values and keys are fake.
 */
import assert from "node:assert/strict";
import { createCipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  decryptPloinkySecrets,
  derivePloinkyAgentSecret,
  derivePloinkyWorkspaceSecret,
  findPloinkyMasterSeed,
  ploinkyWorkspaceRoot,
} from "../../src/crypto/ploinky-secrets.ts";
import { TesseraError } from "../../src/errors.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dir(): string {
  const made = mkdtempSync(join(tmpdir(), "tessera-ploinky-"));
  dirs.push(made);
  return made;
}

const hkdf = (ikm: Buffer, info: string) =>
  Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), Buffer.from(info, "utf8"), 32));
const master = (seed: string) => createHash("sha256").update(seed, "utf8").digest();

function envelope(payload: unknown, seed: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", hkdf(master(seed), "ploinky/storage/secrets/v1"), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final()]);
  return `${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}\n`;
}

const SEED = { seed: "fake-seed-one", from: "test" };

describe("decryptPloinkySecrets", () => {
  test("opens what Ploinky writes, in order; values as strings, blank names dropped", () => {
    const text = envelope({ version: 1, secrets: { B: "fake-b", A: "$B", " ": "x", N: 5 } }, SEED.seed);
    assert.deepEqual(
      [...decryptPloinkySecrets(text, SEED, ".secrets")],
      [
        ["B", "fake-b"],
        ["A", "$B"],
        ["N", "5"],
      ],
    );
  });

  test("another key: E_KEY_INVALID naming where the key came from, never the key", () => {
    const text = envelope({ version: 1, secrets: { A: "fake-a" } }, "fake-seed-two");
    try {
      decryptPloinkySecrets(text, SEED, ".secrets");
      assert.fail("opened with the wrong key");
    } catch (error) {
      assert.ok(error instanceof TesseraError);
      assert.equal(error.code, "E_KEY_INVALID");
      assert.match(error.message, /master key from test/);
      assert.ok(!error.message.includes("fake-seed"));
    }
  });

  test("an unknown version or a damaged envelope: E_STORE_INVALID", () => {
    const newer = envelope({ version: 2, secrets: {} }, SEED.seed);
    assert.throws(() => decryptPloinkySecrets(newer, SEED, ".secrets"), { code: "E_STORE_INVALID" });
    assert.throws(() => decryptPloinkySecrets("QUJD", SEED, ".secrets"), { code: "E_STORE_INVALID" });
  });
});

describe("the master seed, where Ploinky keeps it", () => {
  test("PLOINKY_MASTER_KEY, then the nearest .env upwards, then .ploinky/master-key", () => {
    const root = dir();
    const ws = join(root, "ws");
    mkdirSync(join(ws, ".ploinky"), { recursive: true });
    writeFileSync(join(ws, ".ploinky/master-key"), "fake-from-file\n");
    assert.deepEqual(findPloinkyMasterSeed(ws, {}), {
      seed: "fake-from-file",
      from: join(ws, ".ploinky/master-key"),
    });
    writeFileSync(join(root, ".env"), "# comment\nexport PLOINKY_MASTER_KEY = 'fake-from-dotenv'\n");
    assert.equal(findPloinkyMasterSeed(ws, {})?.seed, "fake-from-dotenv");
    assert.equal(findPloinkyMasterSeed(ws, { PLOINKY_MASTER_KEY: " fake-from-env " })?.seed, "fake-from-env");
    // Only the nearest .env counts, as in Ploinky.
    writeFileSync(join(ws, ".env"), "OTHER=1\n");
    assert.equal(findPloinkyMasterSeed(ws, {})?.seed, "fake-from-file");
    assert.equal(findPloinkyMasterSeed(dir(), {}), undefined);
  });

  test("the workspace root: PLOINKY_WORKSPACE_ROOT, else the nearest directory with .ploinky/", () => {
    const ws = dir();
    const agent = join(ws, ".ploinky/repos/r/a");
    mkdirSync(agent, { recursive: true });
    assert.equal(ploinkyWorkspaceRoot(agent, {}), ws);
    const other = dir();
    assert.equal(ploinkyWorkspaceRoot(agent, { PLOINKY_WORKSPACE_ROOT: other }), other);
  });
});

describe("derived generated secrets", () => {
  test("the values Ploinky's deriveAgentSecret and deriveWorkspaceSecret give", () => {
    const derivedMaster = hkdf(master(SEED.seed), "ploinky/derived-master/v1");
    assert.equal(
      derivePloinkyAgentSecret(SEED.seed, "repo one", "agent", "OWN"),
      hkdf(derivedMaster, "ploinky/agent-secret/repo_one/agent/OWN/v1").toString("hex"),
    );
    assert.equal(
      derivePloinkyWorkspaceSecret(SEED.seed, "SHARED"),
      hkdf(derivedMaster, "ploinky/workspace-secret/SHARED/v1").toString("hex"),
    );
  });
});
