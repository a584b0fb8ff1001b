/**
 * Installable everywhere (issue 11): the library loads through require() and import with the same API,
 * `init` points editors at the published schema, and check says what a number must be.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { project, ROOT, tessera } from "../helpers.ts";

describe("the library through require() and import", () => {
  test("both give the same exports; a CommonJS consumer gets the CommonJS build", () => {
    const script = (kind: "cjs" | "mjs") =>
      kind === "cjs"
        ? // By its name, as a consumer writes it (a package may refer to itself by name through "exports").
          `const t = require("tessera-cli"); console.log(JSON.stringify({keys: Object.keys(t).sort(), version: t.VERSION, cjs: typeof module}))`
        : `import("tessera-cli").then((t) => console.log(JSON.stringify({keys: Object.keys(t).filter((k) => k !== "default").sort(), version: t.VERSION})))`;
    const viaRequire = spawnSync(process.execPath, ["-e", script("cjs")], { encoding: "utf8", cwd: ROOT });
    assert.equal(viaRequire.status, 0, viaRequire.stderr);
    const viaImport = spawnSync(process.execPath, ["--input-type=module", "-e", script("mjs")], {
      encoding: "utf8",
      cwd: ROOT,
    });
    assert.equal(viaImport.status, 0, viaImport.stderr);
    const required = JSON.parse(viaRequire.stdout);
    const imported = JSON.parse(viaImport.stdout);
    assert.deepEqual(required.keys, imported.keys);
    assert.ok(required.keys.includes("openPipeline"));
    assert.equal(required.version, imported.version);
  });

  test("the CommonJS build resolves a manifest like the ES module build", () => {
    const dir = project({ "tessera.yaml": "secrets: [A]\n", ".env": "A=fake-a-value\n" });
    const code = `const t = require(${JSON.stringify(ROOT)});
t.openPipeline({ cwd: ${JSON.stringify(dir)}, env: {} }).then((p) => p.resolve()).then(({ resolution }) =>
  console.log(resolution.variables.map((v) => v.name + "=" + v.value.reveal()).join(",")));`;
    const result = spawnSync(process.execPath, ["-e", code], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), "A=fake-a-value");
  });

  test("package.json: a free name, public, the files it lists exist after a build", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    assert.equal(pkg.name, "tessera-cli");
    assert.equal(pkg.private, undefined);
    assert.deepEqual(pkg.bin, { tessera: "bin/tessera.cjs" });
    for (const key of ["license", "repository", "homepage", "bugs"]) assert.ok(pkg[key], key);
    for (const path of [
      "bin/tessera.cjs",
      "dist/cli.cjs",
      "dist/lib/index.js",
      "dist/cjs/index.cjs",
      "dist/cjs/types/index.d.ts",
      "dist/types/index.d.ts",
      "schema/tessera.schema.json",
      "LICENSE",
      "README.md",
    ])
      assert.ok(readFileSync(join(ROOT, path)).length > 0, path);
  });
});

describe("installed from its tarball, as a user installs it", () => {
  test("one package, ≤ 15 MB installed, tarball ≤ 1.5 MB, no source maps; the command and the library work", () => {
    const work = mkdtempSync(join(tmpdir(), "tessera-pack-"));
    const packed = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: ROOT,
      encoding: "utf8",
    });
    assert.equal(packed.status, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as {
      filename: string;
      size: number;
      files: { path: string }[];
    }[];
    assert.ok(info!.size <= 1.5 * 1024 * 1024, `tarball ${info!.size} B`);
    assert.deepEqual(
      info!.files.filter((file) => file.path.endsWith(".map")),
      [],
      "no source maps in the package",
    );
    const prefix = join(work, "prefix");
    // --offline: a package with no dependencies needs nothing from the registry.
    const installed = spawnSync(
      "npm",
      [
        "install",
        "--global",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--prefix",
        prefix,
        join(work, info!.filename),
      ],
      { encoding: "utf8" },
    );
    assert.equal(installed.status, 0, installed.stderr);
    const root = join(prefix, "lib", "node_modules");
    assert.deepEqual(readdirSync(root), ["tessera-cli"]);
    assert.equal(existsSync(join(root, "tessera-cli", "node_modules")), false, "no dependency installed");
    const bytes = (dir: string): number =>
      readdirSync(dir, { withFileTypes: true }).reduce(
        (sum, entry) =>
          sum + (entry.isDirectory() ? bytes(join(dir, entry.name)) : statSync(join(dir, entry.name)).size),
        0,
      );
    assert.ok(bytes(root) <= 15 * 1024 * 1024, `installed ${bytes(root)} B`);
    // The bin link npm made, run as a program (#!/bin/sh).
    const dir = project({ "tessera.yaml": "secrets: [A]\n", ".env": "A=fake-installed\n" });
    const version = spawnSync(join(prefix, "bin", "tessera"), ["check"], { cwd: dir, encoding: "utf8" });
    assert.equal(version.status, 0, version.stderr);
    const lib = spawnSync(
      process.execPath,
      [
        "-e",
        `require(${JSON.stringify(join(root, "tessera-cli"))}).openPipeline({ cwd: ${JSON.stringify(dir)}, env: {} }).then((p) => p.resolve()).then(({ resolution }) => console.log(resolution.variables[0].value.reveal()))`,
      ],
      { encoding: "utf8" },
    );
    assert.equal(lib.stdout.trim(), "fake-installed", lib.stderr);
  });
});

describe("editors and check", () => {
  test("init writes the yaml-language-server line pointing at the published schema", () => {
    const dir = project({ ".env": "OPENAI_API_KEY=sk-fake-init-1\n" });
    const result = tessera(["init"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const first = readFileSync(join(dir, "tessera.yaml"), "utf8").split("\n")[0];
    assert.equal(
      first,
      "# yaml-language-server: $schema=https://unpkg.com/tessera-cli/schema/tessera.schema.json",
    );
  });

  test("port: 70000 is out of range, and says the range", () => {
    const dir = project({ "tessera.yaml": "service: { name: agent, port: 70000 }\nsecrets: []\n" });
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /tessera\.yaml:1:\d+: 70000 is out of range: an integer from 1 to 65535/);
  });
});
