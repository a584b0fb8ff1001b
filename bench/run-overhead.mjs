#!/usr/bin/env node
/**
 * Start-up overhead of `tessera run -- true`, measured with hyperfine against:
 *
 *   node -e 0                  Node's own start-up
 *   floor                      a bare Node launcher that only spawns the child:
 *                              node -e "require('child_process').spawnSync('true')"
 *   tessera (tessera.yaml)     a 50-variable .env and a tessera.yaml declaring those 50 variables
 *                              (40 secrets, 10 config), Spec cache warm
 *   tessera (Dockfile.yaml)    the same .env with a Dockrion Dockfile.yaml declaring them
 *   tessera (workspace store)  the tessera.yaml project with the 50 values of .env in the encrypted
 *                              workspace store (.tessera/store.age, age X25519) instead of .env
 *   dotenv-cli, dotenvx run    on the same .env (installed into a cache folder; skipped offline)
 *
 * Target: tessera ≤ 1.10 × the floor (median wall time). A missed target is reported, not an error:
 * the script exits 0 whenever it could measure. Results go to bench/results/run-overhead.json.
 *
 * Settings (environment): BENCH_ROUNDS (3), BENCH_RUNS (40 runs per command per round),
 * BENCH_WARMUP (5), BENCH_PEERS_DIR (/tmp/tessera-bench-peers), BENCH_SKIP_PEERS=1 (tessera only).
 *
 * Each project directory is a batch: one hyperfine invocation (-N, output to /dev/null) that also
 * measures the two references, so that ratios compare numbers taken side by side. Each round runs
 * every batch once; a command's runs are pooled over all rounds before the median is taken.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { busyWarning, machineInfo, median, root, writeResults } from "./common.mjs";

const TARGET = 1.1;
const RUNS = positiveInt(process.env.BENCH_RUNS, 40);
const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 3);
const WARMUP = positiveInt(process.env.BENCH_WARMUP, 5);
const PEERS_DIR = process.env.BENCH_PEERS_DIR || join(tmpdir(), "tessera-bench-peers");
const SKIP_PEERS = process.env.BENCH_SKIP_PEERS === "1";

const dist = join(root, "dist");
const resultsFile = join(root, "bench", "results", "run-overhead.json");
const node = process.execPath;

function positiveInt(text, fallback) {
  const value = Number.parseInt(text ?? "", 10);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** A reason the benchmark cannot run at all (thrown, so that temporary files are still removed). */
class BenchError extends Error {}

function fail(message) {
  throw new BenchError(message);
}

/** Quote one word for hyperfine's shell-words splitting (used with -N: no shell is involved). */
function q(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------------
// The fixture: 50 variables, every value fake. 10 config values, 40 secrets, 5 of them interpolated.

/** A deterministic fake token, so that runs are comparable. */
function fake(name, length = 32) {
  return createHash("sha256").update(name).digest("hex").slice(0, length);
}

const CONFIG = [
  ["APP_ENV", "staging"],
  ["LOG_LEVEL", "info"],
  ["PORT", "8080"],
  ["DB_HOST", "db.staging.example.internal"],
  ["DB_PORT", "5432"],
  ["DB_NAME", "invoices_staging"],
  ["REDIS_HOST", "cache.staging.example.internal"],
  ["REDIS_PORT", "6379"],
  ["PUBLIC_BASE_URL", "https://app.staging.example.test"],
  ["FEATURE_FLAGS", "beta-search,new-billing"],
];

/** [name, .env text, the value a child must see]; values that interpolate say so in the .env text. */
function secrets() {
  const plain = [
    ["DB_USER", "fake_app_user"],
    ["DB_PASSWORD", `fake-pg-${fake("DB_PASSWORD", 24)}`],
    ["REDIS_PASSWORD", `fake-redis-${fake("REDIS_PASSWORD", 20)}`],
    ["SMTP_USER", "fake-mailer@example.test"],
    ["SMTP_PASSWORD", `fake-smtp-${fake("SMTP_PASSWORD", 16)}`],
    ["OPENAI_API_KEY", `sk-fake-${fake("OPENAI_API_KEY", 48)}`],
    ["ANTHROPIC_API_KEY", `sk-ant-fake-${fake("ANTHROPIC_API_KEY", 48)}`],
    ["STRIPE_SECRET_KEY", `sk_test_FAKE${fake("STRIPE_SECRET_KEY", 40)}`],
    ["STRIPE_WEBHOOK_SECRET", `whsec_FAKE${fake("STRIPE_WEBHOOK_SECRET", 32)}`],
    ["AWS_ACCESS_KEY_ID", "FAKE-ACCESS-KEY-ID-0000"],
    ["AWS_SECRET_ACCESS_KEY", `FAKE/${fake("AWS_SECRET_ACCESS_KEY", 35)}`],
    ["JWT_SIGNING_KEY", `fake-jwt-${fake("JWT_SIGNING_KEY", 64)}`],
    ["SESSION_SECRET", `fake-session-${fake("SESSION_SECRET", 48)}`],
    ["GITHUB_CLIENT_ID", "Iv1.fake0000example"],
    ["GITHUB_CLIENT_SECRET", `fake-gh-${fake("GITHUB_CLIENT_SECRET", 40)}`],
    ["SENTRY_KEY", fake("SENTRY_KEY", 32)],
    ["LANGFUSE_SECRET", `sk-lf-fake-${fake("LANGFUSE_SECRET", 32)}`],
    ["MY_AGENT_KEY", `fake-agent-${fake("MY_AGENT_KEY", 32)}`],
  ];
  const known = new Map([...CONFIG, ...plain]);
  const derived = [
    ["DATABASE_URL", "postgres://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:${DB_PORT}/${DB_NAME}"],
    ["REDIS_URL", "redis://:${REDIS_PASSWORD}@${REDIS_HOST}:${REDIS_PORT}/0"],
    ["SMTP_URL", "smtp://${SMTP_USER}:${SMTP_PASSWORD}@smtp.example.test:587"],
    ["SENTRY_DSN", "https://${SENTRY_KEY}@sentry.example.test/42"],
    ["OAUTH_CALLBACK_SECRET", "${GITHUB_CLIENT_SECRET}-${APP_ENV}"],
  ];
  const out = plain.map(([name, value]) => [name, value, value]);
  for (const [name, text] of derived) {
    out.push([name, text, text.replace(/\$\{(\w+)\}/g, (_, ref) => known.get(ref))]);
  }
  // The rest: API keys of the services a real application talks to.
  const services = ["MAPS", "SEARCH", "SMS", "PUSH", "CDN", "ANALYTICS", "PAYMENTS", "GEOIP", "OCR"];
  const more = services.flatMap((service) => [`${service}_API_KEY`, `${service}_API_SECRET`]);
  for (const name of more.slice(0, 40 - out.length)) {
    const value = `fake-${name.toLowerCase().replace(/_/g, "-")}-${fake(name, 24)}`;
    out.push([name, value, value]);
  }
  return out;
}

const SECRETS = secrets();

/**
 * The .env: config first, then secrets, as a real file would mix them. `literal`: the five interpolated
 * values written out, for the Dockfile project (Dockrion reads .env literally, so `${…}` there would draw
 * W_DIALECT: a Dockrion project writes them out or builds them in its manifest).
 */
function dotenvText(literal = false) {
  const lines = ["# Benchmark fixture: every value below is fake.", "", "# config"];
  for (const [name, value] of CONFIG) lines.push(`${name}=${value}`);
  lines.push("", "# secrets");
  for (const [name, text, value] of SECRETS) lines.push(`${name}=${literal ? value : text}`);
  return `${lines.join("\n")}\n`;
}

/** tessera.yaml: 36 required secrets, 4 optional with a default, 10 config values (manifest defaults). */
function tesseraYaml() {
  const lines = ["# Benchmark fixture: declares the 50 variables of .env (values live there).", "version: 1"];
  lines.push("service:", "  name: invoice-api", "  port: 8080", "secrets:", "  required:");
  const optional = new Set(["GEOIP_API_KEY", "GEOIP_API_SECRET", "OCR_API_KEY", "SENTRY_DSN"]);
  for (const [name] of SECRETS.filter(([name]) => !optional.has(name))) {
    lines.push(`    - name: ${name}`, `      description: ${name.toLowerCase().replace(/_/g, " ")}`);
  }
  lines.push("  optional:");
  for (const [name] of SECRETS.filter(([name]) => optional.has(name))) {
    lines.push(`    - name: ${name}`, '      default: ""');
  }
  lines.push("config:");
  for (const [name, value] of CONFIG) {
    lines.push(
      name === "LOG_LEVEL"
        ? `  ${name}: { value: warn, description: log verbosity }`
        : `  ${name}: "${value}"`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Dockfile.yaml: Dockrion declares only secrets, so the 10 config values are optional secrets. */
function dockfileYaml() {
  const lines = [
    "# Benchmark fixture: a Dockrion agent declaring the 50 variables of .env.",
    'version: "1.0"',
    "agent:",
    "  name: invoice-copilot",
    "  entrypoint: app.graph:build_graph",
    "  framework: langgraph",
    "auth:",
    "  mode: api_key",
    "  api_keys:",
    "    env_var: MY_AGENT_KEY",
    "observability:",
    "  langfuse:",
    '    secret_key: "${LANGFUSE_SECRET}"',
    "expose:",
    "  port: 8080",
    "secrets:",
    "  required:",
  ];
  for (const [name] of SECRETS) lines.push(`    - name: ${name}`, `      description: fake ${name}`);
  lines.push("  optional:");
  for (const [name, value] of CONFIG) lines.push(`    - name: ${name}`, `      default: "${value}"`);
  return `${lines.join("\n")}\n`;
}

/** A child that checks it received every variable with its interpolated value (names only on error). */
const CHECK_CHILD = `
const expected = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const wrong = Object.keys(expected).filter((name) => process.env[name] !== expected[name]);
if (wrong.length) { console.error("wrong or missing: " + wrong.join(", ")); process.exit(1); }
`;

// ---------------------------------------------------------------------------------------------------
// The tools.

function hyperfineVersion() {
  const result = spawnSync("hyperfine", ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** dotenv-cli and @dotenvx/dotenvx, installed once into PEERS_DIR; undefined (with a message) offline. */
function installPeers() {
  if (SKIP_PEERS) {
    console.log("peers: skipped (BENCH_SKIP_PEERS=1)");
    return undefined;
  }
  const packages = { "dotenv-cli": "dotenv", "@dotenvx/dotenvx": "dotenvx" };
  const manifestOf = (name) => join(PEERS_DIR, "node_modules", name, "package.json");
  if (!Object.keys(packages).every((name) => existsSync(manifestOf(name)))) {
    console.log(`peers: installing dotenv-cli and @dotenvx/dotenvx into ${PEERS_DIR} …`);
    mkdirSync(PEERS_DIR, { recursive: true });
    const npm = spawnSync(
      "npm",
      [
        "install",
        "--prefix",
        PEERS_DIR,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        // Offline, fail within a minute rather than retrying for minutes.
        "--fetch-retries=1",
        "--fetch-retry-mintimeout=2000",
        "--fetch-retry-maxtimeout=5000",
        "--fetch-timeout=30000",
        ...Object.keys(packages),
      ],
      { encoding: "utf8", timeout: 180_000 },
    );
    if (npm.status !== 0 || !Object.keys(packages).every((name) => existsSync(manifestOf(name)))) {
      const lines = (npm.stderr || npm.error?.message || "").trim().split("\n");
      const reason = lines
        .filter((line) => !/complete log|proxy/.test(line))
        .slice(0, 2)
        .join(" | ");
      console.log(`peers: SKIPPED — npm install failed (no network?): ${reason}`);
      return undefined;
    }
  }
  const peers = {};
  for (const [name, bin] of Object.entries(packages)) {
    const pkg = JSON.parse(readFileSync(manifestOf(name), "utf8"));
    const binPath = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.[bin];
    if (!binPath) {
      console.log(`peers: SKIPPED — ${name}@${pkg.version} has no "${bin}" bin`);
      return undefined;
    }
    peers[name] = { version: pkg.version, bin: join(PEERS_DIR, "node_modules", name, binPath) };
  }
  console.log(
    `peers: dotenv-cli ${peers["dotenv-cli"].version}, @dotenvx/dotenvx ${peers["@dotenvx/dotenvx"].version}`,
  );
  return peers;
}

// ---------------------------------------------------------------------------------------------------
// Measuring.

/**
 * One hyperfine invocation in `cwd`: every command is a [label, argv] pair run without a shell (-N),
 * its output sent to /dev/null (hyperfine's default). Returns each command's wall times in ms.
 */
function hyperfine(cwd, env, commands, jsonFile) {
  const args = ["-N", "--warmup", String(WARMUP), "--runs", String(RUNS), "--style", "none"];
  args.push("--export-json", jsonFile);
  for (const [label, argv] of commands) args.push("--command-name", label, argv.map(q).join(" "));
  const result = spawnSync("hyperfine", args, { cwd, env, encoding: "utf8" });
  if (result.status !== 0) fail(`hyperfine failed (exit ${result.status}):\n${result.stderr}`);
  const data = JSON.parse(readFileSync(jsonFile, "utf8"));
  return data.results.map((entry, index) => ({
    label: commands[index][0],
    times: entry.times.map((seconds) => seconds * 1000),
    user_ms: entry.user * 1000,
    system_ms: entry.system * 1000,
  }));
}

/** Statistics over every run of one command, pooled across rounds and batches. */
function summarize(label, samples) {
  const times = samples.flatMap((sample) => sample.times);
  const mean = times.reduce((sum, time) => sum + time, 0) / times.length;
  const variance = times.reduce((sum, time) => sum + (time - mean) ** 2, 0) / Math.max(1, times.length - 1);
  const weighted = (key) =>
    samples.reduce((sum, sample) => sum + sample[key] * sample.times.length, 0) / times.length;
  return {
    command: label,
    runs: times.length,
    median_ms: median(times),
    mean_ms: mean,
    stddev_ms: Math.sqrt(variance),
    min_ms: Math.min(...times),
    max_ms: Math.max(...times),
    user_ms: weighted("user_ms"),
    system_ms: weighted("system_ms"),
    /** The median of each hyperfine invocation, to show how stable the number is. */
    invocation_medians_ms: samples.map((sample) => median(sample.times)),
  };
}

/**
 * A private copy of the built CLI (dist/*.cjs is self-contained: Node built-ins only), so that a
 * rebuild of dist/ while the benchmark runs cannot break or change what is measured. A copy taken in
 * the middle of a build is detected (a chunk is missing, or it does not start) and taken again.
 */
function snapshotCli(into) {
  for (let attempt = 1; ; attempt++) {
    rmSync(into, { recursive: true, force: true });
    mkdirSync(into, { recursive: true });
    try {
      for (const name of readdirSync(dist)) {
        if (name.endsWith(".cjs")) copyFileSync(join(dist, name), join(into, name));
      }
      // The installed command is bin/tessera.cjs (the launcher with the code cache), next to dist/.
      mkdirSync(join(into, "..", "bin"), { recursive: true });
      copyFileSync(join(root, "bin", "tessera.cjs"), join(into, "..", "bin", "tessera.cjs"));
      const bundle = join(into, "cli.cjs");
      const cli = join(into, "..", "bin", "tessera.cjs");
      const chunks = [...readFileSync(bundle, "utf8").matchAll(/require\("\.\/([^"]+\.cjs)"\)/g)];
      if (chunks.every(([, chunk]) => existsSync(join(into, chunk)))) {
        const version = execFileSync(node, [cli, "--version"], { encoding: "utf8" }).trim();
        return { cli, version };
      }
    } catch {
      // dist/ changed under us: try again
    }
    if (attempt === 5) fail(`cannot take a consistent copy of ${dist} (is a build running?)`);
    spawnSync("sleep", ["2"]);
  }
}

/** Run a tool once with the checking child: it must deliver all 50 values and print nothing. */
function checkDelivery(label, prefix, cwd, env, expectedFile) {
  const result = spawnSync(prefix[0], [...prefix.slice(1), node, "-e", CHECK_CHILD, expectedFile], {
    cwd,
    env,
    encoding: "utf8",
  });
  const stderr = result.stderr.trim();
  if (result.status === 0 && stderr === "") return true;
  console.log(`check: ${label} did not deliver the fixture cleanly (exit ${result.status}): ${stderr}`);
  return false;
}

function main() {
  if (SECRETS.length !== 40 || new Set(SECRETS.map(([name]) => name)).size !== 40) {
    fail("internal: the fixture must have 40 distinct secrets");
  }
  if (!existsSync(join(dist, "cli.cjs"))) fail(`${dist}/cli.cjs not found: build first (npm run build)`);
  const hyperfineVer = hyperfineVersion();
  const loadBefore = Number(loadavg()[0].toFixed(2));
  const busyBefore = busyWarning();
  if (busyBefore) console.log(busyBefore);
  if (!hyperfineVer) fail("hyperfine not found on PATH (Debian: apt-get install hyperfine)");

  const work = mkdtempSync(join(tmpdir(), "tessera-bench-run-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const { cli, version: tesseraVersion } = snapshotCli(join(work, "dist"));
    const cacheDir = join(work, "cache");
    const yamlProject = join(work, "with-tessera-yaml");
    const dockProject = join(work, "with-dockfile");
    const storeProject = join(work, "with-store");
    const expectedFile = join(work, "expected.json");
    for (const dir of [yamlProject, dockProject]) {
      mkdirSync(dir);
      writeFileSync(join(dir, ".env"), dotenvText(dir === dockProject));
    }
    writeFileSync(join(yamlProject, "tessera.yaml"), tesseraYaml());
    writeFileSync(join(dockProject, "Dockfile.yaml"), dockfileYaml());
    // The store project: the values of .env imported into an encrypted workspace store, no .env at all.
    mkdirSync(storeProject);
    writeFileSync(join(storeProject, "tessera.yaml"), tesseraYaml());
    writeFileSync(join(storeProject, "secrets.env"), dotenvText());
    const expected = Object.fromEntries([...CONFIG, ...SECRETS.map(([name, , value]) => [name, value])]);
    writeFileSync(expectedFile, JSON.stringify(expected));

    // A clean environment for every tool: the dedicated Spec cache, no profile, no dotenvx keys.
    const env = { ...process.env, TESSERA_CACHE_DIR: cacheDir, XDG_CONFIG_HOME: join(work, "config") };
    for (const name of [
      "TESSERA_ENV",
      "TESSERA_AGE_KEY",
      "TESSERA_AGE_KEY_FILE",
      "TESSERA_DEBUG",
      "DOTENV_KEY",
      "DOTENV_PRIVATE_KEY",
      ...Object.keys(expected),
    ]) {
      delete env[name];
    }

    const imported = spawnSync(node, [cli, "var", "import", "-q", "secrets.env"], { cwd: storeProject, env });
    if (imported.status !== 0) fail(`tessera var import failed: ${imported.stderr}`);
    rmSync(join(storeProject, "secrets.env"));
    const peers = installPeers();
    const tessera = [node, cli, "run", "--"];
    const dotenvCli = peers && [node, peers["dotenv-cli"].bin, "-e", ".env", "--"];
    const dotenvx = peers && [node, peers["@dotenvx/dotenvx"].bin, "run", "-f", ".env", "--quiet", "--"];

    // Validity: each tool delivers the 50 values (this also warms the Spec cache of both projects).
    const checked = {
      "tessera (tessera.yaml)": checkDelivery(
        "tessera (tessera.yaml)",
        tessera,
        yamlProject,
        env,
        expectedFile,
      ),
      "tessera (Dockfile.yaml)": checkDelivery(
        "tessera (Dockfile.yaml)",
        tessera,
        dockProject,
        env,
        expectedFile,
      ),
    };
    checked["tessera (workspace store)"] = checkDelivery(
      "tessera (workspace store)",
      tessera,
      storeProject,
      env,
      expectedFile,
    );
    if (
      !checked["tessera (tessera.yaml)"] ||
      !checked["tessera (Dockfile.yaml)"] ||
      !checked["tessera (workspace store)"]
    ) {
      fail("tessera does not run the fixture cleanly; fix that before measuring");
    }
    if (peers) {
      checked["dotenv-cli"] = checkDelivery("dotenv-cli", dotenvCli, yamlProject, env, expectedFile);
      checked["dotenvx run"] = checkDelivery("dotenvx run", dotenvx, yamlProject, env, expectedFile);
    }
    const cached = existsSync(cacheDir)
      ? readdirSync(cacheDir).filter((name) => name.startsWith("spec-"))
      : [];
    if (cached.length !== 3) fail(`expected 3 Spec cache entries in ${cacheDir}, found ${cached.length}`);

    const references = [
      ["node -e 0", [node, "-e", "0"]],
      ["floor (spawnSync true)", [node, "-e", "require('child_process').spawnSync('true')"]],
    ];
    const batches = [
      {
        name: "tessera.yaml",
        cwd: yamlProject,
        commands: [
          ...references,
          ["tessera run (tessera.yaml)", [...tessera, "true"]],
          ...(peers
            ? [
                ["dotenv-cli", [...dotenvCli, "true"]],
                ["dotenvx run", [...dotenvx, "true"]],
              ]
            : []),
        ],
      },
      {
        name: "Dockfile.yaml",
        cwd: dockProject,
        commands: [...references, ["tessera run (Dockfile.yaml)", [...tessera, "true"]]],
      },
      {
        name: "workspace store",
        cwd: storeProject,
        commands: [...references, ["tessera run (workspace store)", [...tessera, "true"]]],
      },
    ];

    // Rounds alternate the batches, so that a burst of noise on this small machine lands on one
    // hyperfine invocation and not on one command: every command's runs are pooled across rounds (and
    // the references across batches too) before taking the median.
    const samples = new Map();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [index, batch] of batches.entries()) {
        console.log(
          `round ${round}/${ROUNDS}, ${batch.name} project: ${batch.commands.length} commands × ${RUNS} runs …`,
        );
        const jsonFile = join(work, `hyperfine-${round}-${index}.json`);
        for (const measured of hyperfine(batch.cwd, env, batch.commands, jsonFile)) {
          if (!samples.has(measured.label)) samples.set(measured.label, []);
          samples.get(measured.label).push(measured);
        }
      }
    }
    const rows = [...samples].map(([label, list]) => summarize(label, list));
    const nodeMedian = rows[0].median_ms;
    const floorMedian = rows[1].median_ms;
    for (const row of rows) {
      row.ratio_floor = row.median_ms / floorMedian;
      row.ratio_node = row.median_ms / nodeMedian;
      row.overhead_vs_floor_ms = row.median_ms - floorMedian;
    }

    // The table.
    const header = [
      "command",
      "runs",
      "median ms",
      "× floor",
      "× node -e 0",
      "σ ms",
      "medians per invocation",
    ];
    const body = rows.map((row) => [
      row.command,
      String(row.runs),
      row.median_ms.toFixed(1),
      row.ratio_floor.toFixed(3),
      row.ratio_node.toFixed(3),
      row.stddev_ms.toFixed(1),
      row.invocation_medians_ms.map((value) => value.toFixed(1)).join(" "),
    ]);
    const widths = header.map((title, column) =>
      Math.max(title.length, ...body.map((line) => line[column].length)),
    );
    const format = (line) =>
      line
        .map((cell, column) =>
          column === 0 || column === line.length - 1
            ? cell.padEnd(widths[column])
            : cell.padStart(widths[column]),
        )
        .join("  ")
        .trimEnd();
    console.log("");
    console.log(format(header));
    console.log(widths.map((width) => "-".repeat(width)).join("  "));
    for (const line of body) console.log(format(line));
    console.log("");

    // The verdict, per tessera variant.
    const verdicts = rows
      .filter((row) => row.command.startsWith("tessera"))
      .map((row) => ({ command: row.command, ratio_floor: row.ratio_floor, met: row.ratio_floor <= TARGET }));
    for (const verdict of verdicts) {
      console.log(
        `${verdict.met ? "MET   " : "MISSED"} ${verdict.command}: ${verdict.ratio_floor.toFixed(3)}× the floor (target ≤ ${TARGET.toFixed(2)}×)`,
      );
    }
    const allMet = verdicts.every((verdict) => verdict.met);
    console.log(
      `verdict: tessera ${allMet ? "meets" : "does NOT meet"} the target "tessera ≤ ${TARGET.toFixed(2)}× the floor"`,
    );

    const busy = busyWarning();
    if (busy) console.log(busy);
    const report = {
      benchmark: "run-overhead",
      date: new Date().toISOString(),
      machine: { ...machineInfo(), load_average_1m_before: loadBefore, hyperfine: hyperfineVer },
      tessera: tesseraVersion,
      peers: peers
        ? Object.fromEntries(Object.entries(peers).map(([name, peer]) => [name, peer.version]))
        : "skipped",
      settings: {
        rounds: ROUNDS,
        runs_per_round: RUNS,
        warmup: WARMUP,
        variables: Object.keys(expected).length,
        secrets: SECRETS.length,
        config: CONFIG.length,
        interpolated: SECRETS.filter(([, text]) => text.includes("${")).length,
        spec_cache: "warm",
        output: "/dev/null (hyperfine default)",
      },
      delivery_checked: checked,
      target: { ratio_to_floor: TARGET, met: allMet, verdicts },
      results: rows,
    };
    writeResults(resultsFile, report);
    console.log(`results: ${resultsFile}`);
  } finally {
    cleanup();
  }
}

try {
  main();
} catch (error) {
  if (!(error instanceof BenchError)) throw error;
  console.error(`run-overhead: ${error.message}`);
  process.exitCode = 1;
}
