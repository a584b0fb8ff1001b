/** Typed values (issue 12): the checker, its words, coercion, and rule definitions read from the manifests. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatError, isTesseraError, type TesseraError } from "../../src/errors.ts";
import { parseDockfile } from "../../src/manifest/dockfile.ts";
import { parsePloinkyManifest } from "../../src/manifest/ploinky.ts";
import { parseTesseraManifest } from "../../src/manifest/tessera.ts";
import type { Declaration, Spec, ValueShape } from "../../src/model/spec.ts";
import { Value } from "../../src/model/value.ts";
import type { Resolution } from "../../src/resolve/resolve.ts";
import {
  brokenRules,
  checkShapes,
  coerce,
  InvalidValuesError,
  parseBoolean,
} from "../../src/resolve/shape.ts";

const at = { file: "tessera.yaml", line: 1, column: 1 };

function specOf(shapes: Record<string, ValueShape>): Spec {
  const variables: Declaration[] = Object.entries(shapes).map(([name, shape]) => ({
    name,
    lookup: name,
    kind: name.startsWith("SECRET") ? "secret" : "config",
    required: false,
    declaredAt: at,
    shape,
  }));
  return {
    kind: "tessera",
    file: "tessera.yaml",
    dir: "/p",
    variables,
    sources: [],
    profiles: {},
    implicitReferences: [],
    service: {},
  };
}

function resolutionOf(values: Record<string, string>): Resolution {
  return {
    variables: Object.entries(values).map(([name, text], index) => ({
      name,
      lookup: name,
      kind: name.startsWith("SECRET") ? "secret" : "config",
      required: false,
      status: "set",
      value: new Value(text),
      origin: { layer: "dotenv", where: `.env:${index + 1}`, file: ".env", line: index + 1 },
      shadowed: [],
    })),
    missing: [],
    warnings: [],
    looked: [],
  };
}

function fails(run: () => unknown): TesseraError {
  try {
    run();
  } catch (error) {
    if (isTesseraError(error)) return error;
    throw error;
  }
  assert.fail("expected a TesseraError");
}

describe("value types", () => {
  const cases: [ValueShape, string[], string[], RegExp][] = [
    [
      { type: "port" },
      ["1", "8080", "65535"],
      ["0", "65536", "-1", "80a", "", " 80", "8.0"],
      /is not a port \(1–65535\)/,
    ],
    [{ type: "integer" }, ["0", "-12", "+7"], ["1.5", "x", "1e3"], /is not an integer/],
    [{ type: "number" }, ["1.5", "-2", ".5", "1e3"], ["x", "1,5", "NaN", "Infinity"], /is not a number/],
    [{ type: "boolean" }, ["true", "FALSE", "1", "0", "Yes", "no"], ["y", "on", "2"], /is not a boolean/],
    [
      { type: "url" },
      ["https://example.test/a", "postgres://u@db/x"],
      ["example.test", "http://", "a b"],
      /is not a URL/,
    ],
    [{ type: "email" }, ["someone@example.test"], ["someone", "a@b", "a b@c.d"], /is not an email address/],
    [{ type: "json" }, ['{"a":1}', "[]", "3"], ["{a:1}", "'x'"], /is not valid JSON/],
    [{ type: "base64" }, ["ZmFrZQ==", "ZmFrZQ", "ZmFr-_"], ["not base64!", "===="], /is not base64/],
    [{ type: "duration" }, ["30s", "1h30m", "250ms", "2d"], ["30", "1y", "s"], /is not a duration/],
    [
      { type: "hostname" },
      ["db", "api.example.test", "a-b.c"],
      ["-a", "a_b", "a..b", "a b"],
      /is not a hostname/,
    ],
    [
      { type: "pem" },
      ["-----BEGIN PUBLIC KEY-----\nZmFrZQ==\n-----END PUBLIC KEY-----\n"],
      ["ZmFrZQ==", "-----BEGIN X-----\nZm\n-----END Y-----"],
      /is not a PEM block/,
    ],
    [{ enum: ["fast", "slow"] }, ["fast", "slow"], ["FAST", "medium"], /is not one of: fast, slow/],
    [
      { pattern: "[a-z]+-\\d+" },
      ["abc-1"],
      ["abc-1x", "xabc-1 ", "ABC-1"],
      /does not match the pattern \/\[a-z\]\+-\\d\+\//,
    ],
    [{ startsWith: "sk_" }, ["sk_fake"], ["pk_fake", ""], /does not start with "sk_"/],
    [{ minLength: 3 }, ["abc", "abcd"], ["ab"], /is shorter than 3 characters/],
    [{ maxLength: 3 }, ["abc", "é😀x"], ["abcd"], /is longer than 3 characters/],
    [{ type: "integer", min: 2, max: 4 }, ["2", "4"], ["1", "5"], /is (less|greater) than/],
  ];
  for (const [shape, good, bad, words] of cases) {
    test(`${JSON.stringify(shape)}`, () => {
      for (const text of good) assert.deepEqual(brokenRules(text, shape), [], `${JSON.stringify(text)} fits`);
      for (const text of bad) {
        const rules = brokenRules(text, shape);
        assert.ok(rules.length > 0, `${JSON.stringify(text)} does not fit`);
        assert.match(rules.join("; "), words);
      }
    });
  }

  test("booleans and numbers are coerced as the checker reads them", () => {
    assert.equal(coerce("8080", { type: "port" }), 8080);
    assert.equal(coerce("-1.5", { type: "number" }), -1.5);
    assert.equal(coerce("YES", { type: "boolean" }), true);
    assert.equal(coerce("0", { type: "boolean" }), false);
    assert.deepEqual(coerce('{"a":[1]}', { type: "json" }), { a: [1] });
    assert.equal(coerce("text", undefined), "text");
    assert.equal(parseBoolean("maybe"), undefined);
  });
});

describe("checkShapes", () => {
  test("names every failing variable, its rule and where the value came from", () => {
    const problems = checkShapes(
      resolutionOf({ PORT: "http", MODE: "medium", SECRET_KEY: "pk_fake", OK: "5" }),
      specOf({
        PORT: { type: "port" },
        MODE: { enum: ["fast", "slow"] },
        SECRET_KEY: { startsWith: "sk_" },
        OK: { type: "integer" },
      }),
    );
    assert.deepEqual(
      problems.map((problem) => [problem.name, problem.rules, problem.where]),
      [
        ["PORT", ["is not a port (1–65535)"], ".env:1"],
        ["MODE", ["is not one of: fast, slow"], ".env:2"],
        ["SECRET_KEY", ['does not start with "sk_"'], ".env:3"],
      ],
    );
    const error = new InvalidValuesError(problems);
    assert.equal(error.code, "E_VALUE_INVALID");
    assert.equal(error.exitCode, 4);
    assert.equal(error.details.length, 3);
  });

  test("an empty optional value and an undeclared shape are not checked", () => {
    assert.deepEqual(checkShapes(resolutionOf({ PORT: "" }), specOf({ PORT: { type: "port" } })), []);
    assert.deepEqual(checkShapes(resolutionOf({ PORT: "x" }), specOf({})), []);
    assert.deepEqual(checkShapes(resolutionOf({ PORT: "x" }), undefined), []);
  });

  test("random values never appear in a message (config included)", () => {
    const shapes: ValueShape[] = [
      { type: "port" },
      { type: "integer", min: 10, max: 20 },
      { type: "boolean" },
      { type: "url" },
      { type: "email" },
      { type: "hostname" },
      { type: "json" },
      { type: "duration" },
      { enum: ["aaaaaaaaaa-one", "aaaaaaaaaa-two"] },
      { pattern: "q{12}" },
      { startsWith: "zzzzzzzz", minLength: 40 },
    ];
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 40 }).filter((text) => text.trim().length >= 8),
        fc.constantFrom(...shapes),
        fc.boolean(),
        (text, shape, secret) => {
          const name = secret ? "SECRET_VALUE" : "CONFIG_VALUE";
          const problems = checkShapes(resolutionOf({ [name]: text }), specOf({ [name]: shape }));
          if (problems.length === 0) return;
          const shown = formatError(new InvalidValuesError(problems)) + JSON.stringify(problems);
          assert.ok(!shown.includes(text), "the value is shown");
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("rule definitions in the manifests", () => {
  test("tessera.yaml fills the shape of secrets and config", () => {
    const spec = parseTesseraManifest(
      [
        "secrets:",
        "  required:",
        "    - name: API_KEY",
        "      startsWith: sk_",
        "      minLength: 10",
        "config:",
        "  PORT: { value: '8080', type: port }",
        "  MODE: { value: fast, enum: [fast, slow] }",
        "  RETRIES: { type: integer, min: 0, max: 5 }",
        "",
      ].join("\n"),
      "tessera.yaml",
      "/p",
    );
    const shapes = Object.fromEntries(
      spec.variables.map((declaration) => [declaration.name, declaration.shape]),
    );
    assert.deepEqual(shapes, {
      API_KEY: { startsWith: "sk_", minLength: 10 },
      PORT: { type: "port" },
      MODE: { enum: ["fast", "slow"] },
      RETRIES: { type: "integer", min: 0, max: 5 },
    });
  });

  const invalid: [string, RegExp, number][] = [
    ["  A: { type: port, min: 9, max: 2 }", /min is greater than max/, 2],
    ["  A: { pattern: '([a-z' }", /pattern is not a valid regular expression/, 2],
    ["  A: { type: enum }", /type: enum needs enum/, 2],
    ["  A: { enum: [] }", /enum needs a list/, 2],
    ["  A: { type: string, minLength: 5, maxLength: 2 }", /minLength is greater than maxLength/, 2],
    ["  A: { type: url, min: 1 }", /min and max apply to numbers/, 2],
  ];
  for (const [line, message, lineNumber] of invalid) {
    test(`tessera.yaml refuses ${line.trim()}`, () => {
      const error = fails(() => parseTesseraManifest(`config:\n${line}\n`, "tessera.yaml", "/p"));
      assert.equal(error.code, "E_MANIFEST_INVALID");
      assert.match(`${error.message}\n${error.details.join("\n")}`, message);
      assert.equal(error.location?.line, lineNumber);
    });
  }

  test("an unknown type is refused (schema), at its line", () => {
    const error = fails(() => parseTesseraManifest("config:\n  A: { type: prot }\n", "tessera.yaml", "/p"));
    assert.equal(error.code, "E_MANIFEST_INVALID");
    assert.equal(error.location?.line, 2);
  });

  test("Dockfile secrets and config carry the same keys", () => {
    const spec = parseDockfile(
      [
        "secrets:",
        "  required:",
        "    - name: API_KEY",
        "      pattern: 'sk_[a-z]+'",
        "config:",
        "  PORT: { value: '8080', type: port }",
        "",
      ].join("\n"),
      "Dockfile.yaml",
      "/p",
    );
    const shapes = Object.fromEntries(
      spec.variables.map((declaration) => [declaration.name, declaration.shape]),
    );
    assert.deepEqual(shapes.API_KEY, { pattern: "sk_[a-z]+" });
    assert.deepEqual(shapes.PORT, { type: "port" });
    const error = fails(() =>
      parseDockfile(
        "secrets:\n  required:\n    - name: API_KEY\n      min: 3\n      max: 1\n",
        "Dockfile.yaml",
        "/p",
      ),
    );
    assert.equal(error.code, "E_MANIFEST_INVALID");
    assert.match(error.message, /min is greater than max/);
    assert.equal(error.location?.line, 4);
  });

  test("Ploinky object-form env specs carry the same keys", () => {
    const spec = parsePloinkyManifest(
      JSON.stringify(
        { env: { PORT: { default: "8080", type: "port" }, LEVEL: { enum: ["debug", "info"] }, PLAIN: "x" } },
        null,
        2,
      ),
      "manifest.json",
      "/p",
    );
    const shapes = Object.fromEntries(
      spec.variables.map((declaration) => [declaration.name, declaration.shape]),
    );
    assert.deepEqual(shapes.PORT, { type: "port" });
    assert.deepEqual(shapes.LEVEL, { enum: ["debug", "info"] });
    assert.equal(shapes.PLAIN, undefined);
    const error = fails(() =>
      parsePloinkyManifest('{\n  "env": {\n    "A": { "pattern": "([" }\n  }\n}\n', "manifest.json", "/p"),
    );
    assert.equal(error.code, "E_MANIFEST_INVALID");
    assert.match(error.message, /pattern is not a valid regular expression/);
    assert.equal(error.location?.line, 3);
  });
});
