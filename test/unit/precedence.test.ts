/**
 * The precedence matrix: a variable set at two positions of the layer stack resolves to the higher
 * one, and `explain` data shows the lower one as shadowed — for every pair of the 19 positions. With a
 * profile selected: what the command line names, then what is written for the profile, then the generic
 * files (the workspace store sits between those two; it is tested in workspace-store.test.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Context, resolveFromFlags } from "../../src/commands/common.ts";
import { project } from "../helpers.ts";

process.env.TESSERA_CACHE_DIR = "off";

interface Position {
  id: string;
  /** What explain reports as the place (a substring of origin.where). */
  where: string;
}

const POSITIONS: Position[] = [
  { id: "flag", where: "--secret" },
  { id: "env", where: "process environment" },
  { id: "name-file", where: "X_FILE (" },
  { id: "values-flag", where: "given.yaml:" },
  { id: "env-file-flag", where: "given.env:" },
  { id: "secrets-dir-flag", where: "given-secrets/X" },
  { id: "profile-dotenv-source", where: "prod-declared.env:" },
  { id: "env.prod.yaml", where: "env.prod.yaml:" },
  { id: ".env.prod.local", where: ".env.prod.local:" },
  { id: ".env.prod", where: ".env.prod:" },
  { id: "profile-config", where: "(profiles.prod value)" },
  { id: "manifest-yaml-source", where: "declared.yaml:" },
  { id: "manifest-dotenv-source", where: "declared.env:" },
  { id: "manifest-files-source", where: "declared-secrets/x" },
  { id: ".dockrion-env.yaml", where: ".dockrion-env.yaml:" },
  { id: "env.yaml", where: "env.yaml:" },
  { id: ".env.local", where: ".env.local:" },
  { id: ".env", where: ".env:" },
  { id: "config-value", where: "tessera.yaml:" },
];

function setup(ids: string[]): { dir: string; flags: Record<string, unknown>; env: Record<string, string> } {
  const value = (id: string) => `from-${id}`;
  const has = (id: string) => ids.includes(id);
  const files: Record<string, string> = {};
  const sources: string[] = [];
  if (has("manifest-yaml-source")) {
    files["declared.yaml"] = `X: ${value("manifest-yaml-source")}\n`;
    sources.push("  - { type: yaml, path: declared.yaml }");
  }
  if (has("manifest-dotenv-source")) {
    files["declared.env"] = `X=${value("manifest-dotenv-source")}\n`;
    sources.push("  - { type: dotenv, path: declared.env }");
  }
  if (has("manifest-files-source")) {
    // Compose names its secrets in lower case: a declared X is found as x.
    files["declared-secrets/x"] = `${value("manifest-files-source")}\n`;
    sources.push("  - { type: files, path: declared-secrets }");
  }
  if (has("name-file")) files["x-file.txt"] = `${value("name-file")}\n`;
  if (has("secrets-dir-flag")) files["given-secrets/X"] = value("secrets-dir-flag");
  const profileSources: string[] = [];
  if (has("profile-dotenv-source")) {
    files["prod-declared.env"] = `X=${value("profile-dotenv-source")}\n`;
    profileSources.push("      - { type: dotenv, path: prod-declared.env }");
  }
  const base = has("config-value")
    ? `X: ${value("config-value")}`
    : "X: { description: the variable under test }";
  const profile = `profiles:\n  prod:\n${has("profile-config") ? `    config:\n      X: ${value("profile-config")}\n` : ""}${profileSources.length ? `    sources:\n${profileSources.join("\n")}\n` : ""}${has("profile-config") || profileSources.length ? "" : "    {}\n"}`;
  files["tessera.yaml"] =
    `config:\n  ${base}\n${sources.length ? `sources:\n${sources.join("\n")}\n` : ""}${profile}`;
  for (const name of ["env.prod.yaml", "env.yaml"]) if (has(name)) files[name] = `X: ${value(name)}\n`;
  if (has(".dockrion-env.yaml"))
    files[".dockrion-env.yaml"] = `secrets:\n  X: ${value(".dockrion-env.yaml")}\n`;
  for (const name of [".env.prod.local", ".env.prod", ".env.local", ".env"])
    if (has(name)) files[name] = `X=${value(name)}\n`;
  if (has("values-flag")) files["given.yaml"] = `X: ${value("values-flag")}\n`;
  if (has("env-file-flag")) files["given.env"] = `X=${value("env-file-flag")}\n`;
  const dir = project(files);
  const flags: Record<string, unknown> = { env: "prod" };
  if (has("flag")) flags.secret = [`X=${value("flag")}`];
  if (has("values-flag")) flags.values = ["given.yaml"];
  if (has("env-file-flag")) flags["env-file"] = ["given.env"];
  if (has("secrets-dir-flag")) flags["secrets-dir"] = ["given-secrets"];
  const env: Record<string, string> = has("env") ? { X: value("env") } : {};
  if (has("name-file")) env.X_FILE = "x-file.txt";
  return { dir, flags, env };
}

async function resolveX(ids: string[]) {
  const { dir, flags, env } = setup(ids);
  const context: Context = { cwd: dir, env, stdout: () => {}, stderr: () => {} };
  const { resolution } = await resolveFromFlags(flags, context);
  const variable = resolution.variables.find((entry) => entry.name === "X");
  assert.ok(variable, "X is declared");
  return variable;
}

describe("precedence: every pair of positions", () => {
  for (let i = 0; i < POSITIONS.length; i++) {
    for (let j = i + 1; j < POSITIONS.length; j++) {
      const high = POSITIONS[i]!;
      const low = POSITIONS[j]!;
      test(`${high.id} beats ${low.id}`, async () => {
        const variable = await resolveX([high.id, low.id]);
        assert.equal(variable.value?.reveal(), `from-${high.id}`);
        assert.ok(
          variable.origin?.where.includes(high.where),
          `winner ${variable.origin?.where} is ${high.where}`,
        );
        const shadowed = variable.shadowed.map((origin) => origin.where);
        // The profile's config value replaces the base value in the same (manifest) layer.
        if (!(high.id === "profile-config" && low.id === "config-value")) {
          assert.ok(
            shadowed.some((where) => where.includes(low.where)),
            `${low.where} is listed as shadowed (got ${shadowed.join(", ")})`,
          );
        }
      });
    }
  }
});

describe("precedence: each position alone", () => {
  for (const position of POSITIONS) {
    test(position.id, async () => {
      const variable = await resolveX([position.id]);
      assert.equal(variable.value?.reveal(), `from-${position.id}`);
      assert.equal(variable.shadowed.length, 0);
    });
  }
});

describe("precedence within a layer", () => {
  test("repeated --env-file: the first given wins, the rest are shadowed", async () => {
    const dir = project({
      "tessera.yaml": "secrets: [X]\n",
      "a.env": "X=a\n",
      "b.env": "X=b\n",
      ".env": "X=auto\n",
    });
    const context: Context = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {} };
    const { resolution } = await resolveFromFlags({ "env-file": ["a.env", "b.env"] }, context);
    const x = resolution.variables[0]!;
    assert.equal(x.value?.reveal(), "a");
    assert.deepEqual(
      x.shadowed.map((origin) => origin.where),
      ["b.env:1", ".env:1"],
    );
  });

  test("repeated --values: the first given wins", async () => {
    const dir = project({ "tessera.yaml": "secrets: [X]\n", "a.yaml": "X: a\n", "b.yaml": "X: b\n" });
    const context: Context = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {} };
    const { resolution } = await resolveFromFlags({ values: ["a.yaml", "b.yaml"] }, context);
    assert.equal(resolution.variables[0]!.value?.reveal(), "a");
  });

  test("a name set twice in one .env: the last wins and the earlier line is shadowed", async () => {
    const dir = project({ "tessera.yaml": "secrets: [X]\n", ".env": "X=first\nX=second\n" });
    const context: Context = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {} };
    const { resolution } = await resolveFromFlags({}, context);
    const x = resolution.variables[0]!;
    assert.equal(x.value?.reveal(), "second");
    assert.equal(x.origin?.where, ".env:2");
    assert.deepEqual(
      x.shadowed.map((origin) => origin.where),
      [".env:1"],
    );
  });

  test("without --env, profile files are not read", async () => {
    const dir = project({ "tessera.yaml": "secrets: [X]\n", ".env.prod": "X=prod\n", ".env": "X=base\n" });
    const context: Context = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {} };
    const { resolution } = await resolveFromFlags({}, context);
    assert.equal(resolution.variables[0]!.value?.reveal(), "base");
  });

  test("TESSERA_ENV selects the profile; --env wins over it", async () => {
    const dir = project({ "tessera.yaml": "secrets: [X]\n", ".env.a": "X=a\n", ".env.b": "X=b\n" });
    const context: Context = { cwd: dir, env: { TESSERA_ENV: "a" }, stdout: () => {}, stderr: () => {} };
    assert.equal((await resolveFromFlags({}, context)).resolution.variables[0]!.value?.reveal(), "a");
    assert.equal(
      (await resolveFromFlags({ env: "b" }, context)).resolution.variables[0]!.value?.reveal(),
      "b",
    );
  });

  test("an empty value is set: it shadows lower layers", async () => {
    const dir = project({
      "tessera.yaml": "secrets:\n  optional: [X]\n",
      ".env.local": "X=\n",
      ".env": "X=lower\n",
    });
    const context: Context = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {} };
    const x = (await resolveFromFlags({}, context)).resolution.variables[0]!;
    assert.equal(x.value?.reveal(), "");
    assert.equal(x.origin?.where, ".env.local:1");
  });
});
