/**
 * resolve/wildcards.ts: a Ploinky wildcard declaration (`LLM_MODEL_*`) becomes every matching name the
 * layers define, as Ploinky's expandEnvWildcard, with the host environment and API keys kept out of a
 * bare `*`. Pure: fake sources, fake names.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Candidate, StaticSource, type ValueSource } from "../../src/model/layers.ts";
import type { Declaration } from "../../src/model/spec.ts";
import { literal } from "../../src/model/template.ts";
import { expandWildcards, hasWildcards } from "../../src/resolve/wildcards.ts";

const at = { file: "manifest.json", line: 3, column: 5 };

function source(layer: ValueSource["layer"], names: string[]): ValueSource {
  const candidates: Candidate[] = names.map((name) => ({
    name,
    template: literal("fake"),
    origin: { layer, where: layer },
  }));
  return new StaticSource(layer, layer, candidates);
}

const pattern = (name: string, extra: Partial<Declaration> = {}): Declaration => ({
  name,
  lookup: name,
  kind: "config",
  required: false,
  wildcard: true,
  declaredAt: at,
  ...extra,
});

const plain = (name: string): Declaration => ({
  name,
  lookup: name,
  kind: "config",
  required: true,
  declaredAt: at,
});

describe("expandWildcards", () => {
  test("no wildcard: the declarations as they are", () => {
    const declarations = [plain("A")];
    assert.equal(hasWildcards(declarations), false);
    assert.deepEqual(expandWildcards(declarations, []).declarations, declarations);
  });

  test("every matching name of every layer, sorted, optional, with where it came from", () => {
    const sources = [
      source("flag", ["LLM_MODEL_FLAG"]),
      source("values", ["LLM_MODEL_B"]),
      source("store", ["LLM_MODEL_A", "OTHER"]),
      source("dotenv", ["LLM_MODEL_FILE", "LLM_MODEL_A"]),
      source("manifest", ["LLM_MODEL_NOT_A_LAYER"]),
    ];
    const { declarations, matches } = expandWildcards([pattern("LLM_MODEL_*"), plain("LAST")], sources, {
      hostNames: ["LLM_MODEL_HOST", "PATH"],
    });
    assert.deepEqual(
      declarations.map((d) => [d.name, d.lookup, d.required, d.wildcard]),
      [
        ["LLM_MODEL_A", "LLM_MODEL_A", false, undefined],
        ["LLM_MODEL_B", "LLM_MODEL_B", false, undefined],
        ["LLM_MODEL_FILE", "LLM_MODEL_FILE", false, undefined],
        ["LLM_MODEL_FLAG", "LLM_MODEL_FLAG", false, undefined],
        ["LLM_MODEL_HOST", "LLM_MODEL_HOST", false, undefined],
        ["LAST", "LAST", true, undefined],
      ],
    );
    assert.equal(declarations[0]!.description, "matched LLM_MODEL_* (manifest.json:3)");
    assert.deepEqual(matches[0]!.names.length, 5);
  });

  test("`*` alone: no API key, no host name; a pattern starting with * never the host either", () => {
    const sources = [
      source("store", ["OPENAI_API_KEY", "X_APIKEY", "PLAIN"]),
      source("env", ["FROM_ENV_SOURCE"]),
    ];
    const all = expandWildcards([pattern("*")], sources, { hostNames: ["HOST_ONLY"] });
    assert.deepEqual(
      all.declarations.map((d) => d.name),
      ["PLAIN"],
    );
    const suffix = expandWildcards([pattern("*_MODEL")], [source("store", ["A_MODEL"])], {
      hostNames: ["B_MODEL"],
    });
    assert.deepEqual(
      suffix.declarations.map((d) => d.name),
      ["A_MODEL"],
    );
    const prefixed = expandWildcards([pattern("X*")], [source("env", ["X_FROM_ENV_SOURCE"])]);
    assert.deepEqual(
      prefixed.declarations.map((d) => d.name),
      ["X_FROM_ENV_SOURCE"],
    );
  });

  test("first wins in manifest order, in both directions, as in Ploinky", () => {
    const sources = [source("store", ["LLM_MODEL_A", "LLM_MODEL_B"])];
    const explicitFirst = expandWildcards([plain("LLM_MODEL_A"), pattern("LLM_MODEL_*")], sources);
    assert.deepEqual(
      explicitFirst.declarations.map((d) => [d.name, d.required]),
      [
        ["LLM_MODEL_A", true],
        ["LLM_MODEL_B", false],
      ],
    );
    assert.deepEqual(explicitFirst.matches[0]!.taken, ["LLM_MODEL_A"]);
    const patternFirst = expandWildcards([pattern("LLM_MODEL_*"), plain("LLM_MODEL_A")], sources);
    assert.deepEqual(
      patternFirst.declarations.map((d) => [d.name, d.required]),
      [
        ["LLM_MODEL_A", false],
        ["LLM_MODEL_B", false],
      ],
    );
    assert.deepEqual(patternFirst.matches[0]!.displaced, ["LLM_MODEL_A"]);
  });

  test("only valid variable names; kinds by Ploinky's rule unless the pattern says secret", () => {
    const sources = [source("store", ["LLM_KEY_TOKEN", "LLM_PLAIN", "LLM_bad-name"])];
    const found = expandWildcards([pattern("LLM_*")], sources);
    assert.deepEqual(
      found.declarations.map((d) => [d.name, d.kind]),
      [
        ["LLM_KEY_TOKEN", "secret"],
        ["LLM_PLAIN", "config"],
      ],
    );
    const secret = expandWildcards([pattern("LLM_*", { kind: "secret" })], sources);
    assert.ok(secret.declarations.every((d) => d.kind === "secret"));
  });
});
