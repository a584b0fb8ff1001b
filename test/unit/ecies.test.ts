/**
 * dotenvx's value encryption (src/crypto/ecies.ts), in process: private keys and the names of the key pair
 * a file uses. Against the real dotenvx (values it encrypts, the names it writes): test/interop/ecies-dotenvx.test.ts.
 */
import assert from "node:assert/strict";
import { createECDH } from "node:crypto";
import { describe, test } from "node:test";
import { isEncrypted, parsePrivateKey, publicKeyHex } from "../../src/crypto/ecies.ts";
import { keyNames } from "../../src/providers/dotenvx-file.ts";

describe("private keys", () => {
  const N = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
  test("64 hex digits (0x and upper case allowed), in the group's range", () => {
    const key = createECDH("secp256k1");
    key.generateKeys();
    const hex = key.getPrivateKey("hex").padStart(64, "0");
    assert.ok(parsePrivateKey(hex)?.equals(key.getPrivateKey()));
    assert.ok(parsePrivateKey(`0x${hex.toUpperCase()}`)?.equals(key.getPrivateKey()));
    assert.ok(parsePrivateKey(` ${hex}\n`), "surrounding whitespace is ignored");
    assert.equal(publicKeyHex(parsePrivateKey(hex)!), key.getPublicKey("hex", "compressed"));
    for (const bad of ["", hex.slice(2), `${hex}00`, `${hex.slice(1)}g`, "0".repeat(64), N, "f".repeat(64)]) {
      assert.equal(parsePrivateKey(bad), undefined, bad);
    }
    assert.ok(parsePrivateKey(`${N.slice(0, 63)}0`), "n - 1 is a key");
  });

  test("isEncrypted: the encrypted: prefix", () => {
    assert.equal(isEncrypted("encrypted:BAAA"), true);
    assert.equal(isEncrypted("plain"), false);
    assert.equal(isEncrypted(" encrypted:BAAA"), false);
  });
});

describe("the key pair a file uses", () => {
  test("from the environment setting", () => {
    assert.deepEqual(keyNames(".env", "production"), {
      privateName: "DOTENV_PRIVATE_KEY_PRODUCTION",
      publicName: "DOTENV_PUBLIC_KEY_PRODUCTION",
    });
    assert.equal(keyNames(".env.production", "ci").privateName, "DOTENV_PRIVATE_KEY_CI");
    assert.equal(keyNames(".env.production", "").privateName, "DOTENV_PRIVATE_KEY");
  });

  test("case does not matter (dotenvx lower-cases the name)", () => {
    assert.equal(keyNames("/x/.ENV.Production").privateName, "DOTENV_PRIVATE_KEY_PRODUCTION");
  });
});
