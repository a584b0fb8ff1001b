/**
 * The dotenv dialect check (src/formats/dotenv-dialect.ts): Dockrion's and Ploinky's literal readers,
 * the W_DIALECT warnings for the cases of issue 10 §6, and properties over random files: the readers
 * never throw, a warning is given exactly where a reader's value differs, no warning quotes the file;
 * and the parser's new output (spans, bare keys taken from the environment by `withEnvironment`).
 * (The readers themselves are checked against Dockrion's and Ploinky's own code in conformance.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Diagnostic, formatWarning, isTesseraError } from "../../src/errors.ts";
import { type DotenvFile, parseDotenv, withEnvironment } from "../../src/formats/dotenv.ts";
import {
  type DotenvDialect,
  dialectDiagnostics,
  dialectFor,
  readLiteral,
} from "../../src/formats/dotenv-dialect.ts";
import { isEnvName } from "../../src/model/names.ts";
import { isLiteral, render } from "../../src/model/template.ts";

const DIALECTS = ["dockrion", "ploinky"] as const;

function warn(text: string, dialect: DotenvDialect): Diagnostic[] {
  return dialectDiagnostics(text, ".env", dialect);
}

function only(text: string, dialect: DotenvDialect): Diagnostic {
  const found = warn(text, dialect);
  assert.equal(found.length, 1, found.map(formatWarning).join("\n"));
  return found[0]!;
}

function literalMap(text: string, dialect: DotenvDialect): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readLiteral(text, dialect)) out[entry.key] = entry.value;
  return out;
}

describe("the literal readers", () => {
  test("Ploinky: trimmed lines, one export dropped, NAME value lines, one pair of quotes, nothing else", () => {
    assert.deepEqual(
      literalMap(
        "# c\nA=abc # rotate monthly\nexport B = ' two '\nC value here\nD=\"l1\\nl2\"\nE=$HOME\n=x\nF=a=b\r\nG\n",
        "ploinky",
      ),
      { A: "abc # rotate monthly", B: " two ", C: "value here", D: "l1\\nl2", E: "$HOME", F: "a=b" },
    );
  });

  test("Dockrion: no export, no NAME value lines, Python's line breaks and white space", () => {
    assert.deepEqual(literalMap("export A=1\nC value\nD=1\fE=2\rF=3\u2028G=4\n", "dockrion"), {
      "export A": "1",
      D: "1",
      E: "2",
      F: "3",
      G: "4",
    });
    assert.deepEqual(literalMap("\ufeffA=1\n", "dockrion"), { "\ufeffA": "1" });
    assert.deepEqual(literalMap("\ufeffA=1\n", "ploinky"), { A: "1" });
  });

  test("line numbers count LF only, as Tessera's own parser does", () => {
    assert.deepEqual(
      readLiteral("A=1\r\nB=2\rC=3\n\nD=4", "dockrion").map((entry) => [entry.key, entry.line]),
      [
        ["A", 1],
        ["B", 2],
        ["C", 2],
        ["D", 4],
      ],
    );
  });
});

describe("W_DIALECT: the cases of issue 10 §6", () => {
  test("KEY=abc # rotate monthly: the comment stays in the value for both tools", () => {
    for (const dialect of DIALECTS) {
      const found = only("KEY=abc # rotate monthly\n", dialect);
      assert.equal(found.code, "W_DIALECT");
      assert.deepEqual(found.location, { file: ".env", line: 1 });
      assert.equal(
        found.message,
        `${dialect === "ploinky" ? "Ploinky" : "Dockrion"} reads the value of KEY differently: it keeps the inline comment as part of the value`,
      );
      assert.match(found.hint ?? "", /quote the whole value/);
      assert.doesNotMatch(formatWarning(found), /abc|rotate|monthly/);
    }
    // Either fix agrees: the comment on its own line, or the whole value quoted.
    for (const dialect of DIALECTS) {
      assert.deepEqual(warn("# rotate monthly\nKEY=abc\n", dialect), []);
      assert.deepEqual(warn('KEY="abc # rotate monthly"\n', dialect), []);
    }
  });

  test('"l1\\nl2": Compose makes two lines, the literal readers keep the backslash', () => {
    const found = only('ML="l1\\nl2"\n', "ploinky");
    assert.match(
      found.message,
      /^Ploinky reads the value of ML differently: it does not decode backslash escapes/,
    );
    assert.doesNotMatch(found.message, /l1|l2/);
  });

  test("a value spanning lines: the first line with its quote, and each inner line a variable of its own", () => {
    const found = warn('PEM="fake-begin\nINNER=inner-fake-text\nfake-end"\nAFTER=1\n', "ploinky");
    assert.deepEqual(
      found.map((warning) => [warning.location?.line, warning.message]),
      [
        [
          1,
          "Ploinky reads the value of PEM differently: it reads the file line by line, so a value cannot span lines: it keeps the opening quote and reads the first line only",
        ],
        [
          2,
          "Ploinky reads this line as a variable of its own: the line is inside a quoted value that spans lines, which it reads line by line",
        ],
      ],
    );
    // The inner line's "name" is text of a value for Tessera: never shown.
    for (const warning of found)
      assert.doesNotMatch(formatWarning(warning), /INNER|inner-fake|fake-begin|fake-end/);
  });

  test("quotes: removed by every reader, kept by the literal ones when text follows", () => {
    for (const dialect of DIALECTS) {
      assert.deepEqual(warn('Q1="quoted"\nQ2=\'single\'\nQ3=""\n', dialect), []);
      assert.match(only('Q3="a" # c\n', dialect).message, /it keeps the quotes, because text follows/);
    }
    assert.deepEqual(
      warn('A="x" B=y\n', "ploinky").map((warning) => warning.message),
      [
        "Ploinky reads the value of A differently: it keeps the quotes, because text follows the closing quote on this line",
        "Ploinky does not read B: it reads one variable per line, and this one follows another on the same line",
      ],
    );
    assert.match(only("S='it\\'s'\n", "dockrion").message, /keeps the backslash of \\' in single quotes/);
  });

  test("export: Ploinky drops it, Dockrion reads it as part of the name", () => {
    assert.deepEqual(warn("export K=v\n", "ploinky"), []);
    assert.equal(
      only("export K=v\n", "dockrion").message,
      "Dockrion does not read K: it does not understand `export `, and reads the word as part of the name",
    );
    assert.match(only("export\tK=v\n", "ploinky").message, /only when one space follows it/);
  });

  test("NAME: value is read by neither tool", () => {
    for (const dialect of DIALECTS)
      assert.match(only("K: v\n", dialect).message, /does not read K: it reads NAME=value lines only/);
  });

  test("$ is expanded by Tessera only; single quotes agree everywhere", () => {
    for (const dialect of DIALECTS) {
      assert.match(only("PW=pa$$word\n", dialect).message, /does not expand \$/);
      assert.match(only("URL=https://${HOST}/x\n", dialect).message, /does not expand \$/);
      assert.deepEqual(warn("PW='pa$word'\nP2=cost $5\n", dialect), []);
    }
  });

  test("Dockrion only: a byte-order mark, and Python's other line breaks", () => {
    assert.match(
      only("\ufeffBOM=1\n", "dockrion").message,
      /^Dockrion does not read BOM: it reads the byte-order mark/,
    );
    assert.deepEqual(warn("\ufeffBOM=1\n", "ploinky"), []);
    assert.match(only("K=v\fw\n", "dockrion").message, /breaks lines at/);
    assert.deepEqual(warn("K=v\fw\n", "ploinky"), []);
  });

  test("what every reader reads alike gets no warning", () => {
    const text =
      "# comment\n\nPLAIN=value\nSPACED = value with spaces  \nEMPTY=\nQ=\"double\"\nS='single $ and # kept'\nURL=postgres://u@h:5432/db?x=1\nHASH=a#b\nexport PLOINKY_ONLY_EXPORT=1\n";
    assert.deepEqual(warn(text.replace("export ", ""), "dockrion"), []);
    assert.deepEqual(warn(text, "ploinky"), []);
  });

  test("bare keys and names that are not environment names are not compared", () => {
    for (const dialect of DIALECTS) assert.deepEqual(warn("NAME\n1A=x # c\n", dialect), []);
  });

  test("a dotted name is compared like any other, and not named", () => {
    const found = only("VAR.WITH.DOTS=x # c\n", "ploinky");
    assert.equal(
      found.message,
      "Ploinky reads the value on this line differently: it keeps the inline comment as part of the value",
    );
  });

  test("the last duplicate decides, for each reader", () => {
    assert.deepEqual(warn("A=x # c\nA=x\n", "ploinky"), []);
    assert.deepEqual(
      warn("A=x\nA=x # c\n", "ploinky").map((warning) => warning.location?.line),
      [2],
    );
  });

  test("a file the Compose dialect refuses is refused as before (Ploinky's NAME value lines)", () => {
    assert.throws(
      () => dialectDiagnostics("KEY value\n", ".env", "ploinky"),
      (error) => isTesseraError(error) && error.code === "E_DOTENV_SYNTAX",
    );
  });
});

describe("which files a tool also reads", () => {
  test("Dockrion: every dotenv file of a Dockfile project; Ploinky: files named .env", () => {
    assert.equal(dialectFor("dockfile", "/p/.env"), "dockrion");
    assert.equal(dialectFor("dockfile", "/p/.env.production"), "dockrion");
    assert.equal(dialectFor("ploinky", "/p/.env"), "ploinky");
    assert.equal(dialectFor("ploinky", "/p/.env.local"), undefined);
    assert.equal(dialectFor("tessera", "/p/.env"), undefined);
    assert.equal(dialectFor(undefined, "/p/.env"), undefined);
  });
});

describe("the parser's output for other readers", () => {
  test("spans and last lines", () => {
    const text = '\ufeffA=1 # c\nexport B="x\ny" C=z\nD\n';
    const file = parseDotenv(text, "t.env");
    const at = (key: string) => file.entries.find((entry) => entry.key === key)!;
    assert.deepEqual(at("A").span, { start: 1, valueStart: 3, end: 8 }); // the comment included
    assert.equal(text.slice(at("B").span.start, at("B").span.end), 'export B="x\ny"');
    assert.equal(text.slice(at("B").span.valueStart, at("B").span.end), '"x\ny"');
    assert.deepEqual([at("B").line, at("B").endLine], [2, 3]);
    assert.equal(text.slice(at("C").span.start, at("C").span.end), "C=z");
    const d = text.indexOf("D\n");
    assert.deepEqual(file.bare, [
      { key: "D", line: 4, fromEnvironment: true, span: { start: d, valueStart: d + 1, end: d + 1 } },
    ]);
  });

  test("withEnvironment: a bare key takes the environment's value, literally, in file order", () => {
    const file = parseDotenv("A=file\nA\nB\nC=after\nC\nD=$A\n", "t.env");
    const env: Record<string, string> = { A: "from-env $NOT_A_REFERENCE", C: "" };
    const entries = withEnvironment(file, (name) => (Object.hasOwn(env, name) ? env[name] : undefined));
    assert.deepEqual(
      entries.map((entry) => [entry.key, entry.line, entry.fromEnvironment ?? false]),
      [
        ["A", 1, false],
        ["A", 2, true],
        ["C", 4, false],
        ["C", 5, true],
        ["D", 6, false],
      ],
    );
    assert.deepEqual(entries[1]!.value, ["from-env $NOT_A_REFERENCE"]);
    assert.deepEqual(entries[3]!.value, []);
    // No bare key: the entries themselves.
    const plain = parseDotenv("A=1\n", "t.env");
    assert.equal(
      withEnvironment(plain, () => "x"),
      plain.entries,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

/** Fragments that matter to one of the three readers. */
const FRAGMENTS = [
  "$",
  "$$",
  "${X}",
  "${X:-d}",
  "\\",
  "\\n",
  "\\'",
  '\\"',
  "'",
  '"',
  "#",
  " #",
  " # c",
  "=",
  ":",
  " ",
  "\t",
  "\r",
  "\n",
  "\r\n",
  "\f",
  "\v",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u3000",
  "\ufeff",
  "export ",
  "NAME",
  "a.b",
];
const fragment = fc.oneof(
  { arbitrary: fc.constantFrom(...FRAGMENTS), weight: 3 },
  { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 3 }), weight: 2 },
);
const name = fc.oneof(
  fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/),
  fc.constantFrom("VAR.DOTS", "a-b", "x[1]", "1A", "__proto__", "export"),
);
/**
 * A secret-looking marker that no warning may show. Dashed, as in fuzz-inputs.test.ts: a key that is a
 * shell-style name is a variable's name and may be named (shownKey), anything else never is.
 */
const marker = fc.stringMatching(/^[0-9a-f]{10,14}$/).map((hex) => `SEKRET-${hex}`);
const valueText = fc
  .tuple(fc.array(fragment, { maxLength: 4 }), marker, fc.array(fragment, { maxLength: 4 }))
  .map(([before, mark, after]) => ({ text: before.join("") + mark + after.join(""), mark }));
const line = fc.oneof(
  fc
    .tuple(name, valueText, fc.constantFrom("=", " = ", "='", '="', ": ", "export "))
    .map(([key, value, form]) => ({
      text:
        form === "='"
          ? `${key}='${value.text}'`
          : form === '="'
            ? `${key}="${value.text}"`
            : form === "export "
              ? `export ${key}=${value.text}`
              : `${key}${form}${value.text}`,
      marks: [value.mark],
    })),
  valueText.map((value) => ({ text: value.text, marks: [value.mark] })),
  name.map((key) => ({ text: key, marks: [] as string[] })),
  fc.constant({ text: "# comment", marks: [] as string[] }),
);
const file = fc.array(line, { maxLength: 8 }).map((lines) => ({
  text: `${lines.map((entry) => entry.text).join("\n")}\n`,
  marks: lines.flatMap((entry) => entry.marks),
}));

function parsedOrUndefined(text: string): DotenvFile | undefined {
  try {
    return parseDotenv(text, "t.env");
  } catch (error) {
    if (isTesseraError(error)) return undefined;
    throw error;
  }
}

describe("properties: the dialect check on random files", () => {
  test("the literal readers read any text without throwing", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.oneof(fragment, fc.string({ unit: "binary", maxLength: 2 })), maxLength: 40 }),
        (text) => {
          for (const dialect of DIALECTS)
            for (const entry of readLiteral(text, dialect)) assert.ok(entry.key !== "");
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a warning at each variable whose value a reader gets differently, none elsewhere, none quoting the file", () => {
    fc.assert(
      fc.property(file, ({ text, marks }) => {
        const parsed = parsedOrUndefined(text);
        if (!parsed) return;
        for (const dialect of DIALECTS) {
          const warnings = dialectDiagnostics(text, "t.env", dialect, parsed);
          for (const warning of warnings) {
            assert.equal(warning.code, "W_DIALECT");
            const shown = formatWarning(warning);
            for (const mark of marks) assert.ok(!shown.includes(mark), `${shown}\nquotes the file`);
          }
          // Expected: each name (by the environment rule) whose final value differs, or that one reader lacks.
          const compose = new Map<string, string | undefined>();
          for (const entry of parsed.entries)
            if (isEnvName(entry.key))
              compose.set(
                entry.key,
                isLiteral(entry.value) ? render(entry.value, () => undefined) : undefined,
              );
          const literal = new Map(readLiteral(text, dialect).map((entry) => [entry.key, entry.value]));
          const differs = [...compose].filter(
            ([key, value]) => value === undefined || literal.get(key) !== value,
          );
          if (differs.length === 0) {
            // Then only lines inside a value spanning lines may be reported.
            for (const warning of warnings)
              assert.match(warning.message, /reads this line as a variable of its own/);
          } else {
            assert.ok(
              warnings.length > 0,
              `${dialect}: ${differs.map(([key]) => key).join(", ")} differ without a warning`,
            );
          }
          const lines = new Set(warnings.map((warning) => warning.location?.line));
          for (const [key] of differs) {
            const last = parsed.entries.filter((entry) => entry.key === key).at(-1)!;
            const insideLine = readLiteral(text, dialect)
              .filter((entry) => entry.key === key)
              .at(-1)?.line;
            assert.ok(
              lines.has(last.line) || (insideLine !== undefined && lines.has(insideLine)),
              `${dialect}: no warning at line ${last.line}`,
            );
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  test("NAME='value' without ' or line breaks reads alike everywhere", () => {
    const safe = fc.string({ unit: fc.oneof(fragment, fc.constant("x")), maxLength: 12 }).filter(
      (value) =>
        !/['\n\r\f\v\u0085\u2028\u2029\x1c-\x1e]/.test(value) &&
        value.trim() === value &&
        !/\s$|^\s/u.test(value) &&
        // a backslash before the closing quote would escape it
        !value.endsWith("\\"),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ key: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,6}$/), value: safe }), {
          selector: (entry) => entry.key,
          maxLength: 6,
        }),
        (entries) => {
          const text = entries.map(({ key, value }) => `${key}='${value}'\n`).join("");
          for (const dialect of DIALECTS) assert.deepEqual(warn(text, dialect), [], text);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("spans: a statement's text starts at its name (or export), and its lines are counted", () => {
    fc.assert(
      fc.property(file, ({ text }) => {
        const parsed = parsedOrUndefined(text);
        if (!parsed) return;
        for (const entry of parsed.entries) {
          const statement = text.slice(entry.span.start, entry.span.end);
          assert.ok(statement.startsWith(entry.key) || statement.startsWith("export"), statement);
          assert.ok(entry.span.start <= entry.span.valueStart && entry.span.valueStart <= entry.span.end);
          assert.equal(entry.endLine - entry.line, (statement.match(/\n/g) ?? []).length);
          assert.equal(text.slice(0, entry.span.start).split("\n").length, entry.line);
        }
      }),
      { numRuns: 500 },
    );
  });
});
