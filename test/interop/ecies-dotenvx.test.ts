/**
 * dotenvx's value encryption (src/crypto/ecies.ts) against the real dotenvx (the dev dependency): values
 * it encrypts — through its library's `set` (the code path of `dotenvx set`, batched: one process per
 * batch of values), through the `dotenvx set` and `dotenvx encrypt` commands — decrypt byte for byte; a
 * wrong key and any change to the payload fail; malformed payloads and keys are refused; no message
 * carries key material or plaintext. Also the names of the key pair a file uses (as dotenvx derives them
 * from the file name), checked against the names dotenvx writes. Runs the dotenvx CLI (and node scripts using its
 * library); the in-process checks are in test/unit/ecies.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createECDH } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { decryptValue, EciesError, parsePrivateKey, publicKeyHex } from "../../src/crypto/ecies.ts";
import { keyNames } from "../../src/providers/dotenvx-file.ts";
import { ROOT } from "../helpers.ts";
import { requireComponent } from "../support/consumers.ts";

const require = createRequire(import.meta.url);
const DOTENVX_BIN = join(ROOT, "node_modules", "@dotenvx", "dotenvx", "src", "cli", "dotenvx.js");
const haveDotenvx = () => {
  try {
    require.resolve("@dotenvx/dotenvx");
    return spawnSync(process.execPath, [DOTENVX_BIN, "--version"], { env: dotenvxEnv(tmp) }).status === 0;
  } catch {
    return false;
  }
};

const tmp = mkdtempSync(join(tmpdir(), "tessera-ecies-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
function freshDir(): string {
  const dir = join(tmp, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
}

/** dotenvx on its own: keys in .env.keys (no OS keychain, no Armor service), its config under `home`. */
function dotenvxEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: home,
    DOTENVX_CONFIG: join(home, ".dotenvx"),
    DOTENVX_NO_ARMOR: "true",
    DOTENVX_NO_NATIVE: "true",
  };
}

function dotenvx(args: readonly string[], cwd: string): string {
  const result = spawnSync(process.execPath, [DOTENVX_BIN, ...args], {
    cwd,
    env: dotenvxEnv(cwd),
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `dotenvx ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** The script that sets many values with dotenvx's library, in one process (reads {file, values} as JSON). */
const SET_SCRIPT = `
const dotenvx = require(${JSON.stringify(require.resolve("@dotenvx/dotenvx"))});
(async () => {
  const { file, values } = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const [key, value] of Object.entries(values)) {
    const result = await dotenvx.set(key, value, { path: file, noArmor: true, noNative: true, quiet: true });
    for (const env of result.processedEnvs ?? []) if (env.error) throw env.error;
  }
})().catch((error) => { console.error(error.message); process.exit(1); });
`;

/** KEY → "encrypted:…", from a file dotenvx wrote (it keeps a value's quotes: none, "…" or '…'). */
function encryptedLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const match of text.matchAll(/^([A-Za-z0-9_.]+)=(["']?)(encrypted:[A-Za-z0-9+/=]+)\2$/gm))
    out.set(match[1]!, match[3]!);
  return out;
}

/** The value of NAME=… in a dotenv file dotenvx wrote (its keys file, its public key line). */
function lineValue(text: string, name: string): string | undefined {
  const escaped = name.replace(/[.]/g, "\\.");
  return new RegExp(`^${escaped}="?([0-9a-f]+)"?$`, "m").exec(text)?.[1];
}

interface Batch {
  encrypted: string[];
  privateKey: Buffer;
  publicKey: string;
}

/** Encrypt `values` with dotenvx's own `set`, into .env.production of a fresh directory. */
function encryptWithDotenvx(values: readonly string[]): Batch {
  const dir = freshDir();
  const script = join(dir, "set.cjs");
  writeFileSync(script, SET_SCRIPT);
  const input = JSON.stringify({
    file: join(dir, ".env.production"),
    values: Object.fromEntries(values.map((value, index) => [`K${index}`, value])),
  });
  const result = spawnSync(process.execPath, [script], {
    cwd: dir,
    env: dotenvxEnv(dir),
    input,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stderr);
  const lines = encryptedLines(readFileSync(join(dir, ".env.production"), "utf8"));
  const keyHex = lineValue(readFileSync(join(dir, ".env.keys"), "utf8"), "DOTENV_PRIVATE_KEY_PRODUCTION");
  const publicKey = lineValue(
    readFileSync(join(dir, ".env.production"), "utf8"),
    "DOTENV_PUBLIC_KEY_PRODUCTION",
  );
  assert.ok(keyHex && publicKey, "dotenvx wrote the key pair");
  const privateKey = parsePrivateKey(keyHex);
  assert.ok(privateKey, "dotenvx's private key parses");
  return {
    encrypted: values.map((_, index) => {
      const line = lines.get(`K${index}`);
      assert.ok(line, `dotenvx encrypted K${index}`);
      return line;
    }),
    privateKey,
    publicKey,
  };
}

/** Values to try: any Unicode, the characters quoting and interpolation care about, long ones. */
const SPECIAL = [
  "\n",
  "\r",
  "\r\n",
  '"',
  "'",
  "`",
  "$",
  "${",
  "}",
  "\\",
  "#",
  " ",
  "=",
  "\t",
  "\0",
  "é",
  "😀",
  "encrypted:",
];
const value = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength: 30 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
  fc.string({ unit: "binary", minLength: 2000, maxLength: 6000 }),
);

const ok = requireComponent("dotenvx", haveDotenvx);

describe("values dotenvx encrypted decrypt byte for byte", ok, () => {
  test("random values (unicode, newlines, quotes, $, NUL, long), batched through dotenvx's set", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 25 }), async (values) => {
        const batch = encryptWithDotenvx(values);
        assert.equal(publicKeyHex(batch.privateKey), batch.publicKey, "the public key dotenvx wrote is ours");
        values.forEach((expected, index) => {
          const plain = decryptValue(batch.privateKey, batch.encrypted[index]!);
          assert.ok(plain.equals(Buffer.from(expected, "utf8")), `K${index}: the exact bytes`);
          assert.equal(plain.toString("utf8"), expected);
        });
      }),
      { numRuns: 8 },
    );
  });

  test("`dotenvx set KEY VALUE -f FILE` (the command) and a tricky fixed set", () => {
    const dir = freshDir();
    const fixed = [
      "",
      "-starts-with-dash",
      "a\nb\r\nc",
      `it's "quoted" \`back\` \\ $HOME \${X} $(date)`,
      "🔑".repeat(500),
    ];
    for (const [index, text] of fixed.entries())
      dotenvx(["set", `V${index}`, text, "-f", ".env.staging"], dir);
    const file = readFileSync(join(dir, ".env.staging"), "utf8");
    const lines = encryptedLines(file);
    const key = parsePrivateKey(
      lineValue(readFileSync(join(dir, ".env.keys"), "utf8"), "DOTENV_PRIVATE_KEY_STAGING")!,
    );
    assert.ok(key);
    fixed.forEach((text, index) => {
      assert.equal(decryptValue(key, lines.get(`V${index}`)!).toString("utf8"), text, `V${index}`);
    });
  });

  test("`dotenvx encrypt` of a whole file: ours agrees with `dotenvx get` (values without $)", () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, ".env"),
      [
        "PLAIN=hello world",
        'DOUBLE="two\\nlines"',
        "SINGLE='it''s'",
        "QUOTED='say \"hi\"'",
        'MULTI="first',
        'second"',
        "UNICODE=héllo ✓ 🔑",
        "EMPTY=",
        "",
      ].join("\n"),
    );
    dotenvx(["encrypt", "-f", ".env"], dir);
    const lines = encryptedLines(readFileSync(join(dir, ".env"), "utf8"));
    const key = parsePrivateKey(
      lineValue(readFileSync(join(dir, ".env.keys"), "utf8"), "DOTENV_PRIVATE_KEY")!,
    );
    assert.ok(key);
    const theirs = JSON.parse(dotenvx(["get", "-f", ".env", "--format", "json"], dir)) as Record<
      string,
      string
    >;
    assert.equal(lines.size, 7, "dotenvx encrypted every value");
    for (const [name, encrypted] of lines) {
      assert.equal(decryptValue(key, encrypted).toString("utf8"), theirs[name], name);
    }
  });
});

describe("wrong keys and changed payloads fail", ok, () => {
  let made: Batch | undefined;
  before(() => {
    made = encryptWithDotenvx(["secret", "", "x".repeat(3000), "ünïcødé\n"]);
  });
  const batch = {
    get encrypted() {
      return made!.encrypted;
    },
    get privateKey() {
      return made!.privateKey;
    },
  };
  const kindOf = (run: () => unknown): string => {
    try {
      run();
      return "decrypted";
    } catch (error) {
      assert.ok(error instanceof EciesError, String(error));
      return error.kind;
    }
  };

  test("another private key fails authentication", () => {
    fc.assert(
      fc.property(fc.constantFrom(...batch.encrypted), (encrypted) => {
        const other = createECDH("secp256k1");
        other.generateKeys();
        assert.equal(
          kindOf(() => decryptValue(other.getPrivateKey(), encrypted)),
          "failed",
        );
      }),
      { numRuns: 20 },
    );
  });

  test("any flipped bit fails (a changed ephemeral key may be malformed instead)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: batch.encrypted.length - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (which, position, bit) => {
          const payload = Buffer.from(batch.encrypted[which]!.slice("encrypted:".length), "base64");
          const at = position % payload.length;
          payload[at]! ^= 1 << bit;
          const kind = kindOf(() =>
            decryptValue(batch.privateKey, `encrypted:${payload.toString("base64")}`),
          );
          if (at < 65) assert.ok(kind === "failed" || kind === "malformed", `byte ${at}: ${kind}`);
          else assert.equal(kind, "failed", `byte ${at}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("truncated or extended payloads fail", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...batch.encrypted),
        fc.integer({ min: 1, max: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        (encrypted, cut, extra) => {
          const payload = Buffer.from(encrypted.slice("encrypted:".length), "base64");
          const shorter = payload.subarray(0, Math.max(0, payload.length - cut));
          const longer = Buffer.concat([payload, extra]);
          assert.notEqual(
            kindOf(() => decryptValue(batch.privateKey, shorter.toString("base64"))),
            "decrypted",
          );
          assert.equal(
            kindOf(() => decryptValue(batch.privateKey, longer.toString("base64"))),
            "failed",
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  test("malformed payloads are refused as such", () => {
    const good = batch.encrypted[0]!;
    const payload = Buffer.from(good.slice("encrypted:".length), "base64");
    const compressedMarker = Buffer.from(payload);
    compressedMarker[0] = 0x02;
    const notAPoint = Buffer.from(payload);
    notAPoint.fill(0xff, 1, 65);
    for (const bad of [
      "encrypted:",
      "encrypted:not base64!",
      "encrypted:AAAA",
      `encrypted:${payload.subarray(0, 96).toString("base64")}`,
      `encrypted:${compressedMarker.toString("base64")}`,
      `encrypted:${notAPoint.toString("base64")}`,
    ]) {
      assert.equal(
        kindOf(() => decryptValue(batch.privateKey, bad)),
        "malformed",
        bad.slice(0, 30),
      );
    }
    // The shortest payload (an empty value) is exactly 65 + 16 + 16 bytes.
    const empty = Buffer.from(batch.encrypted[1]!.slice("encrypted:".length), "base64");
    assert.equal(empty.length, 97);
    assert.equal(decryptValue(batch.privateKey, batch.encrypted[1]!).length, 0);
  });

  test("no error message carries key material, ciphertext or plaintext", () => {
    const messages: string[] = [];
    const other = createECDH("secp256k1");
    other.generateKeys();
    for (const run of [
      () => decryptValue(other.getPrivateKey(), batch.encrypted[0]!),
      () => decryptValue(batch.privateKey, "encrypted:AAAA"),
      () => decryptValue(batch.privateKey, `${batch.encrypted[0]!}AAAA`),
    ]) {
      try {
        run();
      } catch (error) {
        messages.push(String((error as Error).message));
      }
    }
    assert.equal(messages.length, 3);
    const secrets = [
      batch.privateKey.toString("hex"),
      other.getPrivateKey("hex"),
      "secret",
      batch.encrypted[0]!.slice(10, 30),
    ];
    for (const message of messages)
      for (const secret of secrets) assert.ok(!message.includes(secret), message);
  });
});

describe("the key pair a file uses, as dotenvx names it", ok, () => {
  test("derived from the file name: the names dotenvx writes", () => {
    const dir = freshDir();
    const names = [
      ".env",
      ".env.production",
      ".env.development.local",
      ".env.some.other.thing",
      ".env1",
      "secrets.txt",
      ".env.staging.txt",
      "prod.env",
      "config",
    ];
    for (const name of names) writeFileSync(join(dir, name), "V=1\n");
    dotenvx(["encrypt", ...names.flatMap((name) => ["-f", name])], dir);
    const keys = readFileSync(join(dir, ".env.keys"), "utf8");
    for (const name of names) {
      const { privateName, publicName } = keyNames(name);
      const file = readFileSync(join(dir, name), "utf8");
      assert.ok(lineValue(file, publicName), `${name}: ${publicName}`);
      const privateHex = lineValue(keys, privateName);
      assert.ok(privateHex, `${name}: ${privateName}`);
      assert.equal(
        publicKeyHex(parsePrivateKey(privateHex)!),
        lineValue(file, publicName),
        `${name}: the pair`,
      );
    }
    // Case does not matter (dotenvx lower-cases the name).
    assert.equal(keyNames("/x/.ENV.Production").privateName, "DOTENV_PRIVATE_KEY_PRODUCTION");
  });
});
