/**
 * Dockrion's Dockfile read as Dockrion reads it: its `${…}` syntax, the auth variables its runtime reads,
 * config declared in the Dockfile, and the service facts written with `${…}` (expanded by serviceFrom).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isTesseraError, type TesseraError } from "../../src/errors.ts";
import { dockrionReferences, parseDockfile } from "../../src/manifest/dockfile.ts";
import type { Spec } from "../../src/model/spec.ts";
import type { Lookup } from "../../src/model/template.ts";
import type { Resolution } from "../../src/resolve/resolve.ts";
import { serviceFrom } from "../../src/targets/types.ts";

const HEADER = 'version: "1.0"\nagent:\n  name: fake-agent\n  handler: app.main:handle\nio_schema: {}\n';
const dockfile = (text: string) => parseDockfile(text, "Dockfile.yaml", "/project");

function fails(fn: () => unknown): TesseraError {
  try {
    fn();
  } catch (error) {
    if (isTesseraError(error)) return error;
    throw error;
  }
  assert.fail("expected a TesseraError");
}

function names(spec: Spec): string[] {
  return spec.implicitReferences.map((reference) => reference.name);
}

describe("Dockrion's ${…} syntax (expand_env_vars)", () => {
  test("the cases of its regex", () => {
    const cases: [string, { name: string; fallback: string }[]][] = [
      ["${SET}", [{ name: "SET", fallback: "" }]],
      ["${MISS:-x}", [{ name: "MISS", fallback: "x" }]],
      ["${MISS:-}", [{ name: "MISS", fallback: "" }]],
      ["${MISS-x}", [{ name: "MISS-x", fallback: "" }]],
      ["${MISS:x}", [{ name: "MISS", fallback: ":x" }]],
      ["${MISS:-a:b}", [{ name: "MISS", fallback: "a:b" }]],
      ["${MISS:-${SET}}", [{ name: "MISS", fallback: "${SET" }]],
      [
        "pre-${A}-${B:-d}",
        [
          { name: "A", fallback: "" },
          { name: "B", fallback: "d" },
        ],
      ],
      ["$SET and $${SET}", [{ name: "SET", fallback: "" }]],
      ["${ SET }", [{ name: " SET ", fallback: "" }]],
      ["${} ${:-x}", []],
      ["${NO_CLOSE", []],
    ];
    for (const [text, want] of cases) assert.deepEqual(dockrionReferences(text), want, text);
  });

  test("a long string with no closing brace is scanned in linear time (no regex backtracking)", () => {
    const text = "${a".repeat(200_000);
    assert.deepEqual(dockrionReferences(text), []);
  });

  test("an empty default is no default: ${X:-} counts as a bare reference", () => {
    const spec = dockfile(`${HEADER}metadata:\n  a: "\${X:-}"\n  b: "\${Y:-y}"\n`);
    assert.deepEqual(
      spec.implicitReferences.map((reference) => [reference.name, reference.hasDefault]),
      [
        ["X", false],
        ["Y", true],
      ],
    );
  });
});

describe("auth: the variables Dockrion's runtime reads", () => {
  test("mode api_key without api_keys reads DOCKRION_API_KEY", () => {
    assert.deepEqual(names(dockfile(`${HEADER}auth:\n  mode: api_key\n`)), ["DOCKRION_API_KEY"]);
    // An auth mapping defaults to api_key mode.
    assert.deepEqual(names(dockfile(`${HEADER}auth:\n  roles: []\n`)), ["DOCKRION_API_KEY"]);
    assert.deepEqual(names(dockfile(`${HEADER}auth:\n  mode: none\n`)), []);
    assert.deepEqual(names(dockfile(`${HEADER}auth: null\n`)), []);
  });

  test("env_var written with ${…} stays a template for check to expand", () => {
    const spec = dockfile(
      `${HEADER}auth:\n  mode: api_key\n  api_keys:\n    env_var: \${API_KEY_VAR:-DOCKRION_API_KEY}\n`,
    );
    assert.deepEqual(names(spec).sort(), ["${API_KEY_VAR:-DOCKRION_API_KEY}", "API_KEY_VAR"]);
  });

  test("prefix (multi-key mode) replaces env_var", () => {
    const spec = dockfile(
      `${HEADER}auth:\n  mode: api_key\n  api_keys:\n    prefix: AGENT_KEY_\n    env_var: API_KEY\n`,
    );
    assert.deepEqual(names(spec), ["AGENT_KEY_*"]);
  });
});

describe("a bare ${X} makes X required (Dockrion refuses to load the file while X is unset)", () => {
  test("an optional variable without a default, used as ${X}, is required and says why", () => {
    const spec = dockfile(
      `${HEADER}observability:\n  langfuse:\n    public_key: \${LANGFUSE_PUBLIC_KEY}\n    host: \${LANGFUSE_HOST:-https://x.invalid}\nsecrets:\n  optional:\n    - name: LANGFUSE_PUBLIC_KEY\n      description: Langfuse public key\n    - name: LANGFUSE_HOST\n    - name: WITH_DEFAULT\n      default: ""\n`,
    );
    const byName = new Map(spec.variables.map((declaration) => [declaration.name, declaration]));
    assert.equal(byName.get("LANGFUSE_PUBLIC_KEY")?.required, true);
    assert.match(
      byName.get("LANGFUSE_PUBLIC_KEY")?.description ?? "",
      /^Langfuse public key \(required: \$\{LANGFUSE_PUBLIC_KEY\} in observability\.langfuse\.public_key \(Dockfile\.yaml:8\) has no default, and Dockrion refuses to load the Dockfile while LANGFUSE_PUBLIC_KEY is unset\)$/,
    );
    assert.equal(byName.get("LANGFUSE_HOST")?.required, false, "it has a default where it is used");
    assert.equal(byName.get("WITH_DEFAULT")?.required, false);
  });

  test("an auth env-var name never makes a variable required (it does not stop loading)", () => {
    const spec = dockfile(
      `${HEADER}auth:\n  api_keys:\n    env_var: MY_AGENT_KEY\nsecrets:\n  optional:\n    - name: MY_AGENT_KEY\n`,
    );
    assert.equal(spec.variables[0]?.required, false);
  });
});

describe("config in a Dockfile", () => {
  test("a config: section and secret: false entries declare config", () => {
    const spec = dockfile(
      `${HEADER}config:\n  MODEL_PROVIDER: openai\n  PORT_NUMBER: 8080\n  API_URL: { value: "https://x.invalid", description: where, required: true }\nsecrets:\n  optional:\n    - name: MODEL_NAME\n      default: gpt-4o-mini\n      secret: false\n    - name: TOKEN\n`,
    );
    assert.deepEqual(
      spec.variables.map((declaration) => [
        declaration.name,
        declaration.kind,
        declaration.required,
        declaration.value,
      ]),
      [
        ["MODEL_NAME", "config", false, "gpt-4o-mini"],
        ["TOKEN", "secret", false, undefined],
        ["MODEL_PROVIDER", "config", false, "openai"],
        ["PORT_NUMBER", "config", false, "8080"],
        ["API_URL", "config", true, "https://x.invalid"],
      ],
    );
  });

  test("a name in both config and secrets, a bad name, a bad secret: flag are errors with positions", () => {
    const twice = fails(() =>
      dockfile(`${HEADER}secrets:\n  required:\n    - name: LOG_LEVEL\nconfig:\n  LOG_LEVEL: info\n`),
    );
    assert.equal(twice.code, "E_MANIFEST_INVALID");
    assert.match(twice.message, /LOG_LEVEL is declared twice \(first at Dockfile\.yaml:8:7\)/);
    assert.deepEqual(twice.location, { file: "Dockfile.yaml", line: 10, column: 3 });
    const badName = fails(() => dockfile(`${HEADER}config:\n  bad-name: x\n`));
    assert.match(badName.message, /"bad-name" is not a valid environment variable name/);
    const badFlag = fails(() =>
      dockfile(`${HEADER}secrets:\n  optional:\n    - name: X\n      secret: "no"\n`),
    );
    assert.match(badFlag.message, /secret must be true or false/);
    assert.equal(badFlag.location?.line, 9);
  });
});

describe("service facts: agent.name and expose.port", () => {
  const resolution = (secrets: string[] = []): Resolution => ({
    variables: secrets.map((name) => ({
      name,
      lookup: name,
      kind: "secret",
      required: true,
      status: "set",
      shadowed: [],
    })),
    missing: [],
    warnings: [],
    looked: [],
  });
  const scope =
    (values: Record<string, string>) =>
    (name: string): Lookup =>
      Object.hasOwn(values, name) ? { set: true, value: values[name]! } : { set: false };

  test("plain ones are facts; Dockrion's default port is 8080", () => {
    assert.deepEqual(dockfile(`${HEADER}expose:\n  port: 9000\n`).service, {
      name: "fake-agent",
      port: 9000,
    });
    assert.deepEqual(dockfile(`${HEADER}expose:\n  port: "9001"\n`).service, {
      name: "fake-agent",
      port: 9001,
    });
    assert.deepEqual(dockfile(`${HEADER}expose: {}\n`).service, { name: "fake-agent", port: 8080 });
  });

  test("written with ${…} they are templates, expanded from the resolution", () => {
    const spec = dockfile(
      `version: "1.0"\nagent:\n  name: \${AGENT_NAME}\nexpose:\n  port: \${PORT:-8080}\n`,
    );
    assert.deepEqual(spec.service, {});
    assert.deepEqual(spec.serviceTemplates, { name: "${AGENT_NAME}", port: "${PORT:-8080}" });
    const values = { resolution: resolution(), scopeValue: scope({ AGENT_NAME: "fake-agent" }) };
    assert.deepEqual(serviceFrom(spec, {}, "dns-1123", values), {
      name: "fake-agent",
      image: "dockrion/fake-agent:dev",
      port: 8080,
      namespace: undefined,
    });
    const withPort = { resolution: resolution(), scopeValue: scope({ AGENT_NAME: "a", PORT: "9090" }) };
    assert.equal(serviceFrom(spec, {}, "container", withPort).port, 9090);
    // A flag replaces the template: nothing is expanded for it.
    const none = { resolution: resolution(), scopeValue: scope({}) };
    assert.equal(serviceFrom(spec, { name: "given" }, "dns-1123", none).name, "given");
  });

  test("unset without a default: E_REF_UNSET naming the variable and the manifest line", () => {
    const spec = dockfile(`version: "1.0"\nagent:\n  name: \${AGENT_NAME}\n`);
    const error = fails(() =>
      serviceFrom(spec, {}, "dns-1123", { resolution: resolution(), scopeValue: scope({}) }),
    );
    assert.equal(error.code, "E_REF_UNSET");
    assert.match(error.message, /agent\.name \("\$\{AGENT_NAME\}"\) refers to AGENT_NAME, which is not set/);
    assert.deepEqual(error.location, { file: "Dockfile.yaml", line: 3, column: 9 });
  });

  test("a port that does not expand to a number, and a name read from a secret, are refused", () => {
    const spec = dockfile(`version: "1.0"\nagent:\n  name: \${AGENT_NAME}\nexpose:\n  port: \${PORT}\n`);
    const port = fails(() =>
      serviceFrom(spec, {}, "dns-1123", {
        resolution: resolution(),
        scopeValue: scope({ AGENT_NAME: "a", PORT: "http" }),
      }),
    );
    assert.equal(port.code, "E_TARGET_INVALID");
    assert.match(port.message, /expose\.port does not expand to a port number/);
    assert.doesNotMatch(port.message, /http/);
    const secret = fails(() =>
      serviceFrom(spec, {}, "dns-1123", {
        resolution: resolution(["AGENT_NAME"]),
        scopeValue: scope({ AGENT_NAME: "sk-test-fake-0001", PORT: "1" }),
      }),
    );
    assert.equal(secret.code, "E_TARGET_INVALID");
    assert.match(secret.message, /reads AGENT_NAME, a secret/);
    assert.doesNotMatch(secret.message, /sk-test-fake-0001/);
  });

  test("a Ploinky-style image template is expanded by the same code", () => {
    const spec: Spec = {
      kind: "ploinky",
      file: "manifest.json",
      dir: "/p",
      variables: [],
      sources: [],
      profiles: {},
      implicitReferences: [],
      service: { name: "agent" },
      serviceTemplates: { image: "registry.invalid/${IMG_NAME:-node}:${IMG_TAG}" },
    };
    const values = { resolution: resolution(), scopeValue: scope({ IMG_TAG: "20" }) };
    assert.equal(serviceFrom(spec, {}, "container", values).image, "registry.invalid/node:20");
    const error = fails(() =>
      serviceFrom(spec, {}, "container", { resolution: resolution(), scopeValue: scope({}) }),
    );
    assert.equal(error.code, "E_REF_UNSET");
    assert.match(error.message, /container .* refers to IMG_TAG/);
    assert.deepEqual(error.location, { file: "manifest.json" });
  });
});
