/**
 * Property-based tests (fast-check) for the `tessera export` encoders (src/targets/formats.ts):
 * every format must give back exactly the values it was given, read by its real consumer.
 *   json    JSON.parse
 *   yaml    the `yaml` package, as YAML 1.2 and as YAML 1.1
 *   shell   shellQuote's shape here; `eval` in dash (/bin/sh) and bash in test/interop/shell-encoder.test.ts
 *   dotenv  Tessera's own parser (the full round trip is in properties-parsers.test.ts)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { parseDotenv } from "../../src/formats/dotenv.ts";
import { dotenvQuote, type Entry, render, shellQuote, yamlQuote } from "../../src/formats/encoders.ts";
import { render as renderTemplate } from "../../src/model/template.ts";
import { unit } from "../support/encoder-inputs.ts";

/** A value an environment variable can hold: well-formed UTF-16 without NUL. */
const value = fc.string({ unit, maxLength: 24 }).map((s) => s.replaceAll("\0", ""));

/** Any UTF-16 code units (lone surrogates included), NUL too: for the formats that escape. */
const anyUnits = fc
  .tuple(
    fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
      maxLength: 12,
    }),
    fc.string({ unit, maxLength: 12 }),
  )
  .map(([a, b]) => a + b);

const name = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/),
  fc.constantFrom("__proto__", "constructor", "toString", "_", "export"),
);

const entries = (values: fc.Arbitrary<string>, names: fc.Arbitrary<string>, maxLength = 8) =>
  fc.uniqueArray(fc.record({ name: names, value: values }), {
    selector: (entry) => entry.name,
    maxLength,
  });

const asObject = (list: readonly Entry[]) =>
  Object.fromEntries(list.map((entry) => [entry.name, entry.value]));

/** True when the string has no lone surrogate (so it survives UTF-8 encoding unchanged). */
function wellFormed(text: string): boolean {
  return Buffer.from(text, "utf8").toString("utf8") === text;
}

describe("properties: json encoder", () => {
  test("JSON.parse(render('json')) is the map, for any UTF-16 strings, through a UTF-8 file", () => {
    // Lone surrogates are included: JSON.stringify (ES2019+) writes them as \udXXX escapes, so the
    // text itself is well-formed and survives being written as UTF-8.
    fc.assert(
      fc.property(entries(fc.oneof(value, anyUnits), name), (list) => {
        const text = render("json", list);
        assert.ok(wellFormed(text), "the JSON text has no lone surrogate");
        assert.ok(text.endsWith("\n"));
        const back = JSON.parse(Buffer.from(text, "utf8").toString("utf8"));
        assert.deepEqual(Object.keys(back), Object.keys(asObject(list)));
        assert.deepEqual(back, asObject(list));
      }),
      { numRuns: 1000 },
    );
  });
});

/** Names that YAML itself would read as something else than the string, when written plain. */
const YAML_WORDS = [
  "null",
  "Null",
  "NULL",
  "true",
  "True",
  "TRUE",
  "false",
  "False",
  "FALSE",
  // YAML 1.1 booleans
  "y",
  "Y",
  "yes",
  "Yes",
  "YES",
  "n",
  "N",
  "no",
  "No",
  "NO",
  "on",
  "On",
  "ON",
  "off",
  "Off",
  "OFF",
  // floats to the yaml package's YAML 1.1 schema
  "E0",
  "e5",
];

describe("properties: yaml encoder", () => {
  test("parse(render('yaml')) is the map for any UTF-16 value (YAML 1.2 and 1.1, through UTF-8)", () => {
    // Values: every code unit, lone surrogates, NUL, C0/C1 controls, U+0085, U+2028/9, BOM.
    // yamlQuote escapes everything outside YAML's printable set (lone surrogates as \udXXX), so
    // the text is printable and well-formed and every value round-trips. Names here are plain
    // identifiers; names that are YAML keywords have their own test below.
    // (`E0`, `e5`… are floats to the yaml package's YAML 1.1 schema: see the names test.)
    const plainName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,5}_[A-Za-z0-9_]{0,6}$/);
    fc.assert(
      fc.property(
        entries(fc.oneof(value, anyUnits), fc.oneof(plainName, fc.constant("__proto__"))),
        (list) => {
          const text = render("yaml", list);
          assert.ok(wellFormed(text), "the YAML text has no lone surrogate");
          // Nothing outside YAML's printable set (nor a YAML 1.1 line break) is written raw.
          assert.ok(
            !/[\0-\x09\x0b-\x1f\x7f-\x84\x86-\x9f\u2028\u2029\ufeff\ufffe\uffff]/.test(text),
            `raw non-printable in ${JSON.stringify(text)}`,
          );
          const decoded = Buffer.from(text, "utf8").toString("utf8");
          for (const version of ["1.2", "1.1"] as const) {
            const back = parseYaml(decoded, { version });
            assert.deepEqual(back, asObject(list), `YAML ${version}`);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  test("yamlQuote is one double-quoted scalar for any value", () => {
    fc.assert(
      fc.property(fc.oneof(value, anyUnits), (text) => {
        const quoted = yamlQuote(text);
        assert.ok(quoted.startsWith('"') && quoted.endsWith('"'));
        assert.ok(!quoted.includes("\n"), "a single line");
        assert.equal(parseYaml(quoted), text);
        assert.equal(parseYaml(`- ${quoted}\n- after`)[0], text);
      }),
      { numRuns: 1500 },
    );
  });

  test("every valid variable name comes back as the same key (YAML 1.2 and 1.1)", () => {
    fc.assert(
      fc.property(entries(value, fc.oneof(fc.constantFrom(...YAML_WORDS), name), 4), (list) => {
        const text = render("yaml", list);
        for (const version of ["1.2", "1.1"] as const) {
          assert.deepEqual(
            Object.keys(parseYaml(text, { version })),
            list.map((entry) => entry.name),
            `YAML ${version}: ${JSON.stringify(text)}`,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// shell (eval in real shells: test/interop/shell-encoder.test.ts)

describe("properties: shell encoder", () => {
  test("shellQuote is a single word: nothing outside the quotes, ' only as '\\''", () => {
    fc.assert(
      fc.property(value, (text) => {
        const quoted = shellQuote(text);
        assert.ok(quoted.startsWith("'") && quoted.endsWith("'"));
        // Removing every '\'' escape leaves exactly one quoted run around the text.
        assert.equal(quoted.slice(1, -1).replaceAll("'\\''", "'"), text);
        assert.ok(!quoted.slice(1, -1).replaceAll("'\\''", "").includes("'"));
      }),
      { numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// dotenv

describe("properties: dotenv encoder", () => {
  test("each dotenvQuote output is one logical value: no extra keys, neighbours unchanged", () => {
    fc.assert(
      fc.property(value, fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/), (text, key) => {
        fc.pre(key !== "BEFORE" && key !== "AFTER");
        const file = parseDotenv(`BEFORE=1\n${key}=${dotenvQuote(text)}\nAFTER=2\n`, "t.env");
        assert.deepEqual(file.bare, []);
        assert.deepEqual(
          file.entries.map((entry) => entry.key),
          ["BEFORE", key, "AFTER"],
        );
        const values = file.entries.map((entry) =>
          renderTemplate(entry.value, (n) => assert.fail(`unexpected reference to ${n}`)),
        );
        assert.deepEqual(values, ["1", text, "2"]);
        // A non-empty value may be followed by a comment (`KEY= #c` is the value "#c" in Compose).
        if (text !== "") {
          const commented = parseDotenv(`${key}=${dotenvQuote(text)} # comment\n`, "t.env");
          assert.equal(commented.entries.length, 1);
          assert.equal(
            renderTemplate(commented.entries[0]!.value, (n) => assert.fail(`unexpected reference to ${n}`)),
            text,
          );
        }
      }),
      { numRuns: 2000 },
    );
  });

  test("a whole render('dotenv') file gives back one entry per name, in order", () => {
    fc.assert(
      fc.property(entries(value, name, 10), (list) => {
        const file = parseDotenv(render("dotenv", list), "t.env");
        assert.deepEqual(file.bare, []);
        assert.deepEqual(
          file.entries.map((entry) => entry.key),
          list.map((entry) => entry.name),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
