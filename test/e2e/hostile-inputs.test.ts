/**
 * Through the built CLI, the cases of the security issue's sections 6 and 7:
 *  - messages never quote a value file: a reference inside a value is named by its position unless it is
 *    a declared or defined name; an invalid name in a value file by its file and line; a Vault (or
 *    proxy) error body never, only the HTTP status and fixed words;
 *  - no input ends in E_INTERNAL: an unresolved or recursive YAML alias, a billion-laughs document and
 *    nesting 100,000 deep (in a manifest, a value file, a Vault answer) are coded errors with a location.
 * The fuzz test (test/unit/fuzz-inputs.test.ts) covers the same ground with random and mutated inputs.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { propertyOf } from "../../src/model/guards.ts";
import { project, tessera } from "../helpers.ts";
import { type FakeServer, startVault, tesseraAsync } from "../support/fake-stores.ts";

const PASSWORD = "Pw7b6a8c91657fddbb";
const SECRET = "SEKRET-0a1b2c3d4e5f";

function noInternal(output: string): void {
  assert.doesNotMatch(output, /E_INTERNAL|this is a bug in Tessera/);
  assert.doesNotMatch(output, /\n\s+at .+:\d+:\d+/, "a stack trace");
}

const LAUGHS = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`;

describe("messages never quote a value file", () => {
  test("a password that starts with $ in .env: E_REF_UNSET names its position, never the rest of it", () => {
    for (const [file, text] of [
      [".env", `API_KEY=$${PASSWORD}\n`],
      [".env", `API_KEY=\${${PASSWORD}}\n`],
      ["env.yaml", `API_KEY: $${PASSWORD}\n`],
    ] as const) {
      const dir = project({ "tessera.yaml": "secrets:\n  required: [API_KEY]\n", [file]: text });
      for (const args of [["check"], ["check", "--json"], ["run", "--", "true"], ["explain"]]) {
        const result = tessera(args, { cwd: dir });
        const output = result.stdout + result.stderr;
        assert.equal(result.status, 4, `${file} ${args.join(" ")}: ${output}`);
        assert.ok(!output.includes(PASSWORD), `${file} ${args.join(" ")} shows the password:\n${output}`);
        assert.match(output, /E_REF_UNSET/);
        assert.match(
          output,
          /the value of API_KEY refers to a variable that is not set \(character 1 of the value\)/,
        );
        assert.match(output, new RegExp(`${file.replace(".", "\\.")}:1`));
      }
    }
  });

  test("${X:?} on a password in a value file: E_REF_REQUIRED by position", () => {
    const dir = project({
      "tessera.yaml": "secrets:\n  required: [API_KEY]\n",
      ".env": `API_KEY=ab\${${PASSWORD}:?}\n`,
    });
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 3, result.stderr);
    assert.ok(!result.stderr.includes(PASSWORD), result.stderr);
    assert.match(
      result.stderr,
      /E_REF_REQUIRED.*the value of API_KEY requires a variable that is not set \(character 3 of the value\)/,
    );
  });

  test("a declared or a defined name is still named", () => {
    const declared = project({
      "tessera.yaml": "secrets:\n  required: [API_KEY]\n  optional: [ROOT]\n",
      ".env": "API_KEY=$ROOT\n",
    });
    assert.match(
      tessera(["check"], { cwd: declared }).stderr,
      /E_REF_UNSET\]: \.env:1: the value of API_KEY refers to ROOT, which is not set/,
    );
    const defined = project({
      "tessera.yaml": "secrets:\n  required: [API_KEY]\n",
      ".env": "API_KEY=x${EMPTY:?}\nEMPTY=\n",
    });
    assert.match(tessera(["check"], { cwd: defined }).stderr, /EMPTY is required by the value of API_KEY/);
  });

  test("W_NAME_INVALID names the file and line, never the text (in a warning and in check --json)", () => {
    const dir = project({
      "tessera.yaml": "secrets:\n  required: [API_KEY]\n",
      ".env": `API_KEY=x\n1${SECRET}=y\n${SECRET}\n`,
      "env.yaml": `"API_KEY=${SECRET}": x\n"${SECRET}": y\n`,
    });
    const text = tessera(["check"], { cwd: dir });
    assert.equal(text.status, 0, text.stderr);
    assert.ok(!text.stderr.includes(SECRET), text.stderr);
    assert.match(
      text.stderr,
      /warning\[W_NAME_INVALID\]: env\.yaml:1:1: the name on this line is not a valid environment variable name; the entry is ignored/,
    );
    assert.match(text.stderr, /warning\[W_NAME_INVALID\]: \.env:2: the name on this line is not/);
    const json = tessera(["check", "--json"], { cwd: dir });
    assert.equal(json.status, 0, json.stderr);
    assert.ok(!json.stdout.includes(SECRET), json.stdout);
    const report: unknown = JSON.parse(json.stdout);
    assert.deepEqual(
      propertyOf(report, "warnings"),
      ["env.yaml:1:1", "env.yaml:2:1", ".env:2"].map((location) => ({
        code: "W_NAME_INVALID",
        message: "the name on this line is not a valid environment variable name; the entry is ignored",
        location,
      })),
    );
  });

  test("W_VALUES_IGNORED names a top-level key only when it is a variable name", () => {
    const dir = project({
      "tessera.yaml": "secrets:\n  optional: [API_KEY]\n",
      "env.yaml": `secrets:\n  API_KEY: x\n"${SECRET}": y\nOTHER: z\n`,
    });
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stderr.includes(SECRET), result.stderr);
    assert.match(result.stderr, /W_VALUES_IGNORED\]: env\.yaml:3:1: the key on this line is ignored/);
    assert.match(result.stderr, /W_VALUES_IGNORED\]: env\.yaml:4:1: OTHER is ignored/);
  });

  test("dotenv syntax errors name a key only when it is a variable name, a bad character by its column", () => {
    const unterminated = project({ "tessera.yaml": "secrets: [API_KEY]\n", ".env": `${SECRET}="abc\n` });
    const result = tessera(["check"], { cwd: unterminated });
    assert.equal(result.status, 4);
    assert.ok(!result.stderr.includes(SECRET), result.stderr);
    assert.match(
      result.stderr,
      /E_DOTENV_SYNTAX\]: \.env:1: unterminated double-quoted value for the variable on this line/,
    );

    const character = project({ "tessera.yaml": "secrets: [API_KEY]\n", ".env": "API_KEY=x\npa!ss\n" });
    const bad = tessera(["check"], { cwd: character });
    assert.equal(bad.status, 4);
    assert.match(
      bad.stderr,
      /E_DOTENV_SYNTAX\]: \.env:2:3: a variable name cannot contain the character at column 3/,
    );
    assert.doesNotMatch(bad.stderr, /"!"/);
  });
});

describe("no input ends in E_INTERNAL", () => {
  const MANIFESTS: [string, string, string][] = [
    ["tessera.yaml", "secrets:\n  required: [API_KEY]\n", "E_MANIFEST_SYNTAX"],
    ["Dockfile.yaml", 'version: "1.0"\nagent:\n  name: app\n', "E_MANIFEST_SYNTAX"],
  ];

  test("an unresolved alias (Y: *nope) in a manifest, a Dockfile or a value file: a coded error at the alias", () => {
    const cases: [string, string, string][] = [
      ...MANIFESTS,
      ["env.yaml", "API_KEY: x\n", "E_VALUES_INVALID"],
      ["env.yaml", "sources:\n  - { name: hv }\n", "E_VALUES_INVALID"],
    ];
    for (const [file, body, code] of cases) {
      const files: Record<string, string> = { "tessera.yaml": "secrets:\n  optional: [API_KEY]\n" };
      files[file] = `${body}Y: *nope\n`;
      if (file === "Dockfile.yaml") delete files["tessera.yaml"];
      const dir = project(files);
      const result = tessera(["check"], { cwd: dir });
      noInternal(result.stderr);
      assert.equal(result.status, 4, result.stderr);
      const line = body.split("\n").length;
      assert.match(
        result.stderr,
        new RegExp(
          `error\\[${code}\\]: ${file.replace(".", "\\.")}:${line}:4: an alias.* refers to an anchor that is not defined before it`,
        ),
      );
    }
  });

  test("a recursive alias (a: &a [*a]) is refused, not an endless structure", () => {
    const dir = project({ "tessera.yaml": "secrets:\n  required: &a [*a]\n" });
    const result = tessera(["check"], { cwd: dir });
    noInternal(result.stderr);
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /E_MANIFEST_SYNTAX\]: tessera\.yaml:2:17: an alias \(\*a\) is inside the node its anchor names/,
    );
  });

  test("a billion-laughs document: refused, in a manifest, a Dockfile and a value file's sources", () => {
    const cases: [string, string, string][] = [
      ["tessera.yaml", LAUGHS, "E_MANIFEST_SYNTAX"],
      ["Dockfile.yaml", `version: "1.0"\n${LAUGHS}`, "E_MANIFEST_SYNTAX"],
      ["env.yaml", `${LAUGHS}sources:\n  - { name: hv, x: *g }\n`, "E_VALUES_INVALID"],
    ];
    for (const [file, text, code] of cases) {
      const files: Record<string, string> = { [file]: text };
      if (file === "env.yaml") files["tessera.yaml"] = "secrets: [API_KEY]\n";
      const result = tessera(["check"], { cwd: project(files) });
      noInternal(result.stderr);
      assert.equal(result.status, 4, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `error\\[${code}\\]: ${file.replace(".", "\\.")}:\\d+:\\d+: aliases \\(\\*name\\) expand the document`,
        ),
      );
    }
  });

  test("manifests nested 100,000 deep: coded errors with a location", () => {
    const deepJson = `{"env": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const valid = tessera(["check"], { cwd: project({ "manifest.json": deepJson }) });
    noInternal(valid.stderr);
    assert.equal(valid.status, 4, valid.stderr);
    // Deeper than the JSON scanner goes: the problem is located at the start of the file.
    assert.match(valid.stderr, /E_MANIFEST_INVALID\]: manifest\.json:1:1: an env entry is/);

    const broken = tessera(["check"], {
      cwd: project({ "manifest.json": `{"env": ${"[".repeat(100_000)}` }),
    });
    noInternal(broken.stderr);
    assert.equal(broken.status, 4, broken.stderr);
    assert.match(
      broken.stderr,
      /E_MANIFEST_SYNTAX\]: manifest\.json:1:\d+: invalid JSON: arrays and objects nested more than 1000 levels deep/,
    );

    const yaml = tessera(["check"], {
      cwd: project({ "tessera.yaml": `secrets: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n` }),
    });
    noInternal(yaml.stderr);
    assert.equal(yaml.status, 4, yaml.stderr);
    assert.match(
      yaml.stderr,
      /E_MANIFEST_SYNTAX\]: tessera\.yaml:1:\d+: invalid YAML: the document is nested too deeply to read\n/,
    );
  });
});

describe("vault answers: never echoed, never E_INTERNAL", () => {
  const TOKEN = "hvs.fake-hostile-token-01";
  let vault: FakeServer;
  before(async () => {
    vault = await startVault({
      tokens: [TOKEN],
      mounts: { secret: { version: 2, secrets: { app: { API_KEY: "fake-value" } } } },
    });
  });
  after(() => vault.close());
  const manifest = () =>
    `sources:\n  - { type: vault, name: hv, address: "${vault.url}", path: app }\nsecrets:\n  required: [API_KEY]\n`;

  for (const [status, body, expected] of [
    [
      400,
      { errors: [`bad request: ${SECRET}`] },
      /E_SOURCE_FAILED.*secret\/data\/app: bad request \(HTTP 400\)/,
    ],
    [
      403,
      { errors: [`1 error occurred:\n\t* permission denied: ${SECRET}\n\n`] },
      /E_SOURCE_DENIED.*secret\/data\/app: permission denied \(HTTP 403\)/,
    ],
    [
      403,
      { errors: [`invalid token ${SECRET}`] },
      /E_SOURCE_AUTH.*secret\/data\/app: the token is not valid \(HTTP 403\)/,
    ],
    [405, { errors: [`${SECRET}`] }, /E_SOURCE_FAILED.*secret\/data\/app: method not allowed \(HTTP 405\)/],
    [418, `<html>${SECRET}</html>`, /E_SOURCE_FAILED.*secret\/data\/app: unexpected answer \(HTTP 418\)/],
  ] as const) {
    test(`HTTP ${status} with ${typeof body === "string" ? "a proxy page" : JSON.stringify(body).slice(0, 40)}: the status and fixed words`, async () => {
      vault.reset();
      vault.inject({ status, body }, { times: 5 });
      const result = await tesseraAsync(["check"], {
        cwd: project({ "tessera.yaml": manifest() }),
        env: { VAULT_TOKEN: TOKEN },
      });
      noInternal(result.stderr);
      assert.ok(!result.stderr.includes(SECRET), result.stderr);
      assert.match(result.stderr, expected);
      assert.match(result.stderr, /tessera\.yaml:2:\d+/);
    });
  }

  test("an answer nested 100,000 deep: E_SOURCE_INVALID at the source", async () => {
    vault.reset();
    const deep = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    vault.inject({ status: 200, body: `{"data":{"data":{"API_KEY":${deep}}}}` }, { times: 5 });
    const result = await tesseraAsync(["check"], {
      cwd: project({ "tessera.yaml": manifest() }),
      env: { VAULT_TOKEN: TOKEN },
    });
    noInternal(result.stderr);
    assert.equal(result.status, 4, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_INVALID\]: tessera\.yaml:2:\d+: vault source "hv": the store answered a value nested more than 1000 levels deep/,
    );
  });
});
