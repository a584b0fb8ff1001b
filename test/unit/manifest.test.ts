/** Manifests of all three kinds → one Spec; invalid manifests fail with file:line:column and a fix. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isTesseraError, type TesseraError } from "../../src/errors.ts";
import { parseDockfile } from "../../src/manifest/dockfile.ts";
import { parsePloinkyManifest } from "../../src/manifest/ploinky.ts";
import { jsonSchema } from "../../src/manifest/schema.ts";
import { parseTesseraManifest } from "../../src/manifest/tessera.ts";
import { effectiveDeclarations, effectiveSources } from "../../src/model/spec.ts";

function fails(fn: () => unknown): TesseraError {
  try {
    fn();
  } catch (error) {
    if (isTesseraError(error)) return error;
    throw error;
  }
  assert.fail("expected a TesseraError");
}

const tessera = (text: string) => parseTesseraManifest(text, "tessera.yaml", "/project");
const dockfile = (text: string) => parseDockfile(text, "Dockfile.yaml", "/project");

describe("tessera.yaml", () => {
  test("secrets, config, sources and profiles", () => {
    const spec = tessera(`
secrets:
  required:
    - name: OPENAI_API_KEY
      description: OpenAI key
    - DB_PASSWORD
  optional:
    - name: SENTRY_DSN
      default: ""
config:
  LOG_LEVEL: info
  PORT: 8080
  VERSION: 1.10
  API_URL: { value: "https://\${HOST}/v1", description: base URL, required: true }
  REGION: { required: true }
sources:
  - { type: dotenv, path: secrets/.env.shared, name: shared }
  - { type: yaml, path: secrets/values.yaml }
profiles:
  production:
    config: { LOG_LEVEL: warn }
    secrets:
      required: [SENTRY_DSN]
    files: [secrets/prod.env, secrets/prod.yaml]
`);
    const names = spec.variables.map(
      (declaration) => `${declaration.name}:${declaration.kind}:${declaration.required}`,
    );
    assert.deepEqual(names, [
      "OPENAI_API_KEY:secret:true",
      "DB_PASSWORD:secret:true",
      "SENTRY_DSN:secret:false",
      "LOG_LEVEL:config:false",
      "PORT:config:false",
      "VERSION:config:false",
      "API_URL:config:true",
      "REGION:config:true",
    ]);
    const value = (name: string) => spec.variables.find((declaration) => declaration.name === name)?.value;
    assert.equal(value("PORT"), "8080");
    assert.equal(value("VERSION"), "1.10", "numbers keep their spelling");
    assert.equal(value("API_URL"), "https://${HOST}/v1");
    assert.equal(value("REGION"), undefined);
    assert.equal(spec.variables[0]!.declaredAt.line, 4);
    assert.deepEqual(
      spec.sources.map((source) => [source.type, "path" in source ? source.path : undefined, source.name]),
      [
        ["dotenv", "secrets/.env.shared", "shared"],
        ["yaml", "secrets/values.yaml", undefined],
      ],
    );
    const production = effectiveDeclarations(spec, "production");
    const byName = new Map(production.map((declaration) => [declaration.name, declaration]));
    assert.equal(byName.get("LOG_LEVEL")?.value, "warn");
    assert.equal(byName.get("LOG_LEVEL")?.required, false, "a profile's value keeps the base's required");
    assert.equal(byName.get("SENTRY_DSN")?.required, true, "the profile makes SENTRY_DSN required");
    assert.equal(byName.get("SENTRY_DSN")?.value, "", "and keeps its default");
    assert.deepEqual(
      effectiveSources(spec, "production").map((source) => ("path" in source ? source.path : source.name)),
      ["secrets/prod.env", "secrets/prod.yaml", "secrets/.env.shared", "secrets/values.yaml"],
    );
    assert.deepEqual(effectiveDeclarations(spec, "other"), spec.variables);
  });

  test("a plain list of secrets declares them all required; an empty file declares nothing", () => {
    assert.deepEqual(
      tessera("secrets: [A, B]\n").variables.map((declaration) => [declaration.name, declaration.required]),
      [
        ["A", true],
        ["B", true],
      ],
    );
    assert.equal(tessera("").variables.length, 0);
    assert.equal(tessera("# only a comment\n").variables.length, 0);
  });

  test("an unknown key is reported at its position with a suggestion", () => {
    const error = fails(() => tessera("secrets:\n  requird:\n    - name: A\n"));
    assert.equal(error.code, "E_MANIFEST_INVALID");
    assert.equal(error.exitCode, 4);
    assert.deepEqual(error.location, { file: "tessera.yaml", line: 2, column: 3 });
    assert.match(error.message, /unknown key "requird"/);
    assert.match(error.hint ?? "", /did you mean "required"/);
  });

  test("unknown top-level keys and keys inside entries are reported", () => {
    const top = fails(() => tessera("secret:\n  - A\n"));
    assert.match(top.message, /unknown key "secret"/);
    assert.match(top.hint ?? "", /secrets/);
    const inner = fails(() => tessera("secrets:\n  required:\n    - name: A\n      descripton: x\n"));
    assert.deepEqual(inner.location, { file: "tessera.yaml", line: 4, column: 7 });
    assert.match(inner.hint ?? "", /description/);
  });

  test("names that cannot be environment variable names are refused with their location", () => {
    const secret = fails(() => tessera("secrets:\n  required:\n    - name: my-key\n"));
    assert.match(secret.message, /"my-key" is not a valid environment variable name/);
    assert.deepEqual(secret.location, { file: "tessera.yaml", line: 3, column: 13 });
    const config = fails(() => tessera("config:\n  1BAD: x\n"));
    assert.match(config.message, /"1BAD" is not a valid name/);
    assert.deepEqual(config.location, { file: "tessera.yaml", line: 2, column: 3 });
  });

  test("duplicates across secrets and config are refused, naming both places", () => {
    const error = fails(() => tessera("secrets:\n  required: [A]\n  optional: [B]\nconfig:\n  A: x\n"));
    assert.match(error.message, /A is declared twice \(first at tessera.yaml:2:14\)/);
    assert.deepEqual(error.location, { file: "tessera.yaml", line: 5, column: 3 });
  });

  test("every problem is reported, not only the first", () => {
    const error = fails(() =>
      tessera(
        "secrets:\n  required: [A, A]\nconfig:\n  B: x\n  B2: y\nsources:\n  - { type: dotenv, path: x.env, pth: y }\n",
      ),
    );
    assert.ok(error.details.length >= 1, "further problems are listed as details");
  });

  test("YAML syntax errors carry the position", () => {
    const error = fails(() => tessera("secrets:\n  required: [A\nconfig: {}\n"));
    assert.equal(error.code, "E_MANIFEST_SYNTAX");
    assert.equal(error.location?.file, "tessera.yaml");
    assert.ok((error.location?.line ?? 0) >= 2);
    const duplicate = fails(() => tessera("config:\n  A: 1\n  A: 2\n"));
    assert.match(duplicate.message, /a key appears twice/);
    assert.deepEqual(duplicate.location, { file: "tessera.yaml", line: 3, column: 3 });
  });

  test("wrong types name what was expected", () => {
    const error = fails(() => tessera("config:\n  A: [1, 2]\n"));
    assert.match(error.message, /expected .*found a list/);
    const secrets = fails(() => tessera("secrets: yes\n"));
    assert.match(secrets.message, /expected a mapping or a list, found a string/);
  });

  test("every store type is checked against its own fields; unknown types get a suggestion", () => {
    const store = fails(() => tessera("sources:\n  - type: 1password\n    vault: app\n    itme: x\n"));
    assert.equal(store.code, "E_MANIFEST_INVALID");
    assert.equal(store.exitCode, 4);
    assert.match(store.message, /itme/);
    const keepass = fails(() => tessera("sources:\n  - type: keepassxc\n    path: x\n"));
    assert.match(keepass.message, /database/);
    const typo = fails(() => tessera("sources:\n  - type: dotnev\n    path: .env\n"));
    assert.equal(typo.code, "E_SOURCE_UNKNOWN");
    assert.match(typo.hint ?? "", /did you mean "dotenv"\? Known types: dotenv, yaml, files, vault/);
  });

  test("external stores are declared with their own fields, named after their type by default", () => {
    const spec = tessera(
      "sources:\n  - { type: vault, address: https://vault.example.test, path: app/prod, auth: { method: kubernetes, role: app } }\n  - { type: aws-ssm, name: params, path: /app/prod/ }\nsecrets:\n  required:\n    - name: A\n      from: { source: vault, key: app/a, property: token }\n",
    );
    assert.deepEqual(
      spec.sources.map((source) => [source.type, source.name]),
      [
        ["vault", "vault"],
        ["aws-ssm", "params"],
      ],
    );
    const vault = spec.sources[0]!;
    assert.ok("settings" in vault);
    assert.deepEqual(vault.settings, {
      address: "https://vault.example.test",
      path: "app/prod",
      auth: { method: "kubernetes", role: "app" },
    });
    assert.deepEqual(spec.variables[0]!.from, { source: "vault", key: "app/a", property: "token" });
    const missing = fails(() => tessera("sources:\n  - { type: aws-ssm, region: r }\n"));
    assert.match(missing.message, /missing required key "path"/);
    const unknown = fails(() =>
      tessera("sources:\n  - { type: gcp-secret-manager, project: p, projet: q }\n"),
    );
    assert.match(unknown.message, /unknown key "projet"/);
    const twice = fails(() =>
      tessera("sources:\n  - { type: aws-ssm, path: /a/ }\n  - { type: aws-ssm, path: /b/ }\n"),
    );
    assert.match(twice.message, /two sources are named "aws-ssm"/);
  });

  test("from: must name a declared source", () => {
    const spec = tessera(
      "sources:\n  - { type: dotenv, path: shared.env, name: shared }\nsecrets:\n  required:\n    - name: A\n      from: { source: shared, key: OTHER }\n",
    );
    assert.deepEqual(spec.variables[0]!.from, { source: "shared", key: "OTHER" });
    const error = fails(() =>
      tessera(
        "sources:\n  - { type: dotenv, path: s.env, name: shared }\nsecrets:\n  required:\n    - name: A\n      from: sharde\n",
      ),
    );
    assert.match(error.message, /from: names the source "sharde"/);
    assert.match(error.hint ?? "", /did you mean "shared"/);
  });

  test("a profile cannot turn a secret into config", () => {
    const error = fails(() =>
      tessera("secrets: [DB_PASS]\nprofiles:\n  dev:\n    config: { DB_PASS: devpass }\n"),
    );
    assert.match(error.message, /DB_PASS is a secret; profile "dev" cannot turn it into config/);
  });

  test("the JSON Schema describes the manifest and rejects unknown keys", () => {
    const schema = jsonSchema() as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
      $schema: string;
    };
    assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
    assert.equal(schema.additionalProperties, false);
    for (const key of ["secrets", "config", "sources", "profiles", "service"])
      assert.ok(key in schema.properties, key);
  });
});

describe("Dockrion Dockfile.yaml", () => {
  const base = `version: "1.0"\nagent:\n  name: invoice-copilot\n  entrypoint: app.graph:build\n  framework: langgraph\nio_schema: {}\nexpose:\n  port: 8080\n`;

  test("reads secrets with Dockrion's rules; other keys are left to Dockrion", () => {
    const spec = dockfile(
      `${base}secrets:\n  required:\n    - name: OPENAI_API_KEY\n      description: key\n    - name: WITH_DEFAULT\n      default: "d"\n  optional:\n    - name: LANGFUSE_SECRET\n      default: ""\n      extra_key: allowed\nwhatever: { anything: [1, 2] }\n`,
    );
    assert.deepEqual(
      spec.variables.map((declaration) => [
        declaration.name,
        declaration.kind,
        declaration.required,
        declaration.value,
      ]),
      [
        ["OPENAI_API_KEY", "secret", true, undefined],
        ["WITH_DEFAULT", "secret", true, "d"],
        ["LANGFUSE_SECRET", "secret", false, ""],
      ],
    );
    assert.deepEqual(spec.service, { name: "invoice-copilot", port: 8080 });
  });

  test("names must be UPPER_SNAKE_CASE (Dockrion's message and the position)", () => {
    const error = fails(() => dockfile(`${base}secrets:\n  required:\n    - name: openai_key\n`));
    assert.equal(error.code, "E_MANIFEST_INVALID");
    assert.match(error.message, /Secret name 'openai_key' must be uppercase with underscores/);
    assert.deepEqual(error.location, { file: "Dockfile.yaml", line: 11, column: 13 });
  });

  test("a name may not appear in both lists", () => {
    const error = fails(() =>
      dockfile(`${base}secrets:\n  required:\n    - name: A\n  optional:\n    - name: A\n`),
    );
    assert.match(error.message, /Duplicate secret names found: A/);
    assert.equal(error.location?.line, 13);
  });

  test("a default must be a string, as in Dockrion", () => {
    const error = fails(() =>
      dockfile(`${base}secrets:\n  optional:\n    - name: PORT_KEY\n      default: 8080\n`),
    );
    assert.match(error.message, /default must be a string/);
    assert.match(error.hint ?? "", /quote it: default: "8080"/);
  });

  test("${VAR} references anywhere and auth env-var names are implicit references", () => {
    const spec = dockfile(
      `${base}auth:\n  mode: api_key\n  api_keys:\n    env_var: MY_AGENT_KEY\n  jwt:\n    public_key_env: JWT_PEM\nobservability:\n  langfuse:\n    secret_key: "\${LANGFUSE_SECRET}"\n    host: "\${LANGFUSE_HOST:-https://x}"\narguments:\n  nested: ["\${A_IN_LIST}"]\n`,
    );
    const names = spec.implicitReferences.map((reference) => reference.name).sort();
    assert.deepEqual(names, ["A_IN_LIST", "JWT_PEM", "LANGFUSE_HOST", "LANGFUSE_SECRET", "MY_AGENT_KEY"]);
    const host = spec.implicitReferences.find((reference) => reference.name === "LANGFUSE_HOST")!;
    assert.deepEqual(host.location, { file: "Dockfile.yaml", line: 18, column: 11 });
    assert.match(host.context, /observability\.langfuse\.host/);
  });

  test("api_keys without env_var means Dockrion's default DOCKRION_API_KEY", () => {
    const spec = dockfile(`${base}auth:\n  mode: api_key\n  api_keys:\n    header: X-Key\n`);
    assert.deepEqual(
      spec.implicitReferences.map((reference) => reference.name),
      ["DOCKRION_API_KEY"],
    );
  });

  test("a Dockfile without secrets declares nothing", () => {
    assert.equal(dockfile(base).variables.length, 0);
  });
});

describe("Ploinky manifest.json", () => {
  // The reader as current Ploinky means it (forms, first wins, overlaps, profiles, sensitivity, …):
  // test/unit/ploinky-manifest.test.ts.

  test("JSON syntax errors carry line and column", () => {
    const error = fails(() => parsePloinkyManifest('{\n  "env": ["A",]\n}\n', "manifest.json", "/p"));
    assert.equal(error.code, "E_MANIFEST_SYNTAX");
    assert.equal(error.location?.line, 2);
  });
});
