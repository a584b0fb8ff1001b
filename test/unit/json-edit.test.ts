/**
 * setExpose (src/manifest/json-edit.ts): editing `expose` in a Ploinky manifest.json keeps every other
 * byte. Examples for each case, then properties (fast-check) against a model of Ploinky's semantics,
 * and syntax errors located like findJsonSyntaxError (json-syntax.ts, an independent scanner).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type ExposeSource, JsonEditError, setExpose } from "../../src/formats/json-edit.ts";
import { findJsonSyntaxError } from "../../src/formats/json-syntax.ts";

const lines = (...parts: string[]) => parts.join("\n");

function editError(fn: () => unknown): JsonEditError {
  try {
    fn();
  } catch (error) {
    if (error instanceof JsonEditError) return error;
    throw error;
  }
  assert.fail("expected a JsonEditError");
}

describe("setExpose: array form", () => {
  const manifest = lines(
    "{",
    '  "name": "agent",',
    '  "expose": [',
    "    {",
    '      "name": "API_URL",',
    '      "value": "https://x"',
    "    }",
    "  ],",
    '  "profiles": {}',
    "}",
    "",
  );

  test("appends after the last entry, in its layout, keeping the keys after expose", () => {
    assert.equal(
      setExpose(manifest, "API_KEY", { ref: "OPENAI" }),
      lines(
        "{",
        '  "name": "agent",',
        '  "expose": [',
        "    {",
        '      "name": "API_URL",',
        '      "value": "https://x"',
        "    },",
        "    {",
        '      "name": "API_KEY",',
        '      "ref": "OPENAI"',
        "    }",
        "  ],",
        '  "profiles": {}',
        "}",
        "",
      ),
    );
  });

  test("replaces in place; removes; removing the last entry leaves []; removing an absent name changes nothing", () => {
    assert.equal(
      setExpose(manifest, "API_URL", { ref: "URL" }),
      manifest.replace('"value": "https://x"', '"ref": "URL"'),
    );
    assert.equal(
      setExpose(manifest, "API_URL", null),
      lines("{", '  "name": "agent",', '  "expose": [],', '  "profiles": {}', "}", ""),
    );
    assert.equal(setExpose(manifest, "MISSING", null), manifest);
  });

  const mixed = lines(
    "{",
    '  "expose": [',
    '    {"name": "A", "value": "1", "description": "first"},',
    '    {"name":"B",   "ref":"VB", "note": [1,  2]},',
    '    { "ref": "VC", "name": "C" },',
    '    { "name": "E" }',
    "  ]",
    "}",
  );

  test("one-line entries stay one-line; a replaced entry keeps its own spacing; other entries are untouched", () => {
    assert.equal(
      setExpose(mixed, "B", { value: "two" }),
      mixed.replace('{"name":"B",   "ref":"VB", "note": [1,  2]}', '{"name":"B",   "value":"two"}'),
    );
    // Appended in the layout of the last entry with two keys or more (C), after the last entry (E).
    assert.equal(
      setExpose(mixed, "D", { ref: "VD" }),
      mixed.replace('"E" }', '"E" },\n    { "name": "D", "ref": "VD" }'),
    );
    assert.equal(
      setExpose(mixed, "E", { value: "e" }),
      mixed.replace('{ "name": "E" }', '{ "name": "E", "value": "e" }'),
    );
    assert.equal(
      setExpose(mixed, "A", null),
      lines(
        "{",
        '  "expose": [',
        '    {"name":"B",   "ref":"VB", "note": [1,  2]},',
        '    { "ref": "VC", "name": "C" },',
        '    { "name": "E" }',
        "  ]",
        "}",
      ),
    );
    assert.equal(
      setExpose(mixed, "E", null),
      lines(
        "{",
        '  "expose": [',
        '    {"name": "A", "value": "1", "description": "first"},',
        '    {"name":"B",   "ref":"VB", "note": [1,  2]},',
        '    { "ref": "VC", "name": "C" }',
        "  ]",
        "}",
      ),
    );
  });

  test("duplicates of NAME: the first is replaced, the later ones removed; removal removes them all", () => {
    const text =
      '{"expose": [{"name": "A", "ref": "X"}, {"name": "B", "ref": "Y"}, {"name": "A", "value": "z"}]}';
    assert.equal(
      setExpose(text, "A", { value: "new" }),
      '{"expose": [{"name": "A", "value": "new"}, {"name": "B", "ref": "Y"}]}',
    );
    assert.equal(setExpose(text, "A", null), '{"expose": [{"name": "B", "ref": "Y"}]}');
    assert.equal(
      setExpose(text, "B", null),
      '{"expose": [{"name": "A", "ref": "X"}, {"name": "A", "value": "z"}]}',
    );
    const leading = '{"expose": [ {"name": "A"}, {"name": "A"}, {"name": "B", "ref": "Y"} ]}';
    assert.equal(setExpose(leading, "A", null), '{"expose": [ {"name": "B", "ref": "Y"} ]}');
  });

  test('an entry\'s name is its last "name" key (as JSON.parse reads it), when that is a string', () => {
    const text = '{"expose": [{"name": "A", "name": "B", "ref": "X"}, {"name": 5, "ref": "Y"}]}';
    assert.equal(
      setExpose(text, "B", { ref: "Z" }),
      '{"expose": [{"name": "B", "ref": "Z"}, {"name": 5, "ref": "Y"}]}',
    );
    assert.equal(setExpose(text, "A", null), text);
    assert.equal(setExpose(text, "5", null), text);
  });

  test("an empty array gets its first entry in the file's layout", () => {
    assert.equal(
      setExpose('{\n\t"expose": []\n}\n', "A", { ref: "X" }),
      '{\n\t"expose": [\n\t\t{\n\t\t\t"name": "A",\n\t\t\t"ref": "X"\n\t\t}\n\t]\n}\n',
    );
    assert.equal(
      setExpose('{"a":1,"expose":[]}', "A", { ref: "X" }),
      '{"a":1,"expose":[{"name":"A","ref":"X"}]}',
    );
    assert.equal(
      setExpose('{"a": 1, "expose": []}', "A", { ref: "X" }),
      '{"a": 1, "expose": [{"name": "A", "ref": "X"}]}',
    );
  });

  test("a one-entry one-line array: the new entry follows the spacing inside the brackets", () => {
    assert.equal(
      setExpose('{"expose": [ {"name": "A", "ref": "X"} ]}', "B", { value: "b" }),
      '{"expose": [ {"name": "A", "ref": "X"}, {"name": "B", "value": "b"} ]}',
    );
    assert.equal(
      setExpose('{"expose":[{"name":"A","ref":"X"}]}', "B", { value: "b" }),
      '{"expose":[{"name":"A","ref":"X"},{"name":"B","value":"b"}]}',
    );
  });
});

describe("setExpose: object form", () => {
  const manifest = lines(
    "{",
    '    "expose": {',
    '        "A": "$VAR_A",',
    '        "B": "plain",',
    '        "N": 8080',
    "    },",
    '    "after": true',
    "}",
    "",
  );

  test("a ref is written $REF, a value as it is; only the value's text changes", () => {
    assert.equal(setExpose(manifest, "B", { ref: "X" }), manifest.replace('"plain"', '"$X"'));
    assert.equal(setExpose(manifest, "A", { value: "lit" }), manifest.replace('"$VAR_A"', '"lit"'));
    assert.equal(
      setExpose('{"expose": {"\\u0041" : "x"}}', "A", { value: "y" }),
      '{"expose": {"\\u0041" : "y"}}',
    );
  });

  test("appends after the last member; removes; removing every member leaves {}", () => {
    assert.equal(
      setExpose(manifest, "C", { value: "c" }),
      manifest.replace("8080", '8080,\n        "C": "c"'),
    );
    assert.equal(setExpose(manifest, "N", null), manifest.replace('"plain",\n        "N": 8080', '"plain"'));
    let text = manifest;
    for (const name of ["B", "A", "N"]) text = setExpose(text, name, null);
    assert.equal(text, lines("{", '    "expose": {},', '    "after": true', "}", ""));
    assert.equal(setExpose(manifest, "Z", null), manifest);
  });

  test("a literal value starting with $ turns expose into the array form, with the same meaning", () => {
    assert.equal(
      setExpose(manifest, "B", { value: "$5 a month" }),
      lines(
        "{",
        '    "expose": [',
        "        {",
        '            "name": "A",',
        '            "ref": "VAR_A"',
        "        },",
        "        {",
        '            "name": "B",',
        '            "value": "$5 a month"',
        "        },",
        "        {",
        '            "name": "N",',
        '            "value": 8080',
        "        }",
        "    ],",
        '    "after": true',
        "}",
        "",
      ),
    );
    assert.equal(
      setExpose('{"expose":{"A":"$X","B":"\\u0062","A":"last","N":{"x": [1.50, {}] }}}', "C", {
        value: "$c",
      }),
      '{"expose":[{"name":"A","value":"last"},{"name":"B","value":"\\u0062"},{"name":"N","value":{"x":[1.50,{}]}},{"name":"C","value":"$c"}]}',
    );
    assert.equal(
      setExpose('{"expose": { "A": "$X", "N": [1,2, {"k":3}] }}', "C", { value: "$c" }),
      '{"expose": [ {"name": "A", "ref": "X"}, {"name": "N", "value": [1, 2, {"k": 3}]}, {"name": "C", "value": "$c"} ]}',
    );
    assert.equal(
      setExpose('{\n\t"expose": {\n\t\t"N": {"x": [1, []]}\n\t}\n}', "N", { value: "$n" }),
      '{\n\t"expose": [\n\t\t{\n\t\t\t"name": "N",\n\t\t\t"value": "$n"\n\t\t}\n\t]\n}',
    );
    assert.equal(
      setExpose('{\n\t"expose": {\n\t\t"N": {"x": [1, []]}\n\t}\n}', "C", { value: "$c" }),
      lines(
        "{",
        '\t"expose": [',
        "\t\t{",
        '\t\t\t"name": "N",',
        '\t\t\t"value": {',
        '\t\t\t\t"x": [',
        "\t\t\t\t\t1,",
        "\t\t\t\t\t[]",
        "\t\t\t\t]",
        "\t\t\t}",
        "\t\t},",
        "\t\t{",
        '\t\t\t"name": "C",',
        '\t\t\t"value": "$c"',
        "\t\t}",
        "\t]",
        "}",
      ),
    );
  });

  test("duplicate keys of NAME: the first gets the value, the later ones are removed", () => {
    assert.equal(
      setExpose('{"expose": {"A": "1", "B": "2", "A": "3"}}', "A", { ref: "R" }),
      '{"expose": {"A": "$R", "B": "2"}}',
    );
  });
});

describe("setExpose: no expose key", () => {
  test("added as the last top-level key, in the file's indentation and newline style", () => {
    const tabs = '{\r\n\t"name": "x",\r\n\t"env": [\r\n\t\t"A"\r\n\t]\r\n}';
    assert.equal(
      setExpose(tabs, "K", { ref: "V" }),
      '{\r\n\t"name": "x",\r\n\t"env": [\r\n\t\t"A"\r\n\t],\r\n\t"expose": [\r\n\t\t{\r\n\t\t\t"name": "K",\r\n\t\t\t"ref": "V"\r\n\t\t}\r\n\t]\r\n}',
    );
    const four = '{\n    "name": "x"\n}\n';
    assert.equal(
      setExpose(four, "K", { value: "v" }),
      '{\n    "name": "x",\n    "expose": [\n        {\n            "name": "K",\n            "value": "v"\n        }\n    ]\n}\n',
    );
    assert.equal(
      setExpose('{"name":"x","env":{"A":1}}', "K", { ref: "V" }),
      '{"name":"x","env":{"A":1},"expose":[{"name":"K","ref":"V"}]}',
    );
    assert.equal(
      setExpose('{ "name": "x" }\n', "K", { ref: "V" }),
      '{ "name": "x", "expose": [{"name": "K", "ref": "V"}] }\n',
    );
  });

  test("an empty top-level object: one line stays one line", () => {
    assert.equal(setExpose("{}", "K", { ref: "V" }), '{"expose":[{"name":"K","ref":"V"}]}');
    assert.equal(
      setExpose("{\n}\n", "K", { ref: "V" }),
      '{\n  "expose": [\n    {\n      "name": "K",\n      "ref": "V"\n    }\n  ]\n}\n',
    );
  });

  test("removing from a manifest without expose returns it unchanged", () => {
    const text = '{\n  "name": "x"\n}';
    assert.equal(setExpose(text, "K", null), text);
  });
});

describe("setExpose: the rest of the file", () => {
  test("duplicate top-level expose keys: the last one (the one JSON.parse keeps) is edited", () => {
    const text = '{"expose": [{"name": "A", "ref": "OLD"}], "x": 1, "expose": {"A": "$NEW"}}';
    assert.equal(
      setExpose(text, "A", { ref: "R" }),
      '{"expose": [{"name": "A", "ref": "OLD"}], "x": 1, "expose": {"A": "$R"}}',
    );
    const escapedKey = '{"\\u0065xpose": [], "expose": 5, "expose": []}';
    assert.equal(
      setExpose(escapedKey, "A", { ref: "R" }),
      '{"\\u0065xpose": [], "expose": 5, "expose": [{"name": "A", "ref": "R"}]}',
    );
  });

  test("a leading BOM, whitespace around the document and a missing trailing newline are kept", () => {
    assert.equal(
      setExpose('\ufeff{"expose": []}', "A", { ref: "R" }),
      '\ufeff{"expose": [{"name": "A", "ref": "R"}]}',
    );
    assert.equal(
      setExpose('\n  {"expose":[]}  \n\n', "A", { ref: "R" }),
      '\n  {"expose":[{"name":"A","ref":"R"}]}  \n\n',
    );
  });

  test("any name and value is encoded so that JSON.parse gives it back", () => {
    const tricky = [
      '"',
      "\\",
      '\\"',
      "\n",
      "\r\n",
      "\u2028\u2029",
      "😀",
      "\ud800",
      "\udc00x",
      "\0\x1f\x7f",
      "$",
      "",
      "</script>",
    ];
    for (const form of ['{"expose": []}', '{"expose": {}}', "{}"]) {
      let text = form;
      for (const [index, value] of tricky.entries()) {
        text = setExpose(text, `N${value}${index}`, index % 2 ? { ref: value } : { value });
      }
      const parsed = JSON.parse(text) as { expose: unknown };
      for (const [index, value] of tricky.entries()) {
        const name = `N${value}${index}`;
        const expected = index % 2 ? { ref: value } : { value };
        assert.deepEqual(meaning(parsed.expose).get(name), expected, `${form} ${JSON.stringify(name)}`);
      }
    }
  });
});

describe("setExpose: errors", () => {
  const cases: [text: string, line: number, column: number][] = [
    ["", 1, 1],
    ["   ", 1, 4],
    ['{\n  "a": 1,\n}', 3, 1],
    ['{\n  "a": [1, 2,]\n}', 2, 14],
    ['{"a": "x\ny"}', 1, 9],
    ['{\r\n  "a": tru\r\n}', 2, 8],
    ['{"a": "abc', 1, 7],
    ['{"a": 1} x', 1, 10],
    ['{"a": "\\x"}', 1, 8],
    ['{"a": "\\u12G4"}', 1, 8],
    ['{"😀": 01}', 1, 9],
    ["\ufeff{,}", 1, 2],
    ['{"a" 1}', 1, 6],
    ['{"a": -}', 1, 7],
    ['{"a": 1.}', 1, 8],
    ["{\n\t'a': 1\n}", 2, 2],
    ['{"a":\f1}', 1, 6],
    ['{"a":\u00a01}', 1, 6],
    ['{"a": "\x1f"}', 1, 8],
    ['{"a": [1 2]}', 1, 10],
    ["[1]", 1, 1],
    ['  \n  {"expose": 5}', 2, 14],
    ['{"expose": null}', 1, 12],
    ['{"expose": "A"}', 1, 12],
    ['{\n  "expose": [\n    {"name": "A", "ref": "X"},\n    "B"\n  ]\n}', 4, 5],
  ];

  test("invalid JSON and unusable structure: a JsonEditError at the right line and column", () => {
    for (const [text, line, column] of cases) {
      for (const source of [{ ref: "R" }, null]) {
        const error = editError(() => setExpose(text, "A", source));
        assert.deepEqual(
          [error.line, error.column],
          [line, column],
          `${JSON.stringify(text)}: ${error.message}`,
        );
      }
    }
  });

  test("the messages name the problem", () => {
    assert.match(editError(() => setExpose('{"a": 1,}', "A", null)).message, /trailing comma before }/);
    assert.match(editError(() => setExpose('{"a": [1,]}', "A", null)).message, /trailing comma before ]/);
    assert.match(editError(() => setExpose('{"a": "\n"}', "A", null)).message, /control character/);
    assert.match(editError(() => setExpose("[]", "A", null)).message, /top level .* object/);
    assert.match(editError(() => setExpose('{"expose": 1}', "A", null)).message, /expose must be an array/);
    assert.match(editError(() => setExpose('{"expose": [1]}', "A", null)).message, /entry must be an object/);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Pair = [string, Json];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** An object from pairs, "__proto__" included as an own key (as JSON.parse makes it). */
const fromPairs = (pairs: readonly (readonly [string, unknown])[]) =>
  Object.fromEntries(pairs) as { [key: string]: Json };

/** What Ploinky reads from an expose value: name → ref or value. */
function meaning(expose: unknown): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  if (Array.isArray(expose)) {
    for (const entry of expose as Record<string, unknown>[]) {
      out.set(entry.name, "value" in entry ? { value: entry.value } : { ref: entry.ref });
    }
  } else if (isObject(expose)) {
    for (const [key, value] of Object.entries(expose)) {
      out.set(key, typeof value === "string" && value.startsWith("$") ? { ref: value.slice(1) } : { value });
    }
  }
  return out;
}

const TRICKY = [
  '"',
  "\\",
  "/",
  "\n",
  "\r\n",
  "\t",
  "\b\f",
  "\0",
  "\x1f",
  "\x7f",
  "\u2028",
  "\u2029",
  "\ufeff",
];
const TRICKY_MORE = ["😀", "\ud800", "\udfff", "é", "$", "{", "}", "[", "]", ",", ":", " ", "expose", "name"];
const unit = fc.oneof(
  { arbitrary: fc.constantFrom(...TRICKY, ...TRICKY_MORE), weight: 3 },
  { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }), weight: 3 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 1 },
);
const tricky = fc.string({ unit, maxLength: 8 });

/** Names: a small pool (so that entries collide), integer-like keys, and anything. */
const exposeName = fc.oneof(
  { arbitrary: fc.constantFrom("A", "B", "C", "API_KEY", "__proto__", "7", "", "$X", "name"), weight: 3 },
  { arbitrary: tricky, weight: 1 },
);
const key = fc.oneof(fc.constantFrom("name", "env", "profiles", "__proto__", "0", "10", "exposed"), tricky);
const topKey = key.filter((candidate) => candidate !== "expose");

const scalar: fc.Arbitrary<Json> = fc.oneof(
  tricky,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const { json } = fc.letrec<{ json: Json; array: Json[]; object: Json }>((tie) => ({
  json: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("array"), tie("object")),
  array: fc.array(tie("json"), { maxLength: 4 }),
  object: fc.array(fc.tuple(key, tie("json")), { maxLength: 4 }).map(fromPairs),
}));

const sourceValue = fc.oneof(
  tricky,
  tricky.map((text) => "$" + text),
);
const source: fc.Arbitrary<ExposeSource> = fc.oneof(
  sourceValue.map((ref) => ({ ref })),
  sourceValue.map((value) => ({ value })),
);

/** An array entry: {name, ref | value}, sometimes with other keys, a non-string name or none. */
const arrayEntry: fc.Arbitrary<Json> = fc
  .record({
    name: fc.oneof(
      { arbitrary: exposeName, weight: 8 },
      { arbitrary: fc.constantFrom(5, null, undefined), weight: 1 },
    ),
    source,
    extra: fc.array(fc.tuple(fc.constantFrom("description", "x", "__proto__"), json), { maxLength: 2 }),
    nameFirst: fc.boolean(),
  })
  .map(({ name, source, extra, nameFirst }) => {
    const named: Pair[] = name === undefined ? [] : [["name", name]];
    const sourcePair: Pair = "ref" in source ? ["ref", source.ref] : ["value", source.value];
    return fromPairs(nameFirst ? [...named, sourcePair, ...extra] : [sourcePair, ...named, ...extra]);
  });

const exposeValue: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.array(arrayEntry, { maxLength: 5 }),
  fc
    .array(
      fc.tuple(exposeName, fc.oneof({ arbitrary: sourceValue, weight: 8 }, { arbitrary: json, weight: 2 })),
      {
        maxLength: 5,
      },
    )
    .map(fromPairs),
);

/** Top-level pairs with `expose` (if any) at a random place. */
const manifestPairs = fc
  .record({
    others: fc.uniqueArray(fc.tuple(topKey, json), { maxLength: 5, selector: ([name]) => name }),
    expose: exposeValue,
    at: fc.nat(),
  })
  .map(({ others, expose, at }): Pair[] => {
    if (expose === undefined) return others;
    const index = at % (others.length + 1);
    return [...others.slice(0, index), ["expose", expose], ...others.slice(index)];
  });

const operation = fc.record({ name: exposeName, source: fc.option(source, { freq: 3 }) });
const operations = fc.array(operation, { minLength: 1, maxLength: 6 });

type Model =
  | { form: "absent" }
  | { form: "array"; entries: Json[] }
  | { form: "object"; pairs: [string, Json][] };

function modelOf(expose: unknown): Model {
  if (expose === undefined) return { form: "absent" };
  if (Array.isArray(expose)) return { form: "array", entries: expose as Json[] };
  return { form: "object", pairs: Object.entries(expose as Record<string, Json>) };
}

const newEntry = (name: string, source: ExposeSource): Json =>
  "ref" in source ? { name, ref: source.ref } : { name, value: source.value };
const named = (entry: Json, name: string) => isObject(entry) && entry.name === name;

/** Ploinky's semantics of one edit (what setExpose promises, on the parsed value). */
function step(model: Model, name: string, source: ExposeSource | null): Model {
  if (model.form === "absent") return source ? { form: "array", entries: [newEntry(name, source)] } : model;
  if (model.form === "array") {
    const first = model.entries.findIndex((entry) => named(entry, name));
    if (!source) return { form: "array", entries: model.entries.filter((entry) => !named(entry, name)) };
    if (first < 0) return { form: "array", entries: [...model.entries, newEntry(name, source)] };
    const entries = model.entries.filter((entry, index) => index <= first || !named(entry, name));
    entries[first] = newEntry(name, source);
    return { form: "array", entries };
  }
  if (!source) return { form: "object", pairs: model.pairs.filter(([key]) => key !== name) };
  if ("value" in source && source.value.startsWith("$")) {
    const entries = model.pairs.map(([key, value]): Json => {
      if (key === name) return newEntry(name, source);
      return typeof value === "string" && value.startsWith("$")
        ? { name: key, ref: value.slice(1) }
        : { name: key, value };
    });
    if (!model.pairs.some(([key]) => key === name)) entries.push(newEntry(name, source));
    return { form: "array", entries };
  }
  const value = "ref" in source ? "$" + source.ref : source.value;
  const pairs = model.pairs.map(([key, old]): [string, Json] => [key, key === name ? value : old]);
  if (!model.pairs.some(([key]) => key === name)) pairs.push([name, value]);
  return { form: "object", pairs };
}

/** The parsed result agrees with the model; the other top-level keys are the same, in the same order. */
function checkParsed(text: string, original: Record<string, unknown>, model: Model): void {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  assert.ok(isObject(parsed));
  const expectedKeys = Object.keys(original).filter((name) => name !== "expose" || model.form !== "absent");
  if (model.form !== "absent" && !Object.hasOwn(original, "expose")) expectedKeys.push("expose");
  assert.deepEqual(Object.keys(parsed), Object.keys(fromPairs(expectedKeys.map((name) => [name, 0]))));
  for (const name of Object.keys(parsed))
    if (name !== "expose") assert.deepEqual(parsed[name], original[name]);
  if (model.form === "absent") assert.ok(!Object.hasOwn(parsed, "expose"));
  else if (model.form === "array") assert.deepEqual(parsed.expose, model.entries);
  else {
    assert.ok(isObject(parsed.expose), "expose stays an object");
    assert.deepEqual(new Map(Object.entries(parsed.expose)), new Map(model.pairs));
  }
}

const STYLES = [0, 2, 4, "\t"] as const;
const style = fc.record({ indent: fc.constantFrom(...STYLES), crlf: fc.boolean(), trailing: fc.boolean() });
type Style = { indent: (typeof STYLES)[number]; crlf: boolean; trailing: boolean };

function serialize(value: unknown, { indent, crlf, trailing }: Style): string {
  const text = JSON.stringify(value, null, indent) + (trailing ? "\n" : "");
  return crlf ? text.replaceAll("\n", "\r\n") : text;
}

/** Integer-like keys come first in a JS object: then a text's key order is not its parsed order. */
const keepsOrder = (pairs: [string, Json][]) =>
  Object.keys(fromPairs(pairs)).every((name, index) => name === pairs[index]![0]);

/** A serializer that puts arbitrary JSON whitespace between tokens, and says where `expose` is. */
function messy(pairs: Pair[], spaces: string[]) {
  let next = 0;
  const ws = () => (spaces.length ? spaces[next++ % spaces.length]! : "");
  let text = "";
  const value = (item: Json): void => {
    if (Array.isArray(item) || isObject(item)) {
      const children: [string | undefined, Json][] = Array.isArray(item)
        ? item.map((child) => [undefined, child])
        : Object.entries(item);
      text += Array.isArray(item) ? "[" : "{";
      children.forEach(([name, child], index) => {
        if (index > 0) text += ws() + ",";
        text += ws();
        if (name !== undefined) text += JSON.stringify(name) + ws() + ":" + ws();
        value(child);
      });
      text += ws() + (Array.isArray(item) ? "]" : "}");
    } else text += JSON.stringify(item);
  };
  let expose: { start: number; end: number } | undefined;
  let lastEnd = -1;
  text += ws() + "{";
  pairs.forEach(([name, item], index) => {
    if (index > 0) text += ws() + ",";
    text += ws() + JSON.stringify(name) + ws() + ":" + ws();
    const start = text.length;
    value(item);
    if (name === "expose") expose = { start, end: text.length };
    lastEnd = text.length;
  });
  text += ws() + "}" + ws();
  return { text, expose, lastEnd };
}

const WHITESPACE = ["", " ", "  ", "\t", "\n", "\r\n", "\r", "\n    ", "\r\n\t\t", " \n "];

describe("properties: setExpose", () => {
  test("any style: the parsed result follows Ploinky's semantics; the layout and the rest of the text are kept", () => {
    fc.assert(
      fc.property(manifestPairs, style, operations, (pairs, style, ops) => {
        const document = fromPairs(pairs);
        const input = serialize(document, style);
        const nl = style.crlf ? "\r\n" : "\n";
        const original = JSON.parse(input) as Record<string, unknown>;
        // The text before and after the expose value: the same document with a marker in its place.
        let around: [string, string] | undefined;
        if (Object.hasOwn(document, "expose")) {
          const marker = "\u0001MARKER\u0001";
          const marked = serialize(
            fromPairs(pairs.map(([name, item]) => [name, name === "expose" ? marker : item])),
            style,
          );
          const at = marked.indexOf(JSON.stringify(marker));
          around = [marked.slice(0, at), marked.slice(at + JSON.stringify(marker).length)];
        }
        let text = input;
        let model = modelOf(original.expose);
        for (const { name, source } of ops) {
          text = setExpose(text, name, source);
          model = step(model, name, source);
          checkParsed(text, original, model);
          // Newline style, trailing newline, indentation.
          assert.equal(text.endsWith(nl), style.trailing);
          if (style.crlf) assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(text), "CRLF only");
          else assert.ok(!text.includes("\r"), "LF only");
          const body = style.trailing ? text.slice(0, -nl.length) : text;
          if (style.indent === 0) assert.ok(!/[\r\n]/.test(body), "a compact file stays on one line");
          for (const line of body.split(nl)) {
            const indent = /^\s*/.exec(line)![0];
            if (style.indent === "\t") assert.match(indent, /^\t*$/);
            else if (style.indent)
              assert.ok(/^ *$/.test(indent) && indent.length % style.indent === 0, indent);
          }
          if (around) {
            assert.ok(
              text.startsWith(around[0]) && text.endsWith(around[1]),
              "only the expose value changes",
            );
            assert.ok(text.length >= around[0].length + around[1].length);
          }
          // What JSON.stringify would write, as long as the key order of the text is the parsed one.
          const rootEmpty = Object.keys(original).length === 0;
          if ((style.indent === 0 || !rootEmpty) && (model.form !== "object" || keepsOrder(model.pairs))) {
            assert.equal(text, serialize(JSON.parse(text), style), "the edit is laid out as the file is");
          }
        }
      }),
      { numRuns: 600 },
    );
  });

  test("arbitrary whitespace (and duplicate expose keys): the semantics hold and only the expose value changes", () => {
    const withDuplicate = fc
      .tuple(manifestPairs, fc.option(json, { freq: 3 }), fc.nat())
      .map(([pairs, duplicate, at]): Pair[] => {
        if (duplicate === null || !pairs.some(([name]) => name === "expose")) return pairs;
        const index = at % (pairs.findIndex(([name]) => name === "expose") + 1);
        return [...pairs.slice(0, index), ["expose", duplicate], ...pairs.slice(index)];
      });
    fc.assert(
      fc.property(
        withDuplicate,
        fc.array(fc.constantFrom(...WHITESPACE), { maxLength: 12 }),
        operations,
        (pairs, spaces, ops) => {
          const { text: input, expose, lastEnd } = messy(pairs, spaces);
          const original = JSON.parse(input) as Record<string, unknown>;
          let text = input;
          let model = modelOf(original.expose);
          for (const { name, source } of ops) {
            const before = text;
            text = setExpose(text, name, source);
            model = step(model, name, source);
            checkParsed(text, original, model);
            if (expose) {
              assert.ok(text.startsWith(input.slice(0, expose.start)), "the text before expose");
              assert.ok(text.endsWith(input.slice(expose.end)), "the text after expose");
            } else if (before === input && text !== input && lastEnd >= 0) {
              // Added after the last top-level value.
              assert.ok(text.startsWith(input.slice(0, lastEnd)) && text.endsWith(input.slice(lastEnd)));
            }
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  test("setting a name twice is setting it once; removing twice is removing once", () => {
    fc.assert(
      fc.property(
        manifestPairs,
        style,
        fc.array(fc.constantFrom(...WHITESPACE)),
        operation,
        (pairs, style, spaces, op) => {
          for (const text of [serialize(fromPairs(pairs), style), messy(pairs, spaces).text]) {
            const once = setExpose(text, op.name, op.source);
            assert.equal(setExpose(once, op.name, op.source), once);
            const removed = setExpose(text, op.name, null);
            assert.equal(setExpose(removed, op.name, null), removed);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test("set then remove of an absent name gives back the text (expose with entries, or written [] / {})", () => {
    // Holds unless the set has to change the form (a literal starting with $ in the object form), or
    // expose is absent (`"expose": []` stays), or the empty expose has whitespace inside ([ ] → []).
    fc.assert(
      fc.property(
        manifestPairs,
        style,
        operation,
        fc.array(fc.constantFrom(...WHITESPACE), { maxLength: 6 }),
        (pairs, style, op, spaces) => {
          const { name, source } = op;
          if (!source) return;
          for (const text of [serialize(fromPairs(pairs), style), messy(pairs, spaces).text]) {
            const expose = (JSON.parse(text) as Record<string, unknown>).expose;
            if (expose === undefined || meaning(expose).has(name)) continue;
            if (!Array.isArray(expose) && "value" in source && source.value.startsWith("$")) continue;
            if (meaning(expose).size === 0 && !/"expose"\s*:\s*(\[\]|\{\})/.test(text)) continue;
            assert.equal(setExpose(setExpose(text, name, source), name, null), text);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  test("broken JSON: a JsonEditError exactly when JSON.parse fails (or the structure is unusable), located like findJsonSyntaxError", () => {
    const mutation = fc.record({
      kind: fc.constantFrom("delete", "insert", "replace"),
      at: fc.nat(),
      char: fc.constantFrom(..."{}[],:\"\\ u0-9.eE+tfn\n\r\t\f\v\u0001\u001f\u00a0'x/".split("")),
    });
    const topLevel: fc.Arbitrary<Json> = fc.oneof(
      { arbitrary: manifestPairs.map(fromPairs), weight: 6 },
      { arbitrary: json, weight: 1 },
    );
    fc.assert(
      fc.property(
        topLevel,
        style,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        operation,
        (document, style, mutations, op) => {
          let text = serialize(document, style);
          for (const { kind, at, char } of mutations) {
            const index = at % (text.length + 1);
            if (kind === "insert") text = text.slice(0, index) + char + text.slice(index);
            else text = text.slice(0, index) + (kind === "replace" ? char : "") + text.slice(index + 1);
          }
          // The editor keeps a leading BOM and reads what follows it (columns count from after it), so
          // the reference is JSON.parse and findJsonSyntaxError on the text without it.
          const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
          let parsed: unknown;
          let valid = true;
          try {
            parsed = JSON.parse(body);
          } catch {
            valid = false;
          }
          const usable =
            valid &&
            isObject(parsed) &&
            (!Object.hasOwn(parsed, "expose") ||
              (Array.isArray(parsed.expose) ? parsed.expose.every(isObject) : isObject(parsed.expose)));
          let error: unknown;
          try {
            setExpose(text, op.name, op.source);
          } catch (caught) {
            error = caught;
          }
          if (usable) return assert.equal(error, undefined);
          assert.ok(
            error instanceof JsonEditError,
            `expected a JsonEditError for ${JSON.stringify(text)}: ${error}`,
          );
          if (valid) return;
          const problem = findJsonSyntaxError(body);
          assert.ok(problem, "findJsonSyntaxError agrees that the text is invalid");
          const before = body.slice(0, problem.offset);
          const line = before.split("\n").length;
          const column = problem.offset - before.lastIndexOf("\n");
          assert.deepEqual(
            [error.line, error.column],
            [line, column],
            `${JSON.stringify(text)}: ${error.message}`,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
