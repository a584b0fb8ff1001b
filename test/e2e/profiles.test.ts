/**
 * The right values in the right deployment (issue 10 §1 and §3): a profile's values beat generic
 * development files, what the command line names beats what Tessera finds, a misspelt profile is an
 * error, CI's empty variables can count as unset, and secret files (NAME_FILE, a secrets directory)
 * are read the way containers receive them.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";
import { assertNoValues, NODE, parseJson } from "./cli-support.ts";

const DEV_KEY = "sk-dev-fake-0001";
const PROD_KEY = "sk-prod-fake-0002";

const MANIFEST = `service: { name: agent, image: example/agent:1 }
secrets:
  required:
    - name: OPENAI_API_KEY
config:
  LOG_LEVEL: info
profiles:
  production:
    config:
      LOG_LEVEL: warn
  staging: {}
`;

function exported(cwd: string, args: string[], env: Record<string, string> = {}) {
  const result = tessera(["export", "-f", "json", ...args], { cwd, env });
  assert.equal(result.status, 0, result.stderr);
  return parseJson<Record<string, string>>(result.stdout);
}

function explained(cwd: string, name: string, args: string[], env: Record<string, string> = {}) {
  const result = tessera(["explain", "--json", name, ...args], { cwd, env });
  assert.equal(result.status, 0, result.stderr);
  const variable = parseJson<{ variables: { winner?: { where: string }; shadowed: { where: string }[] }[] }>(
    result.stdout,
  ).variables[0]!;
  return { winner: variable.winner?.where, shadowed: variable.shadowed.map((origin) => origin.where) };
}

describe("a profile's values beat generic development files", () => {
  test("env.yaml's dev key loses to .env.production in a production build, and explain says so", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      "env.yaml": `OPENAI_API_KEY: ${DEV_KEY}\n`,
      ".env.production": `OPENAI_API_KEY=${PROD_KEY}\n`,
      ".gitignore": "deploy/\n",
    });
    const build = tessera(
      ["build", "-t", "kubernetes", "--env", "production", "--with-values", "-o", "deploy"],
      { cwd: dir },
    );
    assert.equal(build.status, 0, build.stderr);
    const secret = readFileSync(join(dir, "deploy", "secret.values.yaml"), "utf8");
    assert.ok(secret.includes(Buffer.from(PROD_KEY).toString("base64")) || secret.includes(PROD_KEY));
    assert.ok(!secret.includes(DEV_KEY) && !secret.includes(Buffer.from(DEV_KEY).toString("base64")));
    const why = explained(dir, "OPENAI_API_KEY", ["--env", "production"]);
    assert.match(why.winner ?? "", /^\.env\.production:1$/);
    assert.deepEqual(why.shadowed, ["env.yaml:1"]);
    // Without a profile the developer's file is the value, as before.
    assert.equal(exported(dir, []).OPENAI_API_KEY, DEV_KEY);
    assertNoValues([build.stdout, build.stderr], [DEV_KEY, PROD_KEY]);
  });

  test("profiles.production.config beats a generic .env; the base value loses to .env", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `LOG_LEVEL=debug\nOPENAI_API_KEY=${DEV_KEY}\n`,
      ".env.production": `OPENAI_API_KEY=${PROD_KEY}\n`,
    });
    assert.equal(exported(dir, ["--env", "production"]).LOG_LEVEL, "warn");
    assert.equal(exported(dir, []).LOG_LEVEL, "debug");
    const why = explained(dir, "LOG_LEVEL", ["--env", "production"]);
    assert.match(why.winner ?? "", /\(profiles\.production value\)/);
    assert.deepEqual(why.shadowed, [".env:1"]);
  });

  test("--env-file beats every file found automatically (Dockrion's rule), .dockrion-env.yaml beats env.yaml", () => {
    const dir = project({
      "tessera.yaml": "secrets: [A, B]\n",
      "env.yaml": "A: from-env-yaml\nB: from-env-yaml\n",
      ".dockrion-env.yaml": "secrets:\n  B: from-dockrion-env\n",
      "given.env": "A=from-given\n",
    });
    const values = exported(dir, ["--env-file", "given.env"]);
    assert.equal(values.A, "from-given");
    assert.equal(values.B, "from-dockrion-env");
  });

  test("a secret still from a generic file in a profile's build: W_GENERIC_VALUE; --strict refuses, writing nothing", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `OPENAI_API_KEY=${DEV_KEY}\n`,
      ".gitignore": "deploy/\n",
    });
    const warned = tessera(["build", "-t", "kubernetes", "--env", "staging", "-o", "deploy"], { cwd: dir });
    assert.equal(warned.status, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /warning\[W_GENERIC_VALUE\]: \.env:1: OPENAI_API_KEY comes from \.env:1, a file for every profile, in a build for profile "staging"/,
    );
    const strict = tessera(["build", "-t", "kubernetes", "--env", "staging", "--strict", "-o", "out"], {
      cwd: dir,
    });
    assert.equal(strict.status, 4, strict.stderr);
    assert.match(strict.stderr, /error\[E_GENERIC_VALUE\]/);
    assert.equal(existsSync(join(dir, "out")), false);
    // No profile, no warning: a development build may use .env.
    const plain = tessera(["build", "-t", "kubernetes", "-o", "deploy"], { cwd: dir });
    assert.equal(plain.status, 0, plain.stderr);
    assert.doesNotMatch(plain.stderr, /W_GENERIC_VALUE/);
    assertNoValues([warned.stderr, strict.stderr, plain.stderr], [DEV_KEY]);
  });
});

describe("an unknown profile is an error", () => {
  test("--env prodution: E_PROFILE_UNKNOWN, exit 4, did you mean production", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `OPENAI_API_KEY=${DEV_KEY}\n` });
    for (const command of [["check"], ["export"], ["run", "--", NODE, "-e", "0"]]) {
      const result = tessera([...command.slice(0, 1), "--env", "prodution", ...command.slice(1)], {
        cwd: dir,
      });
      assert.equal(result.status, 4, `${command[0]}: ${result.stderr}`);
      assert.match(result.stderr, /error\[E_PROFILE_UNKNOWN\]: unknown profile "prodution"/);
      assert.match(result.stderr, /did you mean --env production\?/);
    }
    // TESSERA_ENV is the same choice.
    const fromEnv = tessera(["check"], { cwd: dir, env: { TESSERA_ENV: "stagin" } });
    assert.equal(fromEnv.status, 4);
    assert.match(fromEnv.stderr, /did you mean --env staging\?/);
  });

  test("a profile is known by its file alone (.env.P, env.P.yaml), without a manifest section", () => {
    const dir = project({
      "tessera.yaml": "secrets: [OPENAI_API_KEY]\n",
      ".env.qa": `OPENAI_API_KEY=${DEV_KEY}\n`,
    });
    assert.equal(exported(dir, ["--env", "qa"]).OPENAI_API_KEY, DEV_KEY);
    const typo = tessera(["export", "--env", "aq"], { cwd: dir });
    assert.equal(typo.status, 4);
    assert.match(typo.stderr, /known profiles: qa/);
  });
});

describe("--empty-is-unset: CI's empty variables do not shadow defaults", () => {
  test("LOG_LEVEL= from the environment shadows the default; with the flag (or the manifest setting) it does not", () => {
    const dir = project({ "tessera.yaml": "config:\n  LOG_LEVEL: info\nsecrets: [TOKEN]\n" });
    const env = { LOG_LEVEL: "", TOKEN: "" };
    const plain = tessera(["check"], { cwd: dir, env });
    assert.equal(plain.status, 3, "TOKEN set to empty is missing");
    assert.equal(exported(dir, ["--allow-missing-secrets", "-q"], env).LOG_LEVEL, "");
    assert.equal(exported(dir, ["--empty-is-unset", "--allow-missing-secrets", "-q"], env).LOG_LEVEL, "info");
    const check = tessera(["check", "--empty-is-unset"], { cwd: dir, env });
    assert.equal(check.status, 3);
    assert.match(check.stderr, /TOKEN/);
    writeFileSync(join(dir, "tessera.yaml"), "emptyIsUnset: true\nconfig:\n  LOG_LEVEL: info\n");
    assert.equal(exported(dir, [], env).LOG_LEVEL, "info");
  });
});

describe("secret files: NAME_FILE and a directory of one-file secrets", () => {
  const seen = (dir: string) => JSON.parse(readFileSync(join(dir, "seen.json"), "utf8"));
  const manifest = "secrets: [OPENAI_API_KEY, DB_PASSWORD]\n";
  const show = [
    NODE,
    "-e",
    // Written to a file: what the child prints is masked.
    "require('fs').writeFileSync('seen.json', JSON.stringify({k: process.env.OPENAI_API_KEY, d: process.env.DB_PASSWORD}))",
  ];

  test("NAME_FILE gives NAME the file's text (one final newline removed); the environment's NAME wins over it", () => {
    const dir = project({
      "tessera.yaml": manifest,
      "run/secrets/key": `${PROD_KEY}\n`,
      "db.txt": "pw-fake",
    });
    const env = { OPENAI_API_KEY_FILE: join(dir, "run/secrets/key"), DB_PASSWORD_FILE: "db.txt" };
    const result = tessera(["run", "--", ...show], { cwd: dir, env });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(seen(dir), { k: PROD_KEY, d: "pw-fake" });
    const why = explained(dir, "OPENAI_API_KEY", [], { ...env, OPENAI_API_KEY: DEV_KEY });
    assert.equal(why.winner, "process environment");
    assert.match(why.shadowed[0] ?? "", /^OPENAI_API_KEY_FILE \(/);
    const missing = tessera(["run", "--", ...show], { cwd: dir, env: { OPENAI_API_KEY_FILE: "nope" } });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /error\[E_FILE_NOT_FOUND\]: OPENAI_API_KEY_FILE: nope not found/);
  });

  test("--secrets-dir reads /run/secrets-style files (lower-case names too) and Kubernetes volume links", () => {
    const dir = project({ "tessera.yaml": manifest, "secrets/openai_api_key": PROD_KEY });
    // A Kubernetes secret volume: KEY -> ..data/KEY, ..data -> ..2026_12_02_timestamp.
    mkdirSync(join(dir, "secrets", "..2026_12_02"));
    writeFileSync(join(dir, "secrets", "..2026_12_02", "DB_PASSWORD"), "pw-fake\n");
    symlinkSync("..2026_12_02", join(dir, "secrets", "..data"));
    symlinkSync("..data/DB_PASSWORD", join(dir, "secrets", "DB_PASSWORD"));
    const result = tessera(["run", "--secrets-dir", "secrets", "--", ...show], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(seen(dir), { k: PROD_KEY, d: "pw-fake" });
    // The same through the manifest: a `files` source.
    writeFileSync(join(dir, "tessera.yaml"), `${manifest}sources:\n  - { type: files, path: secrets }\n`);
    rmSync(join(dir, "seen.json"));
    const declared = tessera(["run", "--", ...show], { cwd: dir });
    assert.equal(declared.status, 0, declared.stderr);
    assert.deepEqual(seen(dir), { k: PROD_KEY, d: "pw-fake" });
    assertNoValues([result.stderr, declared.stderr], [PROD_KEY, "pw-fake"]);
  });

  test("a link out of the secrets directory is refused, naming the file only", () => {
    const dir = project({ "tessera.yaml": manifest, "outside.txt": "not-yours-fake", "secrets/.keep": "" });
    symlinkSync(join(dir, "outside.txt"), join(dir, "secrets", "DB_PASSWORD"));
    const result = tessera(["run", "--secrets-dir", "secrets", "--", ...show], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /error\[E_FILE_INVALID\]: secrets\/DB_PASSWORD leads outside secrets/);
    assertNoValues([result.stdout, result.stderr], ["not-yours-fake"]);
  });
});
