/**
 * The stores read through a command-line tool, end to end through the built CLI:
 *
 * - 1password: a fake `op` (test/fixtures/fake-op/op.mjs, the JSON shapes of 1Password CLI 2.x) on PATH,
 *   which records each call: `op item get … --format json` once per item, `op read --no-newline` once per
 *   distinct op:// reference, the failure classes, a hanging op and `timeout:`;
 * - pass: the real pass and GnuPG with a throwaway keyring (a key without passphrase made here) and a
 *   throwaway store, multi-line entries and `key: value` lines, a missing key, a locked key;
 * - keepassxc: the real keepassxc-cli with throwaway databases (db-create, add, edit; import for custom
 *   attributes; one opened by a key file alone), wrong passwords and key files.
 *
 * For each: values byte for byte, from: key and property, missing optional vs required (exit 3, the
 * source in "looked in"), failures → E_SOURCE_* (exit 5, or 4 for configuration) with messages that hold
 * no secret or password, explain showing paths and never values, and the store's credential variable
 * kept from a `tessera run` child unless declared. pass and keepassxc-cli are Debian packages (pass,
 * gnupg, keepassxc): without them those tests are skipped, and fail in CI.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { project, type Result, ROOT, tessera } from "../helpers.ts";
import { requireComponent } from "../support/consumers.ts";
import { assertNoValues, parseJson } from "./cli-support.ts";

/** A value that trips up quoting: spaces at both ends, quotes, $ references that must stay literal, unicode. */
const TRICKY = `  "dq" 'sq' $X \${Y} \`cmd\` back\\slash ünïcödé 🔑 a=b;c  `;

const PRINT_ENV = [process.execPath, "-e", "process.stdout.write(JSON.stringify(process.env))"];

function values(result: Result): Record<string, string> {
  assert.equal(result.status, 0, result.stderr);
  return parseJson<Record<string, string>>(result.stdout);
}

/** `looked in:` of a missing required variable names the store. */
function assertMissing(result: Result, name: string, store: string): void {
  assert.equal(result.status, 3, result.stderr);
  assert.match(result.stderr, /E_MISSING_REQUIRED/);
  const at = result.stderr.indexOf(`\n  ${name}\n`);
  assert.ok(at >= 0, `${name} is not named:\n${result.stderr}`);
  const lookedIn = result.stderr.slice(at).split("\n")[2] ?? "";
  assert.match(lookedIn, /looked in: /);
  assert.ok(lookedIn.includes(store), `"looked in" of ${name} does not name ${store}:\n${result.stderr}`);
}

function assertFailure(
  result: Result,
  code: string,
  status: number,
  pattern: RegExp,
  secrets: string[],
): void {
  assert.equal(result.status, status, result.stderr);
  assert.match(result.stderr, new RegExp(`error\\[${code}\\]`));
  assert.match(result.stderr, pattern);
  assertNoValues([result.stdout, result.stderr], secrets);
}

const quote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`;

/** A directory for PATH holding one executable `name`: a script that runs `command` and its own arguments. */
function binWith(dir: string, name: string, command: string[], prelude = ""): string {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, name), `#!/bin/sh\n${prelude}exec ${command.map(quote).join(" ")} "$@"\n`);
  chmodSync(join(bin, name), 0o755);
  return bin;
}

/** An empty directory: a PATH without the tool. */
function emptyBin(): string {
  return join(project({ bin: null }), "bin");
}

function sh(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string },
) {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    input: options.input ?? "",
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `${command} ${args.join(" ")}: ${result.stderr}${result.error ?? ""}`);
  return result.stdout;
}

function works(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore", timeout: 30_000 }).status === 0;
}

// ---------------------------------------------------------------------------------------------------------------
// 1password, through a fake op

const FAKE_OP = join(ROOT, "test", "fixtures", "fake-op", "op.mjs");
const OP_TOKEN = "fake-op-service-account-token-7731";
const MULTI_LINE = "line one\n  line two\n";

const OP_WORLD = {
  token: OP_TOKEN,
  accounts: ["team.1password.com"],
  vaults: {
    Private: [
      {
        title: "app-secrets",
        category: "SECURE_NOTE",
        sections: [{ id: "s1", label: "db" }],
        fields: [
          { id: "notesPlain", type: "STRING", purpose: "NOTES", label: "notesPlain" },
          {
            id: "f1",
            type: "CONCEALED",
            label: "DB_PASSWORD",
            value: TRICKY,
            section: { id: "s1", label: "db" },
          },
          { id: "API_TOKEN", type: "CONCEALED", label: "api token", value: "fake-api-token-by-id" },
          { id: "f3", type: "STRING", label: "MULTI", value: MULTI_LINE },
          { id: "f4", type: "STRING", label: "EMPTY_FIELD" },
        ],
      },
      {
        title: "db-admin",
        category: "LOGIN",
        fields: [
          { id: "username", type: "STRING", purpose: "USERNAME", label: "username", value: "fake-admin" },
          {
            id: "password",
            type: "CONCEALED",
            purpose: "PASSWORD",
            label: "password",
            value: "fake-admin-pass",
          },
        ],
      },
      {
        title: "stripe",
        category: "API_CREDENTIAL",
        fields: [{ id: "credential", type: "CONCEALED", label: "credential", value: "fake-stripe-key" }],
      },
    ],
    Shared: [
      {
        title: "db-admin",
        category: "LOGIN",
        fields: [
          { id: "password", type: "CONCEALED", purpose: "PASSWORD", label: "password", value: "other" },
        ],
      },
    ],
  },
};

const OP_SECRETS = [
  OP_TOKEN,
  TRICKY.trim(),
  "fake-api-token-by-id",
  "fake-admin-pass",
  "fake-stripe-key",
  "line one",
];

const ITEM_MANIFEST = `sources:
  - { type: 1password, name: op, vault: Private, item: app-secrets, account: team.1password.com }
secrets:
  required:
    - DB_PASSWORD
    - API_TOKEN
    - MULTI
    - name: ADMIN_USER
      from: { source: op, key: db-admin, property: username }
    - name: ADMIN_PASS
      from: { source: op, key: "op://Private/db-admin/password" }
    - name: SECTIONED
      from: { source: op, key: "op://Private/app-secrets/db/DB_PASSWORD" }
  optional:
    - EMPTY_FIELD
    - NOT_IN_ITEM
    - name: ADMIN_PASS_AGAIN
      from: { source: op, key: "op://Private/db-admin/password" }
`;

interface OpCall {
  argv: string[];
  pid: number;
  token: boolean;
}

function opProject(manifest: string, world: object = OP_WORLD) {
  const dir = project({ "tessera.yaml": manifest, "op-world.json": JSON.stringify(world) });
  // The wrapper notes its pid (the fake's, after exec) before Node starts: every spawn is seen at once,
  // even one stopped before the fake could start.
  const started = join(dir, "op-started.log");
  const bin = binWith(dir, "op", [process.execPath, FAKE_OP], `echo $$ >> ${quote(started)}\n`);
  const log = join(dir, "op.log");
  const run = (args: string[], env: Record<string, string | undefined> = {}) =>
    tessera(args, {
      cwd: dir,
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        FAKE_OP_DATA: join(dir, "op-world.json"),
        FAKE_OP_LOG: log,
        OP_SERVICE_ACCOUNT_TOKEN: OP_TOKEN,
        ...env,
      },
    });
  const calls = (): OpCall[] =>
    existsSync(log)
      ? readFileSync(log, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as OpCall)
      : [];
  const spawned = (): number[] =>
    existsSync(started)
      ? readFileSync(started, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => Number(line))
      : [];
  return { dir, run, calls, spawned };
}

const sorted = (calls: OpCall[]) => calls.map((call) => call.argv.join(" ")).sort();

describe("1password: values", () => {
  test("an item's fields by label (then id), another item's field, op:// references: byte for byte, each read once", () => {
    const { run, calls } = opProject(ITEM_MANIFEST);
    const got = values(run(["export", "--format", "json"]));
    assert.deepEqual(got, {
      DB_PASSWORD: TRICKY,
      API_TOKEN: "fake-api-token-by-id",
      MULTI: MULTI_LINE,
      ADMIN_USER: "fake-admin",
      ADMIN_PASS: "fake-admin-pass",
      SECTIONED: TRICKY,
      EMPTY_FIELD: "",
      ADMIN_PASS_AGAIN: "fake-admin-pass",
    });
    const account = "--account team.1password.com";
    assert.deepEqual(sorted(calls()), [
      `item get --vault Private ${account} --format json -- app-secrets`,
      `item get --vault Private ${account} --format json -- db-admin`,
      `read --no-newline ${account} -- op://Private/app-secrets/db/DB_PASSWORD`,
      `read --no-newline ${account} -- op://Private/db-admin/password`,
    ]);
    assert.ok(
      calls().every((call) => call.token),
      "op gets OP_SERVICE_ACCOUNT_TOKEN",
    );
  });

  test("the child of tessera run gets the values exactly", () => {
    const { run } = opProject(ITEM_MANIFEST);
    const env = values(run(["run", "--no-mask", "--", ...PRINT_ENV]));
    assert.equal(env.DB_PASSWORD, TRICKY);
    assert.equal(env.MULTI, MULTI_LINE);
    assert.equal(env.EMPTY_FIELD, "");
    assert.ok(!("NOT_IN_ITEM" in env));
  });

  test("without item: searched names ask nothing; from: an item's password or credential, or a field", () => {
    const { run, calls } = opProject(`sources:
  - { type: 1password, name: op, vault: Private }
secrets:
  required:
    - name: ADMIN_PASS
      from: { source: op, key: db-admin }
    - name: ADMIN_USER
      from: { source: op, key: db-admin, property: username }
    - name: STRIPE_KEY
      from: { source: op, key: stripe }
  optional: [SEARCHED]
`);
    assert.deepEqual(values(run(["export", "--format", "json"])), {
      ADMIN_PASS: "fake-admin-pass",
      ADMIN_USER: "fake-admin",
      STRIPE_KEY: "fake-stripe-key",
    });
    assert.deepEqual(sorted(calls()), [
      "item get --vault Private --format json -- db-admin",
      "item get --vault Private --format json -- stripe",
    ]);
    const explain = run(["explain"]);
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /1password source "op" Private\/db-admin\/password/);
    assert.match(explain.stdout, /1password source "op" Private\/stripe\/credential/);
  });

  test("explain shows where each value is (vault/item/field, op:// references), never a value", () => {
    const { run } = opProject(ITEM_MANIFEST);
    const result = run(["explain"]);
    assert.equal(result.status, 0, result.stderr);
    for (const where of [
      "Private/app-secrets/DB_PASSWORD",
      "Private/app-secrets/API_TOKEN",
      "Private/db-admin/username",
      "op://Private/db-admin/password",
      "op://Private/app-secrets/db/DB_PASSWORD",
    ]) {
      assert.ok(result.stdout.includes(`1password source "op" ${where}`), `${where} in:\n${result.stdout}`);
    }
    assertNoValues([result.stdout, result.stderr], OP_SECRETS);
  });
});

describe("1password: missing values", () => {
  test("an optional name not in the item is left out; a required one is missing (exit 3), naming the store", () => {
    const { run } = opProject(`sources:
  - { type: 1password, name: op, vault: Private, item: app-secrets }
secrets:
  required:
    - DB_PASSWORD
    - NOT_THERE
    - name: GHOST
      from: { source: op, key: ghost-item, property: password }
    - name: NO_FIELD
      from: { source: op, key: db-admin, property: nope }
    - name: NO_REF
      from: { source: op, key: "op://Private/db-admin/nope" }
    - name: ODD_NAME
      from: { source: op, key: "no permission, not signed in", property: password }
  optional: [ALSO_NOT_THERE]
`);
    const result = run(["export", "--format", "json"]);
    // ODD_NAME: the names op echoes in its messages are not read as the cause.
    for (const name of ["NOT_THERE", "GHOST", "NO_FIELD", "NO_REF", "ODD_NAME"]) {
      assertMissing(result, name, '1password source "op"');
    }
    assert.ok(!result.stderr.includes("ALSO_NOT_THERE"));
    assertNoValues([result.stdout, result.stderr], OP_SECRETS);
  });
});

describe("1password: failures", () => {
  const one = `sources:
  - { type: 1password, name: op, vault: Private, item: app-secrets }
secrets:
  required: [DB_PASSWORD]
`;

  test("not signed in (no token, or a token op refuses): E_SOURCE_AUTH, exit 5, no token in the message", () => {
    const { run } = opProject(one);
    for (const token of [undefined, "wrong-fake-op-token-555"]) {
      const result = run(["export"], { OP_SERVICE_ACCOUNT_TOKEN: token });
      assertFailure(result, "E_SOURCE_AUTH", 5, /1password source "op": op is not signed in/, [
        ...OP_SECRETS,
        "wrong-fake-op-token-555",
      ]);
      assert.match(result.stderr, /hint: .*OP_SERVICE_ACCOUNT_TOKEN/);
    }
  });

  test("access refused: E_SOURCE_DENIED, exit 5", () => {
    const { run } = opProject(one, { ...OP_WORLD, mode: "denied" });
    assertFailure(
      run(["export"]),
      "E_SOURCE_DENIED",
      5,
      /1password source "op": op was refused access to the item app-secrets/,
      OP_SECRETS,
    );
  });

  test("1Password unreachable: retried, then E_SOURCE_UNREACHABLE, exit 5", () => {
    const { run, calls } = opProject(one, { ...OP_WORLD, mode: "network" });
    assertFailure(
      run(["export"]),
      "E_SOURCE_UNREACHABLE",
      5,
      /1password source "op": op could not reach 1Password/,
      OP_SECRETS,
    );
    assert.equal(calls().length, 3, "three attempts");
  });

  test("op failing with a value in its message: E_SOURCE_FAILED, exit 5, its message never shown", () => {
    const { run, calls } = opProject(one, { ...OP_WORLD, mode: "noisy" });
    const result = run(["export"]);
    assertFailure(
      result,
      "E_SOURCE_FAILED",
      5,
      /1password source "op": op item get app-secrets --vault Private exited with status 2/,
      OP_SECRETS,
    );
    assert.ok(!result.stderr.includes("unexpected response"));
    assert.equal(calls().length, 1, "not retried");
  });

  test("configuration: unknown account, vault or item, an ambiguous item, a property on a reference: E_SOURCE_INVALID, exit 4", () => {
    const cases: [string, RegExp][] = [
      [
        "{ type: 1password, name: op, vault: Private, item: app-secrets, account: nobody.example }",
        /op does not know the account nobody\.example/,
      ],
      ["{ type: 1password, name: op, vault: Nope, item: app-secrets }", /the vault Nope was not found/],
      [
        "{ type: 1password, name: op, vault: Private, item: missing-item }",
        /the item missing-item was not found in the vault Private/,
      ],
      ["{ type: 1password, name: op, item: db-admin }", /more than one item matches the item db-admin/],
    ];
    for (const [source, message] of cases) {
      const { run } = opProject(`sources:\n  - ${source}\nsecrets:\n  required: [DB_PASSWORD]\n`);
      assertFailure(run(["export"]), "E_SOURCE_INVALID", 4, message, OP_SECRETS);
    }
    const { run } = opProject(`sources:
  - { type: 1password, name: op }
secrets:
  required:
    - name: A
      from: { source: op, key: "op://Private/db-admin/password", property: username }
`);
    assertFailure(
      run(["export"]),
      "E_SOURCE_INVALID",
      4,
      /the reference op:\/\/Private\/db-admin\/password takes no property/,
      OP_SECRETS,
    );
  });

  test("op not installed: E_SOURCE_FAILED, exit 5", () => {
    const { run } = opProject(one);
    assertFailure(
      run(["export"], { PATH: emptyBin() }),
      "E_SOURCE_FAILED",
      5,
      /the 1Password CLI \(op\) was not found/,
      [],
    );
  });

  test("timeout: is honoured: a hanging op is stopped, retried, then E_SOURCE_UNREACHABLE", async () => {
    const { run, spawned } = opProject(
      `sources:
  - { type: 1password, name: op, vault: Private, item: app-secrets, timeout: 1s }
secrets:
  required: [DB_PASSWORD]
`,
      { ...OP_WORLD, mode: "hang" },
    );
    const started = Date.now();
    const result = run(["export"]);
    const elapsed = Date.now() - started;
    assertFailure(
      result,
      "E_SOURCE_UNREACHABLE",
      5,
      /1password source "op": no answer within 1000 ms/,
      OP_SECRETS,
    );
    // Three timeouts at least; the upper bound only catches a hang.
    assert.ok(elapsed >= 3000 && elapsed < 25_000, `took ${elapsed} ms`);
    // Counted by the wrapper, which notes each spawn before Node starts.
    const pids = spawned();
    assert.equal(pids.length, 3, "three attempts");
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let wait = 0; wait < 300 && pids.some(alive); wait++)
      await new Promise((done) => setTimeout(done, 100));
    assert.deepEqual(pids.filter(alive), [], "every hanging op was stopped");
  });
});

describe("1password: credentials", () => {
  test("OP_SERVICE_ACCOUNT_TOKEN reaches op but not the child of tessera run, unless declared", () => {
    const { run, calls } = opProject(ITEM_MANIFEST);
    const env = values(run(["run", "--no-mask", "--", ...PRINT_ENV]));
    assert.ok(!("OP_SERVICE_ACCOUNT_TOKEN" in env));
    assert.equal(env.ADMIN_PASS, "fake-admin-pass");
    assert.ok(calls().every((call) => call.token));

    const declared = opProject(`${ITEM_MANIFEST}    - OP_SERVICE_ACCOUNT_TOKEN\n`);
    const withToken = values(declared.run(["run", "--no-mask", "--", ...PRINT_ENV]));
    assert.equal(withToken.OP_SERVICE_ACCOUNT_TOKEN, OP_TOKEN);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// pass, with GnuPG and a throwaway keyring

const havePass = () =>
  works("pass", ["version"]) && works("gpg", ["--version"]) && works("gpgconf", ["--version"]);

const PASS_ENTRIES: Record<string, string> = {
  "app/API_KEY": `${TRICKY}\n`,
  "team/db/password":
    "p@ss=w0rd;\\x \nlogin: alice\nLogin: BOB\nurl:https://db.example:5432/app?ssl=1\nnote:   spaced  \n",
  "app/EMPTY_FIRST": "\nuser: someone\n",
  "app/CRLF": "fake-crlf-value\r\nx: y\r\n",
  "app/NO_EOL": "fake-no-newline",
  "app/UNICODE": "ключ-🔐-鍵\n",
};

const PASS_SECRETS = [TRICKY.trim(), "p@ss=w0rd", "fake-crlf-value", "fake-no-newline", "ключ"];

const PASS_MANIFEST = `sources:
  - { type: pass, name: pw, prefix: app, storeDir: store }
secrets:
  required:
    - API_KEY
    - UNICODE
    - name: DB_PASSWORD
      from: { source: pw, key: team/db/password }
    - name: DB_USER
      from: { source: pw, key: team/db/password, property: login }
    - name: DB_USER_UPPER
      from: { source: pw, key: team/db/password, property: Login }
    - name: DB_URL
      from: { source: pw, key: team/db/password, property: url }
    - name: DB_NOTE
      from: { source: pw, key: team/db/password, property: note }
  optional: [ABSENT, EMPTY_FIRST, CRLF, NO_EOL]
`;

describe("pass", requireComponent("pass", havePass), () => {
  const homes: string[] = [];
  let gnupg = "";
  let dir = "";
  let bin = "";
  let calls = "";

  /** A GnuPG home in a short path (gpg-agent's socket path is limited), with a key made in batch mode. */
  function gnupgHome(name: string, passphrase?: string): string {
    const home = mkdtempSync(join(tmpdir(), "tessera-gpg-"));
    chmodSync(home, 0o700);
    homes.push(home);
    const params = [
      ...(passphrase === undefined ? ["%no-protection"] : []),
      "Key-Type: EDDSA",
      ...(passphrase === undefined ? [] : [`Passphrase: ${passphrase}`]),
      "Key-Curve: ed25519",
      "Subkey-Type: ECDH",
      "Subkey-Curve: cv25519",
      `Name-Real: ${name}`,
      `Name-Email: ${name}@tessera.invalid`,
      "Expire-Date: 0",
      "%commit",
      "",
    ].join("\n");
    sh("gpg", ["--batch", "--pinentry-mode", "loopback", "--gen-key"], {
      env: { GNUPGHOME: home },
      input: params,
    });
    return home;
  }

  function passStore(home: string, store: string, id: string, entries: Record<string, string>): void {
    const env = { GNUPGHOME: home, PASSWORD_STORE_DIR: store };
    sh("pass", ["init", `${id}@tessera.invalid`], { env });
    for (const [entry, content] of Object.entries(entries))
      sh("pass", ["insert", "-m", "-f", entry], { env, input: content });
  }

  before(() => {
    if (!havePass()) return;
    gnupg = gnupgHome("tessera-test");
    dir = project({ "tessera.yaml": PASS_MANIFEST });
    passStore(gnupg, join(dir, "store"), "tessera-test", PASS_ENTRIES);
    // pass on PATH through a wrapper that records each call.
    calls = join(dir, "pass-calls.log");
    const real = sh("sh", ["-c", "command -v pass"], {}).trim();
    bin = binWith(dir, "pass", [real], `echo "$*" >> ${quote(calls)}\n`);
  });

  after(() => {
    for (const home of homes) {
      spawnSync("gpgconf", ["--kill", "all"], { env: { ...process.env, GNUPGHOME: home }, stdio: "ignore" });
      rmSync(home, { recursive: true, force: true });
    }
  });

  const run = (args: string[], env: Record<string, string | undefined> = {}, cwd = dir) =>
    tessera(args, { cwd, env: { GNUPGHOME: gnupg, PATH: `${bin}:${process.env.PATH}`, ...env } });

  test("first lines and key: value lines, byte for byte; each entry decrypted once; no entry, no call", () => {
    rmSync(calls, { force: true });
    assert.deepEqual(values(run(["export", "--format", "json"])), {
      API_KEY: TRICKY,
      UNICODE: "ключ-🔐-鍵",
      DB_PASSWORD: "p@ss=w0rd;\\x ",
      DB_USER: "alice",
      DB_USER_UPPER: "BOB",
      DB_URL: "https://db.example:5432/app?ssl=1",
      DB_NOTE: "spaced  ",
      EMPTY_FIRST: "",
      CRLF: "fake-crlf-value",
      NO_EOL: "fake-no-newline",
    });
    assert.deepEqual(readFileSync(calls, "utf8").split("\n").filter(Boolean).sort(), [
      "show -- app/API_KEY",
      "show -- app/CRLF",
      "show -- app/EMPTY_FIRST",
      "show -- app/NO_EOL",
      "show -- app/UNICODE",
      "show -- team/db/password",
    ]);
  });

  test("the child of tessera run gets the values exactly", () => {
    const env = values(run(["run", "--no-mask", "--", ...PRINT_ENV]));
    assert.equal(env.API_KEY, TRICKY);
    assert.equal(env.DB_USER, "alice");
    assert.ok(!("ABSENT" in env));
  });

  test("explain shows the entries (and lines), never a value", () => {
    const result = run(["explain"]);
    assert.equal(result.status, 0, result.stderr);
    for (const where of [
      "app/API_KEY",
      "team/db/password",
      "team/db/password#login",
      "team/db/password#Login",
    ]) {
      assert.ok(result.stdout.includes(`pass source "pw" ${where} `), `${where} in:\n${result.stdout}`);
    }
    assertNoValues([result.stdout, result.stderr], PASS_SECRETS);
  });

  test("PASSWORD_STORE_DIR is the store when storeDir: is not given", () => {
    const other = project({
      "tessera.yaml":
        "sources:\n  - { type: pass, name: pw, prefix: app }\nsecrets:\n  required: [API_KEY]\n",
    });
    const result = run(["export", "--format", "json"], { PASSWORD_STORE_DIR: join(dir, "store") }, other);
    assert.deepEqual(values(result), { API_KEY: TRICKY });
  });

  test("missing entries and lines: optional left out, required missing (exit 3) naming the store", () => {
    const other = project({
      "tessera.yaml": `sources:
  - { type: pass, name: pw, prefix: app, storeDir: ${JSON.stringify(join(dir, "store"))} }
secrets:
  required:
    - NOT_THERE
    - name: NO_ENTRY
      from: { source: pw, key: team/nope }
    - name: NO_LINE
      from: { source: pw, key: team/db/password, property: LOGIN }
    - name: A_DIRECTORY
      from: { source: pw, key: team/db }
  optional: [ALSO_NOT_THERE]
`,
    });
    const result = run(["export"], {}, other);
    for (const name of ["NOT_THERE", "NO_ENTRY", "NO_LINE", "A_DIRECTORY"])
      assertMissing(result, name, 'pass source "pw"');
    assert.ok(!result.stderr.includes("ALSO_NOT_THERE"));
    assertNoValues([result.stdout, result.stderr], PASS_SECRETS);
  });

  test("no secret key for the entries (another keyring): E_SOURCE_AUTH, exit 5", () => {
    const empty = mkdtempSync(join(tmpdir(), "tessera-gpg-"));
    chmodSync(empty, 0o700);
    homes.push(empty);
    const result = run(["export"], { GNUPGHOME: empty });
    assertFailure(
      result,
      "E_SOURCE_AUTH",
      5,
      // entries are decrypted in parallel: whichever fails first is named
      /pass source "pw": GnuPG cannot decrypt (app|team)\/\S+: no secret key/,
      PASS_SECRETS,
    );
  });

  test("a key whose passphrase cannot be asked for: E_SOURCE_AUTH, exit 5, no passphrase shown", () => {
    const passphrase = "fake-gpg-passphrase-991";
    const locked = gnupgHome("tessera-locked", passphrase);
    const other = project({
      "tessera.yaml":
        "sources:\n  - { type: pass, name: pw, storeDir: store }\nsecrets:\n  required: [LOCKED]\n",
    });
    passStore(locked, join(other, "store"), "tessera-locked", { LOCKED: "fake-locked-value\n" });
    spawnSync("gpgconf", ["--kill", "gpg-agent"], {
      env: { ...process.env, GNUPGHOME: locked },
      stdio: "ignore",
    });
    const result = run(["export"], { GNUPGHOME: locked }, other);
    assertFailure(result, "E_SOURCE_AUTH", 5, /pass source "pw": GnuPG cannot decrypt LOCKED/, [
      passphrase,
      "fake-locked-value",
    ]);
  });

  test("configuration: a store that is not there, a path leaving the store: E_SOURCE_INVALID, exit 4", () => {
    const missing = project({
      "tessera.yaml":
        "sources:\n  - { type: pass, name: pw, storeDir: nowhere }\nsecrets:\n  required: [A]\n",
    });
    assertFailure(
      run(["export"], {}, missing),
      "E_SOURCE_INVALID",
      4,
      /pass source "pw": the password store nowhere does not exist/,
      [],
    );
    const sneaky = project({
      "tessera.yaml": `sources:\n  - { type: pass, name: pw, storeDir: ${JSON.stringify(join(dir, "store"))} }\nsecrets:\n  required:\n    - name: A\n      from: { source: pw, key: ../outside }\n`,
    });
    assertFailure(
      run(["export"], {}, sneaky),
      "E_SOURCE_INVALID",
      4,
      /"\.\.\/outside" is not an entry path/,
      [],
    );
  });

  test("pass not installed: E_SOURCE_FAILED, exit 5", () => {
    assertFailure(
      run(["export"], { PATH: emptyBin() }),
      "E_SOURCE_FAILED",
      5,
      /pass source "pw": the pass command was not found/,
      PASS_SECRETS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// keepassxc, with keepassxc-cli and throwaway databases

const haveKeepassxc = () => works("keepassxc-cli", ["--version"]);

const KP_PASSWORD = "fake master pw ü $X";
const KP_IMPORT_PASSWORD = "fake-import-pw";
const KP_NOTES = "note line 1\n  note line 2";
const KP_MULTI_PASSWORD = "pw line 1\npw line 2\n";
const KP_SECRETS = [
  KP_PASSWORD,
  KP_IMPORT_PASSWORD,
  TRICKY.trim(),
  "fake-api-key",
  "fake-root-secret",
  "pw line 1",
  "fake-kf",
];

const KP_MANIFEST = `sources:
  - { type: keepassxc, name: kp, database: vault.kdbx, group: team }
  - { type: keepassxc, name: custom, database: imported.kdbx, passwordEnv: IMPORT_PW }
secrets:
  required:
    - DB_PASSWORD
    - API_KEY
    - name: DB_USER
      from: { source: kp, key: team/DB_PASSWORD, property: UserName }
    - name: DB_URL
      from: { source: kp, key: team/DB_PASSWORD, property: URL }
    - name: DB_NOTES
      from: { source: kp, key: team/DB_PASSWORD, property: Notes }
    - name: API_USER
      from: { source: kp, key: team/API_KEY, property: username }
    - name: ROOT_SECRET
      from: { source: kp, key: ROOT_ONLY }
    - name: REGION
      from: { source: custom, key: svc/api, property: api-region }
    - name: SVC_TOKEN
      from: { source: custom, key: svc/api, property: token }
    - name: SVC_PASSWORD
      from: { source: custom, key: svc/api }
  optional: [ABSENT]
`;

function xmlText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const uuid = () =>
  Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString("base64");

/** A KeePass 2 XML export with one entry svc/api holding custom attributes (keepassxc-cli add cannot set those). */
function importXml(): string {
  const attribute = (key: string, value: string, protect = false) =>
    `<String><Key>${key}</Key><Value${protect ? ' ProtectInMemory="True"' : ""}>${xmlText(value)}</Value></String>`;
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<KeePassFile><Meta><Generator>tessera-test</Generator><DatabaseName>imported</DatabaseName></Meta><Root>
<Group><UUID>${uuid()}</UUID><Name>Root</Name>
<Group><UUID>${uuid()}</UUID><Name>svc</Name>
<Entry><UUID>${uuid()}</UUID>${attribute("Title", "api")}${attribute("UserName", "svc-user")}${attribute("Password", KP_MULTI_PASSWORD, true)}${attribute("api-region", "eu-west-1")}${attribute("token", TRICKY, true)}</Entry>
</Group></Group></Root></KeePassFile>
`;
}

describe("keepassxc", requireComponent("keepassxc-cli", haveKeepassxc), () => {
  let dir = "";
  let keyDir = "";

  const cli = (args: string[], input: string, cwd = dir) => sh("keepassxc-cli", args, { input, cwd });

  before(() => {
    if (!haveKeepassxc()) return;
    dir = project({
      "tessera.yaml": KP_MANIFEST,
      "import.xml": importXml(),
      "not-a-database.kdbx": "garbage\n",
    });
    const pw = `${KP_PASSWORD}\n`;
    cli(["db-create", "-q", "-p", "-t", "100", "vault.kdbx"], `${pw}${pw}`);
    cli(["mkdir", "-q", "vault.kdbx", "team"], pw);
    cli(
      [
        "add",
        "-q",
        "-u",
        "fake-db-user",
        "--url",
        "https://db.example:5432/x",
        "--notes",
        KP_NOTES,
        "-p",
        "vault.kdbx",
        "team/DB_PASSWORD",
      ],
      `${pw}initial\n`,
    );
    cli(["edit", "-q", "-p", "vault.kdbx", "team/DB_PASSWORD"], `${pw}${TRICKY}\n`);
    cli(["add", "-q", "-u", "fake-api-user", "-p", "vault.kdbx", "team/API_KEY"], `${pw}fake-api-key-☃\n`);
    cli(["add", "-q", "-p", "vault.kdbx", "ROOT_ONLY"], `${pw}fake-root-secret\n`);
    const importPw = `${KP_IMPORT_PASSWORD}\n`;
    cli(["import", "-q", "-p", "-t", "100", "import.xml", "imported.kdbx"], `${importPw}${importPw}`);
    // A database opened by a key file alone, and another key file.
    keyDir = project({
      "tessera.yaml": `sources:
  - { type: keepassxc, name: kf, database: keyed.kdbx, keyFile: keyed.keyx }
secrets:
  required: [KF_SECRET]
`,
    });
    cli(["db-create", "-q", "--set-key-file", "keyed.keyx", "-t", "100", "keyed.kdbx"], "", keyDir);
    cli(["db-create", "-q", "--set-key-file", "other.keyx", "-t", "100", "other.kdbx"], "", keyDir);
    cli(
      ["add", "-q", "--no-password", "-k", "keyed.keyx", "-p", "keyed.kdbx", "KF_SECRET"],
      "fake-kf-secret\n",
      keyDir,
    );
  });

  const run = (args: string[], env: Record<string, string | undefined> = {}, cwd = dir) =>
    tessera(args, { cwd, env: { KEEPASSXC_PASSWORD: KP_PASSWORD, IMPORT_PW: KP_IMPORT_PASSWORD, ...env } });

  test("passwords and attributes (custom, multi-line, protected), byte for byte; exact entry paths", () => {
    assert.deepEqual(values(run(["export", "--format", "json"])), {
      DB_PASSWORD: TRICKY,
      API_KEY: "fake-api-key-☃",
      DB_USER: "fake-db-user",
      DB_URL: "https://db.example:5432/x",
      DB_NOTES: KP_NOTES,
      API_USER: "fake-api-user",
      ROOT_SECRET: "fake-root-secret",
      REGION: "eu-west-1",
      SVC_TOKEN: TRICKY,
      SVC_PASSWORD: KP_MULTI_PASSWORD,
    });
  });

  test("without group: a name is an entry at the root, not an entry of that title elsewhere", () => {
    const other = project({
      "tessera.yaml": `sources:
  - { type: keepassxc, name: kp, database: ${JSON.stringify(join(dir, "vault.kdbx"))} }
secrets:
  optional: [API_KEY, ROOT_ONLY]
`,
    });
    assert.deepEqual(values(run(["export", "--format", "json"], {}, other)), {
      ROOT_ONLY: "fake-root-secret",
    });
  });

  test("the child of tessera run gets the values exactly, and not KEEPASSXC_PASSWORD or passwordEnv unless declared", () => {
    const env = values(run(["run", "--no-mask", "--", ...PRINT_ENV]));
    assert.equal(env.DB_PASSWORD, TRICKY);
    assert.equal(env.SVC_PASSWORD, KP_MULTI_PASSWORD);
    assert.ok(!("KEEPASSXC_PASSWORD" in env));
    assert.ok(!("IMPORT_PW" in env));
    assert.ok(!("ABSENT" in env));

    const declared = project({
      "tessera.yaml": KP_MANIFEST.replace("optional: [", "optional: [KEEPASSXC_PASSWORD, "),
    });
    for (const file of ["vault.kdbx", "imported.kdbx"])
      writeFileSync(join(declared, file), readFileSync(join(dir, file)));
    const withPassword = values(run(["run", "--no-mask", "--", ...PRINT_ENV], {}, declared));
    assert.equal(withPassword.KEEPASSXC_PASSWORD, KP_PASSWORD);
    assert.ok(!("IMPORT_PW" in withPassword));
  });

  test("explain shows the entries (and attributes), never a value", () => {
    const result = run(["explain"]);
    assert.equal(result.status, 0, result.stderr);
    for (const where of [
      'keepassxc source "kp" team/DB_PASSWORD ',
      'keepassxc source "kp" team/DB_PASSWORD#UserName ',
      'keepassxc source "kp" ROOT_ONLY ',
      'keepassxc source "custom" svc/api#api-region ',
    ]) {
      assert.ok(result.stdout.includes(where), `${where} in:\n${result.stdout}`);
    }
    assertNoValues([result.stdout, result.stderr], KP_SECRETS);
  });

  test("missing entries and attributes: optional left out, required missing (exit 3) naming the store", () => {
    const other = project({
      "tessera.yaml": `sources:
  - { type: keepassxc, name: kp, database: ${JSON.stringify(join(dir, "vault.kdbx"))}, group: team }
secrets:
  required:
    - NOT_THERE
    - name: NO_ENTRY
      from: { source: kp, key: team/nope }
    - name: NO_ATTRIBUTE
      from: { source: kp, key: team/DB_PASSWORD, property: NoSuchAttribute }
    - name: DB_USER
      from: { source: kp, key: team/DB_PASSWORD, property: UserName }
  optional: [ALSO_NOT_THERE]
`,
    });
    const result = run(["export"], {}, other);
    for (const name of ["NOT_THERE", "NO_ENTRY", "NO_ATTRIBUTE"])
      assertMissing(result, name, 'keepassxc source "kp"');
    assert.ok(!/\n {2}DB_USER\n/.test(result.stderr));
    assert.ok(!result.stderr.includes("ALSO_NOT_THERE"));
    assertNoValues([result.stdout, result.stderr], KP_SECRETS);
  });

  test("a key file alone opens a database; a wrong key file is E_SOURCE_AUTH", () => {
    assert.deepEqual(values(run(["export", "--format", "json"], { KEEPASSXC_PASSWORD: undefined }, keyDir)), {
      KF_SECRET: "fake-kf-secret",
    });
    const wrong = project({
      "tessera.yaml": `sources:
  - { type: keepassxc, name: kf, database: ${JSON.stringify(join(keyDir, "keyed.kdbx"))}, keyFile: ${JSON.stringify(join(keyDir, "other.keyx"))} }
secrets:
  required: [KF_SECRET]
`,
    });
    assertFailure(
      run(["export"], { KEEPASSXC_PASSWORD: undefined }, wrong),
      "E_SOURCE_AUTH",
      5,
      /keepassxc source "kf": the password or key file does not open the database/,
      KP_SECRETS,
    );
  });

  test("a wrong password, or none: E_SOURCE_AUTH, exit 5, no password in the message", () => {
    const wrong = "wrong-fake-kp-password-4242";
    const result = run(["export"], { KEEPASSXC_PASSWORD: wrong });
    assertFailure(
      result,
      "E_SOURCE_AUTH",
      5,
      /keepassxc source "kp": the password or key file does not open the database vault\.kdbx/,
      [...KP_SECRETS, wrong],
    );
    const none = run(["export"], { KEEPASSXC_PASSWORD: undefined });
    assertFailure(
      none,
      "E_SOURCE_AUTH",
      5,
      /keepassxc source "kp": no password to open the database vault\.kdbx: KEEPASSXC_PASSWORD is not set/,
      KP_SECRETS,
    );
    const custom = run(["export"], { IMPORT_PW: undefined });
    assertFailure(
      custom,
      "E_SOURCE_AUTH",
      5,
      /keepassxc source "custom": no password .*IMPORT_PW is not set/,
      KP_SECRETS,
    );
  });

  test("configuration: a database or key file not there, a file that is no database: E_SOURCE_INVALID, exit 4", () => {
    const cases: [string, RegExp][] = [
      ["database: nowhere.kdbx", /the database nowhere\.kdbx was not found/],
      [
        "database: not-a-database.kdbx",
        /not-a-database\.kdbx is not a KeePass database keepassxc-cli can read/,
      ],
      ["database: vault.kdbx, keyFile: no.keyx", /the key file no\.keyx was not found/],
    ];
    for (const [fields, message] of cases) {
      writeFileSync(
        join(dir, "bad.yaml"),
        `sources:\n  - { type: keepassxc, name: kp, ${fields} }\nsecrets:\n  required: [A]\n`,
      );
      assertFailure(run(["export", "--manifest", "bad.yaml"]), "E_SOURCE_INVALID", 4, message, KP_SECRETS);
    }
  });

  test("keepassxc-cli not installed: E_SOURCE_FAILED, exit 5", () => {
    assertFailure(
      run(["export"], { PATH: emptyBin() }),
      "E_SOURCE_FAILED",
      5,
      /the command keepassxc-cli was not found/,
      KP_SECRETS,
    );
  });
});
