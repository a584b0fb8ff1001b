/** Which names each carrier takes (src/model/names.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { isEnvName, isKubernetesEnvName, isShellName } from "../../src/model/names.ts";

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
