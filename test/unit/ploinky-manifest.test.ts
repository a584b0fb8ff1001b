/**
 * The Ploinky manifest reader as current Ploinky reads manifest.json (issue 10 §5): env forms, first-wins
 * de-duplication, nameless entries, wildcards, env/expose overlaps, generated secrets, runtime:false,
 * runtime.resources.env, profiles merged with the default profile, profile secrets, sensitivity,
 * `${VAR}` in container, and PLOINKY_PROFILE_CONFIG_INCOMPLETE. Values are fake.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TesseraError } from "../../src/errors.ts";
import {
  generatedKey,
  type PloinkySpec,
  parsePloinkyManifest,
  ploinkyProfileCheck,
} from "../../src/manifest/ploinky.ts";
import { ploinkySensitiveName } from "../../src/model/sensitivity.ts";
import { type Declaration, effectiveDeclarations } from "../../src/model/spec.ts";

const read = (value: unknown, dir = "/ws/.ploinky/repos/fakeRepo/fakeAgent"): PloinkySpec =>
  parsePloinkyManifest(JSON.stringify(value, null, 2), "manifest.json", dir);

function fails(fn: () => unknown): TesseraError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TesseraError, String(error));
    return error;
  }
  assert.fail("expected an error");
}

const rows = (declarations: readonly Declaration[]) =>
  declarations.map((d) => [d.name, d.lookup, d.kind, d.required, d.value, d.valueKind]);

describe("env forms and de-duplication", () => {
  test("array and object forms; varName; a scalar of the object form is a default", () => {
    const spec = read({
      env: [
        "PLAIN",
        "WITH_DEFAULT=some default",
        { name: "INSIDE", varName: "OUTSIDE", required: "yes", value: "dflt" },
        { name: "BOTH", value: "from-value", default: "from-default" },
        { name: "ONLY_DEFAULT", default: "d" },
      ],
    });
    assert.deepEqual(rows(spec.variables), [
      ["PLAIN", "PLAIN", "config", false, undefined, undefined],
      ["WITH_DEFAULT", "WITH_DEFAULT", "config", false, "some default", "default"],
      ["INSIDE", "OUTSIDE", "config", true, "dflt", "default"],
      ["BOTH", "BOTH", "config", false, "from-value", "default"],
      ["ONLY_DEFAULT", "ONLY_DEFAULT", "config", false, "d", "default"],
    ]);
    const object = read({
      env: { PORT: 8080, NOTHING: null, DB_URL: { varName: "POSTGRES_URL", required: true, default: "x$y" } },
    });
    assert.deepEqual(rows(object.variables), [
      ["PORT", "PORT", "config", false, "8080", "default"],
      ["NOTHING", "NOTHING", "config", false, undefined, undefined],
      ["DB_URL", "POSTGRES_URL", "secret", true, "x$$y", "default"],
    ]);
    assert.equal(object.blankIsUnset, true);
  });

  test("the first entry of a name wins; a differing later one is a warning, an identical one is not", () => {
    const spec = read({ env: ["OPENCODE_API_KEY", "OPENCODE_API_KEY", "A=1", "A=2"] });
    assert.deepEqual(
      spec.variables.map((d) => [d.name, d.value]),
      [
        ["OPENCODE_API_KEY", undefined],
        ["A", "1"],
      ],
    );
    assert.deepEqual(
      spec.warnings?.map((w) => [w.code, w.location?.line]),
      [["W_DECLARED_TWICE", 6]],
    );
    assert.match(spec.warnings![0]!.message, /A is declared again in env \(first at manifest\.json:5:5\)/);
  });

  test("an entry without a name is skipped with a warning at its place, never called undefined", () => {
    const spec = read({
      env: [{ DEMO_VAR: "DEMO_VALUE" }, "=x", "  ", { name: "  " }, "KEPT"],
      expose: [{ value: "v" }],
    });
    assert.deepEqual(
      spec.variables.map((d) => d.name),
      ["KEPT"],
    );
    assert.deepEqual(
      spec.warnings?.map((w) => [w.code, w.location?.line, w.location?.column]),
      [
        ["W_ENTRY_SKIPPED", 3, 5],
        ["W_ENTRY_SKIPPED", 6, 5],
        ["W_ENTRY_SKIPPED", 7, 5],
        ["W_ENTRY_SKIPPED", 8, 5],
        ["W_ENTRY_SKIPPED", 14, 5],
      ],
    );
    assert.ok(spec.warnings!.every((w) => !w.message.includes("undefined")));
  });

  test("names that could inject flags or commands are still refused", () => {
    for (const name of ["X -v /:/host", "X;rm -rf /", "$A", "1X"]) {
      const error = fails(() => read({ env: [name] }));
      assert.equal(error.code, "E_MANIFEST_INVALID", name);
      assert.match(error.message, /not a valid environment variable name/);
    }
    assert.match(
      fails(() => read({ env: [{ name: "OK", varName: "bad name" }] })).message,
      /varName "bad name"/,
    );
  });

  test("Ploinky's refusals: legacy derive keys, generatedSecretScope, a runtime that is not a boolean", () => {
    assert.match(
      fails(() => read({ env: [{ name: "OLD", derive: "derived-master" }] })).message,
      /PLOINKY_LEGACY_DERIVED_MASTER_ENV/,
    );
    assert.match(
      fails(() => read({ env: [{ name: "OLD", generatedSecret: true, generatedSecretScope: "workspace" }] }))
        .message,
      /PLOINKY_REMOVED_GENERATED_SECRET_SCOPE/,
    );
    assert.match(
      fails(() => read({ env: { BAD: { runtime: "false" } } })).message,
      /'runtime' must be a boolean/,
    );
  });
});

describe("wildcards, expose, runtime:false, resources", () => {
  test("a wildcard name is declared with wildcard: true, optional and without a default", () => {
    const spec = read({ env: ["LLM_MODEL_*", { name: "X_*", required: true, value: "ignored" }, "*"] });
    assert.deepEqual(
      spec.variables.map((d) => [d.name, d.wildcard, d.required, d.value]),
      [
        ["LLM_MODEL_*", true, false, undefined],
        ["X_*", true, false, undefined],
        ["*", true, false, undefined],
      ],
    );
  });

  test("env and expose of one name: accepted when the expose reads the same variable; else the expose wins", () => {
    const agree = read({ env: ["SHARED"], expose: [{ name: "SHARED", ref: "SHARED" }] });
    assert.deepEqual(rows(agree.variables), [["SHARED", "SHARED", "config", false, undefined, undefined]]);
    assert.equal(agree.warnings, undefined);
    const differ = read({
      env: [{ name: "LOG_LEVEL", required: true, value: "info" }],
      expose: { LOG_LEVEL: "debug" },
    });
    assert.deepEqual(rows(differ.variables), [["LOG_LEVEL", "LOG_LEVEL", "config", true, "debug", "fixed"]]);
    assert.match(
      differ.warnings![0]!.message,
      /LOG_LEVEL is declared at manifest\.json:3:5 and again in expose/,
    );
  });

  test("expose: refs and $NAME aliases, literals; passed last (fixed); the last of two entries wins", () => {
    const spec = read({
      expose: [
        { name: "DB_CONN", ref: "DATABASE_URL" },
        { name: "MODE", value: "fast" },
        { name: "MODE", value: "slow" },
      ],
    });
    assert.deepEqual(rows(spec.variables), [
      ["DB_CONN", "DB_CONN", "secret", false, "${DATABASE_URL}", "fixed"],
      ["MODE", "MODE", "config", false, "slow", "fixed"],
    ]);
    const object = read({ expose: { ALIAS: "$SHARED_KEY", LITERAL: "pre$X", NUM: 3 } });
    assert.deepEqual(
      object.variables.map((d) => [d.name, d.value, d.kind]),
      [
        ["ALIAS", "$SHARED_KEY", "config"],
        ["LITERAL", "pre$$X", "config"],
        ["NUM", "3", "config"],
      ],
    );
  });

  test("runtime:false: not passed, nor an expose of that name", () => {
    const spec = read({
      env: [{ name: "HOOK_ONLY", value: "v", runtime: false }, "KEPT"],
      expose: { HOOK_ONLY: "resurrected", OTHER: "o" },
    });
    assert.deepEqual(
      spec.variables.map((d) => d.name),
      ["KEPT", "OTHER"],
    );
  });

  test("runtime.resources.env: templates as Tessera templates, passed after env (fixed)", () => {
    const spec = read(
      {
        env: ["KEPT=env-value"],
        runtime: {
          resources: {
            persistentStorage: { key: "agent-data", containerPath: "/data" },
            env: {
              DATA_DIR: "{{STORAGE_CONTAINER_PATH}}/cache",
              HOST_DIR: "{{STORAGE_HOST_PATH}}",
              ROOT: "{{PLOINKY_WORKSPACE_ROOT}}",
              FROM_VAR: "a{{var:SOME}}b$c",
              DB_PASSWORD: "{{secret:AGENT_DB_PASSWORD}}",
              SIGNING: "{{generatedSecret:SIGNING_KEY}}",
              UNKNOWN: "{{NOPE}}",
              KEPT: "resource-value",
            },
          },
        },
      },
      "/ws/.ploinky/repos/fakeRepo/fakeAgent",
    );
    const byName = new Map(spec.variables.map((d) => [d.name, d]));
    assert.equal(byName.get("KEPT")!.value, "resource-value");
    assert.equal(byName.get("KEPT")!.valueKind, "fixed");
    assert.equal(byName.get("DATA_DIR")!.value, "/data/cache");
    assert.equal(
      byName.get("HOST_DIR")!.value,
      "${PLOINKY_RESOURCE_AGENT_DATA_HOST:-/ws/.ploinky/data/agent-data}",
    );
    assert.equal(byName.get("ROOT")!.value, "${PLOINKY_WORKSPACE_ROOT:-/ws}");
    assert.equal(byName.get("FROM_VAR")!.value, "a${SOME:-}b$$c");
    assert.equal(byName.get("DB_PASSWORD")!.value, "${AGENT_DB_PASSWORD:-${GENERATED__AGENT_DB_PASSWORD}}");
    assert.equal(byName.get("DB_PASSWORD")!.kind, "secret");
    assert.equal(byName.get("SIGNING")!.value, "${GENERATED__fakeRepo__fakeAgent__SIGNING_KEY}");
    assert.equal(byName.get("SIGNING")!.kind, "secret");
    assert.equal(byName.get("UNKNOWN")!.value, "{{NOPE}}");
    assert.deepEqual(spec.ploinky?.generate, [
      { key: "GENERATED__AGENT_DB_PASSWORD", scope: "persistent", name: "AGENT_DB_PASSWORD" },
      { key: "GENERATED__fakeRepo__fakeAgent__SIGNING_KEY", scope: "agent", name: "SIGNING_KEY" },
    ]);
    assert.match(
      fails(() => read({ runtime: { resources: { env: { X: "{{derivedMasterSecret:Y}}" } } } })).message,
      /PLOINKY_LEGACY_DERIVED_MASTER_TEMPLATE/,
    );
  });
});

describe("generated secrets", () => {
  test("each reads its own store key: per agent, or per workspace by source name; explicitOverride makes it a default", () => {
    const spec = read({
      env: [
        { name: "OWN", generatedSecret: true, value: "ignored" },
        { name: "JWT_SECRET", varName: "ONLYOFFICE_JWT_SECRET", sharedGeneratedSecret: true },
        { name: "OVERRIDE", generatedSecret: true, explicitOverride: true },
      ],
    });
    assert.deepEqual(rows(spec.variables), [
      ["OWN", "OWN", "secret", false, "${GENERATED__fakeRepo__fakeAgent__OWN}", "fixed"],
      [
        "JWT_SECRET",
        "ONLYOFFICE_JWT_SECRET",
        "secret",
        false,
        "${GENERATED__ONLYOFFICE_JWT_SECRET}",
        "fixed",
      ],
      ["OVERRIDE", "OVERRIDE", "secret", false, "${GENERATED__fakeRepo__fakeAgent__OVERRIDE}", "default"],
    ]);
    assert.deepEqual(
      spec.variables.map((d) => d.generated),
      ["agent", "workspace", "agent"],
    );
    assert.deepEqual(
      spec.ploinky?.generate.map((r) => [r.key, r.scope, r.name]),
      [
        ["GENERATED__fakeRepo__fakeAgent__OWN", "agent", "OWN"],
        ["GENERATED__ONLYOFFICE_JWT_SECRET", "workspace", "ONLYOFFICE_JWT_SECRET"],
        ["GENERATED__fakeRepo__fakeAgent__OVERRIDE", "agent", "OVERRIDE"],
      ],
    );
    assert.equal(generatedKey("agent", "X", "my-repo", "git.Agent"), "GENERATED__my_repo__git_Agent__X");
  });
});

describe("profiles", () => {
  test("the default profile's env applies without --env; another profile's env is merged with it", () => {
    const spec = read({
      env: ["TOP"],
      expose: { E: "x" },
      profiles: {
        default: { env: ["FROM_DEFAULT", "SHARED=default"] },
        prod: { env: ["SHARED=prod", "PROD_ONLY"] },
        mixed: { env: { MIXED: "m" } },
        empty: { env: [] },
        noenv: { install: "x" },
      },
    });
    const names = (profile?: string) => effectiveDeclarations(spec, profile).map((d) => [d.name, d.value]);
    assert.deepEqual(names(), [
      ["FROM_DEFAULT", undefined],
      ["SHARED", "default"],
      ["E", "x"],
    ]);
    assert.deepEqual(names("prod"), [
      ["SHARED", "prod"],
      ["PROD_ONLY", undefined],
      ["FROM_DEFAULT", undefined],
      ["E", "x"],
    ]);
    assert.deepEqual(names("mixed"), [
      ["MIXED", "m"],
      ["FROM_DEFAULT", undefined],
      ["SHARED", "default"],
      ["E", "x"],
    ]);
    assert.deepEqual(names("empty"), [
      ["FROM_DEFAULT", undefined],
      ["SHARED", "default"],
      ["E", "x"],
    ]);
    assert.deepEqual(names("noenv"), names());
    assert.deepEqual(spec.profileNames, ["default", "noenv"]);
  });

  test("object forms merge key by key; a profile scalar stays a default (current Ploinky passes it once)", () => {
    const spec = read({
      profiles: { default: { env: { A: "a", B: "b" } }, dev: { env: { B: "dev-b", C: "c" } } },
    });
    assert.deepEqual(rows(effectiveDeclarations(spec, "dev")), [
      ["A", "A", "config", false, "a", "default"],
      ["B", "B", "config", false, "dev-b", "default"],
      ["C", "C", "config", false, "c", "default"],
    ]);
  });

  test("profile secrets are required secrets (and make a declared name a secret)", () => {
    const spec = read({
      env: ["LISTED"],
      profiles: { default: { secrets: ["LISTED", "ONLY_LISTED"] }, prod: { secrets: ["PROD_SECRET"] } },
    });
    assert.deepEqual(rows(spec.variables), [
      ["LISTED", "LISTED", "secret", true, undefined, undefined],
      ["ONLY_LISTED", "ONLY_LISTED", "secret", true, undefined, undefined],
    ]);
    assert.deepEqual(
      effectiveDeclarations(spec, "prod").map((d) => [d.name, d.kind, d.required]),
      [
        ["LISTED", "secret", true],
        ["ONLY_LISTED", "secret", true],
        ["PROD_SECRET", "secret", true],
      ],
    );
  });

  test("PLOINKY_PROFILE_CONFIG_INCOMPLETE: required, not sensitive by name, not generated, no default", () => {
    const spec = read({
      env: [
        { name: "KEYCLOAK_URL", required: true },
        { name: "REALM", varName: "KC_REALM", required: true, value: "  " },
        { name: "ADMIN_PASSWORD", required: true },
        { name: "SIGNING", generatedSecret: true, required: true },
        { name: "HAS_DEFAULT", required: true, value: "d" },
      ],
      profiles: {
        default: {},
        prod: { env: [{ name: "KEYCLOAK_URL", required: true, default: "https://x" }] },
      },
    });
    const error = ploinkyProfileCheck(spec, undefined);
    assert.ok(error);
    assert.equal(error.code, "E_MANIFEST_INVALID");
    assert.match(
      error.message,
      /^PLOINKY_PROFILE_CONFIG_INCOMPLETE: required non-sensitive env entries for fakeAgent profile 'default' must define profile defaults: KEYCLOAK_URL, REALM \(source: KC_REALM\)/,
    );
    assert.equal(error.location?.line, 3);
    assert.equal(ploinkyProfileCheck(spec, "prod"), undefined);
    assert.ok(ploinkyProfileCheck(spec, "unknown-profile"), "a profile without a section is the default's");
    assert.equal(ploinkyProfileCheck(read({ env: ["OPTIONAL"] }), undefined), undefined);
  });
});

describe("sensitivity and the container image", () => {
  test("Ploinky's isSensitiveEnvVariableName", () => {
    for (const name of [
      "SERVICE_API_KEY",
      "SERVICE_PASSWORD",
      "SERVICE_MASTER_KEY",
      "GITHUB_TOKEN",
      "DB_PASS",
      "X_APIKEY",
    ])
      assert.ok(ploinkySensitiveName(name), name);
    for (const name of ["KEYCLOAK_URL", "LLM_MODEL", "PASSWORDLESS_MODE", "TOKENIZER"])
      assert.ok(!ploinkySensitiveName(name), name);
  });

  test("kinds: Ploinky's rule widened by Tessera's; `secret: true|false` says it outright", () => {
    const spec = read({
      env: [
        "LLM_MODEL=4",
        "OPENAI_API_KEY",
        "DATABASE_URL",
        "SIGNING_KEY",
        { name: "SAYS_SECRET", secret: true },
        { name: "SAYS_CONFIG_TOKEN", secret: false },
      ],
    });
    assert.deepEqual(
      spec.variables.map((d) => [d.name, d.kind]),
      [
        ["LLM_MODEL", "config"],
        ["OPENAI_API_KEY", "secret"],
        ["DATABASE_URL", "secret"],
        ["SIGNING_KEY", "secret"],
        ["SAYS_SECRET", "secret"],
        ["SAYS_CONFIG_TOKEN", "config"],
      ],
    );
  });

  test("${VAR} in container is a service template; the image field is then unset", () => {
    const spec = read({
      container: "registry.example/$agent:${IMAGE_TAG}-${INSIDE}-${HOOK_ONLY}-${A:-b}",
      env: [
        { name: "INSIDE", varName: "OUTSIDE" },
        { name: "HOOK_ONLY", value: "1.0", runtime: false },
      ],
    });
    assert.equal(spec.service.image, undefined);
    assert.equal(spec.service.name, "fakeAgent");
    assert.deepEqual(spec.serviceTemplates, {
      image: "registry.example/$$agent:${IMAGE_TAG}-${OUTSIDE}-${HOOK_ONLY:-1.0}-$${A:-b}",
    });
    assert.deepEqual(read({ container: "node:20-alpine" }).service, {
      name: "fakeAgent",
      image: "node:20-alpine",
    });
    assert.deepEqual(read({ image: "fallback:1" }).service.image, "fallback:1");
    assert.deepEqual(read({}).service.image, "node:18-alpine", "Ploinky's default image");
  });
});

describe("profile secrets that are not names", () => {
  test("refused with their place, in every profile", () => {
    const error = fails(() => read({ profiles: { default: {}, prod: { secrets: ["OK", "X -v /:/host"] } } }));
    assert.match(error.message, /profile secret "X -v \/:\/host" is not a valid environment variable name/);
    assert.equal(error.location?.line, 7);
  });
});
