/**
 * Durability and security of the encrypted workspace store (.tessera/store.age): concurrent writers, a
 * writer killed at any moment, stale locks, the user's identity, interoperability with the `age` CLI,
 * recipients and tampering. Writers run as separate processes (the built CLI, or test/e2e/store-writer.ts
 * through the library) sharing one identity through the same XDG_CONFIG_HOME.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  watch,
  writeFileSync,
} from "node:fs";
import { availableParallelism, hostname, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { armor } from "age-encryption";
import { writerKeyOf } from "../../src/crypto/sign.ts";
import { isTesseraError } from "../../src/errors.ts";
import { withLock } from "../../src/workspace/lock.ts";
import { CLI, cleanEnv, project, type Result, ROOT, startTessera, tessera } from "../helpers.ts";
import { requireComponent } from "../support/consumers.ts";

const WRITER = join(ROOT, "test", "e2e", "store-writer.ts");
const STORE = join(".tessera", "store.age");
const LOCK = join(".tessera", "store.age.lock");
const BREAKER = join(".tessera", "store.age.lock.break");

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A seeded PRNG (mulberry32), so that a failing run can be repeated with STORE_DURABILITY_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.STORE_DURABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Identity {
  /** Env for tessera: this identity through its own XDG_CONFIG_HOME. */
  env: Record<string, string>;
  keyFile: string;
  /** The AGE-SECRET-KEY-1… line. */
  secret: string;
  /** The public key (age1…). */
  recipient: string;
}

/** A fresh identity, created by `tessera var recipient` in a config directory of its own. */
function identity(): Identity {
  const config = project();
  const env = { XDG_CONFIG_HOME: config };
  const result = tessera(["var", "recipient", "-q"], { cwd: config, env });
  ok(result, "var recipient");
  const keyFile = join(config, "tessera", "age.key");
  const secret = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(readFileSync(keyFile, "utf8"))?.[0];
  assert.ok(secret, "age.key holds an AGE-SECRET-KEY-1 line");
  return { env, keyFile, secret, recipient: result.stdout.trim() };
}

/** An environment with no identity at all (an empty config directory). */
const noIdentity = (): Record<string, string> => ({ XDG_CONFIG_HOME: project() });

function ok(result: Result, what: string): void {
  assert.equal(result.status, 0, `${what} failed (${result.signal ?? result.status}):\n${result.stderr}`);
}

/** `tessera ARGS` must fail with `code` and `exit`. */
function fails(result: Result, code: string, exit: number, what: string): void {
  assert.equal(result.status, exit, `${what}: exit ${result.status}, expected ${exit}:\n${result.stderr}`);
  assert.match(result.stderr, new RegExp(`error\\[${code}\\]`), `${what}: expected ${code}`);
}

/** The store's values (stored templates) as the CLI exports them (up to 64 MiB, beyond `tessera`'s 1 MiB). */
function values(dir: string, env: Record<string, string>, what = "the store"): Record<string, string> {
  const result = spawnSync(process.execPath, ["--", CLI, "var", "export", "--format", "json", "-q"], {
    cwd: dir,
    env: cleanEnv(env),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  ok(result, `${what}: var export --format json`);
  return JSON.parse(result.stdout) as Record<string, string>;
}

/** Lock, breaker and temporary files left in .tessera/ (everything but the store, .gitignore and recipients). */
function leftovers(dir: string): string[] {
  return readdirSync(join(dir, ".tessera")).filter(
    (name) => !["store.age", ".gitignore", "recipients"].includes(name),
  );
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

interface Finished extends Result {
  ms: number;
}

/** Wait for a spawned process, collecting its output. */
function finished(child: ChildProcess, started = performance.now()): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status, signal) =>
      resolve({ status, signal, stdout, stderr, ms: performance.now() - started }),
    );
  });
}

/** Start store-writer.ts (the library's updateStore in a process of its own). */
function startWriter(dir: string, prefix: string, count: number, env: Record<string, string>, go: string) {
  return spawn(process.execPath, ["--import", "tsx", WRITER, dir, prefix, String(count), go], {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Start writers, wait until every one is ready, then let them all go at once. */
async function raceWriters(
  dir: string,
  writers: { prefix: string; count: number }[],
  env: Record<string, string>,
): Promise<Finished[]> {
  const go = join(mkdtempSync(join(tmpdir(), "tessera-go-")), "go");
  const children = writers.map(({ prefix, count }) => startWriter(dir, prefix, count, env, go));
  const results = children.map((child) => finished(child));
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          let seen = "";
          const onData = (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.includes("ready\n")) {
              child.stdout?.off("data", onData);
              resolve();
            }
          };
          child.stdout?.on("data", onData);
          child.on("close", () => resolve());
        }),
    ),
  );
  writeFileSync(go, "");
  try {
    return await Promise.all(results);
  } finally {
    rmSync(join(go, ".."), { recursive: true, force: true });
  }
}

/** The value store-writer.ts writes for PREFIX_i. */
const writerValue = (prefix: string, i: number) =>
  `value of ${prefix}_${i}: "${"x".repeat(i % 7)}" é $$ ${i}`;

/** A pid that is certainly not running: a process that has exited. */
function deadPid(): number {
  const result = spawnSync("true");
  assert.ok(result.pid > 0);
  return result.pid;
}

/** A process's start time as lock.ts records it (field 22 of /proc/PID/stat). */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
}

function writeLock(dir: string, holder: { pid: number; start?: string; host?: string; since?: number }) {
  writeFileSync(
    join(dir, LOCK),
    JSON.stringify({
      pid: holder.pid,
      start: holder.start ?? "",
      host: holder.host ?? hostname(),
      since: holder.since ?? Date.now(),
      token: "0123456789abcdef01234567",
    }),
    { mode: 0o600 },
  );
}

/** Set a file's times `seconds` into the past. */
function age(path: string, seconds: number): void {
  const then = new Date(Date.now() - seconds * 1000);
  utimesSync(path, then, then);
}

/** A workspace with a store holding A=1, written by `id`. */
function storeOf(id: Identity): string {
  const dir = project();
  ok(tessera(["var", "set", "A", "1", "-q"], { cwd: dir, env: id.env }), "var set A");
  return dir;
}

function timed<T>(body: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = body();
  return { value, ms: performance.now() - started };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------

describe("concurrent writers", () => {
  // With the default lock timeout (30 s), on a machine loaded beyond its cores: a busy loop per core beside
  // the 20 writers (STORE_DURABILITY_LOAD sets how many). Before the lock queued its waiters, a writer
  // that had just released won the lock again and again while the others slept, and some waited past the
  // timeout (E_STORE_BUSY; 45 of 1,000 at a load average of 18). The test limit only catches a hang: on a
  // busy machine 1,000 locked writes take minutes.
  test("20 processes × 50 writes each, machine loaded: all 1,000 values, no leftovers, mode 0600", {
    timeout: 1_200_000,
  }, async (t) => {
    const dir = project();
    const id = identity();
    const writers = Array.from({ length: 20 }, (_, p) => ({ prefix: `P${p}`, count: 50 }));
    const burners = Array.from(
      { length: Number(process.env.STORE_DURABILITY_LOAD ?? availableParallelism()) },
      () => spawn(process.execPath, ["-e", "for (;;);"], { stdio: "ignore" }),
    );
    const loads: number[] = [];
    const sampler = setInterval(() => loads.push(loadavg()[0]!), 2000);
    const started = performance.now();
    let results: Finished[];
    try {
      results = await raceWriters(dir, writers, id.env);
    } finally {
      clearInterval(sampler);
      for (const burner of burners) burner.kill("SIGKILL");
    }
    t.diagnostic(
      `20 × 50 writes in ${Math.round(performance.now() - started)} ms beside ${burners.length} busy loops; ` +
        `load average up to ${Math.max(0, ...loads).toFixed(1)}`,
    );
    for (const [p, result] of results.entries()) ok(result, `writer P${p}`);

    const expected: Record<string, string> = {};
    for (const { prefix, count } of writers) {
      for (let i = 0; i < count; i++) expected[`${prefix}_${i}`] = writerValue(prefix, i);
    }
    const stored = values(dir, id.env);
    assert.equal(Object.keys(stored).length, 1000);
    assert.deepEqual(stored, expected);
    assert.deepEqual(leftovers(dir), []);
    assert.equal(mode(join(dir, STORE)), "600");
    assert.equal(mode(join(dir, ".tessera")), "700");
    assert.equal(readFileSync(join(dir, ".tessera", ".gitignore"), "utf8"), "*.lock\n*.lock.break\n*.tmp\n");
  });
});

describe("a writer killed at a random moment", () => {
  test("leaves the old or the new state, and the next write recovers", { timeout: 180_000 }, async (t) => {
    const ITERATIONS = 24;
    const COUNT = 2000;
    const next = random(SEED);
    const dir = project();
    const id = identity();
    const filler = "x".repeat(1000);
    /** Generation `k`: all COUNT variables, with values (1 KiB) that differ from every other generation. */
    const generation = (k: number) => {
      const map: Record<string, string> = {};
      for (let i = 0; i < COUNT; i++) map[`V${i}`] = `g${k}-${i}-${filler}`;
      return map;
    };
    const importFile = (k: number) => {
      const file = join(dir, "gen.env");
      writeFileSync(
        file,
        Object.entries(generation(k))
          .map(([name, value]) => `${name}=${value}\n`)
          .join(""),
      );
      return file;
    };
    const sorted = (map: Record<string, string>) => JSON.stringify(Object.entries(map).sort());

    ok(tessera(["var", "import", importFile(0), "-q"], { cwd: dir, env: id.env }), "import generation 0");
    // How long a whole write takes (process start to exit): the kills are spread over that.
    const { value: full, ms: writeMs } = timed(() =>
      tessera(["var", "import", importFile(1), "-q"], { cwd: dir, env: id.env }),
    );
    ok(full, "import generation 1");
    let current = generation(1);
    assert.equal(sorted(values(dir, id.env)), sorted(current));

    const outcomes = { old: 0, new: 0, completed: 0, killedInWindow: 0, lockLeft: 0, tempLeft: 0 };
    const recoveries: number[] = [];
    for (let k = 2; k < ITERATIONS + 2; k++) {
      const file = importFile(k);
      const child = startTessera(["var", "import", file, "-q"], { cwd: dir, env: id.env });
      const done = finished(child);
      let context: string;
      if (k % 2 === 0) {
        // Anywhere in the writer's life: starting, waiting, reading, encrypting, writing, renaming.
        const delay = Math.round(next() * writeMs * 1.1);
        context = `iteration ${k}, kill after ${delay} ms of ~${Math.round(writeMs)}`;
        await sleep(delay);
        child.kill("SIGKILL");
      } else {
        // In the narrow window that matters most: once the store's file starts to change (a temporary file
        // appears, is written, synced and renamed over the store), mostly within the first milliseconds.
        const delay = Math.round(next() * next() * 20);
        context = `iteration ${k}, kill ${delay} ms after the first change in .tessera/`;
        const watcher = watch(join(dir, ".tessera"), (_event, name) => {
          if (name?.endsWith(".tmp") || name === "store.age") {
            watcher.close();
            outcomes.killedInWindow++;
            setTimeout(() => child.kill("SIGKILL"), delay);
          }
        });
        done.finally(() => watcher.close());
      }
      const result = await done;
      context += ` (seed ${SEED})`;
      if (result.signal === null) {
        ok(result, context);
        outcomes.completed++;
      }
      const left = leftovers(dir);
      if (left.includes("store.age.lock")) outcomes.lockLeft++;
      if (left.some((name) => name.endsWith(".tmp"))) outcomes.tempLeft++;

      const before = sorted(current);
      const after = sorted({ ...current, ...generation(k) });
      const now = sorted(values(dir, id.env, `${context}: the store cannot be read`));
      assert.ok(
        now === before || now === after,
        `${context}: the store is neither the old nor the new state`,
      );
      if (now === after) {
        outcomes.new++;
        current = { ...current, ...generation(k) };
      } else {
        outcomes.old++;
        assert.equal(result.signal, "SIGKILL", `${context}: the writer exited 0 but its write is not there`);
      }

      // The next write takes over a stale lock and removes the dead writer's temporary file.
      const { value: set, ms } = timed(() =>
        tessera(["var", "set", `MARK${k}`, String(k), "-q"], { cwd: dir, env: id.env }),
      );
      ok(set, `${context}: the next var set`);
      recoveries.push(ms);
      current[`MARK${k}`] = String(k);
      assert.deepEqual(leftovers(dir), [], `${context}: leftovers after the next write`);
      assert.equal(mode(join(dir, STORE)), "600");
    }
    assert.equal(sorted(values(dir, id.env)), sorted(current));
    t.diagnostic(
      `seed ${SEED}; a write takes ${Math.round(writeMs)} ms; outcomes ${JSON.stringify(outcomes)}; ` +
        `next write ${Math.round(Math.min(...recoveries))}–${Math.round(Math.max(...recoveries))} ms`,
    );
    // The kills must have hit writers holding the lock, or the test proved nothing about recovery.
    assert.ok(outcomes.lockLeft > 0, `no kill landed while the lock was held: ${JSON.stringify(outcomes)}`);
    assert.ok(outcomes.tempLeft > 0, `no kill left a temporary file behind: ${JSON.stringify(outcomes)}`);
  });
});

describe("stale locks", () => {
  test("a lock naming a dead process is broken at once", () => {
    const id = identity();
    const dir = storeOf(id);
    writeLock(dir, { pid: deadPid() });
    const { value: result, ms } = timed(() =>
      tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: id.env }),
    );
    ok(result, "var set over a dead writer's lock");
    assert.ok(ms < 2000, `took ${Math.round(ms)} ms`);
    assert.deepEqual(values(dir, id.env), { A: "1", B: "2" });
    assert.deepEqual(leftovers(dir), []);
  });

  test("a lock naming a reused pid (a live process with another start time) is broken at once", async () => {
    const id = identity();
    const dir = storeOf(id);
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      writeLock(dir, { pid: other.pid!, start: String(Number(startTime(other.pid!)) - 1) });
      const { value: result, ms } = timed(() =>
        tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: id.env }),
      );
      ok(result, "var set over a reused pid's lock");
      assert.ok(ms < 2000, `took ${Math.round(ms)} ms`);
      assert.deepEqual(leftovers(dir), []);
    } finally {
      other.kill("SIGKILL");
    }
  });

  test("a lock held by a live process makes the writer wait, then go on once it is gone", async () => {
    const id = identity();
    const dir = storeOf(id);
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      writeLock(dir, { pid: holder.pid!, start: startTime(holder.pid!) });
      const writer = startTessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: id.env });
      const done = finished(writer);
      await sleep(1500);
      assert.equal(writer.exitCode, null, "the writer did not wait for the live holder");
      assert.deepEqual(values(dir, id.env), { A: "1" });
      const released = performance.now();
      holder.kill("SIGKILL");
      const result = await done;
      ok(result, "var set once the holder is gone");
      assert.ok(performance.now() - released < 2000, "the writer noticed the dead holder late");
      assert.deepEqual(values(dir, id.env), { A: "1", B: "2" });
      assert.deepEqual(leftovers(dir), []);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  // The CLI waits 30 s for a live lock before E_STORE_BUSY, and nothing outside (no variable, no flag)
  // shortens that: the message is checked through the lock's own timeout option instead.
  test("a live holder past the timeout: E_STORE_BUSY (exit 5) naming the holder", async () => {
    const dir = project({ ".tessera/": null });
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      writeLock(dir, { pid: holder.pid!, start: startTime(holder.pid!) });
      const lock = join(dir, LOCK);
      let ran = false;
      const started = performance.now();
      await assert.rejects(
        withLock(lock, { what: "the workspace store .tessera/store.age", timeoutMs: 400 }, async () => {
          ran = true;
        }),
        (error: unknown) => {
          assert.ok(isTesseraError(error));
          assert.equal(error.code, "E_STORE_BUSY");
          assert.equal(error.exitCode, 5);
          assert.match(error.message, new RegExp(`is locked by process ${holder.pid} since `));
          assert.ok(error.hint?.includes(lock), error.hint);
          return true;
        },
      );
      assert.equal(ran, false);
      assert.ok(performance.now() - started < 2000);
      assert.ok(existsSync(lock), "a live holder's lock was removed");
    } finally {
      holder.kill("SIGKILL");
    }
  });

  test("a garbage lock is broken once older than 10 s, and not before", async () => {
    const id = identity();
    const dir = storeOf(id);
    writeFileSync(join(dir, LOCK), "\u0000garbage{");
    // Fresh: it may be a lock being written this instant.
    await assert.rejects(
      withLock(join(dir, LOCK), { what: "the store", timeoutMs: 300 }, async () => {}),
      (error: unknown) => isTesseraError(error) && error.code === "E_STORE_BUSY",
    );
    age(join(dir, LOCK), 20);
    const { value: result, ms } = timed(() =>
      tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: id.env }),
    );
    ok(result, "var set over an old garbage lock");
    assert.ok(ms < 2000, `took ${Math.round(ms)} ms`);
    assert.deepEqual(values(dir, id.env), { A: "1", B: "2" });
    assert.deepEqual(leftovers(dir), []);
  });

  test("an empty lock file (a writer killed right after creating it) is broken once old", () => {
    const id = identity();
    const dir = storeOf(id);
    writeFileSync(join(dir, LOCK), "");
    age(join(dir, LOCK), 20);
    ok(tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: id.env }), "var set over an empty lock");
    assert.deepEqual(leftovers(dir), []);
  });

  test("a stale lock with a breaker left older than 10 s: both are cleaned", () => {
    const id = identity();
    const dir = storeOf(id);
    writeLock(dir, { pid: deadPid() });
    writeFileSync(join(dir, BREAKER), String(deadPid()));
    age(join(dir, BREAKER), 20);
    const { value: result, ms } = timed(() =>
      tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: id.env }),
    );
    ok(result, "var set over a stale lock and breaker");
    assert.ok(ms < 2000, `took ${Math.round(ms)} ms`);
    assert.deepEqual(leftovers(dir), []);
  });

  // A breaker that died between removing the lock and removing itself leaves the breaker alone.
  test("a breaker left older than 10 s without a lock is cleaned by the next write", () => {
    const id = identity();
    const dir = storeOf(id);
    writeFileSync(join(dir, BREAKER), String(deadPid()));
    age(join(dir, BREAKER), 20);
    ok(tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: id.env }), "var set beside an old breaker");
    assert.deepEqual(leftovers(dir), [], "the stale breaker is still there");
  });

  // A breaker younger than 10 s beside a stale lock: the waiter must wait for it, not spin on the CPU.
  test("waiting for a fresh breaker does not spin the CPU", async () => {
    const dir = project({ ".tessera/": null });
    writeLock(dir, { pid: deadPid() });
    writeFileSync(join(dir, BREAKER), String(deadPid()));
    age(join(dir, BREAKER), 9); // stale in ~1 s
    const wall = performance.now();
    const cpu = process.cpuUsage();
    await withLock(join(dir, LOCK), { what: "the store", timeoutMs: 10_000 }, async () => {});
    const used = process.cpuUsage(cpu);
    const wallMs = performance.now() - wall;
    const cpuMs = (used.user + used.system) / 1000;
    assert.ok(wallMs > 500, `the fresh breaker was not waited for (${Math.round(wallMs)} ms)`);
    assert.ok(
      cpuMs < wallMs / 4,
      `waiting ${Math.round(wallMs)} ms for the breaker used ${Math.round(cpuMs)} ms of CPU (a busy loop)`,
    );
  });
});

describe("identity", () => {
  test("10 first-ever writes at once, no key yet: one age.key (0600) that opens every value", async () => {
    const dir = project();
    const env = noIdentity();
    const writers = Array.from({ length: 10 }, (_, p) => ({ prefix: `FIRST${p}`, count: 1 }));
    const results = await raceWriters(dir, writers, env);
    for (const [p, result] of results.entries()) ok(result, `first writer ${p}`);
    const config = join(env.XDG_CONFIG_HOME!, "tessera");
    assert.deepEqual(readdirSync(config), ["age.key"]);
    assert.equal(mode(join(config, "age.key")), "600");
    const created = results.filter((result) => result.stderr.includes("created your age identity"));
    assert.equal(created.length, 1, "exactly one process announces the identity it created");
    const expected: Record<string, string> = {};
    for (const { prefix } of writers) expected[`${prefix}_0`] = writerValue(prefix, 0);
    assert.deepEqual(values(dir, env), expected);
    // The same key, by its text alone.
    const secret = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(readFileSync(join(config, "age.key"), "utf8"))![0];
    assert.deepEqual(values(dir, { ...noIdentity(), TESSERA_AGE_KEY: secret }), expected);
    assert.deepEqual(leftovers(dir), []);
  });

  test("TESSERA_AGE_KEY and TESSERA_AGE_KEY_FILE are used, and no key file is created", () => {
    const id = identity();
    const dir = project();
    const byText: Record<string, string> = { ...noIdentity(), TESSERA_AGE_KEY: id.secret };
    const byFile: Record<string, string> = { ...noIdentity(), TESSERA_AGE_KEY_FILE: id.keyFile };
    ok(tessera(["var", "set", "A", "by-text", "-q"], { cwd: dir, env: byText }), "set with TESSERA_AGE_KEY");
    ok(
      tessera(["var", "set", "B", "by-file", "-q"], { cwd: dir, env: byFile }),
      "set with TESSERA_AGE_KEY_FILE",
    );
    for (const env of [byText, byFile, id.env]) {
      assert.deepEqual(values(dir, env), { A: "by-text", B: "by-file" });
      const get = tessera(["var", "get", "A"], { cwd: dir, env });
      ok(get, "var get");
      assert.equal(get.stdout, "by-text\n");
    }
    for (const env of [byText, byFile]) {
      assert.ok(!existsSync(join(env.XDG_CONFIG_HOME!, "tessera", "age.key")), "an age.key was created");
    }
    // `var recipient` prints the public key of the identity in use.
    assert.equal(tessera(["var", "recipient", "-q"], { cwd: dir, env: byText }).stdout.trim(), id.recipient);
    assert.equal(tessera(["var", "recipient", "-q"], { cwd: dir, env: byFile }).stdout.trim(), id.recipient);
  });

  test("a store encrypted to someone else: E_STORE_LOCKED (exit 4) with a hint to `tessera var recipient`", () => {
    const owner = identity();
    const dir = storeOf(owner);
    const before = readFileSync(join(dir, STORE));
    const stranger = identity();
    for (const args of [
      ["var", "get", "A"],
      ["var", "set", "B", "2"],
      ["var", "export"],
      ["var", "rekey"],
    ]) {
      const result = tessera(args, { cwd: dir, env: stranger.env });
      fails(result, "E_STORE_LOCKED", 4, args.join(" "));
      assert.match(result.stderr, /`tessera var recipient`/);
    }
    assert.deepEqual(readFileSync(join(dir, STORE)), before, "the store was changed");
    assert.deepEqual(leftovers(dir), []);
  });

  test("no identity at all but a store exists: E_STORE_LOCKED, and a read creates no key", () => {
    const dir = storeOf(identity());
    const env = noIdentity();
    for (const args of [
      ["var", "get", "A"],
      ["var", "export"],
      ["var", "list"],
    ]) {
      const result = tessera(args, { cwd: dir, env });
      fails(result, "E_STORE_LOCKED", 4, args.join(" "));
      assert.match(result.stderr, /TESSERA_AGE_KEY/);
      assert.match(result.stderr, /`tessera var recipient`/);
    }
    assert.ok(!existsSync(join(env.XDG_CONFIG_HOME!, "tessera", "age.key")), "a read created an identity");
  });

  test("an invalid identity: E_KEY_INVALID (exit 4), and the key text is never shown", () => {
    const id = identity();
    const dir = storeOf(id);
    const body = id.secret.slice("AGE-SECRET-KEY-1".length);
    const flipped = `AGE-SECRET-KEY-1${body.slice(0, 20)}${body[20] === "Q" ? "P" : "Q"}${body.slice(21)}`;
    const invalid = [
      flipped, // a checksum error
      id.secret.slice(0, -10), // truncated
      `AGE-SECRET-KEY-1${"Q".repeat(40)}PASSWORDLIKE9`,
      "hunter2-correct-horse-battery-staple", // not a key at all
      `${id.secret}\nAGE-SECRET-KEY-1${body.slice(0, 30)}ZZZZ`, // a good line, then a bad one
    ];
    for (const key of invalid) {
      const keyFile = join(project(), "key.txt");
      writeFileSync(keyFile, `# created: today\n${key}\n`, { mode: 0o600 });
      for (const env of [
        { ...noIdentity(), TESSERA_AGE_KEY: key } as Record<string, string>,
        { ...noIdentity(), TESSERA_AGE_KEY_FILE: keyFile },
      ]) {
        for (const args of [
          ["var", "get", "A"],
          ["var", "set", "B", "2"],
          ["var", "recipient"],
        ]) {
          const result = tessera(args, { cwd: dir, env });
          const what = `${args.join(" ")} with ${Object.keys(env).find((name) => name.startsWith("TESSERA_AGE"))}`;
          fails(result, "E_KEY_INVALID", 4, what);
          const output = result.stdout + result.stderr;
          for (const line of key.split("\n")) {
            const secretPart = line.replace(/^AGE-SECRET-KEY-1/, "");
            assert.ok(!output.includes(secretPart.slice(0, 12)), `${what} showed key text:\n${output}`);
          }
        }
      }
    }
    assert.deepEqual(values(dir, id.env), { A: "1" });
  });
});

const haveAge = () =>
  spawnSync("age", ["--version"]).status === 0 && spawnSync("age-keygen", ["--version"]).status === 0;

describe("age interoperability", requireComponent("age", haveAge), () => {
  const TRICKY: Record<string, { value: string; literal?: boolean; stored: string }> = {
    NEWLINE: { value: "line one\nline two\n", stored: "line one\nline two\n" },
    QUOTES: { value: `it's "quoted" \`back\` \\ slash`, stored: `it's "quoted" \`back\` \\ slash` },
    UNICODE: { value: "héllo wörld ✓ 🔑 \u00a0 日本", stored: "héllo wörld ✓ 🔑 \u00a0 日本" },
    DOLLAR_LITERAL: { value: "pa$$word $HOME ${X}", literal: true, stored: "pa$$$$word $$HOME $${X}" },
    DOLLAR_ESCAPED: { value: "cost: $$5", stored: "cost: $$5" },
    ALIAS: { value: "$UNICODE", stored: "$UNICODE" },
    EMPTY: { value: "", stored: "" },
  };

  function trickyStore(id: Identity): string {
    const dir = project();
    for (const [name, { value, literal }] of Object.entries(TRICKY)) {
      const args = ["var", "set", name, "--stdin", "-q", ...(literal ? ["--literal"] : [])];
      // --stdin drops one trailing newline: add one, so that the value keeps its own.
      ok(tessera(args, { cwd: dir, env: id.env, input: `${value}\n` }), `var set ${name}`);
    }
    return dir;
  }
  const storedValues = () =>
    Object.fromEntries(Object.entries(TRICKY).map(([name, { stored }]) => [name, stored]));

  test("`age -d -i age.key` opens the store: the signed JSON document with the exact values", () => {
    const id = identity();
    const dir = trickyStore(id);
    assert.match(readFileSync(join(dir, STORE), "utf8"), /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    const result = spawnSync("age", ["-d", "-i", id.keyFile, join(dir, STORE)], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const writer = writerKeyOf([id.secret])!.id;
    const doc = JSON.parse(result.stdout);
    assert.match(doc.signature, /^[A-Za-z0-9_-]{86}$/);
    assert.deepEqual(doc, {
      tessera: "workspace-store",
      version: 2,
      values: storedValues(),
      recipients: [id.recipient],
      writers: [writer],
      writer,
      signature: doc.signature,
    });
    for (const [name, { stored }] of Object.entries(TRICKY)) {
      const get = tessera(["var", "get", name], { cwd: dir, env: id.env });
      ok(get, `var get ${name}`);
      assert.equal(get.stdout, `${stored}\n`, name);
    }
  });

  for (const armored of [false, true]) {
    test(`a store re-encrypted by \`age ${armored ? "-a " : ""}-r\` is read by tessera`, () => {
      const id = identity();
      const teammate = identity();
      const dir = trickyStore(id);
      const plain = spawnSync("age", ["-d", "-i", id.keyFile, join(dir, STORE)]);
      assert.equal(plain.status, 0, plain.stderr.toString());
      const again = spawnSync(
        "age",
        [...(armored ? ["-a"] : []), "-r", teammate.recipient, "-r", id.recipient],
        { input: plain.stdout },
      );
      assert.equal(again.status, 0, again.stderr.toString());
      writeFileSync(join(dir, STORE), again.stdout, { mode: 0o600 });
      for (const who of [id, teammate]) {
        assert.deepEqual(values(dir, who.env), storedValues());
        const get = tessera(["var", "get", "NEWLINE"], { cwd: dir, env: who.env });
        ok(get, "var get NEWLINE");
        assert.equal(get.stdout, "line one\nline two\n\n");
      }
      // And tessera writes over it (re-encrypting to the user only).
      ok(tessera(["var", "set", "AFTER", "1", "-q"], { cwd: dir, env: id.env }), "var set after age");
      assert.deepEqual(values(dir, id.env), { ...storedValues(), AFTER: "1" });
    });
  }

  test("a key made by age-keygen is used through TESSERA_AGE_KEY_FILE", () => {
    const keyFile = join(project(), "key.txt");
    const made = spawnSync("age-keygen", ["-o", keyFile], { encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    const env = { ...noIdentity(), TESSERA_AGE_KEY_FILE: keyFile };
    const dir = project();
    ok(tessera(["var", "set", "A", "from-age-keygen", "-q"], { cwd: dir, env }), "var set");
    const result = spawnSync("age", ["-d", "-i", keyFile, join(dir, STORE)], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).values, { A: "from-age-keygen" });
  });
});

describe("recipients", () => {
  test("a teammate added to .tessera/recipients can read after `var rekey` (not before); removed and rekeyed, is locked out", () => {
    const owner = identity();
    const teammate = identity();
    const dir = storeOf(owner);
    const path = join(dir, ".tessera", "recipients");
    fails(tessera(["var", "get", "A"], { cwd: dir, env: teammate.env }), "E_STORE_LOCKED", 4, "before");

    // The teammate's key as an older Tessera wrote lines: a comment after it (which `age -R` rejects).
    const ownerLines = readFileSync(path, "utf8");
    writeFileSync(path, `${ownerLines}\n${teammate.recipient}  # teammate\n`);
    // Listing a recipient changes nothing until a rekey, and no other write makes that change.
    fails(tessera(["var", "get", "A"], { cwd: dir, env: teammate.env }), "E_STORE_LOCKED", 4, "listed only");
    fails(
      tessera(["var", "set", "B", "2"], { cwd: dir, env: owner.env }),
      "E_RECIPIENTS_CHANGED",
      4,
      "var set",
    );
    const rekey = tessera(["var", "rekey"], { cwd: dir, env: owner.env });
    ok(rekey, "var rekey");
    assert.match(rekey.stderr, /for the 2 recipients in \.tessera\/recipients/);
    assert.match(rekey.stderr, new RegExp(`reader added: ${teammate.recipient}`));
    // The comment moved to a line of its own.
    assert.equal(readFileSync(path, "utf8"), `${ownerLines}\n# teammate\n${teammate.recipient}\n`);
    assert.deepEqual(values(dir, teammate.env), { A: "1" });
    assert.deepEqual(values(dir, owner.env), { A: "1" });

    // A reader writes once listed as a writer too (their own rekey adds their writer line), keeping everyone.
    fails(
      tessera(["var", "set", "T", "t"], { cwd: dir, env: teammate.env }),
      "E_RECIPIENTS_CHANGED",
      4,
      "not a writer",
    );
    ok(
      tessera(["var", "rekey", "-q"], { cwd: dir, env: teammate.env }),
      "the teammate lists their writer key",
    );
    ok(tessera(["var", "set", "T", "t", "-q"], { cwd: dir, env: teammate.env }), "teammate writes");
    assert.deepEqual(values(dir, owner.env), { A: "1", T: "t" });
    ok(tessera(["var", "unset", "T", "-q"], { cwd: dir, env: owner.env }), "owner unsets");
    ok(tessera(["var", "set", "B", "2", "-q"], { cwd: dir, env: owner.env }), "owner writes");
    assert.deepEqual(values(dir, teammate.env), { A: "1", B: "2" });

    // Removed (both lines) and rekeyed: locked out of later versions.
    writeFileSync(
      path,
      readFileSync(path, "utf8")
        .split("\n")
        .filter(
          (line) => !line.includes(teammate.recipient) && !line.includes(writerKeyOf([teammate.secret])!.id),
        )
        .join("\n"),
    );
    ok(tessera(["var", "rekey", "-q"], { cwd: dir, env: owner.env }), "var rekey without the teammate");
    fails(tessera(["var", "get", "A"], { cwd: dir, env: teammate.env }), "E_STORE_LOCKED", 4, "removed");
    assert.deepEqual(values(dir, owner.env), { A: "1", B: "2" });
  });

  test("a bad line in .tessera/recipients: E_STORE_INVALID naming the file and line, store unchanged", () => {
    const owner = identity();
    const teammate = identity();
    const dir = storeOf(owner);
    const before = readFileSync(join(dir, STORE));
    const bad = [
      ["an invalid age1 key", "age1notavalidrecipientatall"],
      ["a word", "not-a-recipient"],
      ["a secret key pasted by mistake", teammate.secret],
      ["an ssh key line", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBadBadBad me@host"],
    ];
    for (const [what, line] of bad) {
      writeFileSync(join(dir, ".tessera", "recipients"), `# team\n${teammate.recipient}\n\n${line}\n`);
      for (const args of [
        ["var", "set", "B", "2"],
        ["var", "rekey"],
      ]) {
        const result = tessera(args, { cwd: dir, env: owner.env });
        fails(result, "E_STORE_INVALID", 4, `${args.join(" ")} with ${what}`);
        assert.match(result.stderr, /\.tessera\/recipients:4\b/, `${what}: the file and line are not named`);
        assert.ok(!result.stderr.includes(teammate.secret.slice(16, 30)), `${what}: key material shown`);
        assert.deepEqual(readFileSync(join(dir, STORE)), before, `${what}: the store was changed`);
        assert.deepEqual(leftovers(dir), [], `${what}: leftovers`);
      }
    }
  });
});

describe("tampering", () => {
  const SECRET_VALUE = "tamper-test-secret-value-0123456789";

  test("a flipped byte: E_STORE_INVALID (exit 4); no value or key material in the message", () => {
    const id = identity();
    const dir = project();
    ok(tessera(["var", "set", "PASSWORD", SECRET_VALUE, "-q"], { cwd: dir, env: id.env }), "var set");
    ok(tessera(["var", "set", "OTHER", `${SECRET_VALUE}-2`, "-q"], { cwd: dir, env: id.env }), "var set");
    const original = readFileSync(join(dir, STORE), "utf8");
    const binary = armor.decode(original);
    const text = Buffer.from(binary).toString("latin1");
    const macLine = text.indexOf("\n--- ") + 1;
    const payload = text.indexOf("\n", macLine) + 1;
    const next = random(SEED);
    const pick = (from: number, to: number) => from + Math.floor(next() * (to - from));

    const check = (tampered: string | Uint8Array, where: string, codes: string[]) => {
      writeFileSync(join(dir, STORE), tampered);
      const what = `${where} (seed ${SEED})`;
      for (const args of [
        ["var", "get", "PASSWORD"],
        ["var", "set", "NEW", "1"],
        ["var", "export"],
      ]) {
        const result = tessera(args, { cwd: dir, env: id.env });
        assert.equal(result.status, 4, `${what}: ${args.join(" ")}: exit ${result.status}\n${result.stderr}`);
        const code = /error\[(\w+)\]/.exec(result.stderr)?.[1];
        assert.ok(code && codes.includes(code), `${what}: ${args.join(" ")}: ${code}, expected ${codes}`);
        const output = result.stdout + result.stderr;
        assert.ok(!output.includes(SECRET_VALUE.slice(0, 12)), `${what}: a value was shown`);
        assert.ok(!output.includes(id.secret.slice(16, 28)), `${what}: key material was shown`);
      }
      // A write never replaces a store it cannot read.
      const bytes = typeof tampered === "string" ? Buffer.from(tampered) : Buffer.from(tampered);
      assert.deepEqual(readFileSync(join(dir, STORE)), bytes, `${what}: the store was rewritten`);
      assert.deepEqual(leftovers(dir), []);
    };
    const flip = (position: number) => {
      const copy = Uint8Array.from(binary);
      copy[position] = copy[position]! ^ (1 << pick(0, 8));
      return armor.encode(copy);
    };

    for (let i = 0; i < 12; i++) {
      const position = pick(payload, binary.length);
      check(flip(position), `payload byte ${position} of ${binary.length}`, ["E_STORE_INVALID"]);
    }
    for (let i = 0; i < 3; i++) {
      const position = pick(macLine + 4, payload - 1);
      check(flip(position), `header MAC byte ${position}`, ["E_STORE_INVALID"]);
    }
    // In the recipient stanza, a flip may instead look like a file for someone else.
    for (let i = 0; i < 3; i++) {
      const position = pick(0, macLine);
      check(flip(position), `header byte ${position}`, ["E_STORE_INVALID", "E_STORE_LOCKED"]);
    }
    // A character of the armor itself, inside a full line (so never only padding bits).
    const lines = original.split("\n");
    const row = pick(3, lines.length - 3);
    const column = pick(0, 64);
    const char = lines[row]![column]!;
    lines[row] = `${lines[row]!.slice(0, column)}${char === "A" ? "B" : "A"}${lines[row]!.slice(column + 1)}`;
    check(lines.join("\n"), `armor character ${row}:${column}`, ["E_STORE_INVALID"]);
    // Truncated, and not an age file at all.
    check(original.slice(0, Math.floor(original.length / 2)), "truncated", ["E_STORE_INVALID"]);
    check(`${original.slice(0, -40)}\n`, "end cut off", ["E_STORE_INVALID"]);
    check(Buffer.from(binary).subarray(0, payload + 20), "binary, truncated payload", ["E_STORE_INVALID"]);
    check("not an age file\n", "garbage", ["E_STORE_INVALID"]);

    // Restored, it reads again.
    writeFileSync(join(dir, STORE), original);
    assert.deepEqual(values(dir, id.env), { OTHER: `${SECRET_VALUE}-2`, PASSWORD: SECRET_VALUE });
  });
});
