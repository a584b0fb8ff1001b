#!/usr/bin/env node
/**
 * What installing Tessera costs a user, side by side with its peers, by one method for all:
 *
 *   tarball        `npm pack` (Tessera: the packed build; a peer: its published tarball)
 *   packages       `npm ls --all --parseable` in a fresh prefix after `npm install <tarball>`
 *   node_modules   bytes (`du -sb`) and files
 *   install        wall time of `npm install <tarball>` into a fresh prefix with an empty npm cache
 *                  (so a peer's dependencies are downloaded, as on a CI runner's first job); median of
 *                  BENCH_RUNS runs
 *
 * Prints the table with each figure's ratio to Tessera's, writes bench/results/install.json, and removes
 * what it made. Needs the registry for the peers (without it they are skipped and Tessera is measured).
 * Not a timed test: a missed limit is printed, the exit code stays 0.
 *
 * Settings (environment): BENCH_RUNS (3), BENCH_SKIP_PEERS=1 (Tessera only),
 * BENCH_PEERS (comma-separated package names; default the four of the install issue).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyWarning, machineInfo, median, root, writeResults } from "./common.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PEERS = (process.env.BENCH_PEERS ?? "@dotenvx/dotenvx,varlock,dotenv-cli,env-cmd")
  .split(",")
  .filter(Boolean);
const LIMITS = { packages: 20, bytes: 15 * 1024 * 1024, tarball: 1.5 * 1024 * 1024 };

const work = mkdtempSync(join(tmpdir(), "tessera-bench-install-"));
const npm = (args, cwd, extraEnv = {}) =>
  spawnSync("npm", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", ...extraEnv },
  });

function countFiles(dir) {
  let files = 0;
  const walk = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(path, entry.name));
      else files++;
    }
  };
  walk(dir);
  return files;
}

/** Pack `spec` (a directory or a registry name) into `work`; the tarball's path and size. */
function pack(spec) {
  // This project is packed as built (no `prepare` rebuild): `npm run build` comes first.
  const scripts = spec === root ? ["--ignore-scripts"] : [];
  const result = npm(
    ["pack", spec, ...scripts, "--pack-destination", work, "--json", "--loglevel=error"],
    work,
  );
  if (result.status !== 0) return undefined;
  const [info] = JSON.parse(result.stdout);
  const file = join(work, info.filename);
  return { file, size: statSync(file).size, name: info.name, version: info.version };
}

function measure(label, tarball) {
  const times = [];
  let last;
  for (let run = 0; run < RUNS; run++) {
    const prefix = mkdtempSync(join(work, "prefix-"));
    const cache = mkdtempSync(join(work, "cache-"));
    const started = process.hrtime.bigint();
    const result = npm(["install", tarball.file, "--loglevel=error", "--no-package-lock"], prefix, {
      npm_config_cache: cache,
    });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) {
      console.error(`${label}: npm install failed:\n${result.stderr}`);
      return undefined;
    }
    times.push(elapsed);
    if (last) rmSync(last, { recursive: true, force: true });
    last = prefix;
    rmSync(cache, { recursive: true, force: true });
  }
  const listed = npm(["ls", "--all", "--parseable"], last);
  const packages = listed.stdout.split("\n").filter(Boolean).length - 1; // the prefix itself is listed
  const modules = join(last, "node_modules");
  const du = spawnSync("du", ["-sb", modules], { encoding: "utf8" });
  const bytes = Number(du.stdout.split("\t")[0]);
  const files = countFiles(modules);
  rmSync(last, { recursive: true, force: true });
  return {
    label,
    version: tarball.version,
    tarball: tarball.size,
    packages,
    bytes,
    files,
    install_ms: median(times),
    install_runs_ms: times,
  };
}

const rows = [];
try {
  const warning = busyWarning();
  if (warning) console.error(warning);
  const own = pack(root);
  if (!own) throw new Error("npm pack of this project failed (run `npm run build` first)");
  rows.push(measure(`${own.name} (this build)`, own));
  if (process.env.BENCH_SKIP_PEERS !== "1") {
    for (const peer of PEERS) {
      const tarball = pack(`${peer}@latest`);
      if (!tarball) {
        console.error(`${peer}: not reachable (no registry?): skipped`);
        continue;
      }
      const row = measure(peer, tarball);
      if (row) rows.push(row);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const base = rows[0];
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ratio = (value, of) => (of ? `${(value / of).toFixed(2)}×` : "");
console.log("| | version | tarball | packages | node_modules | files | install (median) |");
console.log("|---|---|---|---|---|---|---|");
for (const row of rows.filter(Boolean)) {
  console.log(
    `| ${row.label} | ${row.version} | ${row.tarball.toLocaleString("en")} B (${ratio(row.tarball, base.tarball)}) | ${row.packages} | ${mb(row.bytes)} (${ratio(row.bytes, base.bytes)}) | ${row.files.toLocaleString("en")} | ${(row.install_ms / 1000).toFixed(1)} s (${ratio(row.install_ms, base.install_ms)}) |`,
  );
}
const missed = [];
if (base.packages > LIMITS.packages) missed.push(`${base.packages} packages > ${LIMITS.packages}`);
if (base.bytes > LIMITS.bytes) missed.push(`${mb(base.bytes)} > 15 MB`);
if (base.tarball > LIMITS.tarball) missed.push(`tarball ${base.tarball} B > 1.5 MB`);
console.log(
  missed.length
    ? `limits missed: ${missed.join("; ")}`
    : `limits met: ≤ ${LIMITS.packages} packages, ≤ 15 MB installed, tarball ≤ 1.5 MB`,
);
writeResults(join(root, "bench", "results", "install.json"), {
  date: new Date().toISOString(),
  machine: machineInfo(),
  runs: RUNS,
  limits: LIMITS,
  rows,
});
