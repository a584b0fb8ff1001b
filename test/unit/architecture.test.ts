/**
 * The house rule: folders follow the data flow, lowest first, and no import runs from a lower folder to
 * a higher one (so no two folders can form a cycle). Two folders on the same floor do not import each
 * other. Checked on the source text of every module under src/, static and dynamic imports alike.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const src = resolve(import.meta.dirname, "../../src");

/** Floors, lowest first. A module is its folder under src/, or its own name at the top of src/. */
export const FLOORS: readonly (readonly string[])[] = [
  ["errors.ts", "timing.ts"],
  ["files.ts", "paths.ts"],
  ["model"],
  ["formats", "crypto"],
  ["providers"],
  ["manifest"],
  ["workspace"],
  ["layers"],
  ["resolve"],
  ["pipeline"],
  ["targets", "run"],
  ["commands", "index.ts"],
  ["cli.ts"],
  ["main.ts"],
];

function room(file: string): string {
  return relative(src, file).split("/")[0]!;
}

function floor(name: string): number {
  const index = FLOORS.findIndex((rooms) => rooms.includes(name));
  assert.notEqual(
    index,
    -1,
    `src/${name} is on no floor: add it to FLOORS in ${relative(process.cwd(), import.meta.filename)}`,
  );
  return index;
}

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? modules(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

export function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g)) {
    found.push(resolve(dirname(file), match[1]!).replace(/\.js$/, ".ts"));
  }
  return found;
}

test("no import runs from a lower folder to a higher one, and floors do not import sideways", () => {
  const faults: string[] = [];
  for (const file of modules(src)) {
    const from = room(file);
    for (const target of importsOf(file)) {
      const to = room(target);
      if (to === from) continue;
      const up = floor(to) - floor(from);
      if (up >= 0)
        faults.push(
          `${relative(src, file)} imports ${relative(src, target)} (${up ? "upward" : "sideways"})`,
        );
    }
  }
  assert.deepEqual(faults, []);
});

test("every folder and top-level module is on a floor", () => {
  for (const entry of readdirSync(src)) floor(entry);
});

test("nothing below the entry reads process.env or writes process.stderr/stdout", () => {
  const entries = new Set(["main.ts", "cli.ts", "index.ts", "timing.ts"]);
  const faults: string[] = [];
  for (const file of modules(src)) {
    if (entries.has(room(file))) continue;
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    for (const what of ["process.env", "process.stderr", "process.stdout"]) {
      if (text.includes(what)) faults.push(`${relative(src, file)} uses ${what}`);
    }
  }
  assert.deepEqual(faults, []);
});
