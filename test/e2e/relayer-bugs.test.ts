/**
 * Bugs that came from copies of one mechanism drifting apart, fixed when the copies were merged (issue 8):
 * each fails on the code before the merge.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  armor,
  Encrypter,
  generateHybridIdentity,
  generateX25519Identity,
  identityToRecipient,
} from "age-encryption";
import { writerKeyOf } from "../../src/crypto/sign.ts";
import { serveFromMap, serveSecretText } from "../../src/providers/values.ts";
import { serializeSigned } from "../../src/workspace/store.ts";
import { cleanEnv, project, tessera } from "../helpers.ts";

describe("one age entry point: an identity file with X25519, post-quantum and plugin lines", () => {
  test("the workspace store opens with it like an age-file source does", async () => {
    const x25519 = await generateX25519Identity();
    const hybrid = await generateHybridIdentity();
    const plugin = "AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    const dir = project({
      "tessera.yaml": "secrets:\n  - A\n  - B\nsources:\n  - type: age-file\n    path: values.age\n",
    });
    const keyFile = join(dir, "keys.txt");
    writeFileSync(keyFile, `# three identities\n${x25519}\n${hybrid}\n${plugin}\n`, { mode: 0o600 });
    const toHybrid = async (text: string) => {
      const encrypter = new Encrypter();
      encrypter.addRecipient(await identityToRecipient(hybrid));
      return armor.encode(await encrypter.encrypt(text));
    };
    // The store holds A, encrypted to the hybrid recipient only and signed by the identity's writer key
    // (derived from its first secret key line), which .tessera/recipients lists; the age-file source holds B.
    const writer = writerKeyOf([x25519, hybrid, plugin])!;
    const audience = { recipients: [await identityToRecipient(hybrid)], writers: [writer.id] };
    mkdirSync(join(dir, ".tessera"));
    writeFileSync(
      join(dir, ".tessera", "recipients"),
      `${audience.recipients[0]}\n# tessera-writer: ${writer.id}\n`,
    );
    writeFileSync(
      join(dir, ".tessera", "store.age"),
      await toHybrid(serializeSigned({ values: new Map([["A", "fake-a"]]) }, audience, writer)),
    );
    writeFileSync(join(dir, "values.age"), await toHybrid("B=fake-b\n"));
    const env = cleanEnv({ TESSERA_AGE_KEY_FILE: keyFile });
    const fromFile = tessera(["echo", "$B"], { cwd: dir, env });
    assert.equal(fromFile.stderr, "");
    assert.equal(fromFile.stdout, "fake-b\n");
    const fromStore = tessera(["var", "get", "A"], { cwd: dir, env });
    assert.equal(fromStore.stderr, "");
    assert.equal(fromStore.status, 0);
    assert.equal(fromStore.stdout, "fake-a\n");
  });
});

describe("one property rule for every store", () => {
  const nested = JSON.stringify({ a: { b: "fake-nested" }, list: ["x", "fake-item"], "a.b": undefined });
  test("a dotted property walks nested JSON in a value map (exec, age-file, dotenvx)", () => {
    const values = new Map<string, unknown>([["DB", nested]]);
    assert.deepEqual(serveFromMap(values, { id: "x", key: "DB", property: "a.b", searched: false }, "w"), {
      status: "found",
      value: "fake-nested",
      where: "w",
    });
    assert.deepEqual(serveFromMap(values, { id: "x", key: "DB", property: "list.1", searched: false }, "w"), {
      status: "found",
      value: "fake-item",
      where: "w",
    });
  });
  test("and in one secret's text (GCP, Azure)", () => {
    assert.deepEqual(
      serveSecretText(nested, { id: "x", key: "DB", property: "a.b", searched: false }, "DB", "w"),
      {
        status: "found",
        value: "fake-nested",
        where: "w",
      },
    );
  });
  test("a key holding a dot wins over the path", () => {
    const values = new Map<string, unknown>([
      ["DB", JSON.stringify({ "a.b": "fake-flat", a: { b: "fake-deep" } })],
    ]);
    assert.equal(
      (
        serveFromMap(values, { id: "x", key: "DB", property: "a.b", searched: false }, "w") as {
          value: string;
        }
      ).value,
      "fake-flat",
    );
  });
});

describe("JSON with a byte-order mark", () => {
  test("an exec source printing JSON with a leading BOM is read like an age-file's", () => {
    const script = `process.stdout.write("\\ufeff" + JSON.stringify({ TOKEN: "fake-token" }))`;
    const dir = project({
      "tessera.yaml": `secrets:\n  - TOKEN\nsources:\n  - type: exec\n    command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(script)}]\n    format: json\n`,
    });
    const result = tessera(["export", "--format", "json"], { cwd: dir, env: cleanEnv() });
    assert.equal(result.stderr, "");
    assert.equal(result.status, 0);
    assert.deepEqual(JSON.parse(result.stdout), { TOKEN: "fake-token" });
  });
});

describe("one Azure key rule for check and the external-secrets target", () => {
  test("from: key DB_PASSWORD (not a Key Vault name) is refused by both, at the manifest line", () => {
    const dir = project({
      "tessera.yaml":
        "service:\n  name: app\n  image: app:1\nsecrets:\n  - name: DB\n    from: {source: az, key: DB_PASSWORD}\nsources:\n  - type: azure-key-vault\n    name: az\n    vaultUrl: https://example.vault.azure.net\n",
    });
    const check = tessera(["check"], { cwd: dir, env: cleanEnv() });
    const build = tessera(["build", "--target", "external-secrets", "-o", "out"], {
      cwd: dir,
      env: cleanEnv(),
    });
    for (const result of [check, build]) {
      assert.notEqual(result.status, 0, result.stderr);
      assert.match(result.stderr, /tessera\.yaml:6.*from: key "DB_PASSWORD" is not a Key Vault secret name/);
    }
    assert.equal(check.status, build.status);
  });
});
