/**
 * One dotenv dialect, no silent differences (issue 10 §6), end to end: W_DIALECT for a `.env` that
 * Dockrion or Ploinky also reads (an error with `check --strict`), names with dots, dashes and brackets
 * (legal in Compose and in the environment, refused only by the shell format of `export`), and a line
 * holding only NAME taking NAME from the environment. Values are fake; no message may show one.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { project, type Result, tessera } from "../helpers.ts";
import { assertNoValues, NODE, parseJson } from "./cli-support.ts";

const PLOINKY = `${JSON.stringify({ container: "node:20-alpine", env: ["LOG_LEVEL", "API_TOKEN"] })}\n`;
const DOCKFILE =
  'version: "1.0"\nagent:\n  name: fake-agent\n  handler: app:run\nio_schema: {}\nexpose: {}\n' +
  "secrets:\n  required:\n    - name: OPENAI_API_KEY\n  optional:\n    - name: LOG_LEVEL\n      default: info\n";
const TESSERA = "secrets:\n  optional:\n    - name: API_TOKEN\nconfig:\n  LOG_LEVEL: info\n";

function warnings(result: Result, code = "W_DIALECT"): string[] {
  return result.stderr.split("\n").filter((line) => line.includes(`warning[${code}]`));
}

function ok(result: Result): Result {
  assert.equal(
    result.status,
    0,
    `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
  return result;
}

describe("W_DIALECT: a .env beside a Ploinky or Dockrion manifest", () => {
  test("Ploinky: an inline comment is named at its line, never quoted", () => {
    const cwd = project({
      "manifest.json": PLOINKY,
      ".env": "API_TOKEN=fake-token-5678\nLOG_LEVEL=debug # rotate monthly\n",
    });
    const result = ok(tessera(["check"], { cwd }));
    assert.deepEqual(warnings(result), [
      "tessera: warning[W_DIALECT]: .env:2: Ploinky reads the value of LOG_LEVEL differently: it keeps the inline comment as part of the value",
    ]);
    assertNoValues([result.stdout, result.stderr], ["debug", "rotate", "monthly", "fake-token-5678"]);
  });

  test('Ploinky: "l1\\nl2" and a value spanning lines', () => {
    const cwd = project({
      "manifest.json": PLOINKY,
      ".env": 'LOG_LEVEL="l1\\nl2"\nAPI_TOKEN="fake-begin\nINNER=fake-inner\nfake-end"\n',
    });
    const result = ok(tessera(["check"], { cwd }));
    const found = warnings(result);
    assert.equal(found.length, 3, result.stderr);
    assert.match(
      found[0]!,
      /\.env:1: Ploinky reads the value of LOG_LEVEL differently: it does not decode backslash escapes/,
    );
    assert.match(
      found[1]!,
      /\.env:2: Ploinky reads the value of API_TOKEN differently: it reads the file line by line/,
    );
    assert.match(found[2]!, /\.env:3: Ploinky reads this line as a variable of its own/);
    assertNoValues([result.stdout, result.stderr], ["l1", "fake-begin", "INNER", "fake-inner", "fake-end"]);
  });

  test("Ploinky reads only .env: .env.local is not compared", () => {
    const cwd = project({
      "manifest.json": PLOINKY,
      ".env": "LOG_LEVEL=debug\n",
      ".env.local": "API_TOKEN=fake-token-5678 # rotate monthly\n",
    });
    const result = ok(tessera(["check"], { cwd }));
    assert.deepEqual(warnings(result), []);
  });

  test("Dockrion: `export` and an inline comment, each at its line", () => {
    const cwd = project({
      "Dockfile.yaml": DOCKFILE,
      ".env": "export OPENAI_API_KEY=fake-openai-key-1234\nLOG_LEVEL=debug # rotate monthly\n",
    });
    const result = ok(tessera(["check"], { cwd }));
    assert.deepEqual(warnings(result), [
      "tessera: warning[W_DIALECT]: .env:1: Dockrion does not read OPENAI_API_KEY: it does not understand `export `, and reads the word as part of the name",
      "tessera: warning[W_DIALECT]: .env:2: Dockrion reads the value of LOG_LEVEL differently: it keeps the inline comment as part of the value",
    ]);
    assertNoValues([result.stdout, result.stderr], ["fake-openai-key-1234", "debug", "rotate"]);
  });

  test("check --strict: W_DIALECT is an error (E_DIALECT, exit 4)", () => {
    const cwd = project({ "manifest.json": PLOINKY, ".env": "LOG_LEVEL=debug # rotate monthly\n" });
    const result = tessera(["check", "--strict"], { cwd });
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /error\[E_DIALECT\]/);
    assert.match(result.stderr, /\.env:1/);
    assertNoValues([result.stdout, result.stderr], ["debug", "rotate"]);
  });

  test("what every reader reads alike gets no warning", () => {
    const text =
      "# rotate monthly\nLOG_LEVEL=debug\nAPI_TOKEN='fake-pa$word # kept'\nOPENAI_API_KEY=\"fake-openai-key-1234\"\n";
    for (const [file, manifest] of [
      ["manifest.json", PLOINKY],
      ["Dockfile.yaml", DOCKFILE],
    ] as const) {
      const result = ok(tessera(["check"], { cwd: project({ [file]: manifest, ".env": text }) }));
      assert.deepEqual(warnings(result), [], file);
    }
  });

  test("a tessera.yaml project reads .env in the Compose dialect alone: no W_DIALECT", () => {
    const cwd = project({ "tessera.yaml": TESSERA, ".env": "LOG_LEVEL=debug # rotate monthly\n" });
    const result = ok(tessera(["export", "--format", "json"], { cwd }));
    assert.deepEqual(warnings(result), []);
    assert.equal(parseJson<Record<string, string>>(result.stdout).LOG_LEVEL, "debug");
  });
});

describe("names with dots, dashes and brackets", () => {
  const ENV = "VAR.WITH.DOTS=fake-dots\nVAR-WITH-DASHES=fake-dashes\na[1]=fake-bracket\nPLAIN=fake-plain\n";

  test("they reach the child of run, and export's dotenv and json", () => {
    const cwd = project({ ".env": ENV });
    const child = parseJson<Record<string, string>>(
      ok(
        tessera(["run", "--no-mask", "--", NODE, "-e", "process.stdout.write(JSON.stringify(process.env))"], {
          cwd,
        }),
      ).stdout,
    );
    assert.equal(child["VAR.WITH.DOTS"], "fake-dots");
    assert.equal(child["VAR-WITH-DASHES"], "fake-dashes");
    assert.equal(child["a[1]"], "fake-bracket");
    const json = ok(tessera(["export", "--format", "json"], { cwd }));
    assert.deepEqual(parseJson(json.stdout), {
      "VAR.WITH.DOTS": "fake-dots",
      "VAR-WITH-DASHES": "fake-dashes",
      "a[1]": "fake-bracket",
      PLAIN: "fake-plain",
    });
    assert.deepEqual(warnings(json, "W_NAME_INVALID"), []);
    const dotenv = ok(tessera(["export"], { cwd }));
    assert.match(dotenv.stdout, /^VAR\.WITH\.DOTS=fake-dots$/m);
  });

  test("export --format shell refuses them: exit 4, each named with its line, no value", () => {
    const cwd = project({ ".env": ENV });
    const result = tessera(["export", "--format", "shell"], { cwd });
    assert.equal(result.status, 4, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /error\[E_VALUE_UNREPRESENTABLE\]: 3 variables cannot be exported by a shell: their names are not shell variable names/,
    );
    assert.match(result.stderr, /VAR\.WITH\.DOTS \(set at \.env:1\)/);
    assert.match(result.stderr, /VAR-WITH-DASHES \(set at \.env:2\)/);
    assert.match(result.stderr, /a\[1\] \(set at \.env:3\)/);
    assertNoValues([result.stderr], ["fake-dots", "fake-dashes", "fake-bracket", "fake-plain"]);
  });

  test("a name starting with a digit is still skipped with W_NAME_INVALID, by line only", () => {
    const cwd = project({ ".env": "1A=fake-digit\nPLAIN=fake-plain\n" });
    const result = ok(tessera(["export", "--format", "shell"], { cwd }));
    assert.equal(result.stdout, "export PLAIN='fake-plain'\n");
    assert.match(result.stderr, /warning\[W_NAME_INVALID\]: \.env:1:/);
    assertNoValues([result.stderr], ["1A", "fake-digit"]);
  });
  test("a target refuses only the names its artifacts cannot carry, naming each", () => {
    const cwd = project({ ".env": ENV, ".gitignore": "out*/\n" });
    const docker = tessera(
      ["build", "-t", "docker", "--name", "app", "--image", "app:1", "-o", "out-docker"],
      { cwd },
    );
    assert.equal(docker.status, 4, docker.stderr);
    assert.match(
      docker.stderr,
      /error\[E_VALUE_UNREPRESENTABLE\]: 3 variables have names the docker target can carry/,
    );
    assert.match(docker.stderr, /VAR\.WITH\.DOTS \(set at \.env:1\)/);
    // Kubernetes keys and env names take dots and dashes, not brackets.
    const kube = tessera(
      ["build", "-t", "kubernetes", "--name", "app", "--image", "app:1", "-o", "out-k8s"],
      { cwd },
    );
    assert.equal(kube.status, 4, kube.stderr);
    assert.match(
      kube.stderr,
      /error\[E_VALUE_UNREPRESENTABLE\]: a\[1\] is not a name the kubernetes target can carry/,
    );
    assertNoValues([docker.stderr, kube.stderr], ["fake-dots", "fake-dashes", "fake-bracket", "fake-plain"]);
  });
});

describe("a line holding only NAME takes NAME from the environment", () => {
  test("found: the variable has the environment's value, literally", () => {
    const cwd = project({ ".env": "PLAIN=fake-plain\nFROM_HOST\n" });
    const result = ok(
      tessera(["export", "--format", "json"], { cwd, env: { FROM_HOST: "fake-host-$NOT_A_REFERENCE" } }),
    );
    assert.deepEqual(parseJson(result.stdout), {
      PLAIN: "fake-plain",
      FROM_HOST: "fake-host-$NOT_A_REFERENCE",
    });
  });

  test("not in the environment: no variable, no warning", () => {
    const cwd = project({ ".env": "PLAIN=fake-plain\nFROM_HOST\n" });
    const result = ok(tessera(["export", "--format", "json"], { cwd }));
    assert.deepEqual(parseJson(result.stdout), { PLAIN: "fake-plain" });
    assert.equal(result.stderr, "");
  });
});
