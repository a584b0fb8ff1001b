#!/usr/bin/env node
/**
 * How resolution scales: 10, 100, 1,000 and 10,000 variables with interpolation chains, in process,
 * through the built library (dist/lib/index.js).
 *
 * Each size is a .env of n variables: a chain of 80% of them, where each variable refers to the one
 * before it, plus 10% independent literals and 10% independent one-reference values
 * (`URL_k=https://${LIT_k}.example.test/v1`). Two chain shapes:
 *
 *   alias    V_i=${V_(i-1)}     every value has the same length: the output is linear in n
 *   append   V_i=${V_(i-1)}x    V_i is i characters longer than V_0: the output is ~n²/2 characters,
 *                               so its cost per variable must grow with n (cost per character must not)
 *
 * and two orders: `forward` lists V_0 first (each value finds the previous one resolved already);
 * `deep` lists the chain backwards, so the very first resolution walks the whole chain, n levels deep
 * (resolution keeps an explicit stack: this must not overflow at 10,000, nor at the extra 100,000 check).
 *
 * Timed, per size (median of several samples, process.hrtime.bigint):
 *   parse             parseDotenv(text)
 *   resolve           resolve({ stack }) on a stack gathered once (resolve is pure, the stack reusable)
 *   gather+resolve    gatherLayers({ cwd }) (reads and parses the .env, looks for the other files) + resolve
 *
 * Linearity: the cost per variable at 10,000 over the cost at 1,000 should be close to 1; a ratio
 * above 2 is flagged (for `append`, the same check is made per output character). The 100,000 point
 * is timed too, to tell a one-time step (cache, garbage collector) from a trend. Wrong values or a
 * stack overflow exit 1; a flagged ratio is reported and exits 0 (benchmarks are not tests).
 * Results go to bench/results/resolve-scale.json.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { busyWarning, machineInfo, median, root, writeResults } from "./common.mjs";

// Collecting garbage before each sample keeps one sample's garbage out of the next: re-run this
// script with --expose-gc when it was started without it.
if (typeof globalThis.gc !== "function") {
  const child = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url)], {
    stdio: "inherit",
  });
  process.exit(child.status ?? 1);
}

const SIZES = [10, 100, 1_000, 10_000];
const DEEP_EXTRA = 100_000;
const FLAG_RATIO = 2;
/** Each sample runs the measured function often enough to last at least this long. */
const MIN_SAMPLE_MS = 25;
const SAMPLES = 15;
const WARMUP_CALLS = 3;

const libFile = join(root, "dist", "lib", "index.js");
const resultsFile = join(root, "bench", "results", "resolve-scale.json");

/** A reason the benchmark's results are wrong or cannot be had (exit 1). */
class BenchError extends Error {}

// ---------------------------------------------------------------------------------------------------
// Workloads.

const BASE = "postgres-fake-base-value";

/** The .env text of a workload, and the value every variable must resolve to. */
function workload(shape, order, n) {
  const pairs = Math.floor(n / 10);
  const chain = n - 2 * pairs;
  const chainLines = [`V_0=${BASE}`];
  for (let i = 1; i < chain; i++)
    chainLines.push(shape === "alias" ? `V_${i}=\${V_${i - 1}}` : `V_${i}=\${V_${i - 1}}x`);
  if (order === "deep") chainLines.reverse();
  const lines = ["# Benchmark fixture: every value is fake.", ...chainLines];
  for (let k = 0; k < pairs; k++) {
    lines.push(`URL_${k}=https://\${LIT_${k}}.example.test/v1`, `LIT_${k}=fake-host-${k}`);
  }
  const expected = (name) => {
    const [kind, number] = name.split("_");
    const index = Number(number);
    if (kind === "V") return shape === "alias" ? BASE : BASE + "x".repeat(index);
    if (kind === "LIT") return `fake-host-${index}`;
    return `https://fake-host-${index}.example.test/v1`;
  };
  return { text: `${lines.join("\n")}\n`, chain, expected };
}

/** Every variable set, to the right value; returns the total length of the values. */
function verify(resolution, n, expected, label) {
  if (resolution.variables.length !== n) {
    throw new BenchError(`${label}: ${resolution.variables.length} variables resolved, expected ${n}`);
  }
  let characters = 0;
  for (const variable of resolution.variables) {
    const value = variable.value?.reveal();
    if (variable.status !== "set" || value !== expected(variable.name)) {
      throw new BenchError(`${label}: ${variable.name} resolved wrongly (status ${variable.status})`);
    }
    characters += value.length;
  }
  return characters;
}

// ---------------------------------------------------------------------------------------------------
// Timing.

/** Call `fn` `calls` times; a promise it returns is awaited (a synchronous one is not slowed down). */
async function repeat(fn, calls) {
  for (let i = 0; i < calls; i++) {
    const result = fn();
    if (result instanceof Promise) await result;
  }
}

/** Median milliseconds per call of `fn` (sync or async), over `samples` samples of ≥ MIN_SAMPLE_MS. */
async function time(fn, { samples = SAMPLES, warmup = WARMUP_CALLS } = {}) {
  await repeat(fn, warmup);
  // Calibrate: how many calls make one sample.
  let calls = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    await repeat(fn, calls);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms >= MIN_SAMPLE_MS || calls >= 1 << 20) break;
    calls = Math.min(
      1 << 20,
      Math.max(calls * 2, Math.ceil((calls * MIN_SAMPLE_MS * 1.2) / Math.max(ms, 0.001))),
    );
  }
  const perCall = [];
  for (let sample = 0; sample < samples; sample++) {
    globalThis.gc();
    const start = process.hrtime.bigint();
    await repeat(fn, calls);
    perCall.push(Number(process.hrtime.bigint() - start) / 1e6 / calls);
  }
  return median(perCall);
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  if (!existsSync(libFile)) throw new BenchError(`${libFile} not found: build first (npm run build)`);
  const lib = await import(pathToFileURL(libFile).href);
  for (const name of ["parseDotenv", "gatherLayers", "resolve"]) {
    if (typeof lib[name] !== "function") throw new BenchError(`dist/lib/index.js does not export ${name}`);
  }
  const { parseDotenv, gatherLayers, resolve } = lib;
  const loadBefore = Number(loadavg()[0].toFixed(2));
  const busyBefore = busyWarning();
  if (busyBefore) console.log(busyBefore);

  const work = mkdtempSync(join(tmpdir(), "tessera-bench-resolve-"));
  // Ctrl-C: handled when the measurement in progress yields (at most a few seconds later).
  process.once("SIGINT", () => {
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    /** Write the workload into a fresh project directory and gather its layers. */
    const prepare = async (shape, order, n) => {
      const dir = join(work, `${shape}-${order}-${n}`);
      mkdirSync(dir);
      const { text, chain, expected } = workload(shape, order, n);
      writeFileSync(join(dir, ".env"), text);
      // env: {} keeps the process environment out: only the .env file defines variables.
      const stack = await gatherLayers({ cwd: dir, env: {} });
      return { dir, text, chain, expected, stack };
    };

    const results = [];
    for (const shape of ["alias", "append"]) {
      for (const order of ["forward", "deep"]) {
        console.log(`\n${shape} chain, ${order} order`);
        const header = [
          "vars",
          "chain",
          "parse ms",
          "resolve ms",
          "gather+resolve ms",
          "resolve µs/var",
          "gather+resolve µs/var",
        ];
        console.log(header.join("  "));
        for (const n of SIZES) {
          const { dir, text, chain, expected, stack } = await prepare(shape, order, n);
          const label = `${shape}/${order}/${n}`;
          // Correctness first (the deep order walks the whole chain here on the first call).
          const characters = verify(resolve({ stack }), n, expected, label);
          const parseMs = await time(() => parseDotenv(text, ".env"));
          const resolveMs = await time(() => resolve({ stack }));
          const endToEndMs = await time(async () =>
            resolve({ stack: await gatherLayers({ cwd: dir, env: {} }) }),
          );
          rmSync(dir, { recursive: true, force: true });
          const row = {
            shape,
            order,
            variables: n,
            chain,
            output_characters: characters,
            parse_ms: parseMs,
            resolve_ms: resolveMs,
            gather_resolve_ms: endToEndMs,
            resolve_us_per_var: (resolveMs * 1000) / n,
            gather_resolve_us_per_var: (endToEndMs * 1000) / n,
            resolve_ns_per_char: (resolveMs * 1e6) / characters,
          };
          results.push(row);
          const cells = [
            String(n),
            String(chain),
            parseMs.toFixed(3),
            resolveMs.toFixed(3),
            endToEndMs.toFixed(3),
            row.resolve_us_per_var.toFixed(2),
            row.gather_resolve_us_per_var.toFixed(2),
          ];
          console.log(cells.map((cell, index) => cell.padStart(header[index].length)).join("  "));
        }
      }
    }

    // The extra deep check: an alias chain 80,000 levels deep (100,000 variables). Resolved once to
    // check it (no overflow, right values), then timed with fewer samples: its cost per variable,
    // against the one at 10,000, tells a one-time step in cache and garbage-collection costs (the
    // ratio stays small) from an algorithm that grows faster than linearly (it keeps growing: ~10
    // for a quadratic one).
    const deepExtra = await prepare("alias", "deep", DEEP_EXTRA);
    let extra;
    try {
      const start = process.hrtime.bigint();
      verify(resolve({ stack: deepExtra.stack }), DEEP_EXTRA, deepExtra.expected, `alias/deep/${DEEP_EXTRA}`);
      const firstMs = Number(process.hrtime.bigint() - start) / 1e6;
      const resolveMs = await time(() => resolve({ stack: deepExtra.stack }), { samples: 7, warmup: 1 });
      extra = {
        variables: DEEP_EXTRA,
        depth: deepExtra.chain,
        ok: true,
        first_resolve_ms: firstMs,
        resolve_ms: resolveMs,
        resolve_us_per_var: (resolveMs * 1000) / DEEP_EXTRA,
      };
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      extra = { variables: DEEP_EXTRA, depth: deepExtra.chain, ok: false, error: error.message };
    }
    rmSync(deepExtra.dir, { recursive: true, force: true });

    // Linearity: cost per variable (per output character for `append`) at 10,000 over 1,000.
    console.log("\nlinearity (cost per unit at 10,000 ÷ at 1,000; flagged above 2):");
    const at = (shape, order, n) =>
      results.find((row) => row.shape === shape && row.order === order && row.variables === n);
    const linearity = [];
    const report = (entry, what) => {
      linearity.push(entry);
      const mark = entry.flagged ? "FLAG" : entry.checked ? "ok  " : "info";
      console.log(`  ${mark}  ${entry.shape}/${entry.order}  ${what}: ${entry.ratio.toFixed(2)}`);
    };
    for (const shape of ["alias", "append"]) {
      for (const order of ["forward", "deep"]) {
        const [small, large] = [at(shape, order, 1_000), at(shape, order, 10_000)];
        const measures =
          shape === "alias"
            ? [
                ["resolve per variable", "resolve_us_per_var"],
                ["gather+resolve per variable", "gather_resolve_us_per_var"],
              ]
            : [
                ["resolve per variable (output grows as n², expected > 1)", "resolve_us_per_var", false],
                ["resolve per output character", "resolve_ns_per_char"],
              ];
        for (const [what, key, checked = true] of measures) {
          const ratio = large[key] / small[key];
          report(
            {
              shape,
              order,
              measure: key,
              sizes: [1_000, 10_000],
              ratio,
              checked,
              flagged: checked && ratio > FLAG_RATIO,
            },
            what,
          );
        }
      }
    }
    if (extra.ok) {
      const ratio = extra.resolve_us_per_var / at("alias", "deep", 10_000).resolve_us_per_var;
      report(
        {
          shape: "alias",
          order: "deep",
          measure: "resolve_us_per_var",
          sizes: [10_000, DEEP_EXTRA],
          ratio,
          checked: false,
          flagged: false,
        },
        `resolve per variable, ${DEEP_EXTRA.toLocaleString("en")} ÷ 10,000 (quadratic would be ~10)`,
      );
    }

    console.log(
      `\ndeep chains: ${SIZES.at(-1).toLocaleString("en")} variables resolved in both shapes and orders without overflow; ` +
        (extra.ok
          ? `${DEEP_EXTRA.toLocaleString("en")} (chain depth ${extra.depth.toLocaleString("en")}) resolved right, first call ${extra.first_resolve_ms.toFixed(0)} ms, no overflow`
          : `${DEEP_EXTRA.toLocaleString("en")} (chain depth ${extra.depth.toLocaleString("en")}) FAILED: ${extra.error}`),
    );
    const flagged = linearity.filter((entry) => entry.flagged);
    const plateau = extra.ok ? linearity.at(-1).ratio : undefined;
    if (flagged.length === 0) {
      console.log(`verdict: resolution scales linearly (every checked ratio ≤ ${FLAG_RATIO})`);
    } else {
      const list = flagged.map(
        (entry) => `${entry.shape}/${entry.order} ${entry.measure} ${entry.ratio.toFixed(2)}`,
      );
      console.log(`verdict: NOT linear between 1,000 and 10,000 (ratio > ${FLAG_RATIO}): ${list.join(", ")}`);
      if (plateau !== undefined && plateau <= 1.5) {
        console.log(
          `  from 10,000 to ${DEEP_EXTRA.toLocaleString("en")} variables the cost per variable grows by ${plateau.toFixed(2)} only ` +
            "(a quadratic algorithm would show about 10): the step looks like cache and garbage-collection " +
            "costs of a larger working set rather than an algorithm worse than linear",
        );
      }
    }

    const busy = busyWarning();
    if (busy) console.log(busy);
    const json = {
      benchmark: "resolve-scale",
      date: new Date().toISOString(),
      machine: { ...machineInfo(), load_average_1m_before: loadBefore },
      tessera: lib.VERSION,
      settings: { sizes: SIZES, samples: SAMPLES, min_sample_ms: MIN_SAMPLE_MS, warmup_calls: WARMUP_CALLS },
      results,
      linearity: { flag_above: FLAG_RATIO, linear: flagged.length === 0, ratios: linearity },
      deep_chain_extra: extra,
    };
    writeResults(resultsFile, json);
    console.log(`results: ${resultsFile}`);
    if (!extra.ok) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  if (error instanceof RangeError) {
    console.error(`resolve-scale: stack overflow: ${error.message}`);
    process.exitCode = 1;
  } else if (error instanceof BenchError) {
    console.error(`resolve-scale: ${error.message}`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
