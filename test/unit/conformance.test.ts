/** The dotenv dialect and the interpolation syntax against their conformance tables (test/conformance). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { isTesseraError } from "../../src/errors.ts";
import { parseDotenv, withEnvironment } from "../../src/formats/dotenv.ts";
import { type DotenvDialect, dialectDiagnostics, readLiteral } from "../../src/formats/dotenv-dialect.ts";
import { EnvironmentSource, StaticSource } from "../../src/model/layers.ts";
import { isEnvName } from "../../src/model/names.ts";
import {
  parseTemplate,
  render,
  TemplateReferenceError,
  TemplateSyntaxError,
} from "../../src/model/template.ts";
import { resolve } from "../../src/resolve/resolve.ts";
import { ROOT } from "../helpers.ts";

interface Expectation {
  expected?: unknown;
  error?: string;
}

function table<T>(name: string): (T & Expectation & { id: string; note?: string; deviation?: string })[] {
  return JSON.parse(readFileSync(join(ROOT, "test", "conformance", name), "utf8")).cases;
}

/**
 * One .env file, resolved as Tessera resolves it: the file as a dotenv layer under the process environment,
 * its bare keys answered by that environment, its names kept by the environment/Compose rule.
 */
function resolveDotenv(input: string, lookup: Record<string, string>): Expectation {
  try {
    const file = parseDotenv(input, "t.env");
    const candidates = withEnvironment(file, (name) =>
      Object.hasOwn(lookup, name) ? lookup[name] : undefined,
    )
      .filter((entry) => isEnvName(entry.key))
      .map((entry) => ({
        name: entry.key,
        template: entry.value,
        origin: { layer: "dotenv" as const, where: `t.env:${entry.line}` },
      }));
    const resolution = resolve({
      stack: {
        sources: [
          new EnvironmentSource(lookup),
          new StaticSource("dotenv", "t.env", candidates, { lastWins: true }),
        ],
        warnings: [],
      },
    });
    return {
      expected: Object.fromEntries(
        resolution.variables
          .filter((variable) => variable.value)
          .map((variable) => [variable.name, variable.value!.reveal()]),
      ),
    };
  } catch (error) {
    if (isTesseraError(error)) return { error: error.code };
    throw error;
  }
}

function interpolate(template: string, env: Record<string, string>): Expectation {
  try {
    return {
      expected: render(parseTemplate(template), (name) => (Object.hasOwn(env, name) ? env[name] : undefined)),
    };
  } catch (error) {
    if (error instanceof TemplateSyntaxError) return { error: "E_TEMPLATE_SYNTAX" };
    if (error instanceof TemplateReferenceError)
      return { error: error.kind === "unset" ? "E_REF_UNSET" : "E_REF_REQUIRED" };
    throw error;
  }
}

describe("dotenv conformance (Compose dialect)", () => {
  const cases = table<{ input: string; lookup: Record<string, string> }>("dotenv.json");
  test("the table is substantial and its deviations are explained", () => {
    assert.ok(cases.length >= 200);
    for (const row of cases)
      if ("compose" in row) assert.ok(row.deviation, `${row.id} differs from compose-go without a reason`);
  });
  for (const row of cases) {
    test(`${row.id} ${JSON.stringify(row.input).slice(0, 60)}`, () => {
      const got = resolveDotenv(row.input, row.lookup);
      assert.deepEqual(
        got,
        row.error ? { error: row.error } : { expected: row.expected },
        row.note || row.deviation,
      );
    });
  }
});

describe("dotenv conformance: Dockrion's and Ploinky's literal readers, and W_DIALECT", () => {
  const cases = table<{
    input: string;
    literal: Record<DotenvDialect, Record<string, string>>;
    dialect?: Record<DotenvDialect, number[]>;
  }>("dotenv.json");
  test("every case records both readers", () => {
    for (const row of cases)
      assert.ok(row.literal?.dockrion && row.literal.ploinky, `${row.id} has no literal results`);
  });
  for (const row of cases) {
    test(`${row.id} ${JSON.stringify(row.input).slice(0, 60)}`, () => {
      for (const dialect of ["dockrion", "ploinky"] as const) {
        const read: Record<string, string> = {};
        for (const entry of readLiteral(row.input, dialect)) read[entry.key] = entry.value;
        assert.deepEqual(read, row.literal[dialect], `${dialect} reads it otherwise`);
        let parsed: ReturnType<typeof parseDotenv> | undefined;
        try {
          parsed = parseDotenv(row.input, "t.env");
        } catch (error) {
          if (!isTesseraError(error)) throw error;
        }
        if (!parsed) {
          assert.equal(row.dialect, undefined, "a file the Compose dialect refuses has no dialect warnings");
          continue;
        }
        const lines = dialectDiagnostics(row.input, "t.env", dialect, parsed).map((warning) => {
          assert.equal(warning.code, "W_DIALECT");
          assert.equal(warning.location?.file, "t.env");
          return warning.location?.line;
        });
        assert.deepEqual(lines, row.dialect?.[dialect], `W_DIALECT lines for ${dialect}`);
      }
    });
  }
});

describe("interpolation conformance (Compose syntax)", () => {
  const cases = table<{ template: string; env: Record<string, string> }>("interpolation.json");
  test("the table is substantial and its deviations are explained", () => {
    assert.ok(cases.length >= 140);
    for (const row of cases)
      if ("compose" in row) assert.ok(row.deviation, `${row.id} differs from compose-go without a reason`);
  });
  for (const row of cases) {
    test(`${row.id} ${JSON.stringify(row.template)}`, () => {
      assert.deepEqual(
        interpolate(row.template, row.env),
        row.error ? { error: row.error } : { expected: row.expected },
      );
    });
  }
});
