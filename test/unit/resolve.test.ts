/** Resolution: validation, interpolation across layers, cycles, self-references, `from:`, errors without values. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Context, resolveFromFlags } from "../../src/commands/common.ts";
import { formatError, isTesseraError, type TesseraError } from "../../src/errors.ts";
import { findJsonSyntaxError } from "../../src/formats/json-syntax.ts";
import { Value } from "../../src/model/value.ts";
import { missingError } from "../../src/pipeline/missing.ts";
import { project } from "../helpers.ts";

process.env.TESSERA_CACHE_DIR = "off";

async function resolveIn(
  files: Record<string, string>,
  flags: Record<string, unknown> = {},
  env: Record<string, string> = {},
) {
  const dir = project(files);
  const context: Context = { cwd: dir, env, stdout: () => {}, stderr: () => {} };
  return (await resolveFromFlags(flags, context)).resolution;
}

async function rejects(promise: Promise<unknown>): Promise<TesseraError> {
  try {
    await promise;
  } catch (error) {
    if (isTesseraError(error)) return error;
    throw error;
  }
  assert.fail("expected a TesseraError");
}

const values = (resolution: Awaited<ReturnType<typeof resolveIn>>) =>
  Object.fromEntries(
    resolution.variables
      .filter((variable) => variable.value)
      .map((variable) => [variable.name, variable.value!.reveal()]),
  );

describe("validation", () => {
  test("missing required variables are listed with descriptions and every place looked", async () => {
    const resolution = await resolveIn({
      "tessera.yaml":
        "secrets:\n  required:\n    - name: A\n      description: the A key\n    - B\n  optional: [C]\n",
      ".env": "OTHER=1\n",
    });
    assert.deepEqual(
      resolution.missing.map((variable) => variable.name),
      ["A", "B"],
    );
    const error = missingError(resolution);
    assert.equal(error.exitCode, 3);
    const text = formatError(error);
    assert.match(text, /2 required variables are missing: A, B/);
    assert.match(text, /A — the A key/);
    assert.match(
      text,
      /looked in: --secret flags, process environment, workspace store \.tessera\/store\.age \(not found\), \.dockrion-env\.yaml \(not found\), env\.yaml \(not found\), \.env\.local \(not found\), \.env, manifest default \(none\)/,
    );
    assert.equal(values(resolution).C, undefined, "a missing optional variable is left out");
  });

  test("a required variable set empty names the layer that emptied it and what it shadowed", async () => {
    const resolution = await resolveIn({
      "tessera.yaml": "secrets: [TOKEN]\n",
      "env.yaml": "TOKEN: ''\n",
      ".env": "TOKEN=real\n",
    });
    const [token] = resolution.missing;
    assert.equal(token?.status, "empty");
    assert.match(
      formatError(missingError(resolution)),
      /set to an empty value by env\.yaml:1 \(shadowing \.env:1\)/,
    );
  });

  test("a default satisfies a required variable; an empty default does not", async () => {
    const ok = await resolveIn({
      "tessera.yaml":
        "secrets:\n  required:\n    - { name: A, default: x }\n    - { name: B, default: '' }\n",
    });
    assert.equal(values(ok).A, "x");
    assert.deepEqual(
      ok.missing.map((variable) => [variable.name, variable.status]),
      [["B", "empty"]],
    );
  });

  test("optional variables take their default, or are left out", async () => {
    const resolution = await resolveIn({
      "tessera.yaml": "secrets:\n  optional:\n    - { name: A, default: dflt }\n    - B\n",
    });
    assert.deepEqual(values(resolution), { A: "dflt" });
    assert.equal(resolution.missing.length, 0);
  });

  test("a value referring to a missing required variable is unresolved, and the error says so", async () => {
    const resolution = await resolveIn({
      "tessera.yaml": "secrets: [DB_PASS]\nconfig:\n  DATABASE_URL: postgres://app:${DB_PASS}@db/app\n",
    });
    assert.deepEqual(
      resolution.missing.map((variable) => [variable.name, variable.status]),
      [["DB_PASS", "missing"]],
    );
    const url = resolution.variables.find((variable) => variable.name === "DATABASE_URL");
    assert.equal(url?.status, "unresolved");
    assert.equal(url?.value, undefined);
  });

  test("a NUL character is refused: no environment can carry it", async () => {
    const error = await rejects(resolveIn({ "tessera.yaml": "secrets: [A]\n", "env.yaml": 'A: "x\\0y"\n' }));
    assert.equal(error.code, "E_VALUE_INVALID");
    assert.deepEqual(error.location, { file: "env.yaml", line: 1, column: 1 });
  });
});

describe("interpolation across layers", () => {
  test("parts from different layers combine; undeclared names serve references but are not exported", async () => {
    const resolution = await resolveIn(
      {
        "tessera.yaml": "secrets: [DATABASE_URL]\nconfig:\n  DB_HOST: db.internal\n",
        "env.yaml": "DB_USER: app\n",
        ".env": 'DATABASE_URL="postgres://${DB_USER}:${DB_PASS}@${DB_HOST}/app"\n',
      },
      { secret: ["DB_PASS=fake-pass"] },
    );
    assert.deepEqual(values(resolution), {
      DATABASE_URL: "postgres://app:fake-pass@db.internal/app",
      DB_HOST: "db.internal",
    });
  });

  test("the process environment serves references, but flags and env values are never interpolated", async () => {
    const resolution = await resolveIn(
      { "tessera.yaml": "secrets: [A, B, C]\n", ".env": "A=${HOME_DIR}/x\n" },
      { secret: ["B=$NOT_EXPANDED"] },
      { HOME_DIR: "/home/u", C: "${ALSO_LITERAL}" },
    );
    assert.deepEqual(values(resolution), { A: "/home/u/x", B: "$NOT_EXPANDED", C: "${ALSO_LITERAL}" });
  });

  test("single-quoted .env values are literal; $$ is a literal $", async () => {
    const resolution = await resolveIn({
      "tessera.yaml": "secrets: [A, B, C]\n",
      ".env": "A='${X}'\nB=pa$$word\nC=\"\\$HOME\"\n",
    });
    assert.deepEqual(values(resolution), { A: "${X}", B: "pa$word", C: "$HOME" });
  });

  test("a self-reference reads the layers below (X=${X:-default})", async () => {
    const below = await resolveIn({
      "tessera.yaml": "config:\n  PORT: '8080'\n",
      ".env": "PORT=${PORT:-3000}\n",
    });
    assert.equal(values(below).PORT, "8080", "the manifest value is below the .env");
    const nothing = await resolveIn({
      "tessera.yaml": "config:\n  PORT: { required: true }\n",
      ".env": "PORT=${PORT:-3000}\n",
    });
    assert.equal(values(nothing).PORT, "3000");
    const extend = await resolveIn({
      "tessera.yaml": "config:\n  PYTHONPATH: /base\n",
      ".env.local": "PYTHONPATH=./src:${PYTHONPATH}\n",
    });
    assert.equal(values(extend).PYTHONPATH, "./src:/base");
  });

  test("a reference cycle is an error that names the cycle", async () => {
    const error = await rejects(
      resolveIn({ "tessera.yaml": "secrets: [A]\n", ".env": "A=${B}\nB=x${C}\nC=${A}y\n" }),
    );
    assert.equal(error.code, "E_REF_CYCLE");
    assert.equal(error.exitCode, 4);
    assert.match(error.message, /reference cycle: A → B → C → A/);
    assert.deepEqual(error.details, ["A is set at .env:1", "B is set at .env:2", "C is set at .env:3"]);
  });

  test("an unset reference is an error; ${X:-} says empty is fine", async () => {
    const error = await rejects(resolveIn({ "tessera.yaml": "config:\n  URL: https://${HOST}/x\n" }));
    assert.equal(error.code, "E_REF_UNSET");
    assert.match(error.message, /the value of URL refers to HOST, which is not set/);
    assert.deepEqual(error.location, { file: "tessera.yaml", line: 2, column: 8 });
    const ok = await resolveIn({ "tessera.yaml": "config:\n  URL: https://${HOST:-}/x\n" });
    assert.equal(values(ok).URL, "https:///x");
  });

  test("an unset reference inside a value file does not quote the text (it may be part of a secret)", async () => {
    const error = await rejects(
      resolveIn({ "tessera.yaml": "secrets: [TOKEN]\n", ".env": "TOKEN=abc$zq8sUnlikelyName\n" }),
    );
    assert.equal(error.code, "E_REF_UNSET");
    assert.deepEqual(error.location, { file: ".env", line: 1 });
    const text = formatError(error);
    assert.doesNotMatch(text, /zq8sUnlikelyName/);
    assert.match(text, /character 4 of the value/);
  });

  test("${X:?message} fails with the user's message and exit 3", async () => {
    const error = await rejects(
      resolveIn({ "tessera.yaml": "config:\n  REGION: ${CLOUD_REGION:?set the cloud region}\n" }),
    );
    assert.equal(error.code, "E_REF_REQUIRED");
    assert.equal(error.exitCode, 3);
    assert.match(error.message, /CLOUD_REGION is required by the value of REGION: set the cloud region/);
  });

  test("chains of any length resolve without recursion", async () => {
    const lines = ["V0=start"];
    for (let i = 1; i <= 20_000; i++) lines.push(`V${i}=\${V${i - 1}}`);
    const resolution = await resolveIn({
      "tessera.yaml": "secrets: [V20000]\n",
      ".env": `${lines.join("\n")}\n`,
    });
    assert.equal(values(resolution).V20000, "start");
  });
});

describe("sources and from:", () => {
  test("from: reads a named source under another key", async () => {
    const resolution = await resolveIn({
      "tessera.yaml":
        "sources:\n  - { type: dotenv, path: shared/team.env, name: team }\nsecrets:\n  required:\n    - name: API_KEY\n      from: { source: team, key: TEAM_API_KEY }\n",
      "shared/team.env": "TEAM_API_KEY=from-team\n",
    });
    assert.equal(values(resolution).API_KEY, "from-team");
    assert.equal(resolution.variables[0]!.origin?.where, "shared/team.env:1");
  });

  test("a required source file that is missing is an error; an optional one is listed as not found", async () => {
    const error = await rejects(
      resolveIn({ "tessera.yaml": "sources:\n  - { type: dotenv, path: missing.env, required: true }\n" }),
    );
    assert.equal(error.code, "E_SOURCE_MISSING");
    const resolution = await resolveIn({
      "tessera.yaml": "sources:\n  - { type: dotenv, path: missing.env }\n",
    });
    assert.ok(resolution.looked.includes("missing.env (not found)"));
  });

  test("paths inside the manifest are relative to the manifest; flags to the current directory", async () => {
    const dir = project({
      "svc/tessera.yaml": "secrets: [A, B]\nsources:\n  - { type: dotenv, path: conf/a.env }\n",
      "svc/conf/a.env": "A=from-manifest-dir\n",
      "local.env": "B=from-cwd\n",
    });
    const context: Context = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {} };
    const { resolution } = await resolveFromFlags(
      { manifest: "svc/tessera.yaml", "env-file": ["local.env"] },
      context,
    );
    assert.deepEqual(values(resolution), { A: "from-manifest-dir", B: "from-cwd" });
  });

  test("a Ploinky varName is looked up under its own name and exported under the inside name", async () => {
    const resolution = await resolveIn({
      "manifest.json": JSON.stringify({
        // A secret by Ploinky's rule: a required entry without a default is refused otherwise.
        env: { DB_PASSWORD: { varName: "POSTGRES_PASSWORD", required: true } },
        expose: { ALIAS: "$SHARED" },
      }),
      ".env": "POSTGRES_PASSWORD=fake-pw\nSHARED=shared-value\nDB_PASSWORD=ignored\n",
    });
    assert.deepEqual(values(resolution), { DB_PASSWORD: "fake-pw", ALIAS: "shared-value" });
  });

  test("without a manifest, the variables are those the flags and value files define (never the environment)", async () => {
    const resolution = await resolveIn(
      { ".env": "A=1\n", "env.yaml": "B: 2\n" },
      { secret: ["C=3"] },
      { A: "from-env", UNRELATED: "x" },
    );
    assert.deepEqual(values(resolution), { C: "3", A: "from-env", B: "2" });
  });

  test("invalid names in value files are skipped with a warning that names file and line", async () => {
    const resolution = await resolveIn({ ".env": "good=1\n1bad=2\n", "env.yaml": "also-bad: 3\n" });
    assert.deepEqual(values(resolution), { good: "1" });
    assert.deepEqual(
      resolution.warnings
        .map((warning) => `${warning.code} ${warning.location?.file}:${warning.location?.line}`)
        .sort(),
      ["W_NAME_INVALID .env:2", "W_NAME_INVALID env.yaml:1"],
    );
  });
});

describe("YAML value files", () => {
  test("flat mappings and secrets: mappings; scalars keep their spelling; null means no value", async () => {
    const resolution = await resolveIn(
      { "tessera.yaml": "secrets:\n  optional: [A, B, C, D, E, F]\n" },
      { values: ["flat.yaml", "nested.yaml"] },
    ).catch(() => undefined);
    assert.equal(resolution, undefined, "missing --values files are an error");
    const ok = await resolveIn(
      {
        "tessera.yaml": "secrets:\n  optional: [A, B, C, D, E, F, G]\n",
        "flat.yaml": "A: 1.10\nB: yes\nC: ~\nD:\nE: 0x1F\n",
        "nested.yaml": "environment: dev\nsecrets:\n  F: from-secrets\nconfig:\n  G: from-config\n",
      },
      { values: ["flat.yaml", "nested.yaml"] },
    );
    assert.deepEqual(values(ok), { A: "1.10", B: "yes", E: "0x1F", F: "from-secrets", G: "from-config" });
  });

  test("nested values are refused with their position", async () => {
    const error = await rejects(
      resolveIn({ "tessera.yaml": "secrets: [A]\n", "env.yaml": "A:\n  nested: 1\n" }),
    );
    assert.equal(error.code, "E_VALUES_INVALID");
    assert.deepEqual(error.location, { file: "env.yaml", line: 2, column: 3 });
  });
});

describe("values never print by accident", () => {
  test("a Value prints as [redacted] through String, JSON and inspect", async () => {
    const value = new Value("fake-secret-value");
    const { inspect } = await import("node:util");
    assert.equal(String(value), "[redacted]");
    assert.equal(JSON.stringify({ value }), '{"value":"[redacted]"}');
    assert.equal(inspect({ value }), "{ value: [redacted] }");
    assert.equal(value.reveal(), "fake-secret-value");
  });
});

describe("JSON syntax locator", () => {
  test("agrees with JSON.parse on what is valid", () => {
    const jsonish = fc.oneof(
      fc.json(),
      fc.json().map((text) => text.replace(/,/, ",,")),
      fc.json().map((text) => text.replace(/}$/, ",}")),
      fc.string({
        unit: fc.constantFrom("{", "}", "[", "]", '"', ",", ":", "1", "a", " ", "\n", "\\", "-", ".", "e"),
      }),
    );
    fc.assert(
      fc.property(jsonish, (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        assert.equal(findJsonSyntaxError(text) === undefined, valid, text);
      }),
      { numRuns: 3000 },
    );
  });
});
