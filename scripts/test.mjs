#!/usr/bin/env node
/**
 * Runs the test suites with Node's own test runner (TypeScript through tsx).
 *   node scripts/test.mjs [unit|interop|e2e|all] [--only PATTERN]
 *   unit     in process, against fakes: fast, no external program
 *   interop  against real programs (the dotenvx CLI, sh/bash/dash, the age CLI, …)
 *   e2e      the built CLI (dist/cli.cjs): build first (`npm run build`)
 * `all` runs the three; --only keeps the files whose path contains PATTERN (several: PATTERN,PATTERN).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const suite = process.argv[2] === undefined || process.argv[2].startsWith("--") ? "all" : process.argv[2];
const onlyIndex = process.argv.indexOf("--only");
const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : undefined;

function collect(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return collect(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const SUITES = ["unit", "interop", "e2e"];
if (suite !== "all" && !SUITES.includes(suite)) {
  console.error(`unknown suite ${suite}: use ${SUITES.join(", ")} or all`);
  process.exit(2);
}
const suites = suite === "all" ? SUITES : [suite];
let files = suites.flatMap((name) => collect(join(root, "test", name))).sort();
if (only) {
  const patterns = only.split(",").filter(Boolean);
  files = files.filter((file) => patterns.some((pattern) => file.includes(pattern)));
}
if (files.length === 0) {
  console.error(`no test files for ${suite}${only ? ` matching ${only}` : ""}`);
  process.exit(1);
}
if (suites.includes("e2e") && !existsSync(join(root, "dist", "cli.cjs"))) {
  console.error("dist/cli.cjs is missing: run `npm run build` first");
  process.exit(1);
}
console.error(`running ${files.length} test files: ${files.map((file) => relative(root, file)).join(", ")}`);
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  cwd: root,
  env: { ...process.env, TESSERA_TEST: "1" },
});
process.exit(result.status ?? 1);
