/** What both benchmarks share: statistics, machine facts and writing bench/results/*.json. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The facts a reader needs to compare results taken on different machines. */
export function machineInfo() {
  const list = cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: list.length,
    cpu_model: list[0]?.model ?? "unknown",
    load_average_1m_after: Number(loadavg()[0].toFixed(2)),
  };
}

/**
 * A warning when other work competes for the CPU: timings taken then are noisy (on a 2-core machine a
 * concurrent test run changes them by tens of percent). A benchmark keeps about one CPU busy itself,
 * and the 1-minute average still counts the previous run for a while, hence the threshold.
 */
export function busyWarning() {
  const load = loadavg()[0];
  const count = cpus().length;
  return load > count * 0.75
    ? `warning: the machine is busy (1-minute load ${load.toFixed(2)} on ${count} CPUs): timings are noisy`
    : undefined;
}

/**
 * Write results as JSON (fractions rounded to 4 decimals), formatted the way the project's formatter
 * wants it (`npm run lint` checks bench/ too) when Biome is installed.
 */
export function writeResults(file, data) {
  mkdirSync(dirname(file), { recursive: true });
  const round = (_key, value) =>
    typeof value === "number" && !Number.isInteger(value) ? Number(value.toFixed(4)) : value;
  writeFileSync(file, `${JSON.stringify(data, round, 2)}\n`);
  const biome = join(root, "node_modules", "@biomejs", "biome", "bin", "biome");
  if (existsSync(biome)) {
    spawnSync(process.execPath, [biome, "format", "--write", file], { cwd: root, stdio: "ignore" });
  }
}
