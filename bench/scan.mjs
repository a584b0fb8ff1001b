#!/usr/bin/env node
/**
 * `tessera scan` on a generated repository: 10,000 tracked files, about 100 MB of source-like text,
 * a tessera.yaml with 200 secrets whose (fake) values sit in a git-ignored .env, and 40 of them leaked
 * into files (raw, base64, hex, JSON-escaped). Measured against:
 *
 *   cat        reading every tracked file once (git ls-files -z | xargs -0 cat > /dev/null)
 *   git grep   git grep -F -f patterns (the 200 raw values only: the yardstick the issue names)
 *
 * tessera looks for every form of every value (8 for these plain values: raw, percent-encoded, base64 at
 * each alignment, hex; up to 30 for values with characters JSON or URLs escape) in one pass per file.
 * Prints the median wall times and the ratios; writes bench/results/scan.json. Not a timed test.
 *
 * Settings (environment): BENCH_RUNS (3), BENCH_FILES (10000), BENCH_MB (100), BENCH_SECRETS (200),
 * BENCH_DIR (a new temporary directory; kept when given).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyWarning, machineInfo, median, root, writeResults } from "./common.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 10_000);
const MEGABYTES = Number(process.env.BENCH_MB ?? 100);
const SECRETS = Number(process.env.BENCH_SECRETS ?? 200);
const LEAKS = Math.min(40, SECRETS);
const cli = join(root, "bin", "tessera.cjs");

/** A small deterministic generator (so that every run scans the same bytes). */
let seed = 12345;
function random() {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const WORDS = Array.from({ length: 400 }, (_, i) => {
  let word = "";
  const length = 2 + (i % 9);
  for (let k = 0; k < length; k++) word += String.fromCharCode(97 + Math.floor(random() * 26));
  return word;
});
function line() {
  const count = 4 + Math.floor(random() * 10);
  let text = "  ";
  for (let k = 0; k < count; k++) text += `${WORDS[Math.floor(random() * WORDS.length)]} `;
  if (random() < 0.1) text += `"${Buffer.from(String(random())).toString("base64")}"`;
  return `${text}\n`;
}

const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), "tessera-bench-scan-"));
const keep = Boolean(process.env.BENCH_DIR);
const env = {
  PATH: process.env.PATH,
  HOME: dir,
  GIT_CONFIG_NOSYSTEM: "1",
  TESSERA_CACHE_DIR: join(dir, ".cache"),
};

function run(command, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: dir, env, maxBuffer: 1 << 30, ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms, status: result.status, stdout: result.stdout?.toString() ?? "" };
}

// The repository.
const values = Array.from(
  { length: SECRETS },
  (_, i) => `fake-bench-secret-${String(i).padStart(4, "0")}-${i * 7919}`,
);
const perFile = Math.round((MEGABYTES * 1024 * 1024) / FILES);
let total = 0;
console.error(`generating ${FILES} files (~${MEGABYTES} MB) in ${dir}`);
for (let i = 0; i < FILES; i++) {
  const sub = join(dir, "src", `m${i % 100}`);
  if (i < 100) mkdirSync(sub, { recursive: true });
  let text = "";
  while (text.length < perFile) text += line();
  if (i % Math.floor(FILES / LEAKS) === 0 && i / Math.floor(FILES / LEAKS) < LEAKS) {
    const value = values[((i / Math.floor(FILES / LEAKS)) * 37) % SECRETS];
    const form = [
      value,
      Buffer.from(value).toString("base64"),
      Buffer.from(value).toString("hex"),
      JSON.stringify(value),
    ][i % 4];
    text += `  leaked = ${form}\n`;
  }
  writeFileSync(join(sub, `file${i}.txt`), text);
  total += text.length;
}
const declared = values.map((_, i) => `    - name: BENCH_SECRET_${i}\n`).join("");
writeFileSync(join(dir, "tessera.yaml"), `secrets:\n  required:\n${declared}`);
writeFileSync(join(dir, ".env"), values.map((value, i) => `BENCH_SECRET_${i}=${value}\n`).join(""));
writeFileSync(join(dir, ".gitignore"), ".env\n.cache/\npatterns.txt\n");
writeFileSync(join(dir, "patterns.txt"), `${values.join("\n")}\n`);
for (const args of [
  ["init", "-q"],
  ["add", "."],
]) {
  const result = run("git", args);
  if (result.status !== 0) throw new Error(`git ${args.join(" ")} failed`);
}

const commands = {
  cat: () => run("sh", ["-c", "git ls-files -z | xargs -0 cat > /dev/null"]),
  "git grep -F -f": () => run("git", ["grep", "-F", "-c", "-f", "patterns.txt"]),
  "tessera scan": () => run(process.execPath, [cli, "scan", "--json"]),
};
const times = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
let findings = 0;
for (let round = 0; round < RUNS; round++) {
  for (const [name, command] of Object.entries(commands)) {
    const result = command();
    if (name === "tessera scan") {
      if (result.status !== 6) throw new Error(`tessera scan exited ${result.status}, expected 6`);
      findings = JSON.parse(result.stdout).findings.length;
    }
    times[name].push(result.ms);
  }
}
const medians = Object.fromEntries(Object.entries(times).map(([name, list]) => [name, median(list)]));
const ratio = medians["tessera scan"] / medians["git grep -F -f"];
const overRead = medians["tessera scan"] / medians.cat;
const warning = busyWarning();
if (warning) console.error(warning);
console.log(
  `repository: ${FILES} files, ${(total / 1024 / 1024).toFixed(1)} MB, ${SECRETS} secret values, ${LEAKS} leaks`,
);
for (const [name, ms] of Object.entries(medians))
  console.log(`  ${name.padEnd(16)} ${ms.toFixed(0).padStart(7)} ms`);
console.log(
  `tessera scan / git grep -F -f: ${ratio.toFixed(2)}×   tessera scan / cat: ${overRead.toFixed(2)}×`,
);
console.log(`findings: ${findings}`);
writeResults(join(root, "bench", "results", "scan.json"), {
  files: FILES,
  megabytes: Number((total / 1024 / 1024).toFixed(1)),
  secrets: SECRETS,
  leaks: LEAKS,
  findings,
  runs: RUNS,
  median_ms: medians,
  ratio_to_git_grep: ratio,
  ratio_to_cat: overRead,
  machine: machineInfo(),
  ...(warning ? { warning } : {}),
});
if (!keep) rmSync(dir, { recursive: true, force: true });
