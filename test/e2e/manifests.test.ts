/**
 * The three manifest kinds end to end — tessera.yaml (secrets, config, sources, profiles), Dockrion's
 * Dockfile.yaml and Ploinky's manifest.json — plus profile selection, manifest discovery and the
 * directory that relative paths are resolved against.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";
import { NODE, parseJson } from "./cli-support.ts";

const TESSERA = `# a service
secrets:
  required:
    - name: DB_PASSWORD
      description: database password
  optional:
    - name: SENTRY_DSN
      default: ""
config:
  LOG_LEVEL: info
  API_URL: { value: "https://api.example.invalid/\${API_VERSION:-v1}" }
sources:
  - type: dotenv
    path: secrets/common.env
profiles:
  production:
    config:
      LOG_LEVEL: warn
    secrets:
      required:
        - name: SENTRY_DSN
    sources:
      - type: yaml
        path: secrets/production.yaml
`;

function service(extra: Record<string, string> = {}): string {
  return project({
    "tessera.yaml": TESSERA,
    "secrets/common.env": "DB_PASSWORD=fake-common-pass\n",
    "secrets/production.yaml": "DB_PASSWORD: fake-prod-pass\nSENTRY_DSN: https://fake@sentry.invalid/1\n",
    ...extra,
  });
}

function exported(
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Record<string, string> {
  const result = tessera(["export", "-f", "json", ...args], { cwd, env });
  assert.equal(result.status, 0, result.stderr);
  return parseJson<Record<string, string>>(result.stdout);
}

describe("tessera.yaml", () => {
  test("secrets, config (with interpolation) and a declared dotenv source, without a profile", () => {
    assert.deepEqual(exported([], service()), {
      DB_PASSWORD: "fake-common-pass",
      SENTRY_DSN: "",
      LOG_LEVEL: "info",
      API_URL: "https://api.example.invalid/v1",
    });
  });

  test("--env production: the profile's config, its stricter secret and its source (which comes first)", () => {
    assert.deepEqual(exported(["--env", "production"], service(), { API_VERSION: "v2" }), {
      DB_PASSWORD: "fake-prod-pass",
      SENTRY_DSN: "https://fake@sentry.invalid/1",
      LOG_LEVEL: "warn",
      API_URL: "https://api.example.invalid/v2",
    });
  });

  test("the profile makes SENTRY_DSN required: without its value the run fails (exit 3)", () => {
    const cwd = service({ "secrets/production.yaml": "DB_PASSWORD: fake-prod-pass\n" });
    assert.equal(tessera(["check"], { cwd }).status, 0);
    const result = tessera(["check", "--env", "production"], { cwd });
    assert.equal(result.status, 3);
    assert.match(result.stderr, /a required variable is empty: SENTRY_DSN/);
  });

  test("TESSERA_ENV selects the profile; --env wins over it", () => {
    const cwd = service({ ".env.staging": "LOG_LEVEL=fake-staging-level\n" });
    assert.equal(exported([], cwd, { TESSERA_ENV: "production" }).LOG_LEVEL, "warn");
    assert.equal(
      exported(["--env", "staging"], cwd, { TESSERA_ENV: "production" }).LOG_LEVEL,
      "fake-staging-level",
    );
    const check = tessera(["check", "--env", "staging"], { cwd, env: { TESSERA_ENV: "production" } });
    assert.match(check.stderr, /\(profile staging\)/);
  });

  test("profile files .env.PROFILE and env.PROFILE.yaml are read for the profile only", () => {
    const cwd = service({
      ".env.production": "LOG_LEVEL=fake-from-dotenv-production\n",
      "env.production.yaml": "DB_PASSWORD: fake-from-env-production-yaml\n",
    });
    const production = exported(["--env", "production"], cwd);
    assert.equal(production.LOG_LEVEL, "fake-from-dotenv-production");
    assert.equal(
      production.DB_PASSWORD,
      "fake-prod-pass",
      "the profile's declared source outranks env.production.yaml",
    );
    const base = exported([], cwd);
    assert.equal(base.LOG_LEVEL, "info");
  });

  test("an unknown profile is an error with a did-you-mean naming the known ones", () => {
    const result = tessera(["check", "--env", "prodution"], { cwd: service() });
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /error\[E_PROFILE_UNKNOWN\]: unknown profile "prodution": no section in tessera\.yaml/,
    );
    assert.match(result.stderr, /did you mean --env production\? \(known profiles: production\)/);
  });

  test("a required declared source that is missing: exit 3", () => {
    const cwd = project({
      "tessera.yaml":
        "secrets:\n  optional: [A]\nsources:\n  - type: dotenv\n    path: vault.env\n    required: true\n",
    });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 3);
    assert.match(
      result.stderr,
      /error\[E_SOURCE_MISSING\]: tessera\.yaml:\d+:\d+: env file vault\.env not found/,
    );
  });

  test("a store declared with a field its type does not have: exit 4 at its line", () => {
    const cwd = project({
      "tessera.yaml": "secrets:\n  optional: [A]\nsources:\n  - type: keepassxc\n    path: x\n",
    });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /error\[E_MANIFEST_INVALID\]: tessera\.yaml:4:\d+: /);
    assert.match(result.stderr, /database/);
  });

  test("from: reads a secret from a named source, under another key", () => {
    const cwd = project({
      "tessera.yaml": `secrets:
  required:
    - name: DB_PASSWORD
      from: { source: vault_export, key: database_password }
sources:
  - type: yaml
    name: vault_export
    path: exported.yaml
`,
      "exported.yaml": "database_password: fake-vault-pass\n",
    });
    assert.deepEqual(exported([], cwd), { DB_PASSWORD: "fake-vault-pass" });
  });

  test("every problem in an invalid manifest is reported with file:line:col and a suggestion", () => {
    const cwd = project({
      "tessera.yaml": "secrets:\n  required:\n    - name: GOOD\n  requird:\n    - name: X\nconfg:\n  A: 1\n",
    });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /tessera\.yaml:4:3: unknown key "requird"|tessera\.yaml:6:1: unknown key "confg"/,
    );
    assert.match(result.stderr, /requird/);
    assert.match(result.stderr, /confg/);
    assert.match(result.stderr, /did you mean "config"\?/);
  });

  test("a profile cannot turn a secret into config (exit 4)", () => {
    const cwd = project({
      "tessera.yaml": "secrets:\n  required: [A]\nprofiles:\n  dev:\n    config:\n      A: x\n",
    });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /tessera\.yaml:6:7: A is a secret; profile "dev" cannot turn it into config/);
  });
});

describe("Dockfile.yaml (Dockrion rules)", () => {
  const HEADER = 'version: "1.0"\nagent:\n  name: fake-agent\n';

  test("its secrets are read; every other key is left alone", () => {
    const cwd = project({
      "Dockfile.yaml": `${HEADER}io_schema:\n  input: { type: object }\nsecrets:\n  required:\n    - name: OPENAI_API_KEY\n  optional:\n    - name: LOG_TOKEN\n      default: "fake-default-tok"\n`,
    });
    assert.deepEqual(exported(["--secret", "OPENAI_API_KEY=fake-openai-1234"], cwd), {
      OPENAI_API_KEY: "fake-openai-1234",
      LOG_TOKEN: "fake-default-tok",
    });
  });

  test("a lowercase secret name is exit 4 with file:line:col and Dockrion's message", () => {
    const cwd = project({
      "Dockfile.yaml": `${HEADER}secrets:\n  required:\n    - name: GOOD_KEY\n    - name: bad_key\n`,
    });
    for (const command of ["check", "export"]) {
      const result = tessera([command, "--secret", "GOOD_KEY=fake-1234"], { cwd });
      assert.equal(result.status, 4, command);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /^tessera: error\[E_MANIFEST_INVALID\]: Dockfile\.yaml:7:13: Secret name 'bad_key' must be uppercase with underscores/,
      );
    }
  });

  test("a name in both required and optional is exit 4, pointing at both places", () => {
    const cwd = project({
      "Dockfile.yaml": `${HEADER}secrets:\n  required:\n    - name: DUP_KEY\n  optional:\n    - name: DUP_KEY\n`,
    });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /error\[E_MANIFEST_INVALID\]: Dockfile\.yaml:8:7: Duplicate secret names found: DUP_KEY\. Each secret must have a unique name\./,
    );
    assert.match(result.stderr, /first declared at Dockfile\.yaml:6:7/);
  });

  test("a non-string default is exit 4 (Dockrion rejects it)", () => {
    const cwd = project({
      "Dockfile.yaml": `${HEADER}secrets:\n  optional:\n    - name: PORT_KEY\n      default: 8080\n`,
    });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /Dockfile\.yaml:7:16: default must be a string/);
  });

  test("a YAML file with a top-level agent: key is a Dockfile whatever its name", () => {
    const cwd = project({ "agent.yaml": `${HEADER}secrets:\n  optional:\n    - name: X_KEY\n` });
    const result = tessera(["check", "--json", "--manifest", "agent.yaml"], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(parseJson<{ manifest: unknown }>(result.stdout).manifest, {
      file: "agent.yaml",
      kind: "dockfile",
    });
  });

  test("auth env-var names are references that check wants declared", () => {
    const cwd = project({
      "Dockfile.yaml": `${HEADER}auth:\n  mode: api_key\n  api_keys:\n    env_var: MY_AGENT_KEY\nsecrets:\n  optional:\n    - name: OTHER_KEY\n`,
    });
    const result = tessera(["check", "--strict"], { cwd });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /Dockfile\.yaml:7:14: MY_AGENT_KEY is used by auth\.api_keys\.env_var/);
  });
});

describe("Ploinky manifest.json", () => {
  const PLOINKY = {
    container: "node:20-alpine",
    env: [
      "PLAIN_VAR",
      "WITH_DEFAULT=fake-default-val",
      { name: "INSIDE_TOKEN", varName: "OUTSIDE_TOKEN", required: true },
      { name: "MODE", value: "dev", secret: false },
    ],
    expose: [
      { name: "EXPOSED_LITERAL", value: "fake-literal" },
      { name: "EXPOSED_REF", ref: "OUTSIDE_TOKEN" },
    ],
    profiles: {
      prod: {
        env: {
          MODE: { value: "prod", secret: false },
          INSIDE_TOKEN: { varName: "OUTSIDE_TOKEN", required: true },
        },
      },
    },
  };
  const PRINT = "process.stdout.write(JSON.stringify(process.env));\n";

  function ploinky(manifest: unknown = PLOINKY): string {
    return project({ "manifest.json": JSON.stringify(manifest, null, 2), "print.mjs": PRINT });
  }

  function childEnv(args: string[], cwd: string, env: Record<string, string> = {}): Record<string, string> {
    const result = tessera(["run", "--pristine", "--no-mask", ...args, "--", NODE, "print.mjs"], {
      cwd,
      env,
    });
    assert.equal(result.status, 0, result.stderr);
    return parseJson<Record<string, string>>(result.stdout);
  }

  test("env array forms and varName: the child sees the inside name, looked up under varName", () => {
    const env = childEnv([], ploinky(), { OUTSIDE_TOKEN: "fake-outside-1234", PLAIN_VAR: "fake-plain" });
    assert.equal(env.INSIDE_TOKEN, "fake-outside-1234");
    assert.ok(!("OUTSIDE_TOKEN" in env), "the lookup name is not passed under --pristine");
    assert.equal(env.PLAIN_VAR, "fake-plain");
    assert.equal(env.WITH_DEFAULT, "fake-default-val");
    assert.equal(env.MODE, "dev");
    assert.equal(env.EXPOSED_LITERAL, "fake-literal");
    assert.equal(env.EXPOSED_REF, "fake-outside-1234");
  });

  test("setting the inside name does not satisfy a varName mapping (exit 3)", () => {
    const result = tessera(["check"], { cwd: ploinky(), env: { INSIDE_TOKEN: "fake-inside" } });
    assert.equal(result.status, 3);
    assert.match(result.stderr, /a required variable is missing: INSIDE_TOKEN/);
  });

  test("explain shows the lookup name", () => {
    const result = tessera(["explain", "INSIDE_TOKEN"], {
      cwd: ploinky(),
      env: { OUTSIDE_TOKEN: "fake-outside-1234" },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /INSIDE_TOKEN {2}secret, required, looked up as OUTSIDE_TOKEN\n {2}✓ process environment/,
    );
    assert.ok(!result.stdout.includes("fake-outside-1234"));
  });

  test("a profile's env replaces the manifest's env; expose entries stay", () => {
    const env = childEnv(["--env", "prod"], ploinky(), { OUTSIDE_TOKEN: "fake-outside-1234" });
    assert.equal(env.MODE, "prod");
    assert.equal(env.INSIDE_TOKEN, "fake-outside-1234");
    assert.ok(!("WITH_DEFAULT" in env), "replaced by the profile's env");
    assert.equal(env.EXPOSED_LITERAL, "fake-literal");
  });

  test("env object forms: NAME: default, {varName}, {name} as the lookup, {default}", () => {
    const cwd = ploinky({
      env: {
        OBJ_A: "fake-a-default",
        OBJ_B_TOKEN: { varName: "SRC_B_TOKEN", required: true },
        OBJ_C: { name: "SRC_C", default: "fake-c-default" },
      },
      expose: { EXPOSED_OBJ: "fake-exposed" },
    });
    const env = childEnv([], cwd, { SRC_B_TOKEN: "fake-b-1234", SRC_C: "fake-c-1234" });
    assert.equal(env.OBJ_A, "fake-a-default");
    assert.equal(env.OBJ_B_TOKEN, "fake-b-1234");
    assert.equal(env.OBJ_C, "fake-c-1234");
    assert.equal(env.EXPOSED_OBJ, "fake-exposed");
  });

  test("env entries are secrets (masked) unless they say secret: false", () => {
    const cwd = project({
      "manifest.json": JSON.stringify({
        env: ["TOKEN_X", { name: "MODE", value: "fake-mode-value", secret: false }],
      }),
    });
    const result = tessera(["run", "--", "sh", "-c", 'echo "$TOKEN_X $MODE"'], {
      cwd,
      env: { TOKEN_X: "fake-token-x-1234" },
    });
    assert.equal(result.stdout, "[masked:TOKEN_X] fake-mode-value\n");
  });

  test("an invalid env name is exit 4 with its location", () => {
    const cwd = project({ "manifest.json": '{\n  "env": [\n    "GOOD",\n    "BAD-NAME"\n  ]\n}\n' });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /manifest\.json:4:5: env name "BAD-NAME" is not a valid environment variable name/,
    );
  });

  test("a JSON syntax error is exit 4 with a location", () => {
    const cwd = project({ "manifest.json": '{\n  "env": ["A",]\n}\n' });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /error\[E_MANIFEST_SYNTAX\]: manifest\.json:2:\d+: invalid JSON/);
  });
});

describe("manifest discovery and paths", () => {
  const kinds = {
    "tessera.yaml": "secrets:\n  optional: [FROM_TESSERA]\n",
    "Dockfile.yaml": 'version: "1.0"\nsecrets:\n  optional:\n    - name: FROM_DOCKFILE\n',
    "manifest.json": '{"env": ["FROM_PLOINKY"]}',
  };

  function found(cwd: string, args: string[] = []): { file: string; kind: string } {
    const result = tessera(["check", "--json", ...args], { cwd });
    assert.equal(result.status, 0, result.stderr);
    return parseJson<{ manifest: { file: string; kind: string } }>(result.stdout).manifest;
  }

  test("tessera.yaml > Dockfile.yaml > manifest.json", () => {
    assert.deepEqual(found(project(kinds)), { file: "tessera.yaml", kind: "tessera" });
    assert.deepEqual(
      found(project({ "Dockfile.yaml": kinds["Dockfile.yaml"], "manifest.json": kinds["manifest.json"] })),
      {
        file: "Dockfile.yaml",
        kind: "dockfile",
      },
    );
    assert.deepEqual(found(project({ "manifest.json": kinds["manifest.json"] })), {
      file: "manifest.json",
      kind: "ploinky",
    });
  });

  test("--manifest picks another one, relative to the current directory", () => {
    assert.deepEqual(found(project(kinds), ["--manifest", "manifest.json"]), {
      file: "manifest.json",
      kind: "ploinky",
    });
    const nested = project({
      "deploy/Dockfile.yaml": kinds["Dockfile.yaml"],
      "tessera.yaml": kinds["tessera.yaml"],
    });
    assert.deepEqual(found(nested, ["--manifest", "deploy/Dockfile.yaml"]), {
      file: "deploy/Dockfile.yaml",
      kind: "dockfile",
    });
    assert.deepEqual(found(join(nested, "deploy"), ["--manifest", "Dockfile.yaml"]), {
      file: "Dockfile.yaml",
      kind: "dockfile",
    });
  });

  test("a manifest in a parent directory is not picked up (the current directory only)", () => {
    const root = project({ "tessera.yaml": kinds["tessera.yaml"], "sub/keep": "" });
    const result = tessera(["check", "--json"], { cwd: join(root, "sub") });
    assert.equal(result.status, 2);
    assert.equal(parseJson<{ error: { code: string } }>(result.stdout).error.code, "E_MANIFEST_NOT_FOUND");
  });

  test("relative paths inside a manifest, and automatic value files, are relative to the manifest's directory", () => {
    const root = project({
      "sub/tessera.yaml": `secrets:
  required: [DB_URL, TOKEN_A, FROM_AUTO]
config:
  FLAG_FILE: { value: "x" }
sources:
  - type: dotenv
    path: conf/app.env
  - type: yaml
    path: ../shared/secrets.yaml
`,
      "sub/conf/app.env": "DB_URL=fake-db-url-1\n",
      "shared/secrets.yaml": "TOKEN_A: fake-token-a-1\n",
      "sub/.env": "FROM_AUTO=fake-auto-sub\n",
      ".env": "FROM_AUTO=fake-auto-cwd\nDB_URL=fake-wrong-cwd\n",
      "elsewhere/keep": "",
    });
    for (const [cwd, manifest] of [
      [root, "sub/tessera.yaml"],
      [join(root, "elsewhere"), "../sub/tessera.yaml"],
    ] as const) {
      assert.deepEqual(exported(["--manifest", manifest], cwd), {
        DB_URL: "fake-db-url-1",
        TOKEN_A: "fake-token-a-1",
        FROM_AUTO: "fake-auto-sub",
        FLAG_FILE: "x",
      });
    }
    const explain = tessera(["explain", "--manifest", "sub/tessera.yaml", "DB_URL"], { cwd: root });
    assert.match(explain.stdout, /✓ sub\/conf\/app\.env:1 {2}\(dotenv file\)/);
  });

  test("--env-file and --values on the command line are relative to the current directory", () => {
    const root = project({
      "sub/tessera.yaml": "secrets:\n  required: [A_KEY, B_KEY]\n",
      "local.env": "A_KEY=fake-a-from-cwd\n",
      "local.yaml": "B_KEY: fake-b-from-cwd\n",
    });
    assert.deepEqual(
      exported(["--manifest", "sub/tessera.yaml", "--env-file", "local.env", "--values", "local.yaml"], root),
      { A_KEY: "fake-a-from-cwd", B_KEY: "fake-b-from-cwd" },
    );
  });

  test("a missing --manifest: exit 2 naming the directory it is relative to", () => {
    const cwd = project({});
    const result = tessera(["check", "--manifest", "deploy/tessera.yaml"], { cwd });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /manifest deploy\/tessera\.yaml not found/);
    assert.ok(result.stderr.includes(cwd));
  });
});

describe("the manifest cache", () => {
  const cache = mkdtempSync(join(tmpdir(), "tessera-e2e-cache-"));
  after(() => rmSync(cache, { recursive: true, force: true }));

  test("a changed manifest is read again; a damaged cache entry is ignored", () => {
    const env = { TESSERA_CACHE_DIR: cache };
    const cwd = project({ "tessera.yaml": "secrets:\n  required: [A_ONE]\n" });
    const args = ["--secret", "A_ONE=fake-a", "--secret", "B_TWO=fake-b", "-q"];
    assert.deepEqual(exported(args, cwd, env), { A_ONE: "fake-a" });
    assert.deepEqual(exported(args, cwd, env), { A_ONE: "fake-a" }, "from the cache");
    assert.ok(readdirSync(cache).length > 0, "the cache was written");

    writeFileSync(join(cwd, "tessera.yaml"), "secrets:\n  required: [A_ONE, B_TWO]\n");
    assert.deepEqual(exported(args, cwd, env), { A_ONE: "fake-a", B_TWO: "fake-b" });

    for (const file of readdirSync(cache)) writeFileSync(join(cache, file), "{ damaged");
    assert.deepEqual(exported(args, cwd, env), { A_ONE: "fake-a", B_TWO: "fake-b" });
  });

  test("an invalid manifest fails every time (it is never cached)", () => {
    const env = { TESSERA_CACHE_DIR: cache };
    const cwd = project({ "tessera.yaml": "secrets:\n  requird: [A]\n" });
    for (let i = 0; i < 2; i++) assert.equal(tessera(["export"], { cwd, env }).status, 4);
  });

  test("no value is ever written to the cache", () => {
    const env = { TESSERA_CACHE_DIR: cache };
    const cwd = project({
      "tessera.yaml": "secrets:\n  required: [CACHED_SECRET]\n",
      ".env": "CACHED_SECRET=fake-never-cached-1234\n",
    });
    assert.equal(tessera(["run", "--", "true"], { cwd, env }).status, 0);
    for (const file of readdirSync(cache)) {
      assert.doesNotMatch(String(readFileSync(join(cache, file))), /fake-never-cached-1234/);
    }
  });
});
