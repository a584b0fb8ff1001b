#!/usr/bin/env node
/**
 * How many network round trips an AWS source costs `tessera export`: 200 variables from an aws-ssm path
 * and from 200 aws-secrets-manager secrets (prefix), against a real moto server behind a loopback TCP
 * proxy that holds every request back for BENCH_DELAY_MS (20 ms) from its arrival — a round trip to a
 * region that far away.
 *
 * Each store is timed three ways (hyperfine, or repeated spawns without it): behind the proxy, straight
 * to moto, and (once) with no store at all (the 200 values in a .env). Then
 *   round trips = (time behind the proxy − time straight to moto) / delay
 * counts exactly what the delay adds (the provider's loading and moto's own work cancel out), and the
 * brief's cruder (time behind the proxy − time without a store) / delay is printed beside it.
 * Targets: ≤ 3 round trips for the SSM path; the per-secret source bounded-parallel (200 secrets, a
 * pool of 8: about 25). For comparison, listing the same path with GetParametersByPath (ten a page,
 * pages one after the other) is timed in process through the same proxy.
 *
 * What the AWS code costs on top of the network: moto takes tens of ms a request, which hides it, so the
 * same 200 SSM parameters are also served by a stub (an in-process GetParameters that answers at once,
 * from memory), behind its own 20 ms proxy. The network floor is the round trips the calls need
 * (⌈200/10 names a call / pool of 8⌉ = 3) × delay; then
 *   ratio to the floor = (time behind the stub's proxy − time without a store) / floor
 *   on top of the floor = (time behind the stub's proxy − time without a store) − floor
 * the second being what loading the provider (its library, its code), signing and the resolution of
 * 200 variables from a store cost beyond the .env case. And in process, closer to the library alone: a
 * fresh Node loads dist/providers-catalog.cjs and calls the aws-ssm provider's fetch twice through the
 * stub's proxy; the first fetch pays the provider's cold start (its library loaded and compiled, Node's
 * HTTP and crypto first used) and the round trips, the second only the round trips:
 *   cold start on top of the round trips = first fetch − second fetch    (target ≤ 20 ms)
 * (without Tessera's code cache, so an upper bound; medians over BENCH_RUNS processes; in wall time and,
 * less disturbed by a busy machine, in CPU time). For reference, the same 20 requests are made twice by
 * a bare node:http client in a fresh Node: its first − second is what any HTTP client pays the first
 * time (Node's HTTP, sockets and timers warming up), which is not the AWS code's own.
 *
 *   npm run build && node bench/provider-fetch.mjs
 *
 * Requires python3 with moto[server] (`pip install 'moto[server]'`); no AWS SDK (moto is seeded with its
 * JSON APIs directly). Settings: BENCH_VARIABLES (200), BENCH_DELAY_MS (20), BENCH_RUNS (10),
 * BENCH_WARMUP (2), BENCH_ONLY=floor (only the .env and stub cases: the cost on top of the floor, no
 * moto). Writes bench/results/provider-fetch.json.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyWarning, machineInfo, median, root, writeResults } from "./common.mjs";

const VARIABLES = positiveInt(process.env.BENCH_VARIABLES, 200);
const DELAY_MS = positiveInt(process.env.BENCH_DELAY_MS, 20);
const RUNS = positiveInt(process.env.BENCH_RUNS, 10);
const WARMUP = positiveInt(process.env.BENCH_WARMUP, 2);
const ONLY_FLOOR = process.env.BENCH_ONLY === "floor";
const POOL = 8; // src/sources/external.ts
const SSM_BATCH = 10; // GetParameters takes at most ten names
const TARGET_SSM_ROUND_TRIPS = 3;
const TARGET_OVERHEAD_MS = 20;

const cli = join(root, "bin", "tessera.cjs");
const resultsFile = join(root, "bench", "results", "provider-fetch.json");
const node = process.execPath;
const region = "us-east-1";
const credentials = { accessKeyId: "bench", secretAccessKey: "bench-secret-access-key" };

function positiveInt(text, fallback) {
  const value = Number.parseInt(text ?? "", 10);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

class BenchError extends Error {}
function fail(message) {
  throw new BenchError(message);
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------------
// moto and the delaying proxy

function freePort() {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function startMoto(dir) {
  const check = spawnSync("python3", ["-c", "import moto, moto.server, flask, flask_cors"], {
    stdio: "ignore",
  });
  if (check.status !== 0) fail("moto is not installed for python3: pip install 'moto[server]'");
  const port = await freePort();
  const logFile = join(dir, "moto.log");
  const log = openSync(logFile, "a");
  const child = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", log, log],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  closeSync(log);
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const answer = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
      await answer.arrayBuffer();
      if (answer.ok) break;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  if (child.exitCode !== null || Date.now() >= deadline) {
    child.kill("SIGKILL");
    fail(`moto did not start:\n${readFileSync(logFile, "utf8").split("\n").slice(-5).join("\n")}`);
  }
  const requests = () =>
    readFileSync(logFile, "utf8")
      .split("\n")
      .filter((line) => /"[A-Z]+ \/(?!moto-api)\S* HTTP\/[0-9.]+" [0-9]{3}/.test(line)).length;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  };
  return { port, endpoint, requests, stop };
}

/**
 * A TCP proxy on a free loopback port in front of `port`: every chunk a client sends is forwarded
 * `delay` ms after it arrived (in order), so each request reaches the server `delay` ms late; answers
 * come back at once.
 */
async function startProxy(port, delay) {
  const sockets = new Set();
  /** Requests seen on each connection since the last reset (HTTP/1.1: one after the other on each). */
  let connections = [];
  const server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    const seen = { requests: 0 };
    connections.push(seen);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("data", (chunk) => {
      if (/^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(chunk.toString("latin1", 0, 256))) seen.requests++;
      setTimeout(() => upstream.writable && upstream.write(chunk), delay);
    });
    client.on("end", () => setTimeout(() => upstream.end(), delay));
    upstream.pipe(client);
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", () => setTimeout(drop, delay + 5));
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    /** Connections and the most requests one of them carried, since the last call. */
    traffic() {
      const used = connections.filter((entry) => entry.requests > 0);
      connections = [];
      return {
        requests: used.reduce((sum, entry) => sum + entry.requests, 0),
        connections: used.length,
        sequential_requests: Math.max(0, ...used.map((entry) => entry.requests)),
      };
    },
    stop: () =>
      new Promise((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------
// The fixture

const names = Array.from({ length: VARIABLES }, (_, index) => `VAR_${String(index).padStart(3, "0")}`);
const fixtureValue = (name) => `value-of-${name.toLowerCase()}-${"x".repeat(24)}`;
const expected = Object.fromEntries(names.map((name) => [name, fixtureValue(name)]));

/**
 * One call of an AWS JSON API on moto, which does not check signatures while its authentication is off:
 * the Authorization header only names the service and region. Returns the parsed answer.
 */
async function motoCall(endpoint, service, target, body) {
  const date = new Date().toISOString().slice(0, 10).replace(/-/g, "");
  const answer = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": target,
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${date}/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await answer.text();
  if (!answer.ok) fail(`moto ${target}: HTTP ${answer.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function seed(endpoint) {
  for (let start = 0; start < names.length; start += 20) {
    await Promise.all(
      names.slice(start, start + 20).flatMap((name) => [
        motoCall(endpoint, "ssm", "AmazonSSM.PutParameter", {
          Name: `/bench/app/${name}`,
          Value: fixtureValue(name),
          Type: "SecureString",
        }),
        motoCall(endpoint, "secretsmanager", "secretsmanager.CreateSecret", {
          Name: `bench/app/${name}`,
          SecretString: fixtureValue(name),
        }),
      ]),
    );
  }
}

/**
 * SSM's GetParameters for the fixture's parameters, answered at once from memory (no signature check):
 * the network floor without moto's own time.
 */
async function startStub() {
  const parameters = new Map(names.map((name) => [`/bench/app/${name}`, fixtureValue(name)]));
  let calls = 0;
  const server = createHttpServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      calls++;
      const target = request.headers["x-amz-target"];
      let answer = { __type: "UnknownOperationException", message: `not stubbed: ${target}` };
      let status = 400;
      if (target === "AmazonSSM.GetParameters") {
        const asked = JSON.parse(Buffer.concat(chunks).toString("utf8")).Names ?? [];
        status = 200;
        answer = {
          Parameters: asked
            .filter((name) => parameters.has(name))
            .map((name) => ({ Name: name, Type: "SecureString", Value: parameters.get(name), Version: 1 })),
          InvalidParameters: asked.filter((name) => !parameters.has(name)),
        };
      }
      const body = JSON.stringify(answer);
      response.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "content-length": Buffer.byteLength(body),
      });
      response.end(body);
    });
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return {
    port: server.address().port,
    endpoint: `http://127.0.0.1:${server.address().port}`,
    requests: () => calls,
    stop: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function project(base, label, sources, dotenv) {
  const dir = join(base, label);
  mkdirSync(dir, { recursive: true });
  const yaml = [`secrets:`, `  required: [${names.join(", ")}]`];
  if (sources) yaml.push("sources:", ...sources.map((source) => `  - ${source}`));
  writeFileSync(join(dir, "tessera.yaml"), `${yaml.join("\n")}\n`);
  if (dotenv)
    writeFileSync(join(dir, ".env"), names.map((name) => `${name}=${fixtureValue(name)}\n`).join(""));
  return dir;
}

/**
 * A script for a fresh Node: the aws-ssm provider of the build, asked for the 200 variables twice
 * through `endpoint`; prints the times (ms) as JSON.
 */
const IN_PROCESS = `
const [dist, endpoint, count] = process.argv.slice(2);
(async () => {
  const t0 = performance.now();
  const catalog = require(dist + "/providers-catalog.cjs");
  const t1 = performance.now();
  const requests = Array.from({ length: Number(count) }, (_, i) => {
    const name = "VAR_" + String(i).padStart(3, "0");
    return { id: name, key: name, searched: true };
  });
  const pool = async (items, fn) => {
    const out = new Array(items.length);
    let next = 0;
    const work = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]); } };
    await Promise.all(Array.from({ length: ${POOL} }, work));
    return out;
  };
  const context = {
    source: { type: "aws-ssm", name: "ssm", settings: { path: "/bench/app", endpoint, region: "${region}" }, declaredAt: {} },
    env: process.env, dir: process.cwd(), cwd: process.cwd(), timeoutMs: 30000, pool,
    retry: (fn) => fn(new AbortController().signal), identities: async () => undefined,
  };
  const entry = catalog.storeEntry("aws-ssm");
  const cpu = (from) => { const used = process.cpuUsage(from); return (used.user + used.system) / 1000; };
  const t2 = performance.now();
  const c2 = process.cpuUsage();
  // The provider's own chunk is loaded by its first use: part of the cold start.
  const provider = await entry.load();
  const first = await provider.fetch(requests, context);
  const t3 = performance.now();
  const firstCpu = cpu(c2);
  const c3 = process.cpuUsage();
  await provider.fetch(requests, context);
  const t4 = performance.now();
  const secondCpu = cpu(c3);
  const found = [...first.values()].filter((entry) => entry.status === "found").length;
  if (found !== requests.length) throw new Error("found " + found + " of " + requests.length);
  process.stdout.write(JSON.stringify({
    catalog_ms: t1 - t0, first_fetch_ms: t3 - t2, second_fetch_ms: t4 - t3,
    first_fetch_cpu_ms: firstCpu, second_fetch_cpu_ms: secondCpu,
  }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** The same GetParameters calls twice with a bare node:http client: Node's own cold start. */
const BARE_HTTP = `
const http = require("node:http");
const [endpoint, count] = process.argv.slice(2);
async function all() {
  const agent = new http.Agent({ keepAlive: true });
  const names = Array.from({ length: Number(count) }, (_, i) => "/bench/app/VAR_" + String(i).padStart(3, "0"));
  const batches = [];
  for (let i = 0; i < names.length; i += ${SSM_BATCH}) batches.push(names.slice(i, i + ${SSM_BATCH}));
  const one = (batch) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ Names: batch, WithDecryption: true });
    const request = http.request(endpoint + "/", { method: "POST", agent, headers: {
      "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameters",
      "content-length": Buffer.byteLength(body) } }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
    });
    request.on("error", reject);
    request.end(body);
  });
  let next = 0;
  await Promise.all(Array.from({ length: ${POOL} }, async () => { while (next < batches.length) await one(batches[next++]); }));
  agent.destroy();
}
(async () => {
  const cpu = (from) => { const used = process.cpuUsage(from); return (used.user + used.system) / 1000; };
  let c = process.cpuUsage(); let t = performance.now(); await all();
  const first = performance.now() - t; const firstCpu = cpu(c);
  c = process.cpuUsage(); t = performance.now(); await all();
  const second = performance.now() - t; const secondCpu = cpu(c);
  process.stdout.write(JSON.stringify({ first_fetch_ms: first, second_fetch_ms: second, first_fetch_cpu_ms: firstCpu, second_fetch_cpu_ms: secondCpu }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** The provider's cold start in fresh processes (see IN_PROCESS; BARE_HTTP with `bare`): medians of BENCH_RUNS. */
async function coldStart(base, endpoint, env, bare = false) {
  const script = join(base, bare ? "bare-http.cjs" : "cold-start.cjs");
  writeFileSync(script, bare ? BARE_HTTP : IN_PROCESS);
  const args = bare
    ? [script, endpoint, String(VARIABLES)]
    : [script, join(root, "dist"), endpoint, String(VARIABLES)];
  const runs = [];
  for (let index = 0; index < WARMUP + RUNS; index++) {
    const result = await run(node, args, { cwd: base, env });
    if (result.status !== 0) fail(`the in-process fetch failed:\n${result.stderr}`);
    if (index >= WARMUP) runs.push({ catalog_ms: 0, ...JSON.parse(result.stdout) });
  }
  const pick = (key) => median(runs.map((entry) => entry[key]));
  const first = pick("first_fetch_ms");
  const second = pick("second_fetch_ms");
  return {
    runs: runs.length,
    catalog_ms: pick("catalog_ms"),
    first_fetch_ms: first,
    second_fetch_ms: second,
    cold_start_ms: median(runs.map((entry) => entry.first_fetch_ms - entry.second_fetch_ms)),
    // CPU time (user + system) is less disturbed by other work on the machine than wall time.
    first_fetch_cpu_ms: pick("first_fetch_cpu_ms"),
    second_fetch_cpu_ms: pick("second_fetch_cpu_ms"),
    cold_start_cpu_ms: median(runs.map((entry) => entry.first_fetch_cpu_ms - entry.second_fetch_cpu_ms)),
  };
}

// ---------------------------------------------------------------------------------------------------
// Timing (asynchronously: the proxy lives in this process and must keep running)

function run(command, args, options) {
  return new Promise((done) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", (error) => done({ status: null, stdout, stderr: `${stderr}${error.message}` }));
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

function hyperfineVersion() {
  const result = spawnSync("hyperfine", ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const exportArgs = [cli, "export", "--format", "json"];

/** Wall times (ms) of `tessera export` in `cwd`. */
async function time(cwd, env, jsonFile, useHyperfine) {
  if (useHyperfine) {
    const command = [node, ...exportArgs].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word}'`));
    const args = ["-N", "--warmup", String(WARMUP), "--runs", String(RUNS), "--style", "none"];
    const result = await run("hyperfine", [...args, "--export-json", jsonFile, command.join(" ")], {
      cwd,
      env,
    });
    if (result.status !== 0) fail(`hyperfine failed (exit ${result.status}):\n${result.stderr}`);
    return JSON.parse(readFileSync(jsonFile, "utf8")).results[0].times.map((seconds) => seconds * 1000);
  }
  const times = [];
  for (let index = 0; index < WARMUP + RUNS; index++) {
    const started = process.hrtime.bigint();
    const result = await run(node, exportArgs, { cwd, env });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) fail(`tessera export failed in ${cwd}:\n${result.stderr}`);
    if (index >= WARMUP) times.push(elapsed);
  }
  return times;
}

/**
 * One export, checked: every value right, nothing on stderr. Returns the requests moto saw and, behind
 * the proxy, how they were spread over connections.
 */
async function verify(label, cwd, env, server, proxy) {
  const before = server.requests();
  proxy.traffic();
  const result = await run(node, exportArgs, { cwd, env });
  if (result.status !== 0) fail(`${label}: tessera export failed (exit ${result.status}):\n${result.stderr}`);
  if (result.stderr !== "") fail(`${label}: tessera printed on stderr:\n${result.stderr}`);
  const values = JSON.parse(result.stdout);
  const wrong = names.filter((name) => values[name] !== expected[name]);
  if (wrong.length > 0 || Object.keys(values).length !== names.length) {
    fail(`${label}: wrong values for ${wrong.slice(0, 5).join(", ") || "extra names"}`);
  }
  return { requests: server.requests() - before, ...proxy.traffic() };
}

/** GetParametersByPath over the whole path, page after page, in process: [ms, pages]. */
async function listByPath(endpoint) {
  const times = [];
  let pages = 0;
  for (let index = 0; index < WARMUP + RUNS; index++) {
    const started = process.hrtime.bigint();
    let token;
    let count = 0;
    pages = 0;
    do {
      const answer = await motoCall(endpoint, "ssm", "AmazonSSM.GetParametersByPath", {
        Path: "/bench/app",
        Recursive: true,
        WithDecryption: true,
        ...(token ? { NextToken: token } : {}),
      });
      pages++;
      count += answer.Parameters?.length ?? 0;
      token = answer.NextToken;
    } while (token);
    if (count !== VARIABLES) fail(`GetParametersByPath listed ${count} parameters, not ${VARIABLES}`);
    if (index >= WARMUP) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { times, pages };
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  if (!existsSync(join(root, "dist", "cli.cjs"))) fail("dist/cli.cjs is missing: run `npm run build` first");
  const hyperfine = hyperfineVersion();
  if (!hyperfine) console.log("hyperfine not found: timing repeated spawns instead");
  const busyBefore = busyWarning();
  if (busyBefore) console.log(busyBefore);
  const loadBefore = machineInfo().load_average_1m_after;

  const base = mkdtempSync(join(tmpdir(), "tessera-bench-provider-"));
  let moto;
  let proxy;
  let stub;
  let stubProxy;
  try {
    stub = await startStub();
    stubProxy = await startProxy(stub.port, DELAY_MS);
    console.log(
      `stub GetParameters on ${stub.endpoint}, proxy (+${DELAY_MS} ms a request) on ${stubProxy.endpoint}`,
    );
    if (!ONLY_FLOOR) {
      moto = await startMoto(base);
      proxy = await startProxy(moto.port, DELAY_MS);
      console.log(`moto on ${moto.endpoint}, proxy (+${DELAY_MS} ms a request) on ${proxy.endpoint}`);
      console.log(`seeding ${VARIABLES} SSM parameters and ${VARIABLES} Secrets Manager secrets …`);
      await seed(moto.endpoint);
    }

    const tesseraVersion = spawnSync(node, [cli, "--version"], { encoding: "utf8" }).stdout.trim();
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? base,
      LANG: process.env.LANG ?? "C.UTF-8",
      TESSERA_CACHE_DIR: join(base, "cache"),
      XDG_CONFIG_HOME: join(base, "config"),
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: region,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const ssm = (endpoint) => `{ type: aws-ssm, name: ssm, path: /bench/app, endpoint: "${endpoint}" }`;
    const sm = (endpoint) =>
      `{ type: aws-secrets-manager, name: sm, prefix: bench/app/, endpoint: "${endpoint}" }`;
    const floorCases = [
      { key: "no_store", label: "no store (.env)", dir: project(base, "none", undefined, true) },
      {
        key: "stub_direct",
        label: "aws-ssm, stub, direct",
        dir: project(base, "stub-direct", [ssm(stub.endpoint)]),
        server: "stub",
      },
      {
        key: "stub_delayed",
        label: `aws-ssm, stub, +${DELAY_MS} ms`,
        dir: project(base, "stub-proxy", [ssm(stubProxy.endpoint)]),
        server: "stub",
      },
    ];
    const motoCases = ONLY_FLOOR
      ? []
      : [
          {
            key: "ssm_direct",
            label: "aws-ssm, direct",
            dir: project(base, "ssm-direct", [ssm(moto.endpoint)]),
          },
          {
            key: "ssm_delayed",
            label: `aws-ssm, +${DELAY_MS} ms`,
            dir: project(base, "ssm-proxy", [ssm(proxy.endpoint)]),
          },
          {
            key: "sm_direct",
            label: "aws-secrets-manager, direct",
            dir: project(base, "sm-direct", [sm(moto.endpoint)]),
          },
          {
            key: "sm_delayed",
            label: `aws-secrets-manager, +${DELAY_MS} ms`,
            dir: project(base, "sm-proxy", [sm(proxy.endpoint)]),
          },
        ];
    const cases = [...floorCases, ...motoCases];
    const requests = {};
    for (const entry of cases) {
      const [server, through] = entry.server === "stub" || !moto ? [stub, stubProxy] : [moto, proxy];
      requests[entry.key] = await verify(entry.label, entry.dir, env, server, through);
    }

    const measured = {};
    for (const entry of cases) {
      const times = await time(entry.dir, env, join(base, `${entry.key}.json`), Boolean(hyperfine));
      measured[entry.key] = {
        label: entry.label,
        runs: times.length,
        median_ms: median(times),
        times_ms: times,
      };
      console.log(
        `  ${entry.label.padEnd(34)} ${median(times).toFixed(1).padStart(8)} ms (median of ${times.length})`,
      );
    }

    // The cost on top of the network floor: the stub answers at once, so behind its proxy an export
    // costs the .env case + the round trips the calls need + what the provider itself costs.
    const floorRounds = Math.ceil(Math.ceil(VARIABLES / SSM_BATCH) / POOL);
    const floorMs = floorRounds * DELAY_MS;
    const noStore = measured.no_store.median_ms;
    const overDelayed = measured.stub_delayed.median_ms - noStore;
    const overDirect = measured.stub_direct.median_ms - noStore;
    const floor = {
      variables: VARIABLES,
      requests_per_export: requests.stub_delayed.requests,
      sequential_requests: requests.stub_delayed.sequential_requests,
      network_floor_round_trips: floorRounds,
      network_floor_ms: floorMs,
      delayed_minus_no_store_ms: overDelayed,
      ratio_to_floor: overDelayed / floorMs,
      on_top_of_floor_ms: overDelayed - floorMs,
      direct_minus_no_store_ms: overDirect,
      target_on_top_ms: TARGET_OVERHEAD_MS,
      met: overDelayed - floorMs <= TARGET_OVERHEAD_MS,
    };

    const inProcess = await coldStart(base, stubProxy.endpoint, {
      ...env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    });
    const bareHttp = await coldStart(base, stubProxy.endpoint, env, true);
    const cold = {
      ...inProcess,
      bare_node_http_cold_start_ms: bareHttp.cold_start_ms,
      bare_node_http_cold_start_cpu_ms: bareHttp.cold_start_cpu_ms,
      aws_code_own_cold_start_cpu_ms: inProcess.cold_start_cpu_ms - bareHttp.cold_start_cpu_ms,
      network_floor_ms: floorMs,
      first_fetch_ratio_to_floor: inProcess.first_fetch_ms / floorMs,
      second_fetch_ratio_to_floor: inProcess.second_fetch_ms / floorMs,
      target_cold_start_ms: TARGET_OVERHEAD_MS,
      met: inProcess.cold_start_ms <= TARGET_OVERHEAD_MS,
      aws_code_own_met: inProcess.cold_start_cpu_ms - bareHttp.cold_start_cpu_ms <= TARGET_OVERHEAD_MS,
    };
    const summary = { aws_ssm_on_top_of_network_floor: floor, aws_ssm_cold_start_in_process: cold };
    if (moto) {
      const byPathDelayed = await listByPath(proxy.endpoint);
      const byPathDirect = await listByPath(moto.endpoint);
      const roundTrips = (delayed, direct) =>
        (measured[delayed].median_ms - measured[direct].median_ms) / DELAY_MS;
      const crude = (delayed) => (measured[delayed].median_ms - noStore) / DELAY_MS;
      const store = (key, expectedRounds, target) => {
        const traffic = requests[`${key}_delayed`];
        const timed = roundTrips(`${key}_delayed`, `${key}_direct`);
        return {
          requests_per_export: traffic.requests,
          connections: traffic.connections,
          sequential_requests: traffic.sequential_requests,
          expected_round_trips: expectedRounds,
          round_trips: timed,
          round_trips_vs_no_store: crude(`${key}_delayed`),
          ...(target === undefined
            ? {}
            : { target, met: timed <= target && traffic.sequential_requests <= target }),
        };
      };
      Object.assign(summary, {
        ssm: store("ssm", floorRounds, TARGET_SSM_ROUND_TRIPS),
        secrets_manager: store("sm", Math.ceil(VARIABLES / POOL)),
        ssm_get_parameters_by_path_for_comparison: {
          requests_per_export: byPathDelayed.pages,
          sequential_requests: byPathDelayed.pages,
          delayed_median_ms: median(byPathDelayed.times),
          direct_median_ms: median(byPathDirect.times),
          round_trips: (median(byPathDelayed.times) - median(byPathDirect.times)) / DELAY_MS,
        },
      });

      console.log("");
      console.log(`round trips at +${DELAY_MS} ms a request (moto):`);
      console.log(
        `  ${"".padEnd(32)} ${"timed".padStart(6)} ${"vs .env".padStart(8)} ${"requests".padStart(9)} ${"in a row".padStart(9)} ${"expected".padStart(9)}`,
      );
      const line = (label, entry, note) =>
        console.log(
          `  ${label.padEnd(32)} ${entry.round_trips.toFixed(1).padStart(6)} ${(entry.round_trips_vs_no_store?.toFixed(1) ?? "").padStart(8)} ${String(entry.requests_per_export).padStart(9)} ${String(entry.sequential_requests).padStart(9)} ${String(entry.expected_round_trips ?? "").padStart(9)}  ${note}`,
        );
      line(
        `aws-ssm path (${VARIABLES} names)`,
        summary.ssm,
        `target ≤ ${TARGET_SSM_ROUND_TRIPS}: ${summary.ssm.met ? "met" : "NOT MET"}`,
      );
      line(`aws-secrets-manager (${VARIABLES} ids)`, summary.secrets_manager, `pool of ${POOL}`);
      line("GetParametersByPath (not used)", summary.ssm_get_parameters_by_path_for_comparison, "in process");
      console.log(
        "  timed = (behind the proxy − straight to moto) / delay; vs .env = (behind the proxy − no store) / delay;\n" +
          "  in a row = the most requests one connection carried (HTTP/1.1: one after the other), the\n" +
          "  round trips on the critical path. When moto is the bottleneck the delay overlaps its queue,\n" +
          "  and `timed` comes out below `in a row`.",
      );
    }

    console.log("");
    console.log(`aws-ssm, ${VARIABLES} variables from the stub behind +${DELAY_MS} ms (no moto time):`);
    console.log(
      `  network floor ${floorRounds} round trips = ${floorMs} ms; export − .env = ${overDelayed.toFixed(1)} ms` +
        ` = ${floor.ratio_to_floor.toFixed(2)} × the floor, ${floor.on_top_of_floor_ms.toFixed(1)} ms on top` +
        ` (target ≤ ${TARGET_OVERHEAD_MS} ms: ${floor.met ? "met" : "NOT MET"});` +
        ` without the delay: ${overDirect.toFixed(1)} ms; ${floor.requests_per_export} requests, at most` +
        ` ${floor.sequential_requests} on one connection`,
    );
    console.log(
      `  in process (median of ${cold.runs}): first fetch ${cold.first_fetch_ms.toFixed(1)} ms` +
        ` (${cold.first_fetch_ratio_to_floor.toFixed(2)} × the floor), second ${cold.second_fetch_ms.toFixed(1)} ms` +
        ` (${cold.second_fetch_ratio_to_floor.toFixed(2)} ×); the cold start on top of the round trips` +
        ` ${cold.cold_start_ms.toFixed(1)} ms (target ≤ ${TARGET_OVERHEAD_MS} ms: ${cold.met ? "met" : "NOT MET"});` +
        ` in CPU time ${cold.first_fetch_cpu_ms.toFixed(1)} − ${cold.second_fetch_cpu_ms.toFixed(1)} =` +
        ` ${cold.cold_start_cpu_ms.toFixed(1)} ms; loading the store catalog ${cold.catalog_ms.toFixed(1)} ms`,
    );
    console.log(
      `  for reference, a bare node:http client making the same requests: cold start` +
        ` ${cold.bare_node_http_cold_start_ms.toFixed(1)} ms (CPU ${cold.bare_node_http_cold_start_cpu_ms.toFixed(1)} ms),` +
        ` so the AWS code's own cold start is ${cold.aws_code_own_cold_start_cpu_ms.toFixed(1)} ms of CPU` +
        ` (≤ ${TARGET_OVERHEAD_MS} ms: ${cold.aws_code_own_met ? "met" : "NOT MET"})`,
    );
    const busy = busyWarning();
    if (busy) console.log(busy);

    writeResults(resultsFile, {
      benchmark: "provider-fetch",
      date: new Date().toISOString(),
      machine: { ...machineInfo(), load_average_1m_before: loadBefore, hyperfine: hyperfine ?? null },
      tessera: tesseraVersion,
      settings: {
        variables: VARIABLES,
        delay_ms: DELAY_MS,
        runs: RUNS,
        warmup: WARMUP,
        pool: POOL,
        only: ONLY_FLOOR ? "floor" : "all",
      },
      summary,
      measured: Object.fromEntries(
        Object.entries(measured).map(([key, { times_ms, ...rest }]) => [
          key,
          { ...rest, min_ms: Math.min(...times_ms), max_ms: Math.max(...times_ms) },
        ]),
      ),
    });
    console.log(`\nresults: ${resultsFile}`);
  } finally {
    await stubProxy?.stop();
    await stub?.stop();
    await proxy?.stop();
    await moto?.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof BenchError ? `provider-fetch: ${error.message}` : error);
  process.exit(1);
});
