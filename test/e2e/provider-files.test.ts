/**
 * The encrypted-file stores, end to end through the built CLI, with files made by the real tools:
 * - age-file: files encrypted by the `age` CLI (binary and armored) to the identity `tessera var recipient`
 *   creates, in the three formats (dotenv, JSON, YAML), tricky values byte for byte; no identity, another
 *   identity, a damaged file, a missing file;
 * - dotenvx-file: files encrypted by dotenvx (`dotenvx set`, `dotenvx encrypt`), the private key from the
 *   environment or the keys file (keysFile:), the key name from the file name or `environment:`, plain
 *   values beside encrypted ones, wrong and missing keys, a damaged value, explain (never values), the key
 *   kept from `tessera run` children unless declared, missing optional versus required (exit 3).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createECDH } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { armor, Encrypter, generateHybridIdentity, identityToRecipient } from "age-encryption";
import fc from "fast-check";
import { project, ROOT, tessera } from "../helpers.ts";
import { requireComponent } from "../support/consumers.ts";

type Env = Record<string, string>;

/** Directories outside the projects (config, dotenvx's work), removed at the end. */
const SCRATCH = mkdtempSync(join(tmpdir(), "tessera-provider-files-"));
after(() => rmSync(SCRATCH, { recursive: true, force: true }));
let scratches = 0;
function scratch(): string {
  const dir = join(SCRATCH, `s${scratches++}`);
  mkdirSync(dir);
  return dir;
}

const json = (result: { status: number | null; stdout: string; stderr: string }) => {
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, string>;
};

/** No value (nor key) appears in anything Tessera printed. */
function assertNoLeak(result: { stdout: string; stderr: string }, secrets: readonly string[]): void {
  for (const secret of secrets) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), "a secret was printed");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// age-file

const haveAge = () =>
  spawnSync("age", ["--version"]).status === 0 && spawnSync("age-keygen", ["--version"]).status === 0;

/** Encrypt `plain` with the age CLI to `recipients` (armored with `armor`). */
function ageEncrypt(plain: string | Buffer, recipients: readonly string[], armor = false): Buffer {
  const result = spawnSync("age", [...(armor ? ["-a"] : []), ...recipients.flatMap((r) => ["-r", r])], {
    input: plain,
  });
  assert.equal(result.status, 0, result.stderr?.toString());
  return result.stdout;
}

describe("age-file", requireComponent("age", haveAge), () => {
  /** The user: an identity made by `tessera var recipient`, in a config directory every call shares. */
  const user: { env: Env; recipient: string } = { env: {}, recipient: "" };
  before(() => {
    const config = scratch();
    user.env = { XDG_CONFIG_HOME: config };
    const result = tessera(["var", "recipient", "-q"], { cwd: config, env: user.env });
    assert.equal(result.status, 0, result.stderr);
    user.recipient = result.stdout.trim();
    assert.match(user.recipient, /^age1[0-9a-z]+$/);
  });

  function setup(manifest: string, files: Record<string, string | Buffer>) {
    const dir = project({ "tessera.yaml": manifest });
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const run = (args: string[], env: Env = user.env) => tessera(args, { cwd: dir, env });
    return { dir, run };
  }

  // The dotenv text and what it holds: the dialect's quoting, but no reference is looked up.
  const DOTENV = [
    'NEWLINE="line one\\nline two"',
    "SINGLE='$HOME ${X} \"q\" \\\\ # not a comment'",
    "DOLLARS=a$$b $X ${Y:-z} $",
    'UNICODE="héllo wörld ✓ 🔑 日本"',
    "EMPTY=",
    'SPACES="  padded  "',
    "HASH=a#b # a comment",
    'MULTI="first',
    'second"',
    "export EXPORTED=yes",
    "DUP=first",
    "DUP=last",
    "",
  ].join("\n");
  const DOTENV_VALUES = {
    NEWLINE: "line one\nline two",
    SINGLE: '$HOME ${X} "q" \\\\ # not a comment',
    DOLLARS: "a$b $X ${Y:-z} $",
    UNICODE: "héllo wörld ✓ 🔑 日本",
    EMPTY: "",
    SPACES: "  padded  ",
    HASH: "a#b",
    MULTI: "first\nsecond",
    EXPORTED: "yes",
    DUP: "last",
  };
  const JSON_DOC = {
    J_TRICKY: 'tab\there "quotes" \\ $HOME ${X} $$ \r\n end',
    J_UNICODE: "ünïcødé 🔑 \u00a0 \u2028",
    J_NUMBER: 5,
    J_BOOL: false,
    J_OBJECT: { user: "u", pass: "p@ss $x" },
    J_NULL: null,
    J_JSON_STRING: '{"inner":"value"}',
  };
  const YAML_DOC = [
    "Y_DECIMAL: 1.10",
    "Y_HEX: 0x1F",
    "Y_BOOL: yes",
    'Y_QUOTED: "a\\tb $HOME ${X}"',
    "Y_SINGLE: 'it''s'",
    "Y_BLOCK: |",
    "  line one",
    "  line two",
    "Y_NULL: ~",
    "Y_EMPTY:",
    "Y_MAP: { user: u, pass: p }",
    "Y_LIST: [1, two]",
    "Y_ANCHOR: &a anchored",
    "Y_ALIAS: *a",
    "",
  ].join("\n");

  const MANIFEST = `secrets:
  optional: [${[...Object.keys(DOTENV_VALUES), ...Object.keys(JSON_DOC), "Y_DECIMAL", "Y_HEX", "Y_BOOL", "Y_QUOTED", "Y_SINGLE", "Y_BLOCK", "Y_NULL", "Y_EMPTY", "Y_MAP", "Y_LIST", "Y_ANCHOR", "Y_ALIAS", "NOT_THERE"].join(", ")}]
  required:
    - name: DB_PASS
      from: { source: json, key: J_OBJECT, property: pass }
    - name: INNER
      from: { source: json, key: J_JSON_STRING, property: inner }
    - name: MAP_USER
      from: { source: yaml, key: Y_MAP, property: user }
    - name: RENAMED
      from: { source: env, key: UNICODE }
sources:
  - { type: age-file, name: env, path: secrets/app.env.age }
  - { type: age-file, name: json, path: secrets/app.json.age }
  - { type: age-file, name: yaml, path: secrets/app.yaml.age }
`;
  const EXPECTED = {
    ...DOTENV_VALUES,
    J_TRICKY: JSON_DOC.J_TRICKY,
    J_UNICODE: JSON_DOC.J_UNICODE,
    J_NUMBER: "5",
    J_BOOL: "false",
    J_OBJECT: JSON.stringify(JSON_DOC.J_OBJECT),
    J_JSON_STRING: JSON_DOC.J_JSON_STRING,
    Y_DECIMAL: "1.10",
    Y_HEX: "0x1F",
    Y_BOOL: "yes",
    Y_QUOTED: "a\tb $HOME ${X}",
    Y_SINGLE: "it's",
    Y_BLOCK: "line one\nline two\n",
    Y_MAP: '{"user":"u","pass":"p"}',
    Y_LIST: '[1,"two"]',
    Y_ANCHOR: "anchored",
    Y_ALIAS: "anchored",
    DB_PASS: "p@ss $x",
    INNER: "value",
    MAP_USER: "u",
    RENAMED: "héllo wörld ✓ 🔑 日本",
  };

  for (const armor of [false, true]) {
    test(`three formats from \`age ${armor ? "-a " : ""}-r\`: every value byte for byte, nothing looked up`, () => {
      const { run } = setup(MANIFEST, {
        "secrets/app.env.age": ageEncrypt(DOTENV, [user.recipient], armor),
        "secrets/app.json.age": ageEncrypt(JSON.stringify(JSON_DOC), [user.recipient], armor),
        "secrets/app.yaml.age": ageEncrypt(YAML_DOC, [user.recipient], armor),
      });
      const values = json(
        run(["export", "--format", "json"], { ...user.env, HOME: "/home/someone", X: "x" }),
      );
      assert.deepEqual(values, EXPECTED);
    });
  }

  test("random values in a JSON file, byte for byte (a file for several recipients)", () => {
    const other = spawnSync("age-keygen", [], { encoding: "utf8" });
    const otherRecipient = /public key: (age1[0-9a-z]+)/.exec(other.stdout + other.stderr)?.[1];
    assert.ok(otherRecipient);
    // Any Unicode but NUL (an environment cannot hold it).
    const text = fc.string({ unit: "binary", maxLength: 60 }).filter((s) => !s.includes("\0"));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 15 }), (values) => {
        const doc = Object.fromEntries(values.map((value, index) => [`R${index}`, value]));
        const { run } = setup(
          `secrets:\n  optional: [${Object.keys(doc).join(", ")}]\nsources:\n  - { type: age-file, name: r, path: r.json.age }\n`,
          {
            "r.json.age": ageEncrypt(JSON.stringify(doc), [otherRecipient, user.recipient]),
          },
        );
        assert.deepEqual(json(run(["export", "--format", "json"])), doc);
      }),
      { numRuns: 8 },
    );
  });

  test("format: overrides the name; explain shows FILE:KEY, never a value", () => {
    const { run } = setup(
      `secrets:\n  required: [TOKEN]\n  optional: [NOT_THERE]\nsources:\n  - { type: age-file, name: vault, path: secrets.age, format: json }\n`,
      { "secrets.age": ageEncrypt(JSON.stringify({ TOKEN: "tok-3f9a-secret" }), [user.recipient]) },
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), { TOKEN: "tok-3f9a-secret" });
    const explained = run(["explain", "TOKEN", "NOT_THERE"]);
    assert.equal(explained.status, 0, explained.stderr);
    assert.match(
      explained.stdout,
      /TOKEN {2}secret, required\n {2}✓ age-file source "vault" secrets\.age:TOKEN {2}\(external store\)/,
    );
    assertNoLeak(explained, ["tok-3f9a-secret"]);
  });

  test("a missing required variable is exit 3; a missing optional one is left out", () => {
    const files = { "s.env.age": ageEncrypt("A=1\n", [user.recipient]) };
    const optional = setup(
      `secrets:\n  required: [A]\n  optional: [B]\nsources:\n  - { type: age-file, name: s, path: s.env.age }\n`,
      files,
    );
    assert.deepEqual(json(optional.run(["export", "--format", "json"])), { A: "1" });
    const required = setup(
      `secrets:\n  required: [A, B]\nsources:\n  - { type: age-file, name: s, path: s.env.age }\n`,
      files,
    );
    const result = required.run(["export", "--format", "json"]);
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /B/);
  });

  test("no identity: exit 5 with a hint; another identity: exit 5; neither shows the file", () => {
    const plain = "A=never-shown-value\n";
    const { run } = setup(
      `secrets:\n  required: [A]\nsources:\n  - { type: age-file, name: s, path: s.env.age }\n`,
      {
        "s.env.age": ageEncrypt(plain, [user.recipient]),
      },
    );
    const none = run(["export", "--format", "json"], {
      XDG_CONFIG_HOME: scratch(),
    });
    assert.equal(none.status, 5, none.stderr);
    assert.match(
      none.stderr,
      /E_SOURCE_AUTH\].*age-file source "s": you have no age identity to open s\.env\.age/,
    );
    assert.match(none.stderr, /hint: .*TESSERA_AGE_KEY.*tessera var recipient/);
    const keygen = spawnSync("age-keygen", [], { encoding: "utf8" });
    const secret = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(keygen.stdout)?.[0];
    assert.ok(secret);
    const other = run(["export", "--format", "json"], { TESSERA_AGE_KEY: secret });
    assert.equal(other.status, 5, other.stderr);
    assert.match(
      other.stderr,
      /age-file source "s": s\.env\.age is not encrypted to your age identity \(TESSERA_AGE_KEY\)/,
    );
    assertNoLeak(none, ["never-shown-value"]);
    assertNoLeak(other, ["never-shown-value", secret]);
  });

  test("a damaged file is exit 4; a missing file is exit 4 naming the path from the manifest", () => {
    const encrypted = ageEncrypt("A=never-shown-value\n", [user.recipient]);
    const damaged = Buffer.from(encrypted);
    damaged[damaged.length - 5]! ^= 0x01;
    const { dir, run } = setup(
      `secrets:\n  required: [A]\nsources:\n  - { type: age-file, name: s, path: config/s.env.age }\n`,
      {
        "config/s.env.age": damaged,
      },
    );
    const result = run(["export", "--format", "json"]);
    assert.equal(result.status, 4, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_INVALID\].*age-file source "s": config\/s\.env\.age failed authentication/,
    );
    writeFileSync(join(dir, "config/s.env.age"), "not an age file\n");
    const garbage = run(["export", "--format", "json"]);
    assert.equal(garbage.status, 4, garbage.stderr);
    assert.match(garbage.stderr, /config\/s\.env\.age is not a valid age file/);
    renameSync(join(dir, "config/s.env.age"), join(dir, "config/elsewhere.age"));
    // Run from a subdirectory too: the path is the manifest's.
    mkdirSync(join(dir, "sub"));
    const missing = tessera(["export", "--format", "json", "--manifest", "../tessera.yaml"], {
      cwd: join(dir, "sub"),
      env: user.env,
    });
    assert.equal(missing.status, 4, missing.stderr);
    assert.match(missing.stderr, /age-file source "s": config\/s\.env\.age does not exist/);
    assertNoLeak(result, ["never-shown-value"]);
  });

  test("other recipient types go through the age-encryption library: post-quantum opens, a passphrase is refused", async () => {
    const hybrid = await generateHybridIdentity();
    const pq = new Encrypter();
    pq.addRecipient(await identityToRecipient(hybrid));
    const passphrase = new Encrypter();
    passphrase.setPassphrase("correct horse");
    const { run } = setup(
      `secrets:\n  optional: [A]\nsources:\n  - { type: age-file, name: pq, path: pq.env.age }\n  - { type: age-file, name: pass, path: pass.env.age }\n`,
      {
        "pq.env.age": armor.encode(await pq.encrypt("A='post quantum $X'\n")),
        "pass.env.age": Buffer.from(await passphrase.encrypt("A=never-shown-value\n")),
      },
    );
    const keys = readFileSync(join(user.env.XDG_CONFIG_HOME!, "tessera", "age.key"), "utf8");
    const env = { TESSERA_AGE_KEY: `${keys}\n${hybrid}\n` };
    assert.deepEqual(json(run(["export", "--format", "json", "--secrets-from", "pq"], env)), {
      A: "post quantum $X",
    });
    const refused = run(["export", "--format", "json", "--secrets-from", "pass"], env);
    assert.equal(refused.status, 4, refused.stderr);
    assert.match(refused.stderr, /age-file source "pass": pass\.env\.age is encrypted with a passphrase/);
    // Without the post-quantum identity, that file is not for you.
    const locked = run(["export", "--format", "json", "--secrets-from", "pq"]);
    assert.equal(locked.status, 5, locked.stderr);
    assert.match(locked.stderr, /pq\.env\.age is not encrypted to your age identity/);
    assertNoLeak(refused, ["never-shown-value"]);
  });

  test("a decrypted file that does not parse: exit 4, located, without its text", () => {
    const { run } = setup(
      `secrets:\n  required: [A]\nsources:\n  - { type: age-file, name: s, path: s.json.age }\n  - { type: age-file, name: y, path: s.yaml.age }\n`,
      {
        "s.json.age": ageEncrypt('{"A": "never-shown-value",', [user.recipient]),
        "s.yaml.age": ageEncrypt("A: [never-shown-value\n", [user.recipient]),
      },
    );
    const result = run(["export", "--format", "json"]);
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /s\.json\.age does not hold valid JSON once decrypted/);
    assertNoLeak(result, ["never-shown-value"]);
    const yaml = run(["export", "--format", "json", "--secrets-from", "y"]);
    assert.equal(yaml.status, 4, yaml.stderr);
    assert.match(yaml.stderr, /s\.yaml\.age line \d+:\d+: invalid YAML once decrypted/);
    assertNoLeak(yaml, ["never-shown-value"]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// dotenvx-file

const DOTENVX = join(ROOT, "node_modules", "@dotenvx", "dotenvx", "src", "cli", "dotenvx.js");

/** dotenvx on its own: keys in .env.keys (no OS keychain, no Armor service), its config inside `dir`. */
const dotenvxEnv = (dir: string) => ({
  PATH: process.env.PATH ?? "",
  HOME: dir,
  DOTENVX_CONFIG: join(dir, ".dotenvx"),
  DOTENVX_NO_ARMOR: "true",
  DOTENVX_NO_NATIVE: "true",
});

function dotenvx(args: readonly string[], dir: string): string {
  const result = spawnSync(process.execPath, [DOTENVX, ...args], {
    cwd: dir,
    env: dotenvxEnv(dir),
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `dotenvx ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}
const haveDotenvx = () => {
  try {
    const dir = scratch();
    return (
      spawnSync(process.execPath, [DOTENVX, "--version"], { cwd: dir, env: dotenvxEnv(dir) }).status === 0
    );
  } catch {
    return false;
  }
};

/** NAME=value of a dotenv file dotenvx wrote (a key). */
const keyIn = (text: string, name: string) => new RegExp(`^${name}=([0-9a-f]{64})$`, "m").exec(text)?.[1];

describe("dotenvx-file", requireComponent("dotenvx", haveDotenvx), () => {
  const TRICKY = {
    API_TOKEN: "tok$en \"x\" 'y' `z` \\ ${HOME}",
    MULTILINE: "line one\nline two\r\n",
    UNICODE: "héllo ✓ 🔑 日本",
    EMPTY: "",
    DB: '{"user":"u","pass":"p@ss"}',
  };
  /** One file for the whole suite (dotenvx is slow to start): .env.production with a plain value too. */
  const made = { dir: "", privateKey: "" };
  before(() => {
    const dir = scratch();
    writeFileSync(
      join(dir, ".env.production"),
      "# plain, written by hand\nPLAIN_URL=https://example.test/${PATH_PART} $$x\n",
    );
    for (const [name, value] of Object.entries(TRICKY))
      dotenvx(["set", name, value, "-f", ".env.production"], dir);
    const keys = readFileSync(join(dir, ".env.keys"), "utf8");
    made.dir = dir;
    made.privateKey = keyIn(keys, "DOTENV_PRIVATE_KEY_PRODUCTION") ?? "";
    assert.match(made.privateKey, /^[0-9a-f]{64}$/);
    assert.match(readFileSync(join(dir, ".env.production"), "utf8"), /^API_TOKEN="encrypted:/m);
  });

  /** A project with the suite's encrypted file (and, unless `keys` is false, its .env.keys). */
  function setup(manifest: string, options: { keys?: boolean; files?: Record<string, string> } = {}) {
    const files: Record<string, string> = {
      "tessera.yaml": manifest,
      ".env.production": readFileSync(join(made.dir, ".env.production"), "utf8"),
      ...options.files,
    };
    if (options.keys !== false) files[".env.keys"] = readFileSync(join(made.dir, ".env.keys"), "utf8");
    const dir = project(files);
    const run = (args: string[], env: Env = {}) => tessera(args, { cwd: dir, env });
    return { dir, run };
  }

  const MANIFEST = `secrets:
  required:
    - API_TOKEN
    - MULTILINE
    - name: DB_PASS
      from: { source: prod, key: DB, property: pass }
  optional: [UNICODE, EMPTY, PLAIN_URL, NOT_THERE]
sources:
  - { type: dotenvx-file, name: prod, path: .env.production }
`;
  const EXPECTED = {
    API_TOKEN: TRICKY.API_TOKEN,
    MULTILINE: TRICKY.MULTILINE,
    DB_PASS: "p@ss",
    UNICODE: TRICKY.UNICODE,
    EMPTY: "",
    PLAIN_URL: "https://example.test/${PATH_PART} $x",
  };

  test("values from .env.keys, byte for byte; plain values as written, nothing looked up", () => {
    const { run } = setup(MANIFEST);
    assert.deepEqual(json(run(["export", "--format", "json"], { HOME: "/h", PATH_PART: "p" })), EXPECTED);
  });

  test('explain shows dotenvx-file source "NAME" FILE:KEY, never a value', () => {
    const { run } = setup(MANIFEST);
    const result = run(["explain"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /API_TOKEN {2}secret, required\n {2}✓ dotenvx-file source "prod" \.env\.production:API_TOKEN {2}\(external store\)/,
    );
    assert.match(
      result.stdout,
      /DB_PASS {2}secret, required\n {2}✓ dotenvx-file source "prod" \.env\.production:DB#pass {2}\(external store\)/,
    );
    assertNoLeak(result, ["tok$en", "line one", "héllo", "p@ss", "example.test", made.privateKey]);
  });

  test("the private key from the environment; it is not passed to a `tessera run` child unless declared", () => {
    const { dir, run } = setup(MANIFEST, { keys: false });
    const env = {
      DOTENV_PRIVATE_KEY_PRODUCTION: made.privateKey,
      DOTENV_PRIVATE_KEY_OTHER: "x",
      KEPT: "kept",
    };
    // The child writes its environment to a file: what it prints is masked by `tessera run`.
    const childEnv = (dir: string, runIt: typeof run) => {
      const out = join(dir, "child-env.json");
      const script = `require("fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.env))`;
      const result = runIt(["run", "--", process.execPath, "-e", script], env);
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    };
    const child = childEnv(dir, run);
    assert.equal(child.API_TOKEN, TRICKY.API_TOKEN);
    assert.equal(child.MULTILINE, TRICKY.MULTILINE);
    assert.equal(child.DOTENV_PRIVATE_KEY_PRODUCTION, undefined);
    assert.equal(child.DOTENV_PRIVATE_KEY_OTHER, undefined);
    assert.equal(child.KEPT, "kept");
    const declared = setup(MANIFEST.replace("optional: [", "optional: [DOTENV_PRIVATE_KEY_PRODUCTION, "), {
      keys: false,
    });
    const passed = childEnv(declared.dir, declared.run);
    assert.equal(passed.DOTENV_PRIVATE_KEY_PRODUCTION, made.privateKey);
    assert.equal(passed.API_TOKEN, TRICKY.API_TOKEN);
  });

  test("keysFile: a keys file elsewhere (relative to the manifest); the environment wins over it", () => {
    const keys = readFileSync(join(made.dir, ".env.keys"), "utf8");
    const { run } = setup(
      MANIFEST.replace("path: .env.production }", "path: .env.production, keysFile: keys/prod.keys }"),
      {
        keys: false,
        files: {
          "keys/prod.keys": keys,
          ".env.keys": "DOTENV_PRIVATE_KEY_PRODUCTION=" + "1".repeat(64) + "\n",
        },
      },
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), EXPECTED);
    const wrong = run(["export", "--format", "json"], { DOTENV_PRIVATE_KEY_PRODUCTION: "2".repeat(64) });
    assert.equal(wrong.status, 5, wrong.stderr);
    assert.match(wrong.stderr, /DOTENV_PRIVATE_KEY_PRODUCTION \(from the environment\) cannot decrypt/);
  });

  test("environment: names the key of a renamed file; without it the name comes from the file name", () => {
    const text = readFileSync(join(made.dir, ".env.production"), "utf8");
    const env = { DOTENV_PRIVATE_KEY_PRODUCTION: made.privateKey };
    const source = (extra: string) =>
      `secrets:\n  required: [API_TOKEN]\nsources:\n  - { type: dotenvx-file, name: prod, path: deploy/prod.env${extra} }\n`;
    const withSetting = setup(source(", environment: production"), {
      keys: false,
      files: { "deploy/prod.env": text },
    });
    assert.deepEqual(json(withSetting.run(["export", "--format", "json"], env)), {
      API_TOKEN: TRICKY.API_TOKEN,
    });
    // dotenvx would name prod.env's key DOTENV_PRIVATE_KEY_PRODDEVELOPMENT (".env" → "development").
    const derived = setup(source(""), { keys: false, files: { "deploy/prod.env": text } });
    const result = derived.run(["export", "--format", "json"], env);
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_AUTH\].*dotenvx-file source "prod": no private key to decrypt deploy\/prod\.env: DOTENV_PRIVATE_KEY_PRODDEVELOPMENT is set neither in the environment nor in deploy\/\.env\.keys, which does not exist/,
    );
    assert.match(result.stderr, /hint: set DOTENV_PRIVATE_KEY_PRODDEVELOPMENT/);
  });

  test("names derived as dotenvx does: .env, .env.development.local (files made by `dotenvx encrypt`)", () => {
    const dir = scratch();
    writeFileSync(join(dir, ".env"), "BASE='base value'\n");
    writeFileSync(join(dir, ".env.development.local"), 'LOCAL="local\\nvalue"\n');
    dotenvx(["encrypt", "-f", ".env", "-f", ".env.development.local"], dir);
    const keys = readFileSync(join(dir, ".env.keys"), "utf8");
    // In a directory of their own: a .env beside the manifest is also Tessera's own (plain) .env layer.
    const manifest = `secrets:\n  required: [BASE, LOCAL]\nsources:\n  - { type: dotenvx-file, name: base, path: secrets/.env }\n  - { type: dotenvx-file, name: local, path: secrets/.env.development.local }\n`;
    const files = {
      "secrets/.env": readFileSync(join(dir, ".env"), "utf8"),
      "secrets/.env.development.local": readFileSync(join(dir, ".env.development.local"), "utf8"),
    };
    assert.match(files["secrets/.env"], /^BASE='encrypted:/m);
    const { run } = setup(manifest, { keys: false, files });
    const env = {
      DOTENV_PRIVATE_KEY: keyIn(keys, "DOTENV_PRIVATE_KEY") ?? "",
      DOTENV_PRIVATE_KEY_DEVELOPMENT_LOCAL: keyIn(keys, "DOTENV_PRIVATE_KEY_DEVELOPMENT_LOCAL") ?? "",
    };
    assert.deepEqual(json(run(["export", "--format", "json"], env)), {
      BASE: "base value",
      LOCAL: "local\nvalue",
    });
  });

  test("no key: exit 5 naming the variables looked for; a wrong key: exit 5 naming the variable, not the value", () => {
    const { run } = setup(MANIFEST, { keys: false });
    const none = run(["export", "--format", "json"]);
    assert.equal(none.status, 5, none.stderr);
    assert.match(
      none.stderr,
      /no private key to decrypt \.env\.production: DOTENV_PRIVATE_KEY_PRODUCTION is set neither in the environment nor in \.env\.keys/,
    );
    const other = createOtherKey();
    const wrong = run(["export", "--format", "json"], { DOTENV_PRIVATE_KEY_PRODUCTION: other });
    assert.equal(wrong.status, 5, wrong.stderr);
    assert.match(
      wrong.stderr,
      /E_SOURCE_AUTH\].*dotenvx-file source "prod": DOTENV_PRIVATE_KEY_PRODUCTION \(from the environment\) cannot decrypt (API_TOKEN|MULTILINE|DB) in \.env\.production/,
    );
    assert.match(wrong.stderr, /hint: it is not the private key of DOTENV_PUBLIC_KEY_PRODUCTION/);
    const invalid = run(["export", "--format", "json"], { DOTENV_PRIVATE_KEY_PRODUCTION: "not-a-key" });
    assert.equal(invalid.status, 5, invalid.stderr);
    assert.match(
      invalid.stderr,
      /DOTENV_PRIVATE_KEY_PRODUCTION \(from the environment\) is not a secp256k1 private key/,
    );
    for (const result of [none, wrong, invalid])
      assertNoLeak(result, [other, made.privateKey, "tok$en", "p@ss", "not-a-key"]);
    // Several keys, comma-separated (as dotenvx allows): the one that opens it is used.
    const many = run(["export", "--format", "json"], {
      DOTENV_PRIVATE_KEY_PRODUCTION: `${other},${made.privateKey}`,
    });
    assert.deepEqual(json(many), EXPECTED);
  });

  test("a damaged value (the right key) is exit 4; no key is needed when nothing asked for is encrypted", () => {
    const text = readFileSync(join(made.dir, ".env.production"), "utf8");
    // One base64 character changed well inside the payload (past the ephemeral key, in nonce, tag or text).
    const damaged = text.replace(
      /^(API_TOKEN="encrypted:.{100})(.)/m,
      (_, head: string, c: string) => head + (c === "A" ? "B" : "A"),
    );
    assert.notEqual(damaged, text);
    const { run } = setup(MANIFEST, { files: { ".env.production": damaged } });
    const result = run(["export", "--format", "json"]);
    assert.equal(result.status, 4, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_INVALID\].*the encrypted value of API_TOKEN in \.env\.production failed authentication/,
    );
    const plainOnly = setup(
      `secrets:\n  required: [PLAIN_URL]\n  optional: [NOT_THERE]\nsources:\n  - { type: dotenvx-file, name: prod, path: .env.production }\n`,
      {
        keys: false,
      },
    );
    assert.deepEqual(json(plainOnly.run(["export", "--format", "json"])), { PLAIN_URL: EXPECTED.PLAIN_URL });
  });

  test("missing optional is left out; missing required is exit 3; a missing file is exit 4", () => {
    const { run } = setup(
      `secrets:\n  required: [API_TOKEN]\n  optional: [NOT_THERE]\nsources:\n  - { type: dotenvx-file, name: prod, path: .env.production }\n`,
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), { API_TOKEN: TRICKY.API_TOKEN });
    const required = setup(
      `secrets:\n  required: [API_TOKEN, NOT_THERE]\nsources:\n  - { type: dotenvx-file, name: prod, path: .env.production }\n`,
    );
    const result = required.run(["export", "--format", "json"]);
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /NOT_THERE/);
    const missing = setup(
      `secrets:\n  required: [API_TOKEN]\nsources:\n  - { type: dotenvx-file, name: prod, path: .env.staging }\n`,
    );
    const gone = missing.run(["export", "--format", "json"]);
    assert.equal(gone.status, 4, gone.stderr);
    assert.match(
      gone.stderr,
      /E_SOURCE_INVALID\].*dotenvx-file source "prod": \.env\.staging does not exist/,
    );
  });
});

/** A valid secp256k1 private key that is not the suite's. */
function createOtherKey(): string {
  const ecdh = createECDH("secp256k1");
  ecdh.generateKeys();
  return ecdh.getPrivateKey("hex").padStart(64, "0");
}
