/**
 * Fuzz: no input ends in E_INTERNAL, a stack trace, or a value in a message. Random and mutated
 * dotenv files, YAML value files, the three manifest kinds (tessera.yaml, Dockfile.yaml, Ploinky's
 * manifest.json), whole projects through the CLI in process, and store answers (a fake Vault over
 * HTTP, and the shared helpers every provider reads values with).
 *
 * Every failure must be a TesseraError (a ProviderError from a provider) with a documented code and a
 * location where the input is a file. Values in value files and store answers carry markers:
 *  - `SEKRET-<hex>`: never a valid variable name or reference, so no message may ever show it;
 *  - `$Pw<hex>`: a password that starts with `$`, which reads as a reference to `Pw<hex>`: while every
 *    occurrence is still behind a `$` (no mutation made it a name of its own), no message may show it.
 *
 * With CI=true at least 10,000 inputs run (see COUNTS); locally a third of that, unless FUZZ_SCALE says.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { main } from "../../src/cli.ts";
import type { Context } from "../../src/commands/common.ts";
import { ERROR_CODES, formatError, formatWarning, isTesseraError } from "../../src/errors.ts";
import { parseDotenv } from "../../src/formats/dotenv.ts";
import { parseYamlValues } from "../../src/formats/yaml-values.ts";
import { parseManifest } from "../../src/manifest/parse.ts";
import type { ManifestKind, StoreSource } from "../../src/model/spec.ts";
import { field, isProviderError, jsonText, type ProviderContext } from "../../src/providers/types.ts";
import { literalDotenv, serveSecretText } from "../../src/providers/values.ts";
import { provider as vault } from "../../src/providers/vault.ts";

process.env.TESSERA_CACHE_DIR = "off";

const SCALE = Number(process.env.FUZZ_SCALE ?? (process.env.CI === "true" ? 1 : 0.3));
/** Inputs per kind with CI=true: 10,000 in all. */
const COUNTS = {
  dotenv: 2000,
  values: 2000,
  tessera: 1000,
  dockfile: 800,
  ploinky: 800,
  project: 1000,
  vault: 1200,
  helpers: 1200,
} as const;
const runs = (kind: keyof typeof COUNTS) => Math.max(10, Math.round(COUNTS[kind] * SCALE));

test("CI runs at least 10,000 inputs", () => {
  assert.ok(Object.values(COUNTS).reduce((sum, count) => sum + count, 0) >= 10_000);
});

// ---------------------------------------------------------------------------------------------
// Markers and checks

const hex = fc.stringMatching(/^[0-9a-f]{10,16}$/);
/** A value no message may show. */
const dashed = hex.map((h) => `SEKRET-${h}`);
/** The name a `$`-password reads as. */
const dollarName = hex.map((h) => `Pw${h}`);

/** Characters that matter to some parser, to put around a value. */
const TRICKY = [
  "",
  "",
  "$",
  "'",
  '"',
  "#",
  " #",
  " ",
  "\\",
  "{",
  "}",
  "${",
  "=",
  ":",
  "*",
  "&",
  "!",
  "\n",
  "-",
];
const tricky = fc.constantFrom(...TRICKY);

/** A value's text: a marker, with tricky characters around it; `markers` gets the markers used. */
const valueText = fc
  .tuple(fc.oneof(dashed, dollarName), tricky, tricky, fc.constantFrom("", "$", "${", "x$", "x${"))
  .map(([marker, prefix, suffix, dollar]) => {
    if (marker.startsWith("Pw")) {
      const reference = dollar.endsWith("{") ? `${dollar}${marker}}` : `${dollar || "$"}${marker}`;
      return { text: `${prefix}${reference}${suffix}`, marker };
    }
    return { text: `${prefix}${marker}${suffix}`, marker };
  });

/** The markers of a set of input texts that no message may show (see the header). */
function protectedMarkers(markers: readonly string[], texts: readonly string[]): string[] {
  const all = texts.join("\n");
  return markers.filter((marker) => {
    if (!marker.startsWith("Pw")) return true;
    // Checked only while every occurrence reads as a reference ($Pw… or ${Pw…).
    let at = all.indexOf(marker);
    while (at !== -1) {
      const before = all.slice(Math.max(0, at - 2), at);
      if (!before.endsWith("$") && before !== "${") return false;
      at = all.indexOf(marker, at + 1);
    }
    return true;
  });
}

const STACK = /\n\s+at .+[(:]\d+|\bat (?:async )?[\w.<>]+ \(/;

function assertClean(output: string, markers: readonly string[], what: string): void {
  assert.doesNotMatch(output, /E_INTERNAL/, `${what}: E_INTERNAL\n${output}`);
  assert.doesNotMatch(output, STACK, `${what}: a stack trace\n${output}`);
  for (const marker of markers) assert.ok(!output.includes(marker), `${what}: shows ${marker}\n${output}`);
}

/** A thrown error must be a TesseraError with a documented code (never E_INTERNAL); its text is returned. */
function expectCoded(error: unknown, codes: readonly string[], file?: string): string {
  assert.ok(
    isTesseraError(error),
    `not a TesseraError: ${error instanceof Error ? error.stack : String(error)}`,
  );
  assert.ok(error.code in ERROR_CODES && error.code !== "E_INTERNAL", error.code);
  assert.ok(codes.includes(error.code), `${error.code}: ${formatError(error)}`);
  if (file !== undefined) {
    assert.equal(error.location?.file, file, `no location: ${formatError(error)}`);
    assert.ok((error.location?.line ?? 0) >= 1, `no line: ${formatError(error)}`);
  }
  return formatError(error);
}

// ---------------------------------------------------------------------------------------------
// Mutations

const mutation = fc.record({
  kind: fc.constantFrom("delete", "insert", "replace", "dupLine", "dropLine", "swapLines", "truncate"),
  at: fc.nat(),
  other: fc.nat(),
  char: fc.constantFrom(..."=:'\"$\\{}[]#&*!|>-? \n\t,x0A_".split(""), "\r\n", "${", "\ufeff", "é"),
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
const mutations = fc.array(mutation, { maxLength: 3 });

function mutate(text: string, list: readonly Mutation[]): string {
  let out = text;
  for (const { kind, at, other, char } of list) {
    const index = at % (out.length + 1);
    const lines = out.split("\n");
    const line = at % lines.length;
    const second = other % lines.length;
    switch (kind) {
      case "delete":
        out = out.slice(0, index) + out.slice(index + 1);
        break;
      case "insert":
        out = out.slice(0, index) + char + out.slice(index);
        break;
      case "replace":
        out = out.slice(0, index) + char + out.slice(index + 1);
        break;
      case "dupLine":
        lines.splice(line, 0, lines[line] ?? "");
        out = lines.join("\n");
        break;
      case "dropLine":
        lines.splice(line, 1);
        out = lines.join("\n");
        break;
      case "swapLines":
        [lines[line], lines[second]] = [lines[second] ?? "", lines[line] ?? ""];
        out = lines.join("\n");
        break;
      case "truncate":
        out = out.slice(0, index);
        break;
    }
  }
  return out;
}

/** Random text made of the characters that matter (the "random" half of each kind). */
const noise = fc.string({
  unit: fc.oneof(
    {
      arbitrary: fc.constantFrom(..."AZ_=:'\"$\\{}[]#&*!|>-? \n\t,.0".split(""), "${", "- ", ": "),
      weight: 5,
    },
    { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 1 },
  ),
  maxLength: 120,
});

// ---------------------------------------------------------------------------------------------
// Generated files

const NAMES = ["API_KEY", "DB_PASSWORD", "TOKEN", "OTHER", "URL", "PORT"];
const name = fc.constantFrom(...NAMES, "key.with.dot", "A-B", "_x", "9LIVES");

interface Generated {
  text: string;
  markers: readonly string[];
}

function joinLines(lines: readonly Generated[]): Generated {
  return {
    text: `${lines.map((line) => line.text).join("\n")}\n`,
    markers: lines.flatMap((line) => line.markers),
  };
}

const dotenvLine: fc.Arbitrary<Generated> = fc.oneof(
  fc
    .tuple(name, valueText, fc.constantFrom("=", "='", '="', ": ", "=", "export "))
    .map(([key, value, form]) => {
      const text =
        form === "='"
          ? `${key}='${value.text}'`
          : form === '="'
            ? `${key}="${value.text}"`
            : form === "export "
              ? `export ${key}=${value.text}`
              : `${key}${form}${value.text}`;
      return { text, markers: [value.marker] };
    }),
  valueText.map((value) => ({ text: value.text, markers: [value.marker] })), // a value pasted alone
  valueText.map((value) => ({ text: `# ${value.text}`, markers: [value.marker] })),
  name.map((key) => ({ text: key, markers: [] })),
  fc.constant({ text: "", markers: [] }),
  fc.constant({ text: "PORT=8080", markers: [] }),
);

const dotenvFile = fc
  .oneof(
    { arbitrary: fc.tuple(fc.array(dotenvLine, { maxLength: 8 }), mutations), weight: 4 },
    {
      arbitrary: fc.tuple(
        noise.map((text) => [{ text, markers: [] }]),
        fc.constant([]),
      ),
      weight: 1,
    },
  )
  .map(([lines, list]) => {
    const file = joinLines(lines);
    return { text: mutate(file.text, list), markers: file.markers };
  });

function yamlScalar(text: string, style: number): string {
  switch (style % 5) {
    case 0:
      return text.replace(/\n/g, " ");
    case 1:
      return JSON.stringify(text);
    case 2:
      return `'${text.replace(/'/g, "''").replace(/\n/g, " ")}'`;
    case 3:
      return `|\n  ${text.replace(/\n/g, "\n  ")}`;
    default:
      return `&a${style} ${JSON.stringify(text)}`;
  }
}

/**
 * Deep nesting and alias bombs, in the flow style any YAML (and JSON) reader takes. Mostly shallow: the
 * YAML library takes time quadratic in the depth, and documents far deeper than its stack are tested
 * once each below ("the cases of the issue").
 */
const depth = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 9 },
  fc.integer({ min: 41, max: 150 }),
);
const bomb = fc.oneof(
  depth.map((levels) => `${"[".repeat(levels)}${"]".repeat(levels)}`),
  depth.map((levels) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`),
  fc.constant("*nope"),
);

const LAUGHS = `l0: &l0 [x, x, x, x, x, x, x, x, x]
l1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]
l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
l3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]
l4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]
`;

const valuesLine: fc.Arbitrary<Generated> = fc.oneof(
  fc.tuple(name, valueText, fc.nat()).map(([key, value, style]) => ({
    text: `${key}: ${yamlScalar(value.text, style)}`,
    markers: [value.marker],
  })),
  fc.tuple(valueText, fc.nat()).map(([value, style]) => ({
    text: `${JSON.stringify(value.text)}: ${style % 2 ? "x" : yamlScalar(value.text, style)}`, // a value as a key
    markers: [value.marker],
  })),
  fc.tuple(name, valueText).map(([key, value]) => ({
    text: `secrets:\n  ${key}: ${JSON.stringify(value.text)}\nconfig:\n  PORT: 1`,
    markers: [value.marker],
  })),
  fc.tuple(name, valueText).map(([key, value]) => ({
    text: `sources:\n  - { name: hv, path: ${JSON.stringify(value.text)} }\n${key}: *a0`,
    markers: [value.marker],
  })),
  fc.tuple(name, bomb).map(([key, text]) => ({ text: `${key}: ${text}`, markers: [] })),
  fc.tuple(name, bomb).map(([key, text]) => ({ text: `sources:\n  - ${text}\n${key}: x`, markers: [] })),
  fc.constant({ text: `${LAUGHS}sources:\n  - {a: *l4}`, markers: [] }),
  fc.constant({ text: "X: &r [*r]", markers: [] }),
);

const valuesFile = fc
  .oneof(
    { arbitrary: fc.tuple(fc.array(valuesLine, { maxLength: 6 }), mutations), weight: 4 },
    {
      arbitrary: fc.tuple(
        noise.map((text) => [{ text, markers: [] }]),
        fc.constant([]),
      ),
      weight: 1,
    },
  )
  .map(([lines, list]) => {
    const file = joinLines(lines);
    return { text: mutate(file.text, list), markers: file.markers };
  });

const TESSERA_PARTS = [
  "secrets:\n  required: [API_KEY]\n  optional: [DB_PASSWORD]\n",
  "secrets:\n  required:\n    - name: TOKEN\n      description: the token\n      default: ${OTHER:-x}\n",
  "config:\n  URL: https://${HOST:-localhost}/x\n  PORT: { default: 8080 }\n",
  "config:\n  MODE: &m production\n  COPY: *m\n",
  "profiles:\n  prod:\n    config:\n      URL: https://prod\n",
  "files:\n  - { type: dotenv, path: extra.env }\n",
  "sources:\n  - { type: dotenv, name: local, path: .env.extra }\n",
  "x: *nope\n",
  LAUGHS,
  "a: &r [*r]\n",
];
const DOCKFILE_PARTS = [
  'version: "1.0"\n',
  "agent:\n  name: app\n  entrypoint: app.main:run\n",
  "secrets:\n  required:\n    - name: API_KEY\n      description: a key\n  optional:\n    - name: DB_PASSWORD\n      default: ${HOST}\n",
  "auth:\n  api_keys:\n    env_var: MY_KEY\n",
  "expose:\n  port: 8080\n  host: ${HOST:-0.0.0.0}\n",
  "llm:\n  key: ${OPENAI_API_KEY}\n",
  "x: *nope\n",
  LAUGHS,
];

function manifestText(parts: readonly string[]) {
  return fc
    .tuple(
      fc.subarray([...parts], { minLength: 1 }),
      fc.option(bomb.map((text) => `deep: ${text}\n`)),
      mutations,
    )
    .map(([chosen, deep, list]) => mutate(chosen.join("") + (deep ?? ""), list));
}

const jsonEnv = fc.oneof(
  fc.array(
    fc.oneof(
      name,
      name.map((key) => `${key}=default`),
      fc.record({ name, varName: fc.option(name), required: fc.boolean(), value: fc.option(fc.string()) }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    { maxLength: 5 },
  ),
  fc.dictionary(
    name,
    fc.oneof(fc.string(), fc.record({ default: fc.string(), varName: name }), fc.jsonValue({ maxDepth: 2 })),
  ),
  fc.jsonValue({ maxDepth: 3 }),
);
const ploinkyText = fc
  .tuple(
    fc.record(
      {
        container: fc.constant("node:20"),
        env: jsonEnv,
        expose: fc.oneof(
          fc.array(fc.record({ name, value: fc.string() })),
          fc.dictionary(name, fc.constantFrom("$API_KEY", "${TOKEN}", "literal")),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        profiles: fc.dictionary(fc.constantFrom("default", "dev", "prod"), fc.record({ env: jsonEnv })),
      },
      { requiredKeys: [] },
    ),
    fc.option(fc.integer({ min: 1, max: 5000 })),
    fc.boolean(),
    mutations,
  )
  .map(([manifest, depth, pretty, list]) => {
    let text = JSON.stringify(manifest, null, pretty ? 2 : undefined);
    if (depth !== null) text = text.replace(/^\{/, `{"deep": ${"[".repeat(depth)}${"]".repeat(depth)},`);
    return mutate(text, list);
  });

// ---------------------------------------------------------------------------------------------
// Parsers, called directly

describe("fuzz: parsers never end in an internal error, nor show a value", () => {
  test(`dotenv: random and mutated files (${runs("dotenv")} inputs)`, () => {
    fc.assert(
      fc.property(dotenvFile, ({ text, markers }) => {
        try {
          parseDotenv(text, "t.env");
        } catch (error) {
          const shown = expectCoded(error, ["E_DOTENV_SYNTAX", "E_TEMPLATE_SYNTAX"], "t.env");
          assertClean(shown, protectedMarkers(markers, [text]), JSON.stringify(text));
        }
      }),
      { numRuns: runs("dotenv") },
    );
  });

  test(`YAML value files: random and mutated, aliases, bombs, deep nesting (${runs("values")} inputs)`, () => {
    fc.assert(
      fc.property(valuesFile, ({ text, markers }) => {
        let shown: string;
        try {
          shown = parseYamlValues(text, "env.yaml")
            .warnings.map((warning) => formatWarning(warning))
            .join("\n");
        } catch (error) {
          shown = expectCoded(error, ["E_VALUES_INVALID", "E_TEMPLATE_SYNTAX"], "env.yaml");
        }
        assertClean(shown, protectedMarkers(markers, [text]), JSON.stringify(text));
      }),
      { numRuns: runs("values") },
    );
  });

  const MANIFEST_CODES = ["E_MANIFEST_SYNTAX", "E_MANIFEST_INVALID", "E_TEMPLATE_SYNTAX", "E_SOURCE_UNKNOWN"];
  const manifests: [ManifestKind, string, fc.Arbitrary<string>][] = [
    ["tessera", "tessera.yaml", manifestText(TESSERA_PARTS)],
    ["dockfile", "Dockfile.yaml", manifestText(DOCKFILE_PARTS)],
    ["ploinky", "manifest.json", ploinkyText],
  ];
  for (const [kind, file, text] of manifests) {
    test(`${file}: random and mutated manifests (${runs(kind)} inputs)`, () => {
      fc.assert(
        fc.property(fc.oneof({ arbitrary: text, weight: 5 }, { arbitrary: noise, weight: 1 }), (input) => {
          try {
            parseManifest(kind, input, file, "/nonexistent");
          } catch (error) {
            assertClean(expectCoded(error, MANIFEST_CODES, file), [], JSON.stringify(input));
          }
        }),
        { numRuns: runs(kind) },
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Whole projects, through the CLI in process

async function inProcess(argv: string[], cwd: string): Promise<{ status: number; output: string }> {
  let output = "";
  const context: Context = {
    cwd,
    env: { TESSERA_FINGERPRINT_KEY: "k", TESSERA_CACHE_DIR: "off" },
    stdout: (text) => {
      output += text;
    },
    stderr: (text) => {
      output += text;
    },
  };
  try {
    return { status: await main(argv, context), output };
  } catch (error) {
    // main lets errors out: anything but a TesseraError would be E_INTERNAL at the top level.
    assert.ok(
      isTesseraError(error),
      `${argv.join(" ")}: ${error instanceof Error ? error.stack : String(error)}`,
    );
    return { status: error.exitCode, output: `${output}${formatError(error)}\n` };
  }
}

describe("fuzz: whole projects never end in an internal error, nor show a value", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "tessera-fuzz-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;

  test(`a manifest, .env and env.yaml, random and mutated: check --json, explain (${runs("project")} inputs)`, async () => {
    const manifest = fc.oneof(
      { arbitrary: manifestText(TESSERA_PARTS).map((text) => ["tessera.yaml", text] as const), weight: 3 },
      { arbitrary: manifestText(DOCKFILE_PARTS).map((text) => ["Dockfile.yaml", text] as const), weight: 1 },
      { arbitrary: ploinkyText.map((text) => ["manifest.json", text] as const), weight: 1 },
      {
        arbitrary: fc.constant(["tessera.yaml", `secrets:\n  required: [${NAMES.join(", ")}]\n`] as const),
        weight: 3,
      },
    );
    await fc.assert(
      fc.asyncProperty(
        manifest,
        dotenvFile,
        valuesFile,
        fc.constantFrom("check", "explain"),
        async ([file, text], dotenv, values, command) => {
          const dir = join(root, String(count++));
          mkdirSync(dir);
          writeFileSync(join(dir, file), text);
          writeFileSync(join(dir, ".env"), dotenv.text);
          writeFileSync(join(dir, "env.yaml"), values.text);
          const markers = protectedMarkers(
            [...dotenv.markers, ...values.markers],
            [dotenv.text, values.text],
          );
          const argv = command === "check" ? ["check", "--json"] : ["explain"];
          const { status, output } = await inProcess(argv, dir);
          assert.ok([0, 2, 3, 4].includes(status), `exit ${status}\n${output}`);
          assertClean(
            output,
            markers,
            `${file}: ${JSON.stringify(text)}\n.env: ${JSON.stringify(dotenv.text)}\nenv.yaml: ${JSON.stringify(values.text)}`,
          );
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: runs("project") },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Store answers

/** How deep store answers nest: mostly a little, sometimes past MAX_VALUE_DEPTH, rarely 100,000 levels. */
const answerDepth = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 20 }), weight: 6 },
  { arbitrary: fc.integer({ min: 990, max: 1100 }), weight: 3 },
  { arbitrary: fc.constant(100_000), weight: 1 },
);

/** A nested JSON text `depth` levels deep, built without recursion. */
function deepJson(depth: number, leaf: string): string {
  return `${'{"a":'.repeat(depth)}${JSON.stringify(leaf)}${"}".repeat(depth)}`;
}

describe("fuzz: store answers never end in an internal error, nor show a value", () => {
  let server: Server;
  let address: string;
  let answer = { status: 200, body: "{}", login: { status: 200, body: "{}" } };
  before(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        const reply = request.method === "POST" ? answer.login : answer;
        response.writeHead(reply.status, { "content-type": "application/json" });
        response.end(reply.body);
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const bound = server.address();
    assert.ok(bound !== null && typeof bound === "object");
    address = `http://127.0.0.1:${bound.port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  const STATUSES = [200, 200, 200, 204, 400, 401, 403, 404, 405, 412, 429, 500, 502, 503];
  const vaultBody = fc.oneof(
    dashed.map((marker) => JSON.stringify({ errors: [marker] })),
    dashed.map((marker) => JSON.stringify({ errors: [`bad request: ${marker}`] })),
    dashed.map((marker) =>
      JSON.stringify({ errors: [`1 error occurred:\n\t* permission denied: ${marker}\n\n`] }),
    ),
    dashed.map((marker) =>
      JSON.stringify({ errors: [`Vault is sealed ${marker}`, `invalid token ${marker}`] }),
    ),
    dashed.map((marker) => `<html><body>502 Bad Gateway ${marker}</body></html>`),
    dashed.map((marker) =>
      JSON.stringify({ data: { data: { API_KEY: marker, OTHER: { nested: [marker] } } } }),
    ),
    dashed.map((marker) => JSON.stringify({ data: { API_KEY: marker } })),
    dashed.map((marker) => JSON.stringify({ data: { data: marker } })),
    dashed.map((marker) => JSON.stringify({ auth: { client_token: marker } })),
    fc
      .integer({ min: 1, max: 100_000 })
      .map((depth) => `{"data":{"data":{"API_KEY":${deepJson(depth, "x")}}}}`),
    answerDepth.map((depth) => deepJson(depth, "x")),
    answerDepth.map((depth) => `{"errors":[${deepJson(depth, "x")}]}`),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    noise,
  );
  const vaultAnswer = fc.record({
    status: fc.constantFrom(...STATUSES),
    body: fc
      .tuple(vaultBody, mutations)
      .map(([body, list]) => (body.length < 2000 ? mutate(body, list) : body)),
  });

  test(`vault: any status and body, read and login answers (${runs("vault")} inputs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        vaultAnswer,
        vaultAnswer,
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.constantFrom("API_KEY", "a", "data.x", "OTHER.nested.0")),
        async (read, login, approle, v1, property) => {
          answer = { ...read, login };
          const source: StoreSource = {
            type: "vault",
            name: "hv",
            settings: {
              address,
              path: "app",
              ...(v1 ? { version: "v1" as const } : {}),
              ...(approle ? { auth: { method: "approle" as const, roleId: "r" } } : {}),
            },
            declaredAt: { file: "tessera.yaml", line: 1 },
          };
          const context: ProviderContext = {
            source,
            env: { VAULT_TOKEN: "fake-token", VAULT_SECRET_ID: "fake-secret-id" },
            dir: "/nonexistent",
            cwd: "/nonexistent",
            timeoutMs: 10_000,
            pool: async (items, fn) => {
              const out = [];
              for (const item of items) out.push(await fn(item));
              return out;
            },
            retry: (fn) => fn(new AbortController().signal),
            identities: async () => undefined,
          };
          const requests = [
            { id: "API_KEY", key: "API_KEY", searched: true },
            { id: "X", key: "other", ...(property ? { property } : {}), searched: false },
          ];
          const markers = [read.body, login.body].flatMap((body) => body.match(/SEKRET-[0-9a-f]+/g) ?? []);
          try {
            await vault.fetch(requests, context);
          } catch (error) {
            assert.ok(
              isProviderError(error),
              `not a ProviderError: ${error instanceof Error ? error.stack : String(error)}`,
            );
            assertClean(`${error.message}\n${error.hint ?? ""}`, markers, JSON.stringify([read, login]));
          }
        },
      ),
      { numRuns: runs("vault") },
    );
  });

  test(`the shared readers of store values: field, jsonText, serveSecretText, literalDotenv (${runs("helpers")} inputs)`, () => {
    // A JSON value, or how deep a nested one is (built in the property: a counterexample holding a
    // 100,000-level value could not even be printed).
    const json = fc.oneof(
      fc.jsonValue({ maxDepth: 5 }).map((value) => ({ value })),
      answerDepth.map((levels) => ({ levels })),
    );
    const property = fc.oneof(
      fc.constantFrom("a", "a.a", "a.a.a.a", "0", "a.0", ""),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(json, property, dotenvFile, dashed, mutations, (generated, prop, dotenv, marker, list) => {
        const text =
          "levels" in generated ? deepJson(generated.levels, "x") : JSON.stringify(generated.value);
        const value: unknown = "levels" in generated ? JSON.parse(text) : generated.value;
        const secret = mutate(`{"a":${text},"b":${JSON.stringify(marker)}}`, list);
        const markers = [marker, ...protectedMarkers(dotenv.markers, [dotenv.text])];
        for (const run of [
          () => field(value, prop),
          () => jsonText(value),
          () =>
            serveSecretText(secret, { id: "X", key: "X", property: prop, searched: false }, "secret X", "X"),
          () => literalDotenv(dotenv.text, "the output of tool"),
        ]) {
          try {
            run();
          } catch (error) {
            assert.ok(
              isProviderError(error),
              `not a ProviderError: ${error instanceof Error ? error.stack : String(error)}`,
            );
            assertClean(`${error.message}\n${error.hint ?? ""}`, markers, prop);
          }
        }
      }),
      { numRuns: runs("helpers") },
    );
  });
});
