/** Which names each carrier takes (src/model/names.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { refuseNames } from "../../src/commands/export.ts";
import { isTesseraError } from "../../src/errors.ts";
import { parseDotenv } from "../../src/formats/dotenv.ts";
import { StaticSource } from "../../src/model/layers.ts";
import { isEnvName, isKubernetesEnvName, isShellName } from "../../src/model/names.ts";
import { resolve } from "../../src/resolve/resolve.ts";

describe("names", () => {
  test("the environment and Compose: letters, digits, _ . - [ ], not starting with a digit", () => {
    for (const name of [
      "A",
      "_",
      "VAR_1",
      "VAR.WITH.DOTS",
      "VAR-WITH-DASHES",
      "a[1]",
      "[A]",
      ".x",
      "-x",
      "export.FOO",
    ])
      assert.ok(isEnvName(name), name);
    for (const name of ["", "1A", "1.A", "A B", "A\tB", "A=B", "A$", "A#", "A:B", "A/B", "árvíz", "A\n"])
      assert.ok(!isEnvName(name), JSON.stringify(name));
  });

  test("a POSIX shell: [A-Za-z_][A-Za-z0-9_]*", () => {
    for (const name of ["A", "_", "_1", "a_b", "PATH"]) assert.ok(isShellName(name), name);
    for (const name of ["", "1A", "VAR.WITH.DOTS", "VAR-WITH-DASHES", "a[1]", "A B"])
      assert.ok(!isShellName(name), JSON.stringify(name));
  });

  test("Kubernetes: [-._a-zA-Z][-._a-zA-Z0-9]*, no brackets", () => {
    for (const name of ["A", "VAR.WITH.DOTS", "VAR-WITH-DASHES", ".x", "-x"])
      assert.ok(isKubernetesEnvName(name), name);
    for (const name of ["", "1A", "a[1]", "[A]", "A B"])
      assert.ok(!isKubernetesEnvName(name), JSON.stringify(name));
  });

  test("shell names ⊂ Kubernetes names ⊂ environment names", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."aZ_09.-[] =$"), maxLength: 6 }), (name) => {
        if (isShellName(name)) assert.ok(isKubernetesEnvName(name), name);
        if (isKubernetesEnvName(name)) assert.ok(isEnvName(name), name);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("export --format shell refuses names a shell cannot carry", () => {
  /** A resolution of one .env file (no manifest: every name the file defines is a variable). */
  function resolution(text: string) {
    const candidates = parseDotenv(text, ".env").entries.map((entry) => ({
      name: entry.key,
      template: entry.value,
      origin: { layer: "dotenv" as const, where: `.env:${entry.line}`, file: ".env", line: entry.line },
    }));
    return resolve({
      stack: { sources: [new StaticSource("dotenv", ".env", candidates, { lastWins: true })], warnings: [] },
    });
  }

  test("each refused name is named with the line that sets it; other formats carry them", () => {
    const resolved = resolution("OK=fake-1\nVAR.WITH.DOTS=fake-2\nVAR-WITH-DASHES=fake-3\n");
    assert.throws(
      () => refuseNames("shell", resolved),
      (error) =>
        isTesseraError(error) &&
        error.code === "E_VALUE_UNREPRESENTABLE" &&
        error.exitCode === 4 &&
        error.message ===
          "2 variables cannot be exported by a shell: their names are not shell variable names" &&
        error.details.join("|") === "VAR.WITH.DOTS (set at .env:2)|VAR-WITH-DASHES (set at .env:3)" &&
        !`${error.message}${error.details}${error.hint}`.includes("fake-"),
    );
    for (const format of ["dotenv", "json", "yaml"] as const) refuseNames(format, resolved);
    refuseNames("shell", resolution("OK=fake-1\n"));
  });

  test("one refused name", () => {
    assert.throws(
      () => refuseNames("shell", resolution("a[1]=fake-1\n")),
      /^TesseraError: a\[1\] cannot be exported by a shell: its name is not a shell variable name$/,
    );
  });
});
