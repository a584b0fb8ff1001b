/**
 * Precedence end to end: --secret > process environment > files named on the command line > the
 * profile's files > the workspace store > generic files > manifest defaults; first-given-wins for
 * --values and --env-file; what a missing or empty required variable looks like to the user.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";
import { assertNoValues, parseJson } from "./cli-support.ts";

const MANIFEST = `secrets:
  required:
    - name: API_KEY
      description: key for the fake API
    - name: DB_PASSWORD
      description: database password
  optional:
    - name: TOKEN
      default: fake-token-default
`;

function value(name: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = tessera(["export", "-f", "json", "--allow-missing-secrets", "-q", ...args], { cwd, env });
  assert.equal(result.status, 0, result.stderr);
  return parseJson<Record<string, string>>(result.stdout)[name];
}

function winner(name: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = tessera(["explain", "--json", name, ...args], { cwd, env });
  assert.equal(result.status, 0, result.stderr);
  const variable = parseJson<{ variables: { winner?: { where: string }; shadowed: { where: string }[] }[] }>(
    result.stdout,
  ).variables[0];
  return { where: variable?.winner?.where, shadowed: variable?.shadowed.map((origin) => origin.where) };
}

describe("precedence: --secret > environment > env.yaml > .env > default", () => {
  test("peeling the layers off one by one", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "TOKEN=fake-token-dotenv\n",
      "env.yaml": "TOKEN: fake-token-yaml\n",
    });
    const env = { TOKEN: "fake-token-env" };
    const flag = ["--secret", "TOKEN=fake-token-flag"];

    assert.equal(value("TOKEN", flag, cwd, env), "fake-token-flag");
    assert.deepEqual(winner("TOKEN", flag, cwd, env), {
      where: "--secret",
      shadowed: ["process environment", "env.yaml:1", ".env:1", "tessera.yaml:9 (default)"],
    });
    assert.equal(value("TOKEN", [], cwd, env), "fake-token-env");
    assert.equal(value("TOKEN", [], cwd), "fake-token-yaml");
    rmSync(join(cwd, "env.yaml"));
    assert.equal(value("TOKEN", [], cwd), "fake-token-dotenv");
    rmSync(join(cwd, ".env"));
    assert.equal(value("TOKEN", [], cwd), "fake-token-default");
    assert.deepEqual(winner("TOKEN", [], cwd), { where: "tessera.yaml:9 (default)", shadowed: [] });
  });

  test("the same order for the child of run", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "API_KEY=fake-api-dotenv\nDB_PASSWORD=fake-db-dotenv\n",
      "env.yaml": "API_KEY: fake-api-yaml\n",
    });
    const result = tessera(["run", "--no-mask", "--", "sh", "-c", 'echo "$API_KEY $DB_PASSWORD $TOKEN"'], {
      cwd,
      env: { DB_PASSWORD: "fake-db-env" },
    });
    assert.equal(result.stdout, "fake-api-yaml fake-db-env fake-token-default\n");
  });

  test(".env.local outranks .env; .env.PROFILE.local > .env.PROFILE > .env.local", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "API_KEY=fake-1-env\nDB_PASSWORD=fake-db\n",
      ".env.local": "API_KEY=fake-2-env-local\n",
    });
    assert.equal(value("API_KEY", [], cwd), "fake-2-env-local");
    writeFileSync(join(cwd, ".env.qa"), "API_KEY=fake-3-env-qa\n");
    assert.equal(value("API_KEY", ["--env", "qa"], cwd), "fake-3-env-qa");
    writeFileSync(join(cwd, ".env.qa.local"), "API_KEY=fake-4-env-qa-local\n");
    assert.equal(value("API_KEY", ["--env", "qa"], cwd), "fake-4-env-qa-local");
    assert.equal(value("API_KEY", [], cwd), "fake-2-env-local", "profile files only for the profile");
  });

  test("env.PROFILE.yaml > .dockrion-env.yaml > env.yaml (Dockrion's own order)", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      "env.yaml": "API_KEY: fake-1-env-yaml\n",
    });
    assert.equal(value("API_KEY", [], cwd), "fake-1-env-yaml");
    writeFileSync(join(cwd, ".dockrion-env.yaml"), "secrets:\n  API_KEY: fake-2-dockrion\n");
    assert.equal(value("API_KEY", [], cwd), "fake-2-dockrion");
    writeFileSync(join(cwd, "env.qa.yaml"), "API_KEY: fake-3-env-qa-yaml\n");
    assert.equal(value("API_KEY", ["--env", "qa"], cwd), "fake-3-env-qa-yaml");
  });

  test("--values and --env-file: the first given wins, above the automatic files of their kind", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      "one.yaml": "API_KEY: fake-api-one-yaml\n",
      "two.yaml": "API_KEY: fake-api-two-yaml\nDB_PASSWORD: fake-db-two-yaml\n",
      "env.yaml": "DB_PASSWORD: fake-db-env-yaml\nTOKEN: fake-token-env-yaml\n",
      "one.env": "TOKEN=fake-token-one-env\n",
      "two.env": "TOKEN=fake-token-two-env\n",
    });
    const args = ["--values", "one.yaml", "--values", "two.yaml"];
    assert.equal(value("API_KEY", args, cwd), "fake-api-one-yaml");
    assert.equal(value("DB_PASSWORD", args, cwd), "fake-db-two-yaml");
    assert.equal(
      value("API_KEY", ["--values", "two.yaml", "--values", "one.yaml"], cwd),
      "fake-api-two-yaml",
    );
    assert.deepEqual(winner("API_KEY", args, cwd), { where: "one.yaml:1", shadowed: ["two.yaml:1"] });

    rmSync(join(cwd, "env.yaml"));
    assert.equal(
      value("TOKEN", ["--env-file", "one.env", "--env-file", "two.env"], cwd),
      "fake-token-one-env",
    );
    assert.equal(
      value("TOKEN", ["--env-file", "two.env", "--env-file", "one.env"], cwd),
      "fake-token-two-env",
    );
    assert.equal(
      value("TOKEN", ["--env-file", "two.env"], cwd, { TOKEN: "fake-token-env" }),
      "fake-token-env",
      "the environment still outranks any file",
    );
  });

  test("within one .env file the last duplicate wins", () => {
    const cwd = project({ "tessera.yaml": MANIFEST, ".env": "TOKEN=fake-first\nTOKEN=fake-second\n" });
    assert.equal(value("TOKEN", [], cwd), "fake-second");
    assert.deepEqual(winner("TOKEN", [], cwd), {
      where: ".env:2",
      shadowed: [".env:1", "tessera.yaml:9 (default)"],
    });
  });

  test("a reference reads the merged scope, whichever layer defines the name", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "API_KEY=fake-${STAGE}-key\nDB_PASSWORD=${DB_PREFIX:-fake}-db\nSTAGE=dotenv-stage\n",
    });
    assert.equal(value("API_KEY", [], cwd, { STAGE: "env-stage" }), "fake-env-stage-key");
    assert.equal(value("API_KEY", [], cwd), "fake-dotenv-stage-key");
    assert.equal(value("DB_PASSWORD", ["--secret", "DB_PREFIX=flag"], cwd), "flag-db");
  });
});

describe("which layers are interpolated", () => {
  test("values from the environment and from --secret are literal; file values are interpolated", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "TOKEN=${API_KEY}-from-dotenv\nNOT_DECLARED=fake-ref\n",
    });
    const env = { API_KEY: "fake-$NOT_DECLARED-${NOT_DECLARED}" };
    const args = ["--secret", "DB_PASSWORD=fake-$$-${NOT_DECLARED}"];
    assert.equal(value("API_KEY", args, cwd, env), "fake-$NOT_DECLARED-${NOT_DECLARED}");
    assert.equal(value("DB_PASSWORD", args, cwd, env), "fake-$$-${NOT_DECLARED}");
    assert.equal(value("TOKEN", args, cwd, env), "fake-$NOT_DECLARED-${NOT_DECLARED}-from-dotenv");
  });

  test("single-quoted .env values are literal, double-quoted ones are interpolated", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "HOST=fake-host\nAPI_KEY='lit-${HOST}'\nDB_PASSWORD=\"int-${HOST}\"\n",
    });
    assert.equal(value("API_KEY", [], cwd), "lit-${HOST}");
    assert.equal(value("DB_PASSWORD", [], cwd), "int-fake-host");
  });
});

describe("missing and empty required variables", () => {
  test("every missing name is listed with its description and where Tessera looked (exit 3)", () => {
    const cwd = project({ "tessera.yaml": MANIFEST, ".env": "UNRELATED=1\n" });
    for (const command of [["check"], ["export"], ["run", "--", "true"]]) {
      const result = tessera(command, { cwd });
      assert.equal(result.status, 3, command.join(" "));
      assert.equal(result.stdout, "");
      const lines = result.stderr.split("\n");
      assert.equal(
        lines[0],
        "tessera: error[E_MISSING_REQUIRED]: 2 required variables are missing: API_KEY, DB_PASSWORD",
      );
      assert.equal(lines[1], "  API_KEY — key for the fake API");
      assert.equal(
        lines[2],
        "    looked in: --secret flags, process environment, workspace store .tessera/store.age (not found), .dockrion-env.yaml (not found), env.yaml (not found), .env.local (not found), .env, manifest default (none)",
      );
      assert.equal(lines[3], "  DB_PASSWORD — database password");
      assert.match(lines[4] ?? "", /^ {4}looked in: /);
      assert.match(result.stderr, /hint: .*--allow-missing-secrets/);
    }
  });

  test("the looked-in list includes --values/--env-file and the profile files", () => {
    const cwd = project({
      "tessera.yaml": `${MANIFEST}profiles:\n  qa: {}\n`,
      "x.yaml": "{}\n",
      "x.env": "",
    });
    const result = tessera(["check", "--env", "qa", "--values", "x.yaml", "--env-file", "x.env"], { cwd });
    assert.equal(result.status, 3, result.stderr);
    assert.match(
      result.stderr,
      /looked in: --secret flags, process environment, --values x\.yaml, --env-file x\.env, env\.qa\.yaml \(not found\), \.env\.qa\.local \(not found\), \.env\.qa \(not found\), profiles\.qa in tessera\.yaml, workspace store \.tessera\/store\.age \(not found\), \.dockrion-env\.yaml \(not found\), env\.yaml \(not found\), \.env\.local \(not found\), \.env \(not found\), manifest default \(none\)/,
    );
  });

  test("--allow-missing-secrets turns it into warnings on stderr, exit 0, the rest resolved", () => {
    const cwd = project({ "tessera.yaml": MANIFEST, ".env": "API_KEY=fake-api-1234\n" });
    const result = tessera(["export", "--allow-missing-secrets"], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "API_KEY=fake-api-1234\nTOKEN=fake-token-default\n");
    assert.match(
      result.stderr,
      /^tessera: warning\[W_MISSING_REQUIRED\]: required variable DB_PASSWORD — database password is missing \(allowed by --allow-missing-secrets\)$/m,
    );
    assert.doesNotMatch(result.stderr, /API_KEY/);

    const check = tessera(["check", "--allow-missing-secrets"], { cwd });
    assert.equal(check.status, 0);
    assert.match(check.stderr, /1 missing \(allowed\): DB_PASSWORD/);
  });

  test("an empty value shadowing lower layers is reported with the place that set it empty", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "API_KEY=fake-api-dotenv-1234\nDB_PASSWORD=fake-db-1234\n",
      "env.yaml": 'API_KEY: ""\n',
    });
    const result = tessera(["run", "--", "true"], { cwd });
    assert.equal(result.status, 3);
    assert.match(
      result.stderr,
      /a required variable is empty: API_KEY\n {2}API_KEY — key for the fake API\n {4}set to an empty value by env\.yaml:1 \(shadowing \.env:1\)/,
    );
    assertNoValues([result.stderr], ["fake-api-dotenv-1234"]);

    const explain = tessera(["explain", "API_KEY"], { cwd });
    assert.match(
      explain.stdout,
      /✗ empty \(required\): set to "" by env\.yaml:1\n {4}shadows \.env:1 {2}\(dotenv file\)/,
    );

    const json = tessera(["check", "--json"], { cwd });
    const report = parseJson<{ missing: { name: string; reason: string; detail: string[] }[] }>(json.stdout);
    assert.deepEqual(report.missing, [
      {
        name: "API_KEY",
        kind: "secret",
        description: "key for the fake API",
        reason: "empty",
        detail: ["set to an empty value by env.yaml:1 (shadowing .env:1)"],
      },
    ]);
  });

  test("an empty value from the process environment names the environment", () => {
    const cwd = project({ "tessera.yaml": MANIFEST, ".env": "API_KEY=fake-api-1234\nDB_PASSWORD=fake-db\n" });
    const result = tessera(["check"], { cwd, env: { API_KEY: "" } });
    assert.equal(result.status, 3);
    assert.match(result.stderr, /set to an empty value by process environment \(shadowing \.env:1\)/);
  });

  test("an empty optional value is a value: it shadows the default and is exported empty", () => {
    const cwd = project({ "tessera.yaml": MANIFEST, ".env": "API_KEY=a1234\nDB_PASSWORD=b1234\nTOKEN=\n" });
    const result = tessera(["export"], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^TOKEN=$/m);
  });

  test("a value that refers to a missing required variable is reported as such", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": "API_KEY=fake-prefix-${DB_PASSWORD}\n",
    });
    const result = tessera(["check"], { cwd });
    assert.equal(result.status, 3);
    assert.match(result.stderr, /2 required variables are missing: API_KEY, DB_PASSWORD/);
    assert.match(result.stderr, /its value \(\.env:1\) refers to DB_PASSWORD, which is missing/);
  });
});
