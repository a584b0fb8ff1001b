/**
 * The README's exit-code table is the documentation users script against: every error code Tessera can
 * raise is listed there, in the row of the exit status it maps to, and no row names a code that does not exist.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ERROR_CODES } from "../../src/errors.ts";
import { ROOT } from "../helpers.ts";

test("the README's exit-code table lists every error code under its exit status", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(
    readme.indexOf("## Exit codes"),
    readme.indexOf("\n## ", readme.indexOf("## Exit codes") + 1),
  );
  const documented = new Map<string, number[]>();
  for (const line of section.split("\n")) {
    const row = /^\| (\d+)(?: \/ (\d+))? \|/.exec(line);
    if (!row) continue;
    const statuses = [Number(row[1]), ...(row[2] ? [Number(row[2])] : [])];
    for (const [code] of line.matchAll(/`(E_[A-Z_]+)`/g)) documented.set(code.slice(1, -1), statuses);
  }
  for (const [code, status] of Object.entries(ERROR_CODES)) {
    assert.ok(documented.has(code), `${code} is not in the README's exit-code table`);
    assert.ok(
      documented.get(code)!.includes(status),
      `${code} exits ${status}, the README says ${documented.get(code)}`,
    );
  }
  for (const code of documented.keys())
    assert.ok(code in ERROR_CODES, `the README lists ${code}, which does not exist`);
});

test("--help and the README carry one precedence table: the same nine layers in the same order", async () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Precedence"), readme.indexOf("## Interpolation"));
  const rows = [...section.matchAll(/^\| (\d) \| ([^|]+) \|/gm)].map((match) => [
    Number(match[1]),
    match[2]!,
  ]);
  assert.deepEqual(
    rows.map(([n]) => n),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  let out = "";
  const { main } = await import("../../src/cli.ts");
  await main(["--help"], { cwd: ROOT, env: {}, stdout: (text: string) => (out += text), stderr: () => {} });
  const lines = [...out.matchAll(/^ {2}(\d) {2}(.+)$/gm)].map(
    (match) => [Number(match[1]), match[2]!] as const,
  );
  assert.deepEqual(
    lines.map(([n]) => n),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const words = [
    "--secret",
    "environment",
    "NAME_FILE",
    "command line",
    "profile's own",
    "workspace store",
    "generic local files",
    "external stores",
    "manifest defaults",
  ];
  for (const [index, word] of words.entries()) {
    assert.match(
      String(rows[index]![1]),
      new RegExp(word.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&"), "i"),
      `README row ${index + 1}`,
    );
    assert.match(
      lines[index]![1],
      new RegExp(word.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&"), "i"),
      `--help line ${index + 1}`,
    );
  }
});
