/**
 * Each store's fetch code is a lazily loaded chunk of its own (src/providers/catalog.ts): checked on the
 * built dist/. The catalog (and the manifest reader, which bundles it for the schema) carries only the
 * stores' entries; a distinctive piece of each provider's code is in its own chunk and nowhere else, in
 * the CLI's chunks and in the ES module library alike; a store's chunk is loaded by its entry's load(),
 * and by the CLI only when a source of that type is fetched.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { StoreType } from "../../src/model/spec.ts";
import { CATALOG } from "../../src/providers/catalog.ts";
import { CLI, project, ROOT } from "../helpers.ts";

const DIST = join(ROOT, "dist");

/** Per store type: its provider's chunk, and a string only its fetch code holds. */
const FETCH_CODE: Record<StoreType, { chunk: string; marker: string }> = {
  vault: { chunk: "providers-vault.cjs", marker: "x-vault-token" },
  "aws-secrets-manager": { chunk: "providers-aws-secrets-manager.cjs", marker: "GetSecretValue" },
  "aws-ssm": { chunk: "providers-aws-ssm.cjs", marker: "WithDecryption" },
  "gcp-secret-manager": { chunk: "providers-gcp-fetch.cjs", marker: "dataCrc32c" },
  "azure-key-vault": { chunk: "providers-azure-fetch.cjs", marker: "www-authenticate" },
  "1password": { chunk: "providers-onepassword.cjs", marker: '"--no-newline"' },
  pass: { chunk: "providers-pass.cjs", marker: "is not in the password store" },
  keepassxc: { chunk: "providers-keepassxc.cjs", marker: "keepassxc-cli" },
  exec: { chunk: "providers-exec.cjs", marker: "or set format: dotenv" },
  "age-file": { chunk: "providers-age-file.cjs", marker: "is encrypted with a passphrase" },
  "dotenvx-file": { chunk: "providers-dotenvx-file.cjs", marker: "DOTENV_PUBLIC_KEY" },
};

/** The files of a dist/ folder ending in `suffix`, by name. */
function builtFiles(dir: string, suffix: string): Map<string, string> {
  return new Map(
    readdirSync(dir)
      .filter((name) => name.endsWith(suffix))
      .map((name) => [name, readFileSync(join(dir, name), "utf8")]),
  );
}

describe("each store's fetch code is a chunk of its own", () => {
  test("every store type of the catalog is checked here", () => {
    assert.deepEqual(CATALOG.map((entry) => entry.type).sort(), Object.keys(FETCH_CODE).sort());
  });

  test("dist/providers-catalog.cjs and dist/manifest-parse.cjs hold no store's fetch code", () => {
    const chunks = builtFiles(DIST, ".cjs");
    for (const name of ["providers-catalog.cjs", "manifest-parse.cjs"]) {
      const text = chunks.get(name);
      assert.ok(text, `dist/${name} is built`);
      for (const [type, { chunk, marker }] of Object.entries(FETCH_CODE)) {
        assert.ok(!text.includes(marker), `${type}'s fetch code (${marker}) is in dist/${name}`);
        // The entries are there: each loads its provider's chunk.
        assert.ok(text.includes(`require("./${chunk}")`), `dist/${name} does not load ${chunk}`);
      }
    }
  });

  test("each provider's code is in its own chunk and in no other (the CLI's chunks, the ES library)", () => {
    const cli = builtFiles(DIST, ".cjs");
    const lib = builtFiles(join(DIST, "lib"), ".js");
    // The library's chunk that holds the catalog: the one with vault's manifest schema.
    const libCatalog = [...lib].filter(([, text]) => text.includes("The KV mount (default secret)."));
    assert.equal(libCatalog.length, 1, "one chunk of dist/lib holds the catalog");
    for (const [type, { chunk, marker }] of Object.entries(FETCH_CODE)) {
      const inCli = [...cli].filter(([, text]) => text.includes(marker)).map(([name]) => name);
      assert.deepEqual(inCli, [chunk], `${type}'s fetch code (${marker}) in dist/*.cjs`);
      const inLib = [...lib].filter(([, text]) => text.includes(marker)).map(([name]) => name);
      assert.equal(inLib.length, 1, `${type}'s fetch code (${marker}) in dist/lib: ${inLib.join(", ")}`);
      assert.notEqual(inLib[0], libCatalog[0]![0], `${type}'s fetch code is in the library's catalog chunk`);
    }
  });

  test("requiring the catalog and the manifest reader loads no provider; each load() loads its own chunk", () => {
    const script = `
      const { relative } = require("node:path");
      const loaded = () => Object.keys(require.cache).map((file) => relative(${JSON.stringify(DIST)}, file));
      const { CATALOG } = require("./dist/providers-catalog.cjs");
      require("./dist/manifest-parse.cjs");
      (async () => {
        const out = { before: loaded(), loads: {} };
        for (const entry of CATALOG) {
          const known = new Set(loaded());
          const provider = await entry.load();
          out.loads[entry.type] = { fetch: typeof provider.fetch, chunks: loaded().filter((f) => !known.has(f)) };
        }
        process.stdout.write(JSON.stringify(out));
      })();
    `;
    const result = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout) as {
      before: string[];
      loads: Record<string, { fetch: string; chunks: string[] }>;
    };
    assert.deepEqual(out.before.filter((file) => file.startsWith("providers-")).sort(), [
      "providers-catalog.cjs",
    ]);
    for (const [type, { chunk }] of Object.entries(FETCH_CODE)) {
      assert.deepEqual(out.loads[type], { fetch: "function", chunks: [chunk] }, type);
    }
  });

  test("the CLI loads the chunk of the store it fetches from, and no other store's", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-chunks-"));
    const dir = project({
      "tessera.yaml": `secrets:
  required: [A]
sources:
  - { type: vault, name: v, address: "http://127.0.0.1:9", path: app }
  - { type: keepassxc, name: k, database: none.kdbx }
  - { type: exec, name: s, command: [${JSON.stringify(process.execPath)}, "-e", "process.stdout.write(JSON.stringify({A: 'fake-chunk-value'}))"] }
`,
    });
    const result = spawnSync(
      process.execPath,
      ["--", CLI, "export", "--format", "json", "--secrets-from", "s"],
      {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", TESSERA_CACHE_DIR: cache },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { A: "fake-chunk-value" });
    // The launcher keeps a code cache per chunk it loaded (bin/tessera.cjs): the chunks this run loaded.
    const chunks = readdirSync(cache).flatMap(
      (name) => /-chunk-(providers-[\w-]+)\.bin$/.exec(name)?.[1] ?? [],
    );
    assert.deepEqual(chunks.sort(), ["providers-catalog", "providers-exec"]);
  });
});
