/**
 * The workspace store's lock (src/workspace/lock.ts) in process: waiters queue first come, first served
 * (a holder that writes again queues behind those already waiting), tickets of dead or vanished waiters
 * do not hold the queue up, and the timeout counts while the queue stands still. Each test fails on the
 * lock before it queued (a polling race, where the holder that had just released won again). Processes
 * and the CLI under load: test/e2e/store-durability.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { withLock } from "../../src/workspace/lock.ts";

const tmp = mkdtempSync(join(tmpdir(), "tessera-lock-unit-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let count = 0;
const freshDir = () => mkdtempSync(join(tmp, `d${count++}-`));

describe("the lock's queue", () => {
  const tickets = (dir: string) =>
    readdirSync(dir).filter((name) => /^x\.lock\.\d+-[0-9a-f]+\.lock$/.test(name));
  /** Wait until `condition` holds (at most 20 s: then go on, and let the assertions say what happened). */
  const until = async (condition: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  test("first come, first served: a holder that writes again queues behind those already waiting", async () => {
    const dir = freshDir();
    const lock = join(dir, "x.lock");
    const order: string[] = [];
    const options = { what: "the test lock", timeoutMs: 600_000 };
    let releaseA!: () => void;
    const aHolds = new Promise<void>((resolve) => (releaseA = resolve));
    let aAgain: Promise<void> | undefined;
    const a = withLock(lock, options, async () => {
      order.push("A");
      await aHolds;
    }).then(() => {
      // Straight back for more, as a writer setting many variables does.
      aAgain = withLock(lock, options, async () => {
        order.push("A again");
      });
    });
    await until(() => order.length === 1);
    const waiters: Promise<void>[] = [];
    for (const name of ["B", "C", "D", "E"]) {
      const queued = tickets(dir).length;
      waiters.push(withLock(lock, options, async () => void order.push(name)));
      await until(() => tickets(dir).length === queued + 1);
    }
    releaseA();
    await a;
    await Promise.all([...waiters, aAgain]);
    assert.deepEqual(order, ["A", "B", "C", "D", "E", "A again"]);
    assert.deepEqual(readdirSync(dir), []);
  });

  test("a ticket left by a dead process, or one nobody touches any more, does not hold up the queue", async () => {
    const dir = freshDir();
    const lock = join(dir, "x.lock");
    const dead = spawnSync("true").pid;
    const holder = (pid: number) =>
      JSON.stringify({ pid, start: "", host: hostname(), since: Date.now(), token: "0".repeat(24) });
    writeFileSync(join(dir, `x.lock.${"1".padStart(17, "0")}-${"a".repeat(24)}.lock`), holder(dead));
    const untouched = join(dir, `x.lock.${"2".padStart(17, "0")}-${"b".repeat(24)}.lock`);
    writeFileSync(untouched, holder(process.pid));
    const then = new Date(Date.now() - 60_000);
    utimesSync(untouched, then, then);
    let ran = false;
    await withLock(lock, { what: "the test lock", timeoutMs: 60_000 }, async () => {
      ran = true;
    });
    assert.equal(ran, true);
    assert.deepEqual(readdirSync(dir), []);
  });

  test("E_STORE_BUSY counts from the last move of the queue, and names how many wait ahead", async () => {
    const dir = freshDir();
    const lock = join(dir, "x.lock");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holder = withLock(lock, { what: "the test lock" }, () => held);
    await until(() => readdirSync(dir).includes("x.lock"));
    const ahead = withLock(lock, { what: "the test lock", timeoutMs: 600_000 }, async () => {});
    await until(() => tickets(dir).length === 1);
    await assert.rejects(
      withLock(lock, { what: "the test lock", timeoutMs: 200 }, async () => {}),
      (error: { code?: string; exitCode?: number; message?: string }) =>
        error.code === "E_STORE_BUSY" &&
        error.exitCode === 5 &&
        new RegExp(
          `is locked by process ${process.pid} since .*\\(1 writer waiting ahead of this one\\)`,
        ).test(error.message ?? ""),
    );
    release();
    await Promise.all([holder, ahead]);
    assert.deepEqual(readdirSync(dir), []);
  });
});
